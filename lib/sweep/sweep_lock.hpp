#pragma once
// Who may run a sweep directory's runs: an flock on <sweep dir>/.sweep.lock,
// held by sae-sweep from its first look at the run directories to its last
// summary write, and released when it ends, however it ends (a SIGKILL
// included: the kernel drops the lock with the descriptor, so there is no
// stale lock to clean up).
//
//   auto lock = sweep_lock::acquire(dir, sweep_lock_mode::exclusive);
//
//   exclusive  a whole sweep: no other sae-sweep may run runs of this directory
//   shared     one row (--task, as Slurm array tasks do) or a shard: many may
//              run together, each row's own run lock (run_dir.hpp) keeping
//              two processes off one run directory; a whole sweep is refused
//              while any of them runs, and they are refused while it runs
// A refusal is a sweep_error naming the directory and the holding processes.

#include <filesystem>
#include <vector>

namespace saelab {

enum class sweep_lock_mode { exclusive, shared };

class sweep_lock {
 public:
  // Creates the sweep directory if needed. Never waits. (Returned as a
  // prvalue: the lock is neither copied nor moved, only held where it lands.)
  static sweep_lock acquire(const std::filesystem::path& sweep_dir, sweep_lock_mode mode);

  sweep_lock(const sweep_lock&) = delete;
  sweep_lock& operator=(const sweep_lock&) = delete;
  ~sweep_lock();

 private:
  explicit sweep_lock(int fd) : fd_(fd) {}
  int fd_;
};

// The processes holding an flock on the open file `fd` refers to, from
// /proc/locks (empty when it cannot tell, e.g. the holder is on another NFS client).
std::vector<long> flock_holders(int fd);

}  // namespace saelab
