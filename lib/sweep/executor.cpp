#include "sweep/executor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "experiment/run_dir.hpp"
#include "report/atomic_write.hpp"

extern char** environ;

namespace saelab {

namespace fs = std::filesystem;

namespace {

// "key = value" lines of to_ini under their [section], as dotted keys.
std::map<std::string, std::string> ini_map(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    const auto eq = line.find(" =");
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 2);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    out[section + "." + line.substr(0, eq)] = value;
  }
  return out;
}

// The config with what may differ between a planned run and its directory
// neutralised: run.out (resolved.ini keeps it empty) and run.threads (-j).
experiment_config comparable(experiment_config c) {
  c.run.out.clear();
  c.run.threads = 1;
  return c;
}

bool dir_is_empty(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename() != ".lock") return false;
  return true;
}

std::string last_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}:{:02}", s / 60, s % 60);
}

// Starts argv with stdout and stderr appended to `log`, in its own process group.
pid_t spawn_logged(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) throw std::runtime_error(fmt::format("cannot start {}: {}", argv[0], std::strerror(err)));
  return pid;
}

}  // namespace

std::string_view to_string(planned_run_status s) {
  switch (s) {
    case planned_run_status::planned_run_status_pending: return "pending";
    case planned_run_status::planned_run_status_done: return "done";
    case planned_run_status::planned_run_status_running: return "running";
    case planned_run_status::planned_run_status_killed: return "killed";
    case planned_run_status::planned_run_status_interrupted: return "interrupted";
    case planned_run_status::planned_run_status_failed: return "failed";
    case planned_run_status::planned_run_status_short: return "short";
    case planned_run_status::planned_run_status_broken: return "broken";
    case planned_run_status::planned_run_status_mismatch: return "mismatch";
  }
  return "?";
}

planned_run_state inspect_run(const sweep_plan& plan, const plan_row& row, const fs::path& sweep_dir) {
  using S = planned_run_status;
  planned_run_state st;
  const fs::path dir = sweep_dir / row.run_dir;
  const experiment_config planned = comparable(planned_config(plan, row, sweep_dir));
  st.epochs_planned = planned.train.epochs;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return st;
  if (!fs::is_directory(dir, ec)) {
    st.status = S::planned_run_status_mismatch;
    st.detail = "exists and is not a directory";
    return st;
  }
  std::optional<run_state> s;
  try {
    s = read_run_state(dir);
  } catch (const std::exception& e) {
    st.status = S::planned_run_status_broken;
    st.detail = e.what();
    return st;
  }
  const bool busy = run_lock::held_elsewhere(dir);
  if (!s) {
    if (busy) st.status = S::planned_run_status_running;  // sae-train between its lock and its first status
    else if (!dir_is_empty(dir)) st.status = S::planned_run_status_broken, st.detail = "files but no status";
    return st;
  }
  st.epochs_done = s->epochs_done;
  if (busy) {
    st.status = S::planned_run_status_running;
    return st;
  }

  // The directory must hold this row's config; only train.epochs may differ (upwards).
  const fs::path ini = dir / "resolved.ini";
  if (!fs::exists(ini, ec)) {
    st.status = S::planned_run_status_broken;
    st.detail = "status but no resolved.ini";
    return st;
  }
  experiment_config held;
  try {
    held = comparable(load_config(ini.string(), {}));
  } catch (const std::exception& e) {
    st.status = S::planned_run_status_mismatch;
    st.detail = fmt::format("resolved.ini does not load: {}", e.what());
    return st;
  }
  if (!(held == planned)) {
    const auto a = ini_map(to_ini(held)), b = ini_map(to_ini(planned));
    std::vector<std::string> diffs;
    for (const auto& [k, v] : b)
      if (const auto it = a.find(k); it == a.end() || it->second != v)
        diffs.push_back(fmt::format("{} = {} in the run, {} in the plan", k, it == a.end() ? "?" : it->second, v));
    const bool only_epochs = diffs.size() == 1 && diffs[0].rfind("train.epochs", 0) == 0;
    if (!only_epochs || planned.train.epochs < held.train.epochs) {
      st.status = S::planned_run_status_mismatch;
      st.detail = fmt::format("{}", fmt::join(diffs, "; "));
      return st;
    }
  }
  switch (s->status) {
    case run_status::run_status_done:
      st.status = held.train.epochs < planned.train.epochs ? S::planned_run_status_short : S::planned_run_status_done;
      break;
    case run_status::run_status_running: st.status = S::planned_run_status_killed; break;
    case run_status::run_status_interrupted: st.status = S::planned_run_status_interrupted; break;
    case run_status::run_status_failed:
      st.status = S::planned_run_status_failed;
      st.detail = s->message;
      break;
  }
  return st;
}

shard parse_shard(const std::string& text) {
  shard s;
  const auto slash = text.find('/');
  auto num = [&](std::string_view part, int& out) {
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc() && end == part.data() + part.size();
  };
  if (slash == std::string::npos || !num(std::string_view(text).substr(0, slash), s.i) ||
      !num(std::string_view(text).substr(slash + 1), s.n) || s.n < 1 || s.i < 0 || s.i >= s.n)
    throw sweep_error(fmt::format("--shard '{}': expected i/n with 0 <= i < n, e.g. 0/4", text));
  return s;
}

std::vector<int> select_rows(int rows, std::optional<shard> s, std::optional<int> task) {
  std::vector<int> out;
  if (task) {
    if (*task < 0 || *task >= rows)
      throw sweep_error(fmt::format("--task {}: the plan has rows 0 to {}", *task, rows - 1));
    out.push_back(*task);
    return out;
  }
  const shard sh = s.value_or(shard{});
  for (int r = sh.i; r < rows; r += sh.n) out.push_back(r);
  return out;
}

int threads_per_run(int cores, int jobs) { return std::max(1, cores / std::max(1, jobs)); }

std::vector<std::string> train_command(const sweep_plan& plan, const plan_row& row, const fs::path& sweep_dir,
                                       const fs::path& trainer, const planned_run_state& state, int threads) {
  using S = planned_run_status;
  const fs::path dir = sweep_dir / row.run_dir;
  std::vector<std::string> argv{trainer.string()};
  const bool resume = state.status == S::planned_run_status_killed ||
                      state.status == S::planned_run_status_interrupted ||
                      state.status == S::planned_run_status_failed || state.status == S::planned_run_status_short;
  if (resume) {
    argv.insert(argv.end(), {"--resume", dir.string(), fmt::format("--train.epochs={}", state.epochs_planned)});
  } else {
    argv.push_back(plan.spec.base.string());
    argv.insert(argv.end(), row.overrides.begin(), row.overrides.end());
    argv.push_back(fmt::format("--run.seed={}", row.seed));
    argv.push_back(fmt::format("--run.name={}", row.id));
    argv.push_back(fmt::format("--run.out={}", dir.string()));
  }
  argv.push_back(fmt::format("--run.threads={}", threads));
  argv.push_back("--quiet");
  return argv;
}

void check_run_dirs(const sweep_plan& plan, const fs::path& sweep_dir, const std::vector<int>& rows) {
  std::vector<std::string> problems;
  for (int r : rows) {
    const plan_row& row = plan.rows[static_cast<std::size_t>(r)];
    const planned_run_state st = inspect_run(plan, row, sweep_dir);
    if (st.status == planned_run_status::planned_run_status_mismatch)
      problems.push_back(fmt::format("{}: holds a run of another config ({}); the sweep file or its base "
                                     "changed since it ran. Remove that directory to redo it, or give the sweep "
                                     "a new [sweep] name",
                                     (sweep_dir / row.run_dir).string(), st.detail));
  }
  if (!problems.empty()) throw sweep_error(fmt::format("{}", fmt::join(problems, "\n")));
}

sweep_run_result run_sweep(const sweep_plan& plan, const fs::path& sweep_dir, const sweep_run_options& opt) {
  using S = planned_run_status;
  sweep_run_result res;
  auto print = [&](const std::string& s) {
    if (opt.print) opt.print(s);
  };

  struct job {
    int row;
    planned_run_state state;
  };
  check_run_dirs(plan, sweep_dir, opt.rows);
  std::vector<job> todo;
  for (int r : opt.rows) {
    const plan_row& row = plan.rows[static_cast<std::size_t>(r)];
    const planned_run_state st = inspect_run(plan, row, sweep_dir);
    switch (st.status) {
      case S::planned_run_status_done: ++res.skipped_done; break;
      case S::planned_run_status_running: ++res.skipped_running; break;
      default: todo.push_back({r, st});
    }
  }

  const int cores = opt.cores > 0 ? opt.cores : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int jobs = std::max(1, opt.jobs);
  const int threads = threads_per_run(cores, jobs);
  if (res.skipped_done + res.skipped_running > 0)
    print(fmt::format("sae-sweep: {} of {} selected runs are done already{}; {} to run", res.skipped_done,
                      opt.rows.size(),
                      res.skipped_running ? fmt::format(", {} are running elsewhere", res.skipped_running) : "",
                      todo.size()));
  if (todo.empty()) return res;
  print(fmt::format("sae-sweep: {} runs, {} at a time, {} thread{} each (cores {} / jobs {})", todo.size(), jobs,
                    threads, threads == 1 ? "" : "s", cores, jobs));

  std::error_code ec;
  fs::create_directories(sweep_dir / "runs", ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create: {}", (sweep_dir / "runs").string(), ec.message()));

  using clock = std::chrono::steady_clock;
  struct child {
    pid_t pid;
    int row;
    clock::time_point start;
  };
  std::vector<child> children;
  // If this function is left by an exception (a failed print, a full disk),
  // the children are stopped cleanly and waited for, never orphaned.
  struct stop_children {
    std::vector<child>& c;
    ~stop_children() {
      for (const child& x : c) ::kill(x.pid, SIGINT);
      for (const child& x : c) {
        int ws = 0;
        while (::waitpid(x.pid, &ws, 0) < 0 && errno == EINTR) {
        }
      }
    }
  } guard{children};
  const auto t0 = clock::now();
  std::size_t next = 0;
  int finished = 0, seen_signals = opt.signals ? opt.signals->load() : 0;
  const int total = static_cast<int>(todo.size());
  const int width = static_cast<int>(std::to_string(total).size());

  while ((!res.stopped && next < todo.size()) || !children.empty()) {
    if (opt.signals && opt.signals->load() != seen_signals) {
      seen_signals = opt.signals->load();
      if (!res.stopped)
        print(fmt::format("sae-sweep: stopping: {} running run{} asked to stop at their next step; no new runs",
                          children.size(), children.size() == 1 ? "" : "s"));
      res.stopped = true;
      for (const child& c : children) ::kill(c.pid, SIGINT);
    }
    while (!res.stopped && children.size() < static_cast<std::size_t>(jobs) && next < todo.size()) {
      const job& j = todo[next++];
      const plan_row& row = plan.rows[static_cast<std::size_t>(j.row)];
      const fs::path dir = sweep_dir / row.run_dir;
      const fs::path log = dir.string() + ".log";
      if (j.state.status == S::planned_run_status_broken || j.state.status == S::planned_run_status_pending) {
        fs::remove_all(dir, ec);  // broken: files without a status; pending: at most an empty directory
        if (ec) throw std::runtime_error(fmt::format("{}: cannot remove: {}", dir.string(), ec.message()));
      }
      const auto argv = train_command(plan, row, sweep_dir, opt.trainer, j.state, threads);
      // Created here, never through a planted link; the child then only appends to it.
      write_log(log,
                j.state.status == S::planned_run_status_pending ? log_open::log_open_truncate
                                                                : log_open::log_open_append,
                fmt::format("== sae-sweep {}: {}\n", utc_timestamp(), fmt::join(argv, " ")));
      children.push_back({spawn_logged(argv, log), j.row, clock::now()});
      ++res.started;
      const bool resumed = argv.size() > 1 && argv[1] == "--resume";
      print(fmt::format("[{:>{}}/{}] {:<8}{}{}", res.started, width, total, resumed ? "resume" : "start", row.id,
                        resumed ? fmt::format(" ({}, {} of {} epochs)", to_string(j.state.status), j.state.epochs_done,
                                              j.state.epochs_planned)
                                : ""));
    }
    bool reaped = false;
    for (std::size_t k = 0; k < children.size(); ++k) {
      int wstatus = 0;
      const pid_t w = ::waitpid(children[k].pid, &wstatus, WNOHANG);
      if (w == 0 || (w < 0 && errno == EINTR)) continue;
      reaped = true;
      const child c = children[k];
      children.erase(children.begin() + static_cast<std::ptrdiff_t>(k--));
      ++finished;
      const plan_row& row = plan.rows[static_cast<std::size_t>(c.row)];
      const planned_run_state after = inspect_run(plan, row, sweep_dir);
      const double secs = std::chrono::duration<double>(clock::now() - c.start).count();
      std::string line;
      switch (after.status) {
        case S::planned_run_status_done: ++res.done; line = "done"; break;
        case S::planned_run_status_interrupted: ++res.interrupted; line = "stopped"; break;
        default: ++res.failed; line = "FAILED"; break;
      }
      line = fmt::format("[{:>{}}/{}] {:<8}{} ({:.0f} s)", finished, width, total, line, row.id, secs);
      if (opt.on_run_end) line += opt.on_run_end(row);
      if (after.status != S::planned_run_status_done && after.status != S::planned_run_status_interrupted)
        line += fmt::format("\n        {}  (log: {}.log)", last_line((sweep_dir / row.run_dir).string() + ".log"),
                            (sweep_dir / row.run_dir).string());
      const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
      const int left = total - finished;
      if (left > 0 && !res.stopped)
        line += fmt::format("  [{} elapsed, about {} left]", clock_text(elapsed), clock_text(elapsed / finished * left));
      print(line);
    }
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return res;
}

}  // namespace saelab
