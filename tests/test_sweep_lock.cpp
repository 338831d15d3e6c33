// Concurrent processes on one sweep directory: the sweep lock, runs
// re-inspected under their own lock before anything is removed, the summary
// looked at under its lock, and trainers that die with a killed sae-sweep.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "experiment/run_dir.hpp"
#include "fake_mnist.hpp"
#include "sweep/csv.hpp"
#include "sweep/executor.hpp"
#include "sweep/plan.hpp"
#include "sweep/spec.hpp"
#include "sweep/summary.hpp"
#include "sweep/sweep_lock.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::slurp;
using saelab::testing::temp_dir;

namespace {

using S = planned_run_status;

// A two-row sweep of a tiny fc model; `fixed` goes into its [fixed] section.
sweep_plan two_row_plan(const temp_dir& t, const std::string& fixed) {
  std::ofstream(t / "base.ini") << "[model]\narch = fc\nhidden = 6\n[sparsity]\nkind = kl\nrho = 0.05\nbeta = 0.01\n"
                                   "sites = hidden\n[train]\nepochs = 1\n[run]\nseed = 42\n";
  std::ofstream(t / "s.ini") << "[sweep]\nbase = " << (t / "base.ini").string() << "\n[fixed]\n"
                             << fixed << "[grid]\nsparsity.beta = 0.01, 0.1\n";
  return make_plan(read_sweep_file(t / "s.ini"));
}

// What a finished sae-train leaves for inspect_run: resolved.ini and status.
void write_done_run(const sweep_plan& p, const plan_row& row, const fs::path& sweep_dir) {
  const fs::path run = sweep_dir / row.run_dir;
  fs::create_directories(run);
  experiment_config c = planned_config(p, row, sweep_dir);
  c.run.out.clear();
  std::ofstream(run / "resolved.ini") << to_ini(c);
  write_run_state(run, {run_status::done, c.train.epochs, c.train.epochs, "", 0, "", ""});
}

std::string lock_error(const fs::path& dir, sweep_lock_mode mode) {
  try {
    sweep_lock::acquire(dir, mode);
  } catch (const sweep_error& e) {
    return e.what();
  }
  return "(acquired)";
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

fs::path build_dir() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path(); }

int exit_code(int wstatus) { return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1; }

// Processes a failed check must not leave behind (stopped, or training on):
// killed and reaped when the test ends, and we stop adopting orphans.
struct reaper {
  std::vector<pid_t> pids;
  reaper() { REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0); }
  void reaped(pid_t pid) { std::erase(pids, pid); }
  ~reaper() {
    for (pid_t pid : pids) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
};

}  // namespace

TEST_CASE("sweep lock: a second whole sweep is refused naming the holder; tasks share it", "[sweep][lock]") {
  temp_dir t("sweep_lock_modes");
  const fs::path dir = t / "sweep";
  constexpr auto exclusive = sweep_lock_mode::exclusive;
  constexpr auto shared = sweep_lock_mode::shared;
  const std::string me = std::to_string(::getpid());
  {
    const sweep_lock whole = sweep_lock::acquire(dir, exclusive);
    CHECK_THAT(lock_error(dir, exclusive),
               Catch::Contains(dir.string() + ": another sae-sweep (process " + me + ") is running runs of this sweep"));
    CHECK_THAT(lock_error(dir, shared), Catch::Contains("(process " + me + ") is running this whole sweep"));
  }
  {
    const sweep_lock task0 = sweep_lock::acquire(dir, shared);
    const sweep_lock task1 = sweep_lock::acquire(dir, shared);  // array tasks run together
    CHECK_THAT(lock_error(dir, exclusive), Catch::Contains("(processes " + me + ", " + me + ")"));
  }
  CHECK(lock_error(dir, exclusive) == "(acquired)");

  // A planted symlink is neither followed nor locked.
  fs::remove(dir / ".sweep.lock");
  std::ofstream(t / "victim") << "keep";
  fs::create_symlink(t / "victim", dir / ".sweep.lock");
  CHECK_THROWS_WITH(sweep_lock::acquire(dir, exclusive), Catch::Contains("cannot open the sweep lock"));
  CHECK(slurp(t / "victim") == "keep");
}

TEST_CASE("sweep lock: held by another process until it dies, however it dies", "[sweep][lock]") {
  temp_dir t("sweep_lock_death");
  const fs::path dir = t / "sweep";
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      const sweep_lock held = sweep_lock::acquire(dir, sweep_lock_mode::exclusive);
      [[maybe_unused]] const ssize_t n = ::write(ready[1], "x", 1);
      for (;;) ::pause();
    } catch (...) {
    }
    std::_Exit(1);
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  CHECK_THAT(lock_error(dir, sweep_lock_mode::shared),
             Catch::Contains("(process " + std::to_string(pid) + ")"));
  ::kill(pid, SIGKILL);
  int ws = 0;
  ::waitpid(pid, &ws, 0);
  CHECK(lock_error(dir, sweep_lock_mode::exclusive) == "(acquired)");  // no stale lock
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE("a sweep re-inspects each run under its lock when it comes to it, not from its start", "[sweep][lock]") {
  temp_dir t("sweep_lock_claim");
  const sweep_plan p = two_row_plan(t, "");
  const fs::path dir = t / "sweep";
  const fs::path run1 = dir / p.rows[1].run_dir;
  sweep_run_options opt;
  opt.rows = {0, 1};
  opt.trainer = "/bin/true";  // starts nothing: row 0 ends pending (FAILED), which is all this needs
  // Runs row 0 first; while it runs, `meanwhile` changes row 1 as another process would.
  auto run_with = [&](const std::function<void()>& meanwhile) {
    bool changed = false;
    opt.print = [&](const std::string& line) {
      if (!changed && line.find("start   " + p.rows[0].id) != std::string::npos) meanwhile(), changed = true;
    };
    const sweep_run_result res = run_sweep(p, dir, opt);
    REQUIRE(changed);
    return res;
  };

  SECTION("a run another live process holds is left alone, even one that looks broken") {
    std::optional<run_lock> other;
    const auto res = run_with([&] {
      fs::create_directories(run1);
      std::ofstream(run1 / "epochs.csv") << "epoch\n";
      other.emplace(run_lock::acquire(run1));
    });
    CHECK(fs::exists(run1 / "epochs.csv"));
    CHECK(res.started == 1);
    CHECK(res.skipped_running == 1);
  }
  SECTION("a run done meanwhile is neither removed nor redone") {
    const auto res = run_with([&] { write_done_run(p, p.rows[1], dir); });
    CHECK(inspect_run(p, p.rows[1], dir).status == S::done);
    CHECK(res.started == 1);
    CHECK(res.skipped_done == 1);
  }
  SECTION("a broken run whose lock is free is emptied, its lock file kept") {
    struct stat before {}, after {};
    const auto res = run_with([&] {
      fs::create_directories(run1);
      std::ofstream(run1 / "epochs.csv") << "epoch\n";
      std::ofstream(run1 / ".lock");
      ::stat((run1 / ".lock").c_str(), &before);
    });
    CHECK(res.started == 2);
    CHECK_FALSE(fs::exists(run1 / "epochs.csv"));
    REQUIRE(::stat((run1 / ".lock").c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);  // the same lock file, not a new one beside a removed one
  }
}

TEST_CASE("a directory sae-train is about to lock reads as pending, not broken", "[sweep][lock]") {
  temp_dir t("sweep_lock_probe");
  const sweep_plan p = two_row_plan(t, "");
  const fs::path run = t / "sweep" / p.rows[0].run_dir;
  fs::create_directories(run);
  std::ofstream(run / ".write-test") << "x";  // create_run_directory's probe, before sae-train's lock
  CHECK(inspect_run(p, p.rows[0], t / "sweep").status == S::pending);
}

TEST_CASE("the summary is looked at under its lock, so the last writer has the latest look", "[sweep][lock]") {
  temp_dir t("sweep_lock_summary");
  const sweep_plan p = two_row_plan(t, "");
  const fs::path dir = t / "sweep";
  fs::create_directories(dir);
  // Another process writing the summary holds its lock.
  const int fd = ::open((dir / ".summary.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  struct stat st {};
  ::fstat(fd, &st);
  std::thread writer([&] { update_summary(p, dir); });
  // Wait until the writer waits for the lock ("->" marks a waiter in /proc/locks).
  const std::string waiter = fmt::format(":{} ", st.st_ino);
  auto waiting = [&] {
    std::istringstream locks(slurp("/proc/locks"));
    for (std::string line; std::getline(locks, line);)
      if (line.find("->") != std::string::npos && line.find(waiter) != std::string::npos) return true;
    return false;
  };
  for (int i = 0; i < 3000 && !waiting(); ++i) ::usleep(10000);  // a guard against a hang only
  CHECK(waiting());
  write_done_run(p, p.rows[0], dir);  // a run ends in another process
  ::close(fd);
  writer.join();
  const csv_table s = read_csv(dir / "summary.csv");
  CHECK(s.rows[0][s.column("status")] == "done");
  CHECK(s.rows[1][s.column("status")] == "pending");
}

TEST_CASE("sae-sweep: a second one is refused; kill -9 stops its trainers cleanly; a rerun finishes", "[sweep][slow][lock]") {
  const fs::path sweep_exe = build_dir() / "apps" / "sae-sweep";
  const fs::path train_exe = build_dir() / "apps" / "sae-train";
  REQUIRE(fs::exists(sweep_exe));
  temp_dir t("sweep_lock_kill");
  saelab::testing::write_fake_mnist(t / "mnist", 100, 20);
  const sweep_plan p = two_row_plan(t, "train.epochs = 20\ntrain.batch_size = 50\ndata.dir = " +
                                           (t / "mnist").string() + "\n");
  const fs::path out = t / "out";
  const std::string cmd = fmt::format("'{}' '{}' --out '{}' --trainer '{}' --cores 2", sweep_exe.string(),
                                      (t / "s.ini").string(), out.string(), train_exe.string());
  const std::string log = (t / "log.txt").string();
  auto run_command = [&](const std::string& extra) {
    return exit_code(std::system((cmd + extra + " > '" + log + "' 2>&1").c_str()));
  };

  // Orphans of the killed sae-sweep become our children, so we can wait for them.
  reaper children;
  const pid_t sweep = ::fork();
  REQUIRE(sweep >= 0);
  if (sweep == 0) {
    const std::string first_log = (t / "first.txt").string();
    std::freopen(first_log.c_str(), "w", stdout);
    std::freopen(first_log.c_str(), "a", stderr);
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd + " -j 2").c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  children.pids.push_back(sweep);
  // Each trainer, once started (status running, lock held), is held still,
  // so none can finish its run while the test looks on.
  std::vector<pid_t> trainers(p.rows.size(), 0);
  auto stopped = [&] { return std::count(trainers.begin(), trainers.end(), 0) == 0; };
  for (int i = 0; i < 600 && !stopped(); ++i) {
    for (std::size_t r = 0; r < p.rows.size(); ++r) {
      const fs::path run = out / p.rows[r].run_dir;
      const auto s = trainers[r] == 0 && fs::exists(run / "status") ? read_run_state(run) : std::nullopt;
      if (s && s->status == run_status::running && run_lock::held_elsewhere(run)) {
        trainers[r] = static_cast<pid_t>(s->pid);
        ::kill(trainers[r], SIGSTOP);
        children.pids.push_back(trainers[r]);  // ours once the sweep is gone
      }
    }
    if (!stopped()) ::usleep(20000);
  }
  INFO(slurp(t / "first.txt"));
  REQUIRE(stopped());

  // A second sae-sweep on the directory, whole or one task: refused, nothing written.
  CHECK(run_command("") == 2);
  CHECK_THAT(slurp(log), Catch::Contains(out.string() + ": another sae-sweep (process " + std::to_string(sweep) +
                                         ") is running runs of this sweep"));
  CHECK(run_command(" --task 1") == 2);
  CHECK_THAT(slurp(log), Catch::Contains("is running this whole sweep"));
  for (const auto& row : p.rows) CHECK(count_of(slurp(out / (row.run_dir + ".log")), "== sae-sweep") == 1);

  // kill -9 of the sweep: its trainers get SIGTERM, record their runs
  // interrupted and exit 130, as after a Ctrl-C.
  ::kill(sweep, SIGKILL);
  int ws = 0;
  ::waitpid(sweep, &ws, 0);
  children.reaped(sweep);
  for (pid_t tr : trainers) ::kill(tr, SIGCONT);
  for (pid_t tr : trainers) {
    REQUIRE(::waitpid(tr, &ws, 0) == tr);
    children.reaped(tr);
    CHECK(exit_code(ws) == 130);
  }
  for (const auto& row : p.rows) CHECK(inspect_run(p, row, out).status == S::interrupted);

  // The rerun resumes both and finishes them.
  CHECK(run_command(" -j 2") == 0);
  const std::string rerun = slurp(log);
  INFO(rerun);
  CHECK(count_of(rerun, "resume  ") == 2);
  const csv_table s = read_csv(out / "summary.csv");
  for (const auto& r : s.rows) CHECK(r[s.column("status")] == "done");
}
