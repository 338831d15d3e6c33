#pragma once
// The run directory's bookkeeping: its status file, its lock, and the rule
// that an existing run is never overwritten. (What goes into the directory
// and when: runner.hpp.)
//
//   DIR/status   a few "key: value" lines, replaced atomically (temporary +
//                rename), readable with cat and without HDF5:
//                  status: interrupted          running | done | failed | interrupted
//                  epochs: 3 of 20              epochs finished (= in model.h5) of the target
//                  message: stopped by signal   why it failed or stopped (one line)
//                  pid: 4242
//                  host: node7
//                  updated: 2025-01-31T12:00:00Z
//   DIR/.lock    an flock held by the process writing the run, so a second
//                process cannot write the same directory, and a "running"
//                status whose lock is free is known to be a killed run.

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "io/utc_timestamp.hpp"  // for the callers of utc_timestamp() that include this
#include "train/run_status.hpp"

namespace saelab {

// The directory's state forbids what was asked: it holds a run already, the
// run is done, another process writes it, it is not a run directory.
class run_dir_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct run_state {
  run_status status = run_status::running;
  int epochs_done = 0;  // finished epochs, all in the checkpoint
  int epochs = 0;       // the run's target (train.epochs)
  std::string message;  // one line; empty when there is nothing to say
  long pid = 0;
  std::string host, updated;
};

// Writes DIR/status atomically (pid, host and time are filled in here).
void write_run_state(const std::filesystem::path& dir, run_state s);
// The same for this process's run: status, epochs finished of `epochs`, and
// an optional one-line message.
void write_run_state(const std::filesystem::path& dir, run_status status, int epochs_done, int epochs,
                     std::string message = {});
// DIR/status, or nullopt when there is none. Throws run_dir_error for a
// status file it cannot make sense of.
std::optional<run_state> read_run_state(const std::filesystem::path& dir);

// An exclusive flock on DIR/.lock, released when the object goes (or the
// process dies, however it dies).
class run_lock {
 public:
  // Throws run_dir_error when another process holds it.
  static run_lock acquire(const std::filesystem::path& dir);
  // The lock, or nullopt when another process holds it. DIR must exist.
  // Throws std::runtime_error when DIR/.lock cannot be opened.
  static std::optional<run_lock> try_acquire(const std::filesystem::path& dir);
  // Whether some other process holds DIR/.lock right now.
  static bool held_elsewhere(const std::filesystem::path& dir);

  run_lock(run_lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  run_lock& operator=(run_lock&&) = delete;
  run_lock(const run_lock&) = delete;
  ~run_lock();

 private:
  explicit run_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Throws unless `dir` can take a new run: it does not exist and could be
// created, or it is an empty, writable directory. Creates nothing. An
// existing run is refused with run_dir_error: a finished one plainly, an
// unfinished one (interrupted, failed, killed) with the --resume command
// that continues it. `default_location`: the directory name came from the
// config's hash, so a finished run there is a run of this same config.
void check_new_run_directory(const std::filesystem::path& dir, bool default_location);

// Creates `dir` (and parents) and proves it writable with a probe file it
// then removes. Throws std::runtime_error naming the directory.
void create_run_directory(const std::filesystem::path& dir);

}  // namespace saelab
