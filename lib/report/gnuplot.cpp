#include "report/gnuplot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

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

bool gnuplot_render(const fs::path& dir, const std::string& script, const std::string& png) {
  const fs::path exe = find_program("gnuplot");
  if (exe.empty()) return false;

  std::error_code ec;
  const fs::path abs_dir = fs::absolute(dir, ec);
  if (ec) return false;
  const fs::path log = abs_dir / (script + ".log");
  fs::remove(abs_dir / png, ec);  // a stale PNG must not pass for a fresh one

  // posix_spawn rather than fork: no copy of a large training process, and the
  // child changes directory itself so relative names in the script resolve
  // inside the figures directory.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, abs_dir.c_str());

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

  const bool exited_ok = waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  const bool made = exited_ok && fs::is_regular_file(abs_dir / png, ec) && fs::file_size(abs_dir / png, ec) > 0;
  // gnuplot creates the output at `set output`, before a plot can fail: a
  // half-drawn PNG must not stay behind looking like a result.
  fs::remove(made ? log : abs_dir / png, ec);
  return made;
}

std::string gnuplot_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "''";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out + "'";
}

}  // namespace saelab
