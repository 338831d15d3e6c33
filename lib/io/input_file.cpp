#include "io/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace saelab {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unknown kind";
}

[[noreturn]] void refuse(const std::filesystem::path& path, mode_t mode, std::string_view expected) {
  throw input_error(path, fmt::format("not a regular file ({}): expected {}", kind_of(mode), expected));
}

[[noreturn]] void fail_errno(const std::filesystem::path& path, std::string_view op, std::string_view expected) {
  const int e = errno;
  if (e == ENOENT) throw input_error(path, fmt::format("no such file: expected {}", expected));
  throw input_error(path, fmt::format("cannot {}: {}", op, std::strerror(e)));
}

}  // namespace

void check_input_file(const std::filesystem::path& path, std::string_view expected) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail_errno(path, "stat", expected);
  if (!S_ISREG(st.st_mode)) refuse(path, st.st_mode, expected);
}

input_file::input_file(const std::filesystem::path& path, std::string_view expected) : path_(path) {
  check_input_file(path, expected);
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd_ < 0) fail_errno(path, "open", expected);
  struct stat st {};
  const bool stat_ok = ::fstat(fd_, &st) == 0;
  const int flags = stat_ok && S_ISREG(st.st_mode) ? ::fcntl(fd_, F_GETFL) : -1;
  if (!stat_ok || !S_ISREG(st.st_mode) || flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) < 0) {
    const int e = errno;
    ::close(fd_);
    if (stat_ok && !S_ISREG(st.st_mode)) refuse(path, st.st_mode, expected);
    errno = e;
    fail_errno(path, "open", expected);
  }
  size_ = static_cast<std::int64_t>(st.st_size);
}

input_file::~input_file() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t input_file::read(void* dst, std::size_t n) {
  auto* out = static_cast<char*>(dst);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd_, out + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw input_error(path_, fmt::format("read error: {}", std::strerror(errno)));
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

std::string read_input_text(const std::filesystem::path& path, std::string_view expected, std::int64_t max_bytes) {
  input_file f(path, expected);
  auto too_big = [&](std::int64_t n) {
    return input_error(path, fmt::format("{} bytes or more: expected {} of at most {} bytes", n, expected, max_bytes));
  };
  if (f.size() > max_bytes) throw too_big(f.size());
  // The size at open is a hint only: the file may grow while it is read.
  std::string text(static_cast<std::size_t>(f.size()) + 1, '\0');
  std::size_t have = 0;
  while (true) {
    have += f.read(text.data() + have, text.size() - have);
    if (have < text.size()) break;
    if (static_cast<std::int64_t>(have) > max_bytes) throw too_big(static_cast<std::int64_t>(have));
    text.resize(std::min<std::size_t>(text.size() * 2, static_cast<std::size_t>(max_bytes) + 1));
  }
  text.resize(have);
  return text;
}

}  // namespace saelab
