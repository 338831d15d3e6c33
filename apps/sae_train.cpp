// sae-train: train a sparse autoencoder from an INI config.
//
//   sae-train configs/fc_kl.ini --sparsity.rho=0.1 --train.epochs=5
//
//   sae-train --resume experiments/runs/fc_kl-1a2b3c4d --train.epochs=40
//
// Errors print one line and exit non-zero: 2 for usage, config and
// run-directory conflicts, 1 for everything else (data, divergence, I/O).
// Ctrl-C finishes the current step, records the run as interrupted and exits 130.

#include <atomic>
#include <csignal>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.hpp"
#include "config/config.hpp"
#include "config/printable.hpp"
#include "experiment/runner.hpp"
#include "tensor/blas.hpp"

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_signal(int sig) {
  stop_requested = true;
  std::signal(sig, SIG_DFL);  // a second Ctrl-C kills at once
}

constexpr const char* usage = R"(usage: sae-train CONFIG.ini [--section.key=value ...] [--quiet]
       sae-train --resume RUN_DIR [--train.epochs=N] [--data.dir=DIR] [--run.threads=N] [--quiet]

Trains the sparse autoencoder CONFIG describes and writes its run directory
(run.out, default experiments/runs/<name>-<hash of the config>): status,
resolved.ini, model.h5 (checkpoint), run.h5 (log), epochs.csv, figures/.
Any config key can be overridden on the command line, e.g. --sparsity.rho=0.1,
--sparsity.rho 0.1 or sparsity.rho=0.1. An existing run directory is never
overwritten. Relative paths in the config (data.dir, run.out) are taken from
the current directory.

  --resume DIR  continue the run in DIR from its last checkpoint, taken at
                every epoch end: progress inside an unfinished epoch is
                discarded and that epoch is redone. The result is bitwise the
                one an uninterrupted run gives with the same run.threads.
                --train.epochs=N extends a run (also a finished one).
  --quiet       no progress line (epoch lines still print)
  --help, -h    this text
  --version     the program's version and git revision

Ctrl-C or SIGTERM finishes the current step, records the run as interrupted
and exits 130; a second Ctrl-C kills at once. DIR/status always says whether
a run is running, done, failed (with the reason) or interrupted.
Exit status: 0 done, 130 interrupted, 2 usage, config or run-directory
conflicts (nothing was written), 1 anything else (data, divergence, I/O).
)";

}  // namespace

int main(int argc, char** argv) {
  const saelab::cli::program program{.name = "sae-train",
                                     .usage = usage,
                                     .options = {{{"--resume"}, "RUN_DIR"}, {{"--quiet"}, ""}},
                                     .overrides = true,
                                     .positional = "config file"};
  saelab::cli::arguments args;
  if (const auto code = saelab::cli::parse_or_exit(program, argc, argv, args)) return *code;
  const std::string config_path = args.positionals.empty() ? "" : args.positionals.front();
  const std::string resume_dir = args.value_or("--resume", "");
  const std::vector<std::string>& overrides = args.overrides;
  saelab::run_options opt;
  opt.quiet = args.has("--quiet");
  if (!resume_dir.empty() && !config_path.empty()) {
    fmt::print(stderr, "sae-train: --resume takes its config from {}/resolved.ini; give no config file ('{}')\n",
               saelab::printable(resume_dir), saelab::printable(config_path));
    return 2;
  }
  if (config_path.empty() && resume_dir.empty()) {
    fmt::print(stderr, "sae-train: no config file given\n{}", usage);
    return 2;
  }

  saelab::experiment_config cfg;
  if (resume_dir.empty()) {
    try {
      cfg = saelab::load_config(config_path, overrides);
    } catch (const std::exception& e) {
      fmt::print(stderr, "sae-train: {}\n", e.what());
      return 2;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  opt.stop = &stop_requested;
  const std::string source = resume_dir.empty() ? config_path : resume_dir + "/resolved.ini";
  try {
    const auto status = resume_dir.empty() ? saelab::run_experiment(cfg, opt)
                                           : saelab::resume_experiment(resume_dir, overrides, opt);
    const auto dir = resume_dir.empty() ? saelab::run_directory(cfg) : resume_dir;
    if (status == saelab::run_status::interrupted) {
      // argv[0] as typed: the hint works from this shell whether or not saelab is on PATH.
      fmt::print(stderr, "sae-train: interrupted; the run directory keeps every finished epoch; continue with: "
                         "{} --resume {}\n",
                 argv[0], dir);
      return 130;
    }
    fmt::print("sae-train: done: {} (epochs.csv, run.h5, model.h5, figures/)\n", dir);
  } catch (const saelab::config_error& e) {
    fmt::print(stderr, "sae-train: {}\n", e.what());
    return 2;
  } catch (const saelab::run_dir_error& e) {
    fmt::print(stderr, "sae-train: {}\n", e.what());
    return 2;
  } catch (const std::invalid_argument& e) {  // config values the model rejects (sites, KL bounds)
    fmt::print(stderr, "sae-train: {}: {}\n", source, e.what());
    return 2;
  } catch (const std::bad_alloc&) {  // the runner names the phases it knows; this is the rest
    fmt::print(stderr, "sae-train: out of memory while running {}\n", source);
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-train: {}\n", e.what());
    return 1;
  }
  return 0;
}
