#include "experiment/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "config/ini.hpp"
#include "config/printable.hpp"
#include "experiment/run_dir.hpp"
#include "io/fnv1a.hpp"
#include "io/input_file.hpp"
#include "log/h5.hpp"
#include "report/atomic_write.hpp"

#include "version.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

// ---- small helpers ----


// Format 2: one FNV-1a over everything that determines how the run goes on
// (the config, the architecture, the counters, each tensor's checksum and the
// rng state), each field followed by a NUL. The tensors' own checksums cover
// their bytes, so checking this needs no tensor data: sae-eval checks it
// without reading the optimiser state. An edited rng state or step count, or
// a tensor rewritten with a matching checksum, no longer loads silently.
std::string payload_checksum(const checkpoint_info& info, const std::vector<std::string>& tensor_checksums,
                             const std::string& rng_state) {
  std::uint64_t h = fnv1a_basis;
  const auto field = [&h](const std::string& text) { h = fnv1a(text.data(), text.size() + 1, h); };  // with its NUL
  field(info.config);
  field(info.model_summary);
  field(fmt::format("param_count={};optimizer={};optimizer_steps={};next_epoch={}", info.param_count,
                    info.optimizer, info.optimizer_steps, info.next_epoch));
  for (const std::string& c : tensor_checksums) field(c);
  field(rng_state);
  return fmt::format("fnv1a64:{:016x}", h);
}

// h5::error messages start with the file name; inside our own message that
// names the file already, keep only what follows it.
std::string reason(const std::exception& e, const fs::path& path) {
  std::string s = e.what();
  for (const std::string& prefix : {path.string() + ":", path.string() + ".tmp:"})
    if (s.rfind(prefix, 0) == 0) {
      s.erase(0, prefix.size());
      if (!s.empty() && s[0] == ' ') s.erase(0, 1);
      break;
    }
  return s;
}

std::optional<optim_kind> kind_of(const optimizer<float>& opt) {
  if (dynamic_cast<const adam<float>*>(&opt)) return optim_kind::adam;
  if (dynamic_cast<const sgd<float>*>(&opt)) return optim_kind::sgd;
  return std::nullopt;
}

// The optimizer attribute of a weights-only file.
const std::string no_optimizer = "none";

// Names of the optimiser's state buffers, in state() order.
std::vector<std::string> state_names(std::string_view kind) {
  if (kind == "adam") return {"m", "v"};
  if (kind == "sgd") return {"velocity"};
  return {};
}

void write_tensor(const h5::object& parent, const std::string& name, const float* p, std::int64_t n,
                  std::string_view units, std::string_view description) {
  auto ds = h5::write_array<float>(parent, name, {static_cast<hsize_t>(n)},
                                   std::span<const float>(p, static_cast<std::size_t>(n)));
  h5::set_description(ds, units, description);
  h5::write_attr_string(ds, "checksum", tensor_checksum(p, n));
}

// fsync a file or directory by path; HDF5 does not sync on close.
void sync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Everything of a checkpoint, read and checked, before anything is applied.
struct loaded {
  checkpoint_info info;
  std::vector<float> params;
  std::vector<std::vector<float>> state;
  std::string rng_state;
};

[[noreturn]] void corrupt(const fs::path& path, const std::string& what) {
  throw checkpoint_error(fmt::format("{}: corrupt checkpoint: {}", path.string(), what));
}

std::vector<float> read_checked(const h5::file& f, const fs::path& path, const std::string& name,
                                std::int64_t expected) {
  auto ds = h5::open_dataset(f, name);
  // The extent a file declares costs it nothing (storage is allocated late):
  // check it before allocating for it.
  const h5::extent d = h5::dims(ds);
  if (d.size() != 1 || d[0] != static_cast<hsize_t>(expected))
    corrupt(path, fmt::format("{} has extent [{}], expected [{}]", name, fmt::join(d, ", "), expected));
  std::vector<float> v = h5::read<float>(ds);
  if (!h5::has_attr(ds, "checksum")) corrupt(path, fmt::format("{} has no checksum attribute", name));
  if (h5::read_attr_string(ds, "checksum") != tensor_checksum(v.data(), expected))
    corrupt(path, fmt::format("{} does not match its checksum", name));
  return v;
}

h5::file open_checkpoint(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw checkpoint_error(fmt::format("{}: no such checkpoint file", path.string()));
  try {
    check_input_file(path, "a checkpoint file");
  } catch (const input_error& e) {
    throw checkpoint_error(e.what());
  }
  try {
    return h5::file::open_read(path);
  } catch (const h5::error& e) {
    throw checkpoint_error(
        fmt::format("{}: not a readable HDF5 file (truncated or corrupt?): {}", path.string(), reason(e, path)));
  }
}

checkpoint_info read_info(const h5::file& f, const fs::path& path) {
  if (!h5::has_attr(f, "format") || h5::read_attr_string(f, "format") != checkpoint_format)
    throw checkpoint_error(
        fmt::format("{}: not a saelab checkpoint (no format = \"{}\" attribute)", path.string(), checkpoint_format));
  const auto version = h5::read_attr_int(f, "format_version");
  if (version < 1 || version > checkpoint_format_version)
    throw checkpoint_error(fmt::format("{}: checkpoint format version {}, this program reads versions 1 to {}",
                                       path.string(), version, checkpoint_format_version));
  checkpoint_info info;
  info.format_version = static_cast<int>(version);
  info.config = h5::read_string(f, "/config");
  info.model_summary = h5::read_string(f, "/model_summary");
  info.param_count = h5::read_attr_int(f, "param_count");
  info.optimizer = h5::read_attr_string(f, "optimizer");
  info.optimizer_steps = h5::read_attr_int(f, "optimizer_steps");
  const std::int64_t next_epoch = h5::read_attr_int(f, "next_epoch");
  info.program_version = h5::read_attr_string(f, "program_version");
  info.saved_at = h5::read_attr_string(f, "saved_at");
  if (info.param_count <= 0 || next_epoch < 0 || info.optimizer_steps < 0)
    corrupt(path, fmt::format("param_count {}, next_epoch {}, optimizer_steps {}", info.param_count, next_epoch,
                              info.optimizer_steps));
  if (info.param_count > checkpoint_max_params)
    corrupt(path, fmt::format("param_count {} is above the limit of {}", info.param_count, checkpoint_max_params));
  if (next_epoch > checkpoint_max_epochs)
    corrupt(path, fmt::format("next_epoch {} is above the limit of {}", next_epoch, checkpoint_max_epochs));
  info.next_epoch = static_cast<int>(next_epoch);
  if (info.optimizer != no_optimizer && state_names(info.optimizer).empty())
    corrupt(path, fmt::format("unknown optimizer '{}'", printable(info.optimizer)));
  return info;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    const auto a = line.find_first_not_of(' '), b = line.find_last_not_of(' ');
    out.push_back(a == std::string::npos ? "" : line.substr(a, b - a + 1));
  }
  return out;
}

// "" when equal, else what differs, for the mismatch message.
std::string signature_difference(const checkpoint_info& info, const network<float>& net) {
  const std::string here = net.summary();
  const std::int64_t count = net.params().numel();
  if (info.model_summary == here && info.param_count == count) return "";
  std::string out = fmt::format("{} parameters in the checkpoint, {} in this model", info.param_count, count);
  const auto a = lines_of(info.model_summary), b = lines_of(here);
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "(nothing)", y = i < b.size() ? b[i] : "(nothing)";
    if (x != y) {
      out += fmt::format("; first difference: checkpoint '{}', this model '{}'", printable(x), y);
      break;
    }
  }
  return out;
}

}  // namespace

const char* program_version() { return SAELAB_VERSION; }
const char* git_revision() { return SAELAB_GIT_REVISION; }

experiment_config stored_config(const checkpoint_info& info, const fs::path& path,
                                const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> tokens;
  const auto stored = ini_values(info.config);
  for (const auto& [key, value] : stored) tokens.push_back(key + "=" + value);
  try {
    (void)load_config("", tokens);
  } catch (const config_error& e) {
    corrupt(path, fmt::format("its stored config does not load: {}", e.what()));
  }
  tokens.clear();
  for (const auto& [key, value] : stored)
    if (!overrides.count(key)) tokens.push_back(key + "=" + value);
  for (const auto& [key, value] : overrides) tokens.push_back("--" + key + "=" + value);
  return load_config("", tokens);
}

namespace {

// A checkpoint, or the weights alone when opt is null (optimizer "none").
void write_checkpoint(const fs::path& path, const network<float>& net, optimizer<float>* opt, const rng& r,
                      const checkpoint_meta& meta) {
  remove_stale_temporaries(path);  // of a save killed part way; the run's lock keeps other writers out
  const fs::path tmp = temporary_path(path);  // created exclusively (h5::file::create), never through a link
  const auto kind = opt ? kind_of(*opt) : std::nullopt;
  if (opt && (!kind || *kind != meta.optimizer))
    throw checkpoint_error(fmt::format("{}: cannot write checkpoint: the optimiser is not {}", path.string(),
                                       to_string(meta.optimizer)));
  const std::string kind_name = opt ? std::string(to_string(meta.optimizer)) : no_optimizer;
  const auto names = state_names(kind_name);
  const auto state = opt ? opt->state() : std::vector<tensor<float>*>{};
  const std::string opt_text = opt ? opt->describe() : "none (weights only: not resumable)";
  std::error_code ec;
  try {
    {
      auto f = h5::file::create(tmp);
      h5::write_attr_string(f, "format", checkpoint_format);
      h5::write_attr_int(f, "format_version", checkpoint_format_version);
      h5::write_attr_string(f, "program_version", program_version());
      h5::write_attr_int(f, "next_epoch", meta.next_epoch);
      h5::write_attr_int(f, "param_count", net.params().numel());
      h5::write_attr_string(f, "optimizer", kind_name);
      h5::write_attr_string(f, "optimizer_description", opt_text);
      h5::write_attr_int(f, "optimizer_steps", opt ? opt->steps() : 0);
      h5::write_attr_string(f, "saved_at", utc_timestamp());
      h5::set_description(h5::write_string(f, "/config", meta.config), "",
                          "the resolved config of the run (INI): load_config reads it back");
      h5::set_description(h5::write_string(f, "/model_summary", net.summary()), "",
                          "the architecture; loading checks it and the parameter count");
      h5::set_description(h5::write_string(f, "/layer_list", net.layer_list()), "",
                          "the model as a model.layers list (the config's preset expanded)");
      std::vector<std::string> sums = write_layer_tensors(f, net);
      if (opt) {  // closed before f: see h5::file::close
        auto g = h5::create_group(f, "/optimizer");
        h5::set_description(g, "", fmt::format("{} state after optimizer_steps steps", opt_text));
        for (std::size_t i = 0; i < state.size(); ++i)
          write_tensor(g, names.at(i), state[i]->data(), state[i]->numel(), "",
                       fmt::format("{} buffer {} of the optimiser, flat, in the order of the layers' parameters", kind_name, names[i]));
      }
      h5::set_description(h5::write_string(f, "/rng", r.state()), "",
                          opt ? "std::mt19937_64 state: the next epoch's shuffle is drawn from it"
                              : "std::mt19937_64 state (weights only: not used)");
      checkpoint_info info;
      info.config = meta.config;
      info.model_summary = net.summary();
      info.param_count = net.params().numel();
      info.optimizer = kind_name;
      info.optimizer_steps = opt ? opt->steps() : 0;
      info.next_epoch = meta.next_epoch;
      for (const auto* t : state) sums.push_back(tensor_checksum(t->data(), t->numel()));
      h5::write_attr_string(f, "payload_checksum", payload_checksum(info, sums, r.state()));
      f.close();
    }
    sync_path(tmp);
    fs::rename(tmp, path);
    sync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
  } catch (const std::exception& e) {
    fs::remove(tmp, ec);
    throw checkpoint_error(fmt::format("{}: cannot write checkpoint: {}", path.string(), reason(e, tmp)));
  }
}

}  // namespace

void save_checkpoint(const fs::path& path, const network<float>& net, optimizer<float>& opt, const rng& r,
                     const checkpoint_meta& meta) {
  write_checkpoint(path, net, &opt, r, meta);
}

void save_weights(const fs::path& path, const network<float>& net, const std::string& config, int next_epoch) {
  write_checkpoint(path, net, nullptr, rng(0), {config, optim_kind::adam, next_epoch});
}

std::string non_finite_parameter(const network<float>& net) {
  const float* p = net.params().data();
  for (const auto& t : net.parameter_list())
    for (std::int64_t j = 0; j < t.tensor.dims.numel(); ++j)
      if (const float v = p[t.tensor.offset + j]; !std::isfinite(v))
        return fmt::format("/layers/{}/{}[{}] = {}", t.group, t.tensor.name, j, v);
  return "";
}

checkpoint_info read_checkpoint_info(const fs::path& path) {
  auto f = open_checkpoint(path);
  try {
    return read_info(f, path);
  } catch (const h5::error& e) {
    corrupt(path, reason(e, path));
  }
}

checkpoint_info load_checkpoint(const fs::path& path, network<float>& net, optimizer<float>* opt, rng* r) {
  auto f = open_checkpoint(path);
  loaded l;
  try {
    l.info = read_info(f, path);
    if (const std::string d = signature_difference(l.info, net); !d.empty())
      throw checkpoint_error(fmt::format("{}: checkpoint is of another model: {}", path.string(), d));
    if (l.info.format_version < 2 && (opt != nullptr || r != nullptr))
      throw checkpoint_error(fmt::format(
          "{}: checkpoint format version 1 has no checksum over its rng state and step counters, so it can be "
          "evaluated (sae-eval) but not resumed",
          path.string()));
    std::vector<std::string> sums;  // of the parameter tensors, checked against their data
    if (l.info.format_version >= 3) {
      layer_tensors t = read_layer_tensors(f, path, net, true);
      l.params = std::move(t.params);
      sums = std::move(t.checksums);
    } else {
      l.params = read_checked(f, path, "/params", l.info.param_count);
      sums.push_back(h5::read_attr_string(h5::open_dataset(f, "/params"), "checksum"));
    }
    if (opt != nullptr && l.info.optimizer == no_optimizer)
      throw checkpoint_error(fmt::format("{}: holds weights only, no optimiser state (sae-eval --save-weights): "
                                         "evaluate it, or start a new run from it with model.init_from",
                                         path.string()));
    if (opt != nullptr) {
      const auto kind = kind_of(*opt);
      const std::string here = kind ? std::string(to_string(*kind)) : opt->describe();
      if (l.info.optimizer != here)
        throw checkpoint_error(fmt::format("{}: checkpoint holds {} optimiser state, this run uses {}",
                                           path.string(), l.info.optimizer, here));
      const auto names = state_names(l.info.optimizer);
      const auto state = opt->state();
      if (state.size() != names.size())
        corrupt(path, fmt::format("{} state buffers for {}", state.size(), l.info.optimizer));
      for (std::size_t i = 0; i < state.size(); ++i)
        l.state.push_back(read_checked(f, path, "/optimizer/" + names[i], state[i]->numel()));
    }
    if (l.info.format_version >= 2) {
      // The tensors' stored checksums (checked against their data above when
      // read) chained with the rest.
      for (const std::string& name : state_names(l.info.optimizer))
        sums.push_back(h5::read_attr_string(h5::open_dataset(f, "/optimizer/" + name), "checksum"));
      if (h5::read_attr_string(f, "payload_checksum") != payload_checksum(l.info, sums, h5::read_string(f, "/rng")))
        corrupt(path, "its contents do not match payload_checksum (the checksum over config, counters, tensor "
                      "checksums and rng state): edited or damaged");
    }
    if (r != nullptr) {
      l.rng_state = h5::read_string(f, "/rng");
      rng probe(0);
      try {
        probe.set_state(l.rng_state);
      } catch (const std::invalid_argument&) {
        corrupt(path, "/rng is not a valid mt19937_64 state");
      }
    }
  } catch (const h5::error& e) {
    corrupt(path, reason(e, path));
  }
  // Everything read and checked: apply.
  std::memcpy(net.params().data(), l.params.data(), l.params.size() * sizeof(float));
  if (opt != nullptr) {
    const auto state = opt->state();
    for (std::size_t i = 0; i < state.size(); ++i)
      std::memcpy(state[i]->data(), l.state[i].data(), l.state[i].size() * sizeof(float));
    opt->set_steps(l.info.optimizer_steps);
  }
  if (r != nullptr) r->set_state(l.rng_state);
  return l.info;
}

}  // namespace saelab
