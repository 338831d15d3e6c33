// sae-eval: evaluate a trained sparse autoencoder on the whole test set.
//
//   sae-eval experiments/runs/fc_kl-1a2b3c4d
//   sae-eval data/pretrained/fc_kl.h5 --data.dir=/data/mnist --out /tmp/eval
//
// Errors print one line and exit non-zero: 2 for usage and config errors,
// 1 for everything else (missing or mismatched checkpoint, data, I/O).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.hpp"
#include "config/config.hpp"
#include "config/printable.hpp"
#include "data/idx.hpp"
#include "experiment/checkpoint.hpp"
#include "experiment/model.hpp"
#include "experiment/run_dir.hpp"
#include "experiment/runner.hpp"
#include "report/run_figures.hpp"
#include "experiment/trainer.hpp"
#include "report/atomic_write.hpp"
#include "tensor/blas.hpp"

namespace {

namespace fs = std::filesystem;
using namespace saelab;

constexpr const char* usage = R"(usage: sae-eval RUN_DIR|MODEL.h5 [--out DIR] [--data.dir=DIR] [--run.threads=N]
                [--log.active_threshold=X] [--save-weights FILE.h5]

Loads a checkpoint (a run directory's model.h5, or any checkpoint file),
rebuilds its model from the config stored in it, and evaluates it on the
whole MNIST test set: BCE, MSE, the reference's first-1200-image BCE, and
per-site hidden-unit statistics. Prints a table, writes it to OUT/eval.txt
and draws the input/reconstruction figure into OUT.

  --out DIR     where eval.txt and the figure go
                (default RUN_DIR/eval, or ./<checkpoint name>-eval for a file)
  --data.dir    the MNIST directory, if not the one the run used
  --run.threads BLAS threads (default: the run's)
  --log.active_threshold
                a unit counts as active above this (default: the run's)
  --save-weights FILE.h5
                also write the model without its optimiser state: a third of
                the size, evaluated like any checkpoint, a start for
                model.init_from, not resumable (data/pretrained/ holds such files)
  --help, -h    this text
  --version     the program's version and git revision

Exit status: 0 success, 2 usage or config error, 1 anything else.
)";

// Only the keys that cannot change what the checkpoint is are taken from the command line.
const std::vector<std::string> allowed_overrides{"--data.dir", "--run.threads", "--log.active_threshold"};

struct arguments {
  fs::path target, out, save_weights;
  std::map<std::string, std::string> overrides;
};

arguments from(const cli::arguments& c) {
  arguments a;
  if (!c.positionals.empty()) a.target = c.positionals.front();
  a.out = c.value_or("--out", "");
  a.save_weights = c.value_or("--save-weights", "");
  for (const std::string& key : allowed_overrides)
    if (c.has(key)) a.overrides[key.substr(2)] = c.values.at(key);
  return a;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

std::string percent(double f) { return fmt::format("{:.1f}%", 100.0 * f); }

std::string report_text(const fs::path& model, const checkpoint_info& info, const experiment_config& cfg,
                        const network<float>& net, const test_record& r, std::int64_t images) {
  std::string t;
  t += fmt::format("checkpoint  {}\n", model.string());
  t += fmt::format("run         {}: {} epochs of {} finished, {} parameters, saved {} by saelab {}\n", cfg.run.name,
                   info.next_epoch, cfg.train.epochs, info.param_count, info.saved_at, info.program_version);
  t += fmt::format("test set    {} images from {}\n\n", images, cfg.data.dir);
  t += fmt::format("  BCE (whole test set)       {:.5f}\n", r.bce);
  t += fmt::format("  BCE (first {} images)    {:.5f}\n", std::min<std::int64_t>(images, reference_test_images),
                   r.bce_reference);
  t += fmt::format("  MSE (whole test set)       {:.5f}\n\n", r.mse);
  t += fmt::format("hidden units (active: activation > {}; dense: active on more than {} of inputs)\n",
                   cfg.log.active_threshold, percent(activity_accumulator::dense_threshold));
  t += fmt::format("  {:<10} {:>7} {:>9} {:>8} {:>7} {:>7} {:>11} {:>10}\n", "site", "units", "L0", "L0/units",
                   "dead", "dense", "population", "mean rho");
  for (std::size_t s = 0; s < r.activity.size() && s < net.sites().size(); ++s) {
    const site_activity& a = r.activity[s];
    const auto units = static_cast<double>(a.rho_hat.size());
    t += fmt::format("  {:<10} {:>7} {:>9.1f} {:>8} {:>7} {:>7} {:>11.4f} {:>10.4f}\n", net.sites()[s].name,
                     a.rho_hat.size(), a.l0, percent(units > 0 ? a.l0 / units : 0), percent(a.dead_fraction),
                     percent(a.dense_fraction), a.population_sparsity, mean(a.rho_hat));
  }
  t += "  (L0: mean active units per input; population: mean Treves-Rolls sparsity across units, 1 = dense)\n";
  return t;
}

// `phase` says what is being done, for an out-of-memory message.
int run(const arguments& a, std::string& phase) {
  phase = "reading the checkpoint";
  std::error_code ec;
  const bool is_run_dir = fs::is_directory(a.target, ec);
  const fs::path model = is_run_dir ? a.target / "model.h5" : a.target;
  if (is_run_dir && !fs::exists(model, ec)) {
    std::string why;
    if (auto s = read_run_state(a.target)) why = fmt::format(" (status {}, {} epochs finished)", to_string(s->status), s->epochs_done);
    throw checkpoint_error(fmt::format("{}: no model.h5: the run has no finished epoch to evaluate{}",
                                       a.target.string(), why));
  }
  const checkpoint_info info = read_checkpoint_info(model);
  experiment_config cfg = stored_config(info, model, a.overrides);
  cfg.train.test_limit = 0;  // always the whole test set

  // The output directory before the work, so a bad --out fails at once.
  const fs::path out = !a.out.empty() ? a.out
                       : is_run_dir   ? a.target / "eval"
                                      : fs::path(model.stem().string() + "-eval");
  fs::create_directories(out, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create the output directory: {}", out.string(), ec.message()));

  blas::set_threads(cfg.run.threads);
  // Only the test set is needed; the trainer wants a training set, so it gets the same images.
  phase = "reading the test set from " + cfg.data.dir;
  mnist_data data;
  data.test.images = read_idx_images((fs::path(cfg.data.dir) / "t10k-images-idx3-ubyte").string());
  data.train.images = data.test.images;

  phase = "building the model";
  auto net = build_model<float>(cfg.model, data.test.images.dims().drop_batch());
  load_checkpoint(model, *net, nullptr, nullptr);
  // A NaN weight would print "BCE -nan" as if it were a result.
  if (const std::string bad = non_finite_parameter(*net); !bad.empty())
    throw checkpoint_error(fmt::format("{}: holds a non-finite parameter, refusing to evaluate it: {}",
                                       model.string(), bad));
  rng r(cfg.run.seed);
  phase = "evaluating the test set";
  trainer t(cfg, *net, data, r);
  const test_record rec = t.test();
  const std::string text = report_text(model, info, cfg, *net, rec, data.test.images.size(0));
  fmt::print("{}", text);
  std::fflush(stdout);

  write_file_atomically(out / "eval.txt", text);
  const fs::path figure = write_reconstruction_figure(out, *net, data.test.images);
  fmt::print("\nwrote {}{}\n", (out / "eval.txt").string(), figure.empty() ? "" : " and " + figure.string());
  if (!a.save_weights.empty()) {
    save_weights(a.save_weights, *net, info.config, info.next_epoch);
    fmt::print("wrote {} (weights only)\n", a.save_weights.string());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::program program{.name = "sae-eval",
                             .usage = usage,
                             .options = {{{"--out"}, "DIR"},
                                         {{"--save-weights"}, "FILE.h5"},
                                         {{"--data.dir"}, "DIR"},
                                         {{"--run.threads"}, "N"},
                                         {{"--log.active_threshold"}, "X"}},
                             .positional = "run directory or checkpoint"};
  cli::arguments args;
  if (const auto code = cli::parse_or_exit(program, argc, argv, args)) return *code;
  const arguments a = from(args);
  if (a.target.empty()) {
    fmt::print(stderr, "sae-eval: no run directory or checkpoint given\n{}", usage);
    return 2;
  }
  std::string phase;
  try {
    return run(a, phase);
  } catch (const config_error& e) {
    fmt::print(stderr, "sae-eval: {}\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "sae-eval: {}: out of memory while {}\n", a.target.string(), phase);
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-eval: {}\n", e.what());
    return 1;
  }
}
