#pragma once
// What `sae-train --resume DIR` does, decided from the directory before any
// data is loaded or anything written; resume_experiment (runner.hpp) then
// carries it out.
//
//   resume_plan plan = plan_resume(dir, {"--train.epochs=30"});
//   // plan.cfg: resolved.ini + overrides; plan.epochs_done: where training
//   // continues; plan.lock: the run lock, held while the plan is carried out
//
// Refused (nothing changed): a directory that is not a run, an override of a
// key outside resume_overridable_keys() (config_error), a resolved.ini that
// disagrees with model.h5, a status counting epochs with no model.h5 to hold
// them, a finished run whose epoch count is not raised, train.epochs below
// the finished epochs (config_error), a checkpoint with no run.h5 to continue,
// a directory another process writes.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "experiment/run_dir.hpp"

namespace saelab {

struct resume_plan {
  experiment_config cfg;             // resolved.ini with the overrides; run.out = the directory
  std::vector<std::string> changed;  // the keys the overrides change; resolved.ini is rewritten if any
  int epochs_done = 0;               // finished epochs in model.h5; 0: the run starts over from its seed
  bool from_checkpoint = false;      // model.h5 exists: load its weights, optimiser and rng
  bool continue_log = false;         // reopen run.h5 and cut it to epochs_done (else create it anew)
  std::optional<run_lock> lock;      // held from the checks on, so the directory cannot change under the plan
};

// Checks the run in `dir` and plans its resume. `overrides` are command-line
// tokens as for load_config. Throws run_dir_error or config_error with a
// message naming the directory or key (see above); checkpoint_error for an
// unreadable model.h5.
resume_plan plan_resume(const std::filesystem::path& dir, const std::vector<std::string>& overrides);

// train.epochs (extend a run), data.dir (the data moved), run.threads (a
// different machine: results are then no longer bitwise those of the
// original thread count).
const std::vector<std::string>& resume_overridable_keys();

}  // namespace saelab
