#pragma once
// Experiment configuration: an INI file mapped onto plain structs, one struct
// per section, every field with its default.
//
//   # configs/fc_kl.ini
//   [sparsity]
//   kind = kl
//   rho = 0.05
//
//   experiment_config c = load_config("configs/fc_kl.ini", {"--sparsity.rho=0.1"});
//   c.sparsity.rho     // 0.1: the command line wins over the file
//   c.train.epochs     // 20: the default, since the file does not say
//   c.run.name         // "fc_kl": the file's stem
//   to_ini(c)          // every key with its value; loading it gives c back
//
// Unknown keys, keys given twice, malformed or out-of-range values all throw
// config_error with one message naming the source (file path or "command
// line"), the key, the value and what was expected.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace saelab {

class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Enum values are their INI spelling: model_arch::fc <-> "fc".
// fc and seed_conv are presets that expand to a layer list; layers reads model.layers.
enum class model_arch { fc, seed_conv, layers };
enum class activation_kind { sigmoid, relu };
enum class sparsity_kind { none, kl, l1, seed_kl };
// L1 only. sum: sum over units, mean over the batch; mean: mean over every element.
enum class penalty_reduction { sum, mean };
enum class loss_kind { bce, mse };
enum class optim_kind { adam, sgd };

// The INI spelling of each value ("fc", "seed_kl", ...).
std::string_view to_string(model_arch v);
std::string_view to_string(activation_kind v);
std::string_view to_string(sparsity_kind v);
std::string_view to_string(penalty_reduction v);
std::string_view to_string(loss_kind v);
std::string_view to_string(optim_kind v);

// model.hidden's bound: 784-65536-784 is 103 M parameters (1.6 GiB with
// Adam's state), so a typo or a hostile stored config cannot ask for more.
inline constexpr int max_hidden_units = 65536;

struct model_config {
  model_arch arch = model_arch::fc;
  int hidden = 1024;  // fc only: width of the hidden layer, at most max_hidden_units
  activation_kind hidden_activation = activation_kind::sigmoid;  // presets only
  std::string layers;  // arch = layers: the model, in config/layer_list.hpp's syntax
  std::string init_from;  // a weights file (docs/weights.md) to start from instead of random weights
  bool operator==(const model_config&) const = default;
};

struct sparsity_config {
  sparsity_kind kind = sparsity_kind::none;
  double rho = 0.05;     // target rate, in (0, 1)
  double beta = 3.0;     // KL weight
  double lambda = 1e-4;  // L1 weight
  penalty_reduction reduction = penalty_reduction::sum;
  // Activation sites to penalise; {"all"} means every hidden site. The model
  // checks the names, not the config.
  std::vector<std::string> sites{"all"};
  bool operator==(const sparsity_config&) const = default;
};

struct train_config {
  int epochs = 20;
  int batch_size = 1200;
  loss_kind loss = loss_kind::bce;
  bool shuffle = true;
  int train_limit = 0;  // 0: the whole training set
  int test_limit = 0;   // 0: the whole test set
  bool operator==(const train_config&) const = default;
};

struct optim_config {
  optim_kind kind = optim_kind::adam;
  double lr = 9e-3;
  double beta1 = 0.9;    // adam
  double beta2 = 0.999;  // adam
  double eps = 1e-8;     // adam
  double momentum = 0.9; // sgd
  bool operator==(const optim_config&) const = default;
};

struct data_config {
  std::string dir = "data/mnist";
  bool operator==(const data_config&) const = default;
};

struct run_config {
  std::uint64_t seed = 42;
  int threads = 2;
  std::string out;   // empty: the runner decides
  std::string name;  // load_config defaults it to the config file's stem
  bool operator==(const run_config&) const = default;
};

struct log_config {
  double active_threshold = 0.1;  // a unit counts as active above this
  int every_steps = 10;           // step series are logged every this many steps
  bool operator==(const log_config&) const = default;
};

struct experiment_config {
  model_config model;
  sparsity_config sparsity;
  train_config train;
  optim_config optim;
  data_config data;
  run_config run;
  log_config log;
  bool operator==(const experiment_config&) const = default;
};

// Defaults, then the file at `path` (skipped when empty), then `overrides`,
// which win. Overrides are tokens "--sparsity.rho=0.1", "--sparsity.rho" "0.1"
// or "sparsity.rho=0.1".
experiment_config load_config(const std::string& path, const std::vector<std::string>& overrides);

// Every key grouped by section, after a comment line; values round-trip exactly.
std::string to_ini(const experiment_config& c);

// All dotted keys ("model.arch", ...) in to_ini order.
std::vector<std::string> config_keys();

}  // namespace saelab
