#include "report/atomic_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace saelab {

namespace fs = std::filesystem;

namespace {

std::string reason(int err) {
  return err == ELOOP ? "it is a symbolic link (refusing to write through it)" : std::strerror(err);
}

// Writes all of `bytes`, through short writes and signals. False with errno set on failure.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

fs::path parent_or_dot(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

}  // namespace

fs::path temporary_path(const fs::path& path) {
  // random_device per call: cheap next to the file write, and no state shared between threads.
  std::random_device rd;
  return path.string() + fmt::format(".tmp.{}.{:08x}", ::getpid(), rd());
}

void remove_stale_temporaries(const fs::path& path) {
  const std::string prefix = path.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent_or_dot(path), ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove(e.path(), ec);  // a link itself, not its target
}

int create_new_file(const fs::path& path, file_mode mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        mode == file_mode::executable ? 0777 : 0666);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot create: {}", path.string(), reason(errno)));
  return fd;
}

void write_log(const fs::path& path, log_open how, std::string_view text) {
  int fd = -1;
  if (how == log_open::truncate) {
    // unlink removes a link itself, never its target; O_EXCL then refuses one planted in between.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw std::runtime_error(fmt::format("{}: cannot replace the log: {}", path.string(), std::strerror(errno)));
    fd = create_new_file(path);
  } else {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open the log: {}", path.string(), reason(errno)));
  }
  const bool ok = write_all(fd, text);
  const int err = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error(fmt::format("{}: cannot write the log: {}", path.string(), std::strerror(err)));
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomically(const fs::path& path, std::string_view bytes, file_mode mode) {
  const fs::path tmp = temporary_path(path);
  int fd = -1;
  try {
    fd = create_new_file(tmp, mode);
  } catch (const std::runtime_error&) {
    throw std::runtime_error(fmt::format("{}: cannot write (directory missing or not writable?): {}", path.string(),
                                         reason(errno)));
  }
  const bool ok = write_all(fd, bytes) && ::fsync(fd) == 0;
  const int write_errno = errno;
  const bool closed = ::close(fd) == 0;
  if (!ok || !closed) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot write: {}", path.string(), std::strerror(ok ? errno : write_errno)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot rename the temporary into place: {}", path.string(),
                                         std::strerror(err)));
  }
  sync_directory(parent_or_dot(path));
}

}  // namespace saelab
