#include "sweep/sweep_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "sweep/spec.hpp"

namespace saelab {

namespace fs = std::filesystem;

std::vector<long> flock_holders(int fd) {
  struct stat st {};
  std::vector<long> pids;
  if (::fstat(fd, &st) != 0) return pids;
  // "1: FLOCK  ADVISORY  WRITE 4242 fe:01:1234 0 EOF"; "1: -> FLOCK ..." is a waiter.
  // Only the inode is compared: overlay file systems report another device.
  std::ifstream in("/proc/locks");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string ordinal, kind, advisory, access, device;
    long pid = 0;
    if (!(words >> ordinal >> kind >> advisory >> access >> pid >> device) || kind != "FLOCK") continue;
    const auto colon = device.rfind(':');
    if (colon != std::string::npos && device.substr(colon + 1) == std::to_string(st.st_ino)) pids.push_back(pid);
  }
  return pids;
}

sweep_lock sweep_lock::acquire(const fs::path& sweep_dir, sweep_lock_mode mode) {
  std::error_code ec;
  fs::create_directories(sweep_dir, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("{}: cannot create the sweep directory: {}", sweep_dir.string(), ec.message()));
  const fs::path path = sweep_dir / ".sweep.lock";
  // O_NOFOLLOW: a planted symlink must not make us create or lock its target.
  // O_CLOEXEC: trainers must not inherit it, or a killed sweep's lock would outlive it.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(fmt::format("{}: cannot open the sweep lock: {}", path.string(), std::strerror(errno)));
  const bool exclusive = mode == sweep_lock_mode::exclusive;
  int rc = 0;
  while ((rc = ::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc == 0) return sweep_lock(fd);
  const int err = errno;
  const std::vector<long> pids = flock_holders(fd);
  ::close(fd);
  if (err != EWOULDBLOCK)
    throw std::runtime_error(fmt::format("{}: cannot lock: {}", path.string(), std::strerror(err)));
  const std::string who =
      pids.empty() ? "another sae-sweep"
                   : fmt::format("another sae-sweep (process{} {})", pids.size() == 1 ? "" : "es", fmt::join(pids, ", "));
  throw sweep_error(fmt::format("{}: {} is running {}; wait for it to end or stop it", sweep_dir.string(), who,
                                exclusive ? "runs of this sweep" : "this whole sweep"));
}

sweep_lock::~sweep_lock() { ::close(fd_); }

}  // namespace saelab
