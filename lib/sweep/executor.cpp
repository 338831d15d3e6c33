#include "sweep/executor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "config/ini.hpp"
#include "experiment/run_dir.hpp"
#include "report/atomic_write.hpp"

extern char** environ;

namespace saelab {

namespace fs = std::filesystem;

namespace {

// The config with what may differ between a planned run and its directory
// neutralised: run.out (resolved.ini keeps it empty) and run.threads (-j).
experiment_config comparable(experiment_config c) {
  c.run.out.clear();
  c.run.threads = 1;
  return c;
}

// What a run directory may hold before it holds a run: its lock file, and
// the probe sae-train writes (and removes) before it takes the lock.
bool is_pre_run_file(const fs::path& name) { return name == ".lock" || name == ".write-test"; }

bool dir_is_empty(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (!is_pre_run_file(e.path().filename())) return false;
  return true;
}

// Empties a run directory but for its .lock, which the caller holds: removing
// a lock file another process may be opening is how two processes come to
// hold "the" lock of one directory.
void clear_run_dir(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename() != ".lock") entries.push_back(e.path());
  for (const auto& p : entries)
    if (fs::remove_all(p, ec); ec) break;
  if (ec) throw std::runtime_error(fmt::format("{}: cannot empty: {}", dir.string(), ec.message()));
}

bool same_state(const std::optional<run_state>& a, const std::optional<run_state>& b) {
  if (!a || !b) return !a && !b;
  return a->status == b->status && a->epochs_done == b->epochs_done && a->epochs == b->epochs &&
         a->message == b->message && a->pid == b->pid && a->host == b->host && a->updated == b->updated;
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

// Starts argv with stdout and stderr appended to `log`, in its own process
// group (a Ctrl-C at the terminal reaches sae-sweep only, which passes it on).
// The child gets SIGTERM when sae-sweep dies, however it dies (SIGKILL
// included): sae-train then records its run interrupted at its next step and
// exits, so no trainer outlives its sweep to collide with the next one.
pid_t spawn_logged(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t parent = ::getpid();
  int report[2];  // the child's errno when it cannot exec; a successful exec closes it
  if (::pipe2(report, O_CLOEXEC) != 0)
    throw std::runtime_error(fmt::format("cannot start {}: {}", argv[0], std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::setpgid(0, 0);
    // If the sweep died before the prctl, the signal will never come: stop here.
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(127);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGINT, &dfl, nullptr);
    ::sigaction(SIGTERM, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // dup2 clears O_CLOEXEC on the copies
    const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (in >= 0 && out >= 0 && ::dup2(in, STDIN_FILENO) >= 0 && ::dup2(out, STDOUT_FILENO) >= 0 &&
        ::dup2(out, STDERR_FILENO) >= 0)
      ::execve(args[0], args.data(), environ);
    const int err = errno;
    [[maybe_unused]] const ssize_t n = ::write(report[1], &err, sizeof err);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    throw std::runtime_error(fmt::format("cannot start {}: {}", argv[0], std::strerror(fork_errno)));
  }
  int err = 0;
  ssize_t n = 0;
  while ((n = ::read(report[0], &err, sizeof err)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof err)) {
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error(fmt::format("cannot start {}: {}", argv[0], std::strerror(err)));
  }
  return pid;
}

}  // namespace

std::string_view to_string(planned_run_status s) {
  switch (s) {
    case planned_run_status::pending: return "pending";
    case planned_run_status::done: return "done";
    case planned_run_status::running: return "running";
    case planned_run_status::killed: return "killed";
    case planned_run_status::interrupted: return "interrupted";
    case planned_run_status::failed: return "failed";
    case planned_run_status::too_short: return "short";
    case planned_run_status::broken: return "broken";
    case planned_run_status::mismatch: return "mismatch";
  }
  return "?";
}

namespace {

// `lock_is_ours`: the caller holds the run's lock, so no other process writes it.
planned_run_state inspect(const sweep_plan& plan, const plan_row& row, const fs::path& sweep_dir, bool lock_is_ours) {
  using S = planned_run_status;
  planned_run_state st;
  const fs::path dir = sweep_dir / row.run_dir;
  const experiment_config planned = comparable(planned_config(plan, row, sweep_dir));
  st.epochs_planned = planned.train.epochs;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return st;
  if (!fs::is_directory(dir, ec)) {
    st.status = S::mismatch;
    st.detail = "exists and is not a directory";
    return st;
  }
  // The status and whether a process holds the lock, as of one moment: a
  // trainer writes its status under the lock, so one that starts or ends
  // between the two looks changes the status, which is then read again
  // (a run that just finished would otherwise read as killed).
  std::optional<run_state> s;
  bool busy = false;
  try {
    for (int tries = 0;; ++tries) {
      s = read_run_state(dir);
      busy = !lock_is_ours && run_lock::held_elsewhere(dir);
      if (lock_is_ours || tries == 10 || same_state(s, read_run_state(dir))) break;
    }
  } catch (const std::exception& e) {
    st.status = S::broken;
    st.detail = e.what();
    return st;
  }
  if (!s) {
    if (busy) st.status = S::running;  // sae-train between its lock and its first status
    else if (!dir_is_empty(dir)) st.status = S::broken, st.detail = "files but no status";
    return st;
  }
  st.epochs_done = s->epochs_done;
  if (busy) {
    st.status = S::running;
    return st;
  }

  // The directory must hold this row's config; only train.epochs may differ (upwards).
  const fs::path ini = dir / "resolved.ini";
  if (!fs::exists(ini, ec)) {
    st.status = S::broken;
    st.detail = "status but no resolved.ini";
    return st;
  }
  experiment_config held;
  try {
    held = comparable(load_config(ini.string(), {}));
  } catch (const std::exception& e) {
    st.status = S::mismatch;
    st.detail = fmt::format("resolved.ini does not load: {}", e.what());
    return st;
  }
  if (!(held == planned)) {
    const auto a = ini_values(to_ini(held)), b = ini_values(to_ini(planned));
    std::vector<std::string> diffs;
    for (const auto& [k, v] : b)
      if (const auto it = a.find(k); it == a.end() || it->second != v)
        diffs.push_back(fmt::format("{} = {} in the run, {} in the plan", k, it == a.end() ? "?" : it->second, v));
    const bool only_epochs = diffs.size() == 1 && diffs[0].rfind("train.epochs", 0) == 0;
    if (!only_epochs || planned.train.epochs < held.train.epochs) {
      st.status = S::mismatch;
      st.detail = fmt::format("{}", fmt::join(diffs, "; "));
      return st;
    }
  }
  switch (s->status) {
    case run_status::done:
      st.status = held.train.epochs < planned.train.epochs ? S::too_short : S::done;
      break;
    case run_status::running: st.status = S::killed; break;
    case run_status::interrupted: st.status = S::interrupted; break;
    case run_status::failed:
      st.status = S::failed;
      st.detail = s->message;
      break;
  }
  return st;
}

// The row's state now, to start it: nullopt when another process holds its
// lock. Decided under the run's lock from the directory as it is at this
// moment, not as it was when the sweep began; a pending or broken directory
// is emptied under that lock, so a live or done run is never removed.
std::optional<planned_run_state> claim_row(const sweep_plan& plan, const plan_row& row, const fs::path& sweep_dir) {
  using S = planned_run_status;
  const fs::path dir = sweep_dir / row.run_dir;
  std::error_code ec;
  // No directory: nothing to remove, and sae-train creates it under its own lock.
  if (!fs::is_directory(dir, ec)) return inspect(plan, row, sweep_dir, false);
  const auto lock = run_lock::try_acquire(dir);
  if (!lock) return std::nullopt;
  planned_run_state st = inspect(plan, row, sweep_dir, true);
  if (st.status == S::pending || st.status == S::broken) clear_run_dir(dir);
  return st;
}

}  // namespace

planned_run_state inspect_run(const sweep_plan& plan, const plan_row& row, const fs::path& sweep_dir) {
  return inspect(plan, row, sweep_dir, false);
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
  const bool resume = state.status == S::killed ||
                      state.status == S::interrupted ||
                      state.status == S::failed || state.status == S::too_short;
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

std::optional<double> sweep_seconds_left(const std::vector<double>& done_seconds,
                                         const std::vector<double>& running_elapsed, int not_started, int jobs) {
  if (done_seconds.empty()) return std::nullopt;
  double mean = 0;
  for (double d : done_seconds) mean += d / static_cast<double>(done_seconds.size());
  // When each slot is free again; the runs not started go to the first free slot.
  std::vector<double> free_at(static_cast<std::size_t>(std::max<int>(jobs, static_cast<int>(running_elapsed.size()))),
                              0.0);
  for (std::size_t i = 0; i < running_elapsed.size(); ++i) free_at[i] = std::max(0.0, mean - running_elapsed[i]);
  for (int i = 0; i < not_started; ++i) *std::min_element(free_at.begin(), free_at.end()) += mean;
  return *std::max_element(free_at.begin(), free_at.end());
}

void check_run_dirs(const sweep_plan& plan, const fs::path& sweep_dir, const std::vector<int>& rows) {
  std::vector<std::string> problems;
  for (int r : rows) {
    const plan_row& row = plan.rows[static_cast<std::size_t>(r)];
    const planned_run_state st = inspect_run(plan, row, sweep_dir);
    if (st.status == planned_run_status::mismatch)
      problems.push_back(fmt::format("{}: holds a run of another config ({}); the sweep file or its base "
                                     "changed since it ran. Remove that directory to redo it, or give the sweep "
                                     "a new [sweep] name",
                                     (sweep_dir / row.run_dir).string(), st.detail));
  }
  if (!problems.empty()) throw sweep_error(fmt::format("{}", fmt::join(problems, "\n")));
}

namespace {

using clock = std::chrono::steady_clock;

// The runs of one run_sweep call: started up to `jobs` at a time, each
// passed every signal, reaped and reported as it ends.
class sweep_loop {
 public:
  sweep_loop(const sweep_plan& plan, const fs::path& sweep_dir, const sweep_run_options& opt, std::vector<int> todo,
             int jobs, int threads, sweep_run_result& res)
      : plan_(plan), dir_(sweep_dir), opt_(opt), todo_(std::move(todo)), jobs_(jobs), threads_(threads), res_(res),
        total_(static_cast<int>(todo_.size())), width_(static_cast<int>(std::to_string(total_).size())),
        seen_signals_(opt.signals ? opt.signals->load() : 0) {}
  // Left by an exception (a failed print, a full disk): the children are
  // stopped cleanly and waited for, never orphaned.
  ~sweep_loop() {
    for (const child& x : children_) ::kill(x.pid, SIGINT);
    for (const child& x : children_) {
      int ws = 0;
      while (::waitpid(x.pid, &ws, 0) < 0 && errno == EINTR) {
      }
    }
  }
  sweep_loop(const sweep_loop&) = delete;
  sweep_loop& operator=(const sweep_loop&) = delete;

  void run() {
    while ((!res_.stopped && next_ < todo_.size()) || !children_.empty()) {
      pass_on_signals();
      while (!res_.stopped && children_.size() < static_cast<std::size_t>(jobs_) && next_ < todo_.size())
        start(todo_[next_++]);
      if (!reap()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  struct child {
    pid_t pid;
    int row;
    clock::time_point start;
  };

  void print(const std::string& s) const {
    if (opt_.print) opt_.print(s);
  }
  std::string counter(int n) const { return fmt::format("[{:>{}}/{}]", n, width_, total_); }

  // A new SIGINT/SIGTERM: every running run is asked to stop, none is started.
  void pass_on_signals() {
    if (!opt_.signals || opt_.signals->load() == seen_signals_) return;
    seen_signals_ = opt_.signals->load();
    if (!res_.stopped)
      print(fmt::format("sae-sweep: stopping: {} running run{} asked to stop at their next step; no new runs",
                        children_.size(), children_.size() == 1 ? "" : "s"));
    res_.stopped = true;
    for (const child& c : children_) ::kill(c.pid, SIGINT);
  }

  void start(int r) {
    using S = planned_run_status;
    const plan_row& row = plan_.rows[static_cast<std::size_t>(r)];
    const fs::path log = (dir_ / row.run_dir).string() + ".log";
    // Another process (a shard, an array task, a sae-train by hand) may
    // have taken or finished the run since the sweep began.
    const std::optional<planned_run_state> now = claim_row(plan_, row, dir_);
    if (!now || now->status == S::running || now->status == S::done || now->status == S::mismatch) {
      const bool done = now && now->status == S::done;
      ++(done ? res_.skipped_done : res_.skipped_running);
      ++finished_;
      print(fmt::format("{} {:<8}{} ({} by another process meanwhile{})", counter(finished_), "skip", row.id,
                        done ? "done" : "taken", now && !now->detail.empty() ? ": " + now->detail : ""));
      return;
    }
    const planned_run_state& state = *now;
    const auto argv = train_command(plan_, row, dir_, opt_.trainer, state, threads_);
    // Created here, never through a planted link; the child then only appends to it.
    write_log(log, state.status == S::pending ? log_open::truncate : log_open::append,
              fmt::format("== sae-sweep {}: {}\n", utc_timestamp(), fmt::join(argv, " ")));
    children_.push_back({spawn_logged(argv, log), r, clock::now()});
    ++res_.started;
    const bool resumed = argv.size() > 1 && argv[1] == "--resume";
    print(fmt::format("{} {:<8}{}{}", counter(res_.started), resumed ? "resume" : "start", row.id,
                      resumed ? fmt::format(" ({}, {} of {} epochs)", to_string(state.status), state.epochs_done,
                                            state.epochs_planned)
                              : ""));
  }

  // Reports every child that has ended; false when none has.
  bool reap() {
    bool reaped = false;
    for (std::size_t k = 0; k < children_.size(); ++k) {
      int wstatus = 0;
      const pid_t w = ::waitpid(children_[k].pid, &wstatus, WNOHANG);
      if (w == 0 || (w < 0 && errno == EINTR)) continue;
      reaped = true;
      const child c = children_[k];
      children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(k--));
      ++finished_;
      print(ended_line(c));
    }
    return reaped;
  }

  std::string ended_line(const child& c) {
    using S = planned_run_status;
    const plan_row& row = plan_.rows[static_cast<std::size_t>(c.row)];
    const planned_run_state after = inspect_run(plan_, row, dir_);
    const double secs = std::chrono::duration<double>(clock::now() - c.start).count();
    std::string what;
    switch (after.status) {
      case S::done: ++res_.done; what = "done"; break;
      case S::interrupted: ++res_.interrupted; what = "stopped"; break;
      default: ++res_.failed; what = "FAILED"; break;
    }
    std::string line = fmt::format("{} {:<8}{} ({:.0f} s)", counter(finished_), what, row.id, secs);
    if (opt_.on_run_end) line += opt_.on_run_end(row);
    if (after.status != S::done && after.status != S::interrupted)
      line += fmt::format("\n        {}  (log: {}.log)", last_line((dir_ / row.run_dir).string() + ".log"),
                          (dir_ / row.run_dir).string());
    if (after.status == S::done) done_seconds_.push_back(secs);
    if (finished_ < total_ && !res_.stopped) line += progress_text();
    return line;
  }

  // "  [1:02 elapsed, about 3:10 left]"; no estimate before a run has finished done.
  std::string progress_text() const {
    const auto now = clock::now();
    std::vector<double> running;
    for (const child& c : children_) running.push_back(std::chrono::duration<double>(now - c.start).count());
    const auto left = sweep_seconds_left(done_seconds_, running, static_cast<int>(todo_.size() - next_), jobs_);
    const std::string elapsed = clock_text(std::chrono::duration<double>(now - t0_).count());
    return left ? fmt::format("  [{} elapsed, about {} left]", elapsed, clock_text(*left))
                : fmt::format("  [{} elapsed]", elapsed);
  }

  const sweep_plan& plan_;
  const fs::path& dir_;
  const sweep_run_options& opt_;
  const std::vector<int> todo_;  // plan rows; each one's state is looked at again when it starts (claim_row)
  const int jobs_, threads_;
  sweep_run_result& res_;
  const int total_, width_;
  int seen_signals_;
  std::size_t next_ = 0;
  int finished_ = 0;
  std::vector<child> children_;
  std::vector<double> done_seconds_;  // of the runs that finished done
  const clock::time_point t0_ = clock::now();
};

}  // namespace

sweep_run_result run_sweep(const sweep_plan& plan, const fs::path& sweep_dir, const sweep_run_options& opt) {
  sweep_run_result res;
  check_run_dirs(plan, sweep_dir, opt.rows);
  std::vector<int> todo;
  for (int r : opt.rows) {
    switch (inspect_run(plan, plan.rows[static_cast<std::size_t>(r)], sweep_dir).status) {
      case planned_run_status::done: ++res.skipped_done; break;
      case planned_run_status::running: ++res.skipped_running; break;
      default: todo.push_back(r);
    }
  }

  const int cores = opt.cores > 0 ? opt.cores : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int jobs = std::max(1, opt.jobs);
  const int threads = threads_per_run(cores, jobs);
  auto print = [&](const std::string& s) {
    if (opt.print) opt.print(s);
  };
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
  sweep_loop(plan, sweep_dir, opt, std::move(todo), jobs, threads, res).run();
  return res;
}

}  // namespace saelab
