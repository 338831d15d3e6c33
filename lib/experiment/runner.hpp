#pragma once
// One experiment run from a resolved config: data, model, training, and the
// run directory that records it.
//
// The run directory (run.out; default experiments/runs/<run.name>-<hash8>,
// hash8 = 32 bits of FNV-1a over to_ini of the config with run.out empty):
//   status        running | done | failed | interrupted, epochs finished, the
//                 failure message (run_dir.hpp); readable without HDF5
//   resolved.ini  every key, defaults included. run.out is written EMPTY on
//                 purpose: `sae-train DIR/resolved.ini` reruns the config into
//                 its default directory, never back into DIR by accident. For
//                 a run that used the default directory the rerun therefore
//                 meets that same finished directory and is refused with a
//                 message saying so (pass --run.out=NEW to repeat it
//                 elsewhere). run.name is kept, so the rerun has the same name.
//   model.h5      the checkpoint of the last finished epoch (checkpoint.hpp)
//   run.h5        the activation log (lib/log/run_log.hpp), SWMR-written
//   epochs.csv    one row per finished epoch
//   figures/      at the end of the run: reconstructions.png (10 test inputs
//                 over their reconstructions), filters.png (encoder filters),
//                 loss_curves.{dat,gp,png}, rho_hat_<site>.{dat,gp,png}; the
//                 plots are data + gnuplot script, rendered when gnuplot is
//                 installed. A figure that fails is a warning (noted in
//                 status), not a failed run.
//   .lock         flock held while a process writes the directory
//
// Order at every epoch end: epochs.csv, run.h5, then model.h5, then status.
// model.h5 is the truth about how many epochs are finished: a crash between
// the logs and the checkpoint leaves the logs one epoch ahead, and a resume
// cuts them back to the checkpoint, so they continue with no gap and no
// duplicate.
//
// Resume (sae-train --resume DIR) reads DIR/resolved.ini and DIR/model.h5 and
// continues at the checkpoint's next epoch; the weights at the end are
// bitwise those of an uninterrupted run with the same thread count. Progress
// inside an unfinished epoch is not saved: it is redone. Only
// resume_overridable_keys() may change on resume; raising train.epochs
// extends a run, including a finished one. A run with no checkpoint yet
// (stopped during epoch 1) restarts from its seed. A run whose process was
// killed (status still "running", lock free) resumes the same way; its
// run.h5, still marked open by a SWMR writer, is repaired first as
// `h5clear -s --increment=0` would (safe: the lock proves the writer dead).

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "experiment/resume_plan.hpp"
#include "experiment/run_dir.hpp"
#include "experiment/trainer.hpp"

namespace saelab {

struct run_options {
  bool quiet = false;
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler
  // Called after the run's own observers (tests, embedding programs).
  training_observer* observer = nullptr;
};

// Trains cfg into a new run directory, to the end or until *stop. Returns
// run_status::done or run_status::interrupted. Throws run_dir_error when the
// directory holds a run already; config_error, data_error, training_error,
// checkpoint_error or std::runtime_error otherwise, with a message fit to
// print as it is. Bad input fails before the directory is created; a failure
// after that is recorded in DIR/status (failed + message) before the throw.
run_status run_experiment(const experiment_config& cfg, const run_options& opt);

// Continues the run in `dir` as plan_resume (resume_plan.hpp) plans it.
// `overrides` are command-line tokens as for load_config, limited to
// resume_overridable_keys() (config_error otherwise). Throws run_dir_error
// for a finished run (unless train.epochs is raised), a directory that is not
// a run, or one another process writes.
run_status resume_experiment(const std::filesystem::path& dir, const std::vector<std::string>& overrides,
                             const run_options& opt);

// The run directory a config goes to: run.out if set, else
// experiments/runs/<run.name>-<8 hex digits of the config's hash>.
std::string run_directory(const experiment_config& cfg);

// resolved.ini's text for cfg (run.out emptied, see above), after a comment
// saying how to rerun and resume it.
std::string resolved_ini(const experiment_config& cfg, const std::filesystem::path& dir);

}  // namespace saelab
