#pragma once
// Running a sweep plan: each run a child sae-train process writing its own
// run directory (runner.hpp), up to `jobs` at a time, resumable.
//
//   auto state = inspect_run(plan, plan.rows[i], sweep_dir);   // what is in its directory
//   run_sweep(plan, sweep_dir, {.jobs = 2, .trainer = "build/apps/sae-train", .rows = select_rows(...)});
//
// What happens to a row, from its directory (DIR = sweep_dir / row.run_dir):
//   pending      no DIR, or an empty one           start: sae-train BASE --k=v... --run.out=DIR
//   done         status done, the planned config   skip
//   running      status running, lock held         skip: another process trains it
//   killed       status running, lock free         resume: sae-train --resume DIR
//   interrupted, failed                            resume (a run with no checkpoint restarts from its seed)
//   short        done or unfinished, but the plan asks for more epochs (only train.epochs differs)
//                                                  resume with --train.epochs=N: the run is extended
//   broken       DIR holds files but no status     emptied (its .lock kept), then started afresh
//   mismatch     DIR holds a run of another config (the sweep file or its base changed): an
//                error before anything starts; remove the directory, or give the sweep a new name
// The comparison ignores run.threads and run.out. The states are read at the
// start for the plan, and again for each run under its own lock just before
// it is started: what another process (a shard, an array task) did meanwhile
// decides, and a run that a live process holds, or that is done, is never
// removed. (One whole sweep per directory at a time: sweep_lock.hpp.)
//
// Threads: every run gets run.threads = max(1, cores / jobs) (cores: the
// machine's unless given), so -j 2 on 2 cores runs two single-threaded runs.
// A run's numbers then match those of another thread count to within
// floating-point summation order only.
//
// Each child's output goes to DIR.log (sibling of DIR: a run directory must be
// new or empty when sae-train starts), appended to on resume. Children run in
// their own process groups: a Ctrl-C reaches sae-sweep only, which passes each
// SIGINT/SIGTERM on to every child as SIGINT (the first stops a run cleanly at
// the next step and records it interrupted; a second kills it) and starts no new run.
// If sae-sweep dies without passing anything on (SIGKILL, a crash), each
// child gets SIGTERM from the kernel (PR_SET_PDEATHSIG) and stops the same way.

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sweep/plan.hpp"

namespace saelab {

enum class planned_run_status {
  pending,
  done,
  running,
  killed,
  interrupted,
  failed,
  too_short,
  broken,
  mismatch,
};
std::string_view to_string(planned_run_status s);  // "pending", "done", ...

struct planned_run_state {
  planned_run_status status = planned_run_status::pending;
  int epochs_done = 0;  // from DIR/status
  int epochs_planned = 0;
  std::string detail;  // mismatch: the keys that differ; failed: its message
};

// Reads DIR/status, DIR/.lock and DIR/resolved.ini. Never throws: an
// unreadable status is "broken".
planned_run_state inspect_run(const sweep_plan& plan, const plan_row& row, const std::filesystem::path& sweep_dir);

// "i/n" with 0 <= i < n. Throws sweep_error.
struct shard {
  int i = 0, n = 1;
};
shard parse_shard(const std::string& text);

// The plan rows to run: all; every n-th from i (a shard); or just `task`
// (0-based, as SLURM_ARRAY_TASK_ID). Throws sweep_error for a task outside the plan.
std::vector<int> select_rows(int rows, std::optional<shard> s, std::optional<int> task);

int threads_per_run(int cores, int jobs);

// The sae-train command line of a row: a fresh start, or the resume of DIR.
std::vector<std::string> train_command(const sweep_plan& plan, const plan_row& row,
                                       const std::filesystem::path& sweep_dir, const std::filesystem::path& trainer,
                                       const planned_run_state& state, int threads);

struct sweep_run_options {
  int jobs = 1;
  int cores = 0;  // 0: std::thread::hardware_concurrency()
  std::filesystem::path trainer;  // sae-train
  std::vector<int> rows;          // which plan rows (select_rows)
  // How many SIGINT/SIGTERM sae-sweep has received; each new one is passed on.
  const std::atomic<int>* signals = nullptr;
  // A line to show (progress, one per started and finished run).
  std::function<void(const std::string&)> print;
  // After each run ends (the summary is rewritten here); returns text for
  // the end of the run's progress line (e.g. its metrics).
  std::function<std::string(const plan_row&)> on_run_end;
};

struct sweep_run_result {
  int started = 0, skipped_done = 0, skipped_running = 0;
  int done = 0, failed = 0, interrupted = 0;
  bool stopped = false;  // a signal stopped the sweep
};

// The seconds a sweep has left: the runs not started and the rest of the
// running ones, each taking the mean of the measured durations of the runs
// that finished done, shared among `jobs` slots in start order. nullopt before
// a run has finished done. It depends on the runs' durations only, not on the
// order in which two runs ending together are seen.
std::optional<double> sweep_seconds_left(const std::vector<double>& done_seconds,
                                         const std::vector<double>& running_elapsed, int not_started, int jobs);

// Throws sweep_error listing every selected row whose directory holds a run
// of another config (status mismatch).
void check_run_dirs(const sweep_plan& plan, const std::filesystem::path& sweep_dir, const std::vector<int>& rows);

// Runs check_run_dirs first: nothing starts while any row is a mismatch.
sweep_run_result run_sweep(const sweep_plan& plan, const std::filesystem::path& sweep_dir,
                           const sweep_run_options& opt);

}  // namespace saelab
