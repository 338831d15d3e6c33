// sae-train: train a sparse autoencoder from an INI config.
//
//   sae-train configs/fc_kl.ini --sparsity.rho=0.1 --train.epochs=5
//
// Errors print one line and exit non-zero: 2 for usage and config errors,
// 1 for everything else (data, divergence, I/O). Ctrl-C finishes the current
// step, records the run as interrupted and exits 130.

#include <atomic>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/config.hpp"
#include "experiment/runner.hpp"
#include "tensor/blas.hpp"

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_signal(int sig) {
  stop_requested = true;
  std::signal(sig, SIG_DFL);  // a second Ctrl-C kills at once
}

constexpr const char* usage = R"(usage: sae-train CONFIG.ini [--section.key=value ...] [--quiet]

Trains the sparse autoencoder CONFIG describes and writes its run directory
(run.out, default experiments/runs/<name>-<hash>). Any config key can be
overridden on the command line, e.g. --sparsity.rho=0.1 or sparsity.rho=0.1.

  --quiet     no progress line (epoch lines still print)
  --help      this text
)";

}  // namespace

int main(int argc, char** argv) {
  saelab::blas::pin_core_type(argv);
  std::string config_path;
  std::vector<std::string> overrides;
  saelab::run_options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", usage);
      return 0;
    }
    if (a == "--quiet") {
      opt.quiet = true;
    } else if (a.rfind("--", 0) == 0 || a.find('=') != std::string::npos) {
      overrides.push_back(a);
      // "--key value": the value is the next token
      if (a.rfind("--", 0) == 0 && a.find('=') == std::string::npos && i + 1 < argc) overrides.push_back(argv[++i]);
    } else if (config_path.empty()) {
      config_path = a;
    } else {
      fmt::print(stderr, "sae-train: unexpected argument '{}' (one config file only)\n{}", a, usage);
      return 2;
    }
  }
  if (config_path.empty()) {
    fmt::print(stderr, "sae-train: no config file given\n{}", usage);
    return 2;
  }

  saelab::experiment_config cfg;
  try {
    cfg = saelab::load_config(config_path, overrides);
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-train: {}\n", e.what());
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  opt.stop = &stop_requested;
  try {
    const auto status = saelab::run_experiment(cfg, opt);
    if (status == saelab::run_status::run_status_interrupted) {
      fmt::print(stderr, "sae-train: interrupted; the run directory records every finished epoch\n");
      return 130;
    }
  } catch (const saelab::config_error& e) {
    fmt::print(stderr, "sae-train: {}\n", e.what());
    return 2;
  } catch (const std::invalid_argument& e) {  // config values the model rejects (sites, KL bounds)
    fmt::print(stderr, "sae-train: {}: {}\n", config_path, e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-train: {}\n", e.what());
    return 1;
  }
  return 0;
}
