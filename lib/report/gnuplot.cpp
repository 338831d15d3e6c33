#include "report/gnuplot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "report/atomic_write.hpp"

extern char** environ;

namespace saelab {

namespace fs = std::filesystem;

fs::path find_program(std::string_view program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string_view rest(path);
  while (true) {
    const auto colon = rest.find(':');
    const std::string_view entry = rest.substr(0, colon);
    // An empty entry would mean "the current directory": skipped on purpose,
    // so a stray ./gnuplot in a run directory is never executed.
    if (!entry.empty()) {
      const fs::path candidate = fs::path(entry) / program;
      struct stat st {};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
}

namespace {

// Copies dir/name into work/name when it exists (a missing data file is
// gnuplot's error to report, in the log).
bool copy_input(const fs::path& dir, const fs::path& work, const std::string& name) {
  std::error_code ec;
  if (!fs::exists(dir / name, ec)) return true;
  std::ifstream in(dir / name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return false;
  try {
    write_file_atomically(work / name, text.str());
  } catch (const std::runtime_error&) {
    return false;
  }
  return true;
}

// Runs exe on script in `work`, output to work/log (created exclusively).
// True when it exited 0.
bool run_gnuplot(const fs::path& exe, const fs::path& work, const std::string& script, const fs::path& log) {
  // posix_spawn rather than fork: no copy of a large training process, and the
  // child changes directory itself so relative names in the script resolve
  // inside the work directory.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, work.c_str());

  std::string arg0 = exe.string(), arg1 = script;
  std::vector<char*> argv{arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int spawn_error = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) return false;

  int status = 0;
  pid_t waited;
  // Signal handlers (the runner's SIGINT) may interrupt the wait; keep waiting.
  do waited = ::waitpid(pid, &status, 0);
  while (waited < 0 && errno == EINTR);
  return waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

bool gnuplot_render(const fs::path& dir, const std::string& script, const std::string& png) {
  const fs::path exe = find_program("gnuplot");
  if (exe.empty()) return false;

  std::error_code ec;
  const fs::path abs_dir = fs::absolute(dir, ec);
  if (ec) return false;
  fs::remove(abs_dir / png, ec);  // a stale PNG must not pass for a fresh one

  // gnuplot opens its output (and we its log) by name, following links: it
  // works in a fresh private directory where nobody can plant one, and what
  // it made is renamed into place (rename replaces a link, never follows it).
  std::string work_name = (abs_dir / ".gnuplot.XXXXXX").string();
  if (::mkdtemp(work_name.data()) == nullptr) return false;
  const fs::path work = work_name;
  const std::string stem = fs::path(script).stem().string();
  const fs::path log = work / (script + ".log");
  bool made = false;
  if (copy_input(abs_dir, work, script) && copy_input(abs_dir, work, stem + ".dat")) {
    const bool exited_ok = run_gnuplot(exe, work, script, log);
    // gnuplot creates the output at `set output`, before a plot can fail: a
    // half-drawn PNG must not be kept looking like a result.
    made = exited_ok && fs::is_regular_file(work / png, ec) && fs::file_size(work / png, ec) > 0 &&
           ::rename((work / png).c_str(), (abs_dir / png).c_str()) == 0;
    // The log stays only on failure, to say why.
    if (!made) ::rename(log.c_str(), (abs_dir / (script + ".log")).c_str());
    else fs::remove(abs_dir / (script + ".log"), ec);
  }
  fs::remove_all(work, ec);
  return made;
}

}  // namespace saelab
