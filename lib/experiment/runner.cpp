#include "experiment/runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "data/idx.hpp"
#include "experiment/checkpoint.hpp"
#include "experiment/observers.hpp"
#include "experiment/progress.hpp"
#include "experiment/resume_plan.hpp"
#include "experiment/session.hpp"
#include "io/fnv1a.hpp"
#include "log/h5_repair.hpp"
#include "log/run_log.hpp"
#include "report/atomic_write.hpp"
#include "report/quote.hpp"
#include "report/run_figures.hpp"
#include "tensor/blas.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

// The config as recorded in resolved.ini and model.h5: run.out emptied.
experiment_config recorded(experiment_config cfg) {
  cfg.run.out.clear();
  return cfg;
}

// std::bad_alloc says nothing about what ran out; name the phase instead.
template <class F>
auto out_of_memory_while(const std::string& phase, F f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(fmt::format("out of memory while {}", phase));
  }
}

// weights: where the initial weights come from (a checkpoint overwrites them).
std::unique_ptr<training_session> start_session(const experiment_config& cfg, initial_weights weights) {
  const model_config& m = cfg.model;
  const std::string model = m.arch == model_arch::fc        ? fmt::format("model.hidden = {}", m.hidden)
                            : m.arch == model_arch::layers ? fmt::format("model.layers = {}", m.layers)
                                                           : fmt::format("model.arch = {}", to_string(m.arch));
  return out_of_memory_while(
      fmt::format("loading the data and building the model ({}, train.batch_size = {})", model, cfg.train.batch_size),
      [&] { return std::make_unique<training_session>(cfg, weights); });
}

// ---- the shared part of a new and a resumed run ----

struct run_context {
  const experiment_config& cfg;  // run.out == dir
  fs::path dir;
  const mnist_data& data;
  network<float>& net;
  rng& r;
  trainer& t;
  run_log& log;  // created or reopened at t.next_epoch()
};

run_log_info log_info() {
  run_log_info info;
  info.program_version = program_version();
  info.git_revision = git_revision();
  return info;
}

// Records a failure in DIR/status and in run.h5 (when open); never throws:
// the original error matters more than a status we cannot write.
void record_failure(const fs::path& dir, run_log* log, int epochs_done, int epochs, const std::string& message) {
  try {
    write_run_state(dir, run_status::failed, epochs_done, epochs, message);
  } catch (const std::exception&) {
  }
  try {
    if (log != nullptr) log->set_status(run_status::failed);
  } catch (const std::exception&) {
  }
}

// Reopens run.h5 of a resumed run, cut back to the checkpoint. A writer
// killed mid-run leaves the file marked open for writing; one that failed on
// a full disk may also leave it short. The caller holds the run lock, so that
// writer is dead: repair each damage once and retry.
run_log reopen_log(const fs::path& path, const experiment_config& cfg, training_session& s, int done) {
  std::vector<h5::damage> repaired;
  for (;;) {
    try {
      return run_log::reopen(path, cfg, *s.net, s.data.test.images, s.t.objective_terms().penalties(), log_info(),
                             {done, s.t.optim().steps()});
    } catch (const h5::needs_repair& e) {
      if (std::find(repaired.begin(), repaired.end(), e.kind()) != repaired.end() || !h5::repair(path, e)) throw;
      repaired.push_back(e.kind());
      fmt::print(stderr, "sae-train: {}: {}\n", path.string(), h5::repair_note(e.kind()));
    }
  }
}

// L0 and dead fraction per site of every logged epoch, from run.h5: a
// resumed run's figure then shows the epochs before the resume too.
std::vector<epoch_sparsity> logged_sparsity(const run_log& log, const network<float>& net) {
  std::vector<epoch_sparsity> rows;
  for (std::size_t s = 0; s < net.sites().size(); ++s) {
    const std::string group = "/sites/" + net.sites()[s].name + "/";
    std::vector<double> l0, dead;
    try {  // a figure's input: its failure must not fail the trained run
      l0 = log.read_f64(group + "l0");
      dead = log.read_f64(group + "dead_fraction");
    } catch (const std::exception& e) {
      fmt::print(stderr, "sae-train: warning: sparsity curves miss site {}: {}\n", net.sites()[s].name, e.what());
    }
    for (std::size_t e = 0; e < l0.size() && e < dead.size(); ++e) {
      if (rows.size() <= e) rows.push_back({static_cast<int>(e) + 1, std::vector<double>(net.sites().size(), NAN),
                                            std::vector<double>(net.sites().size(), NAN)});
      rows[e].l0[s] = l0[e];
      rows[e].dead_fraction[s] = dead[e];
    }
  }
  return rows;
}

// The logged steps' losses, from run.h5 (so with the steps before a resume).
std::vector<step_loss> logged_steps(const run_log& log) {
  std::vector<step_loss> rows;
  try {  // a figure's input: its failure must not fail the trained run
    const auto step = log.read_f64("/steps/step"), loss = log.read_f64("/steps/loss"),
               reconstruction = log.read_f64("/steps/reconstruction");
    for (std::size_t i = 0; i < step.size() && i < loss.size() && i < reconstruction.size(); ++i)
      rows.push_back({step[i], loss[i], reconstruction[i]});
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-train: warning: no step loss figure: {}\n", e.what());
  }
  return rows;
}

run_status train_and_record(const run_context& c, const run_options& opt) {
  const int first = c.t.next_epoch();
  const std::int64_t images = c.data.train.images.size(0);
  if (first == 0)
    fmt::print("saelab: {} -> {}\n", c.cfg.run.name, c.dir.string());
  else
    fmt::print("saelab: resuming {} in {} at epoch {} of {}\n", c.cfg.run.name, c.dir.string(), first + 1,
               c.cfg.train.epochs);
  fmt::print("{}objective: {}\noptimiser: {}\ndata: {} train / {} test images, batch {}, {} threads\n",
             c.net.summary(), c.t.objective_terms().describe(), c.t.optim().describe(), images,
             c.data.test.images.size(0), c.cfg.train.batch_size, c.cfg.run.threads);
  std::fflush(stdout);

  progress bar(c.cfg.train.epochs, images, opt.quiet);
  csv_log csv(c.dir / "epochs.csv", first);
  epoch_printer printer(c.cfg.train.epochs, c.net);
  checkpointer ckpt(c.dir, c.cfg, to_ini(recorded(c.cfg)), c.net, c.t.optim(), c.r, first);
  // The logs before the checkpoint: see runner.hpp.
  fan_out observers({&bar, &csv, &c.log, &printer, &ckpt, opt.observer});

  std::string figure_failures;
  try {
    out_of_memory_while(fmt::format("training after epoch {}", ckpt.epochs_done()),
                        [&] { c.t.run(observers, opt.stop); });
    if (c.t.stopped()) {
      const std::string message =
          ckpt.steps_since() > 0
              ? fmt::format("stopped during epoch {}; its {} finished steps are redone on resume", ckpt.epochs_done() + 1,
                            ckpt.steps_since())
              : fmt::format("stopped after epoch {}", ckpt.epochs_done());
      write_run_state(c.dir, run_status::interrupted, ckpt.epochs_done(), c.cfg.train.epochs, message);
      c.log.set_status(run_status::interrupted);
      c.log.close();
      return run_status::interrupted;
    }
    const test_record last = ckpt.last() ? ckpt.last()->test : c.t.test();
    figure_failures = write_run_figures(c.dir / "figures", c.net, c.data.test.images, csv.rows(),
                                        logged_steps(c.log), logged_sparsity(c.log, c.net), last.activity);
    c.log.set_status(run_status::done);
    c.log.close();
    write_run_state(c.dir, run_status::done, ckpt.epochs_done(), c.cfg.train.epochs, figure_failures);
  } catch (const std::exception& e) {
    record_failure(c.dir, &c.log, ckpt.epochs_done(), c.cfg.train.epochs, e.what());
    throw;
  } catch (...) {
    record_failure(c.dir, &c.log, ckpt.epochs_done(), c.cfg.train.epochs, "unknown exception");
    throw;
  }
  return run_status::done;
}

}  // namespace

std::string run_directory(const experiment_config& cfg) {
  if (!cfg.run.out.empty()) return cfg.run.out;
  const std::string config = to_ini(recorded(cfg));
  return fmt::format("experiments/runs/{}-{:08x}", cfg.run.name.empty() ? "run" : cfg.run.name,
                     fnv1a(config.data(), config.size()) & 0xffffffffull);
}

std::string resolved_ini(const experiment_config& cfg, const fs::path& dir) {
  return fmt::format(
      "# Resolved config of the run in {dir} (sae-train {version}).\n"
      "#   sae-train {dir}/resolved.ini                 runs this config again. run.out is empty on\n"
      "#       purpose: the rerun goes to the config's default directory\n"
      "#       experiments/runs/<run.name>-<hash of this config>, never back into {dir}; if that is\n"
      "#       where this run is, the rerun is refused there: add --run.out=NEWDIR.\n"
      "#   sae-train --resume {dir} [--train.epochs=N]  continues or extends this run instead.\n",
      fmt::arg("dir", one_line(dir.string())), fmt::arg("version", program_version())) +
         to_ini(recorded(cfg));
}

run_status run_experiment(const experiment_config& cfg_in, const run_options& opt) {
  experiment_config cfg = cfg_in;
  const bool default_location = cfg.run.out.empty();
  const fs::path dir = run_directory(cfg);
  cfg.run.out = dir.string();
  // Everything that can fail on bad input fails before the directory exists.
  check_new_run_directory(dir, default_location);
  blas::set_threads(cfg.run.threads);
  const auto session = start_session(cfg, initial_weights::from_config);
  training_session& s = *session;

  create_run_directory(dir);
  auto lock = run_lock::acquire(dir);
  check_new_run_directory(dir, default_location);  // again under the lock: another process may have won
  write_run_state(dir, run_status::running, 0, cfg.train.epochs);
  std::optional<run_log> log;
  try {
    write_file_atomically(dir / "resolved.ini", resolved_ini(cfg, dir));
    log.emplace(dir / "run.h5", cfg, to_ini(recorded(cfg)), *s.net, s.data.test.images,
                s.t.objective_terms().penalties(), log_info());
  } catch (const std::exception& e) {
    record_failure(dir, nullptr, 0, cfg.train.epochs, e.what());
    throw;
  }
  return train_and_record({cfg, dir, s.data, *s.net, s.r, s.t, *log}, opt);
}

run_status resume_experiment(const fs::path& dir, const std::vector<std::string>& overrides, const run_options& opt) {
  resume_plan plan = plan_resume(dir, overrides);
  const experiment_config& cfg = plan.cfg;
  const int done = plan.epochs_done;
  blas::set_threads(cfg.run.threads);
  // A run without a checkpoint yet starts over from its seed (and model.init_from).
  const auto session =
      start_session(cfg, plan.from_checkpoint ? initial_weights::checkpoint : initial_weights::from_config);
  training_session& s = *session;
  if (plan.from_checkpoint) {
    const checkpoint_info info = load_checkpoint(dir / "model.h5", *s.net, &s.t.optim(), &s.r);
    s.t.set_next_epoch(info.next_epoch);
  }

  const fs::path log_path = dir / "run.h5";
  std::optional<run_log> log;
  if (plan.continue_log)
    log.emplace(reopen_log(log_path, cfg, s, done));
  else
    log.emplace(log_path, cfg, to_ini(recorded(cfg)), *s.net, s.data.test.images, s.t.objective_terms().penalties(),
                log_info());

  // From here on the directory is written.
  try {
    if (!plan.changed.empty()) write_file_atomically(dir / "resolved.ini", resolved_ini(cfg, dir));
    write_run_state(dir, run_status::running, done, cfg.train.epochs,
                    done > 0 ? fmt::format("resumed after epoch {}", done) : "");
  } catch (const std::exception& e) {
    record_failure(dir, &*log, done, cfg.train.epochs, e.what());
    throw;
  }
  return train_and_record({cfg, dir, s.data, *s.net, s.r, s.t, *log}, opt);
}

}  // namespace saelab
