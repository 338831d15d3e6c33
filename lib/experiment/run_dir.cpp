#include "experiment/run_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "report/atomic_write.hpp"
#include "report/quote.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

// On a full disk the temporary copy cannot be written, and a status left at
// "running" would hide why the run stopped. A status file (a few hundred
// bytes) fits in the block it already has, so overwriting that needs no new
// space. Not atomic, hence only the fallback. False if that fails too.
bool overwrite_in_place(const fs::path& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()) &&
                  ::ftruncate(fd, static_cast<off_t>(text.size())) == 0 && ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

// The files a run writes; any of them marks a directory as holding a run.
constexpr const char* run_files[] = {"status", "resolved.ini", "model.h5", "run.h5", "epochs.csv"};

}  // namespace

void write_run_state(const fs::path& dir, run_state s) {
  s.pid = static_cast<long>(::getpid());
  s.host = host_name();
  s.updated = utc_timestamp();
  std::string text = fmt::format("status: {}\nepochs: {} of {}\n", to_string(s.status), s.epochs_done, s.epochs);
  if (!s.message.empty()) text += fmt::format("message: {}\n", one_line(s.message));
  text += fmt::format("pid: {}\nhost: {}\nupdated: {}\n", s.pid, s.host, s.updated);
  try {
    write_file_atomically(dir / "status", text);
  } catch (const std::exception&) {
    if (!overwrite_in_place(dir / "status", text)) throw;
  }
}

void write_run_state(const fs::path& dir, run_status status, int epochs_done, int epochs, std::string message) {
  run_state s;
  s.status = status;
  s.epochs_done = epochs_done;
  s.epochs = epochs;
  s.message = std::move(message);
  write_run_state(dir, std::move(s));
}

std::optional<run_state> read_run_state(const fs::path& dir) {
  const fs::path path = dir / "status";
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::ifstream in(path);
  if (!in) throw run_dir_error(fmt::format("{}: cannot read", path.string()));
  run_state s;
  bool have_status = false;
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (key == "status") {
      if (const auto st = parse_run_status(value)) s.status = *st, have_status = true;
    } else if (key == "epochs") {
      std::istringstream e(value);
      std::string of;
      e >> s.epochs_done >> of >> s.epochs;
    } else if (key == "message") {
      s.message = value;
    } else if (key == "pid") {
      s.pid = std::atol(value.c_str());
    } else if (key == "host") {
      s.host = value;
    } else if (key == "updated") {
      s.updated = value;
    }
  }
  if (!have_status)
    throw run_dir_error(fmt::format("{}: no valid 'status: running|done|failed|interrupted' line", path.string()));
  return s;
}

std::optional<run_lock> run_lock::try_acquire(const fs::path& dir) {
  const fs::path path = dir / ".lock";
  // O_NOFOLLOW: a planted symlink must not make us create or lock its target.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(fmt::format("{}: cannot create the lock file: {}", path.string(),
                                         errno == ELOOP ? "it is a symbolic link" : std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  return run_lock(fd);
}

run_lock run_lock::acquire(const fs::path& dir) {
  auto lock = try_acquire(dir);
  if (!lock) {
    std::string who;
    if (auto s = read_run_state(dir); s && s->pid > 0) who = fmt::format(" (process {} on {})", s->pid, s->host);
    throw run_dir_error(fmt::format("{}: another sae-train{} is writing this run directory; wait for it or stop it",
                                    dir.string(), who));
  }
  return std::move(*lock);
}

bool run_lock::held_elsewhere(const fs::path& dir) {
  const int fd = ::open((dir / ".lock").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);  // releases the probe lock if we got it
  return held;
}

run_lock::~run_lock() {
  if (fd_ >= 0) ::close(fd_);
}

void check_new_run_directory(const fs::path& dir, bool default_location) {
  std::error_code ec;
  const std::string d = dir.string();
  if (!fs::exists(dir, ec)) {
    // Find the nearest existing ancestor; it must be a writable directory.
    fs::path up = fs::absolute(dir, ec).parent_path();
    while (!up.empty() && !fs::exists(up, ec) && up != up.parent_path()) up = up.parent_path();
    if (!fs::is_directory(up, ec))
      throw std::runtime_error(
          fmt::format("{}: cannot create the run directory: {} is not a directory", d, up.string()));
    if (::access(up.c_str(), W_OK | X_OK) != 0)
      throw std::runtime_error(
          fmt::format("{}: cannot create the run directory: {} is not writable", d, up.string()));
    return;
  }
  if (!fs::is_directory(dir, ec))
    throw run_dir_error(fmt::format("{}: exists and is not a directory; choose another run.out", d));

  const auto state = read_run_state(dir);
  if (state) {
    const std::string epochs = fmt::format("{} of {} epochs", state->epochs_done, state->epochs);
    if (run_lock::held_elsewhere(dir))
      throw run_dir_error(fmt::format("{}: a run is in progress here (process {} on {}, {}); "
                                      "choose another run.out",
                                      d, state->pid, state->host, epochs));
    if (state->status == run_status::done) {
      if (default_location)
        throw run_dir_error(fmt::format(
            "{}: already holds a finished run of this same config ({}; the directory name is a hash of the "
            "config); to run it again pass --run.out=NEWDIR, to train it longer: sae-train --resume {} "
            "--train.epochs=N",
            d, epochs, d));
      throw run_dir_error(fmt::format("{}: already holds a finished run ({}); choose another run.out, or "
                                      "remove the directory to redo it",
                                      d, epochs));
    }
    const std::string how = state->status == run_status::running
                                ? "status running, but no process writes it: it was killed"
                                : fmt::format("status {}", to_string(state->status));
    throw run_dir_error(fmt::format("{}: holds an unfinished run ({}; {} finished{}); continue it with: "
                                    "sae-train --resume {}  (or choose another run.out)",
                                    d, how, epochs, state->message.empty() ? "" : "; " + state->message, d));
  }
  for (const char* f : run_files)
    if (fs::exists(dir / f, ec))
      throw run_dir_error(fmt::format("{}: already holds a run ({} exists, but no status file); choose another "
                                      "run.out, or try: sae-train --resume {}",
                                      d, f, d));
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename() != ".lock")
      throw run_dir_error(fmt::format("{}: exists and holds other files ({}); a run directory must be new or "
                                      "empty: choose another run.out",
                                      d, entry.path().filename().string()));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw std::runtime_error(fmt::format("{}: run directory is not writable", d));
}

void create_run_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create the run directory: {}", dir.string(), ec.message()));
  // Probe writability now rather than after an hour of training (a fresh
  // name, created exclusively: never a file someone planted).
  const fs::path probe = temporary_path(dir / ".write-test");
  try {
    ::close(create_new_file(probe));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("{}: run directory is not writable: {}", dir.string(), e.what()));
  }
  fs::remove(probe, ec);
}

}  // namespace saelab
