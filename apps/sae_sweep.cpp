// sae-sweep: run a sweep file's plan of sae-train runs, resumably.
//
//   sae-sweep experiments/kl_vs_l1.ini -j 2            # run (or continue) the sweep
//   sae-sweep experiments/kl_vs_l1.ini --dry-run       # show the plan and what would run
//   sae-sweep experiments/kl_vs_l1.ini --collect       # rebuild summary.csv / sweep.h5
//   sae-sweep experiments/kl_vs_l1.ini --shard 1/4     # rows 1, 5, 9, ... (one machine of four)
//   sae-sweep experiments/kl_vs_l1.ini --emit slurm    # a job-array script, one task per row
//
// The sweep file format: lib/sweep/spec.hpp; the plan: lib/sweep/plan.hpp;
// what happens to each run directory: lib/sweep/executor.hpp; the summary's
// columns: lib/sweep/summary.hpp.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.hpp"
#include "config/printable.hpp"
#include "experiment/run_dir.hpp"
#include "report/atomic_write.hpp"
#include "report/quote.hpp"
#include "sweep/executor.hpp"
#include "sweep/next_step.hpp"
#include "sweep/plan.hpp"
#include "sweep/spec.hpp"
#include "sweep/summary.hpp"
#include "sweep/sweep_lock.hpp"

namespace fs = std::filesystem;
using namespace saelab;

namespace {

std::atomic<int> signals_received{0};

extern "C" void on_signal(int) { signals_received.fetch_add(1); }

constexpr const char* usage = R"(usage: sae-sweep SWEEP.ini [-j N] [--shard i/n | --task k] [--out DIR] [--cores C]
       sae-sweep SWEEP.ini --dry-run | --collect | --emit slurm   [--out DIR]

Runs every run of a sweep file's plan as a child sae-train, each in its own run
directory, and writes the sweep directory (default: next to the sweep file,
named by [sweep] name or the file's stem):
  plan.csv      one row per run: index, id, label, seed, swept keys, run_dir
  sweep.ini     the sweep file as run
  summary.csv   swept keys, status, seconds and final test metrics of every run
  sweep.h5      the same columns as datasets, plus links to the run.h5 files that exist
  runs/ID/      the run directories; runs/ID.log their output
Each run's line as it ends gives the time elapsed and, once a run is done, the
time left (the done runs' mean duration for every run still to go). The last
line is `next: sae-compare DIR` once every run of the plan is done; until
then it says how many are not done and why, and the command that finishes them.

Running it again continues the sweep: done runs are skipped, interrupted,
failed and killed ones are resumed (sae-train --resume), runs of a changed
config are refused. Every problem in the sweep file is reported before any run
starts.

  -j N          N runs at a time (default 1); each gets run.threads =
                max(1, C / N), C = --cores or the machine's cores
  --shard i/n   only rows i, i+n, i+2n, ... (0 <= i < n), e.g. one machine of n
  --task k      only row k (0-based), e.g. --task $SLURM_ARRAY_TASK_ID
  --emit slurm  write DIR/slurm.sh, a job array with one task per row, DIR/collect.sh
                (--collect, then sae-compare) and DIR/submit.sh (submits the array, then
                collect.sh to run when it has ended), and stop. The array gets SIGTERM 120 s
                before its time limit: runs stop cleanly and resume when resubmitted.
  --slurm-time T, --slurm-mem M, --slurm-partition P, --slurm-account A
                #SBATCH --time, --mem, --partition, --account lines in both scripts
                (DIR must hold no blank, quote, '\', '#' or '%': #SBATCH lines take it raw)
  --collect     rebuild summary.csv and sweep.h5 from the run directories; run nothing
  --dry-run     print the plan, each run's state and its command; write nothing
  --out DIR     the sweep directory
  --cores C     cores to share among the -j runs
  --trainer P   the sae-train to run (default: next to this program)
  --help, -h    this text
  --version     the program's version and git revision

Ctrl-C stops every running run cleanly at its next step (they resume later)
and starts no new one; a second Ctrl-C kills them. If sae-sweep is killed,
its runs get SIGTERM and stop the same way.

One sae-sweep at a time runs a sweep directory: a second is refused, naming
the process that runs it. --task and --shard processes may run together
(each run directory has its own lock) but not beside a whole sweep.
--collect and --dry-run start no run and may be used at any time.
Exit status: 0 every selected run done, 1 a run failed, 2 usage or sweep-file
errors or a sweep directory in use (nothing ran), 130 stopped by a signal.
)";

struct args {
  std::string sweep_file;
  int jobs = 1;
  int cores = 0;
  std::optional<shard> shard_sel;
  std::optional<int> task;
  std::string emit;
  std::vector<std::pair<std::string, std::string>> sbatch;  // --slurm-time 4:00:00 -> {"time", "4:00:00"}
  bool collect = false, dry_run = false;
  std::string out, trainer;
};

const cli::program command_line{.name = "sae-sweep",
                                 .usage = usage,
                                 .options = {{{"-j", "--jobs"}, "N"},
                                             {{"--shard"}, "i/n"},
                                             {{"--task"}, "k"},
                                             {{"--emit"}, "slurm"},
                                             {{"--slurm-time"}, "T"},
                                             {{"--slurm-mem"}, "M"},
                                             {{"--slurm-partition"}, "P"},
                                             {{"--slurm-account"}, "A"},
                                             {{"--collect"}, ""},
                                             {{"--dry-run"}, ""},
                                             {{"--out"}, "DIR"},
                                             {{"--cores"}, "C"},
                                             {{"--trainer"}, "P"}},
                                 .positional = "sweep file"};

args parse_args(const cli::arguments& c) {
  args a;
  if (!c.positionals.empty()) a.sweep_file = c.positionals.front();
  if (c.has("-j")) a.jobs = cli::to_int("-j", c.values.at("-j"), 1);
  if (c.has("--cores")) a.cores = cli::to_int("--cores", c.values.at("--cores"), 1);
  if (c.has("--shard")) a.shard_sel = parse_shard(c.values.at("--shard"));
  if (c.has("--task")) a.task = cli::to_int("--task", c.values.at("--task"), 0);
  a.emit = c.value_or("--emit", "");
  if (c.has("--emit") && a.emit != "slurm") throw sweep_error(fmt::format("--emit '{}': only slurm is known", a.emit));
  for (const char* key : {"time", "mem", "partition", "account"}) {
    const std::string option = std::string("--slurm-") + key;
    if (!c.has(option)) continue;
    const std::string value = c.values.at(option);
    // It goes into an #SBATCH line as it is: Slurm values need nothing else.
    const bool plain = !value.empty() && std::all_of(value.begin(), value.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || std::string_view(":_.,=+-").find(ch) != std::string_view::npos;
    });
    if (!plain)
      throw sweep_error(fmt::format("{} '{}': expected letters, digits and ':_.,=+-' only (e.g. {} {})", option,
                                    printable(value), option, key == std::string("time") ? "4:00:00" : "gpu"));
    if (a.emit.empty()) throw sweep_error(fmt::format("{} goes with --emit slurm", option));
    a.sbatch.emplace_back(key, value);
  }
  a.collect = c.has("--collect");
  a.dry_run = c.has("--dry-run");
  a.out = c.value_or("--out", "");
  a.trainer = c.value_or("--trainer", "");
  if (a.sweep_file.empty()) throw sweep_error("no sweep file given");
  if (a.shard_sel && a.task) throw sweep_error("--shard and --task exclude each other");
  if (int(a.collect) + int(a.dry_run) + int(!a.emit.empty()) > 1)
    throw sweep_error("--collect, --dry-run and --emit exclude each other");
  return a;
}

fs::path self_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

std::string cell(const csv_table& t, const std::vector<std::string>& row, const std::string& col) {
  return t.has(col) ? row[t.column(col)] : "";
}

// The printed end-of-run line: test BCE and, per site, L0 and dead units.
std::string metrics_text(const csv_table& t, const std::vector<std::string>& row) {
  const std::string bce = cell(t, row, "test_bce");
  if (bce.empty()) return "";
  std::string out = fmt::format("  test bce {}", bce);
  for (const auto& h : t.header) {
    if (h.size() > 3 && h.compare(h.size() - 3, 3, ".l0") == 0) {
      const std::string site = h.substr(0, h.size() - 3);
      const std::string dead = cell(t, row, site + ".dead_fraction");
      const std::string l0 = row[t.column(h)];
      out += fmt::format("  {} L0 {}/{} dead {}", site, l0.empty() ? "?" : fmt::format("{:.1f}", std::stod(l0)),
                         cell(t, row, site + ".units"),
                         dead.empty() ? "?" : fmt::format("{:.1f}%", 100 * std::stod(dead)));
    }
  }
  return out;
}

void print_counts(const csv_table& t) {
  std::map<std::string, int> counts;
  for (const auto& r : t.rows) ++counts[r[t.column("status")]];
  std::string text;
  for (const auto& [status, n] : counts) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", n, status);
  fmt::print("sae-sweep: {} runs: {}\n", t.rows.size(), text);
}

void write_plan_files(const sweep_plan& plan, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create the sweep directory: {}", dir.string(), ec.message()));
  write_file_atomically(dir / "plan.csv", plan_csv(plan));
  write_file_atomically(dir / "sweep.ini", plan.spec.text);
}

void emit_slurm(const args& a, const sweep_plan& plan, const fs::path& dir) {
  const fs::path abs_dir = fs::absolute(dir);
  const fs::path self = fs::absolute(self_dir() / "sae-sweep");
  const fs::path compare = fs::absolute(self_dir() / "sae-compare");
  const fs::path sweep_file = fs::absolute(plan.spec.file);
  const fs::path cwd = fs::current_path();
  // Refused before anything is written: a line break would turn the rest of a
  // path into a command (or a directive) of the script.
  check_slurm_path("the sweep directory (--out)", abs_dir.string());
  check_script_line("the sweep file", sweep_file.string());
  check_script_line("the sae-sweep program path", self.string());
  check_script_line("the sae-compare program path", compare.string());
  check_script_line("the current directory", cwd.string());
  const int cpus = a.cores > 0 ? a.cores : load_config(plan.spec.base.string(), {}).run.threads;
  std::string cmd = fmt::format("{} {}", shell_quote(self.string()), shell_quote(sweep_file.string()));
  if (!a.out.empty()) cmd += " --out " + shell_quote(abs_dir.string());
  std::string extra;
  for (const auto& [key, value] : a.sbatch) extra += fmt::format("#SBATCH --{}={}\n", key, value);
  const auto job = slurm_job_name(plan.spec.name);
  // --signal: TERM to sae-sweep (the batch shell, by exec) two minutes before
  // the time limit; it stops its run at the end of a step, marked interrupted,
  // and the next submission resumes it.
  const std::string array = fmt::format(
      R"(#!/bin/bash
# Slurm job array for the sweep '{name}': one array task per plan row ({rows} runs).
#   {dir}/submit.sh    (this array, then collect.sh once every task has ended)
# Each task runs one row (sae-sweep --task), resuming it if it was interrupted.
#SBATCH --job-name=sae-sweep-{job}
#SBATCH --array=0-{last}
#SBATCH --cpus-per-task={cpus}
#SBATCH --output={dir}/runs/slurm-%A_%a.out
#SBATCH --signal=B:TERM@120
{extra}set -euo pipefail
cd {cwd}
export OPENBLAS_CORETYPE="${{OPENBLAS_CORETYPE:-Haswell}}"
exec {cmd} --task "$SLURM_ARRAY_TASK_ID" --cores "${{SLURM_CPUS_PER_TASK:-{cpus}}}"
)",
      fmt::arg("name", one_line(plan.spec.name)), fmt::arg("job", job), fmt::arg("rows", plan.rows.size()),
      fmt::arg("cmd", cmd), fmt::arg("last", plan.rows.size() - 1), fmt::arg("cpus", cpus),
      fmt::arg("dir", abs_dir.string()), fmt::arg("cwd", shell_quote(cwd.string())), fmt::arg("extra", extra));
  const std::string collect = fmt::format(
      R"(#!/bin/bash
# Rebuilds the summary of the sweep '{name}' and compares its runs; submit.sh
# runs it after the array (afterany: also when some tasks failed).
#SBATCH --job-name=sae-collect-{job}
#SBATCH --cpus-per-task=1
#SBATCH --output={dir}/runs/slurm-collect-%j.out
{extra}set -euo pipefail
cd {cwd}
{cmd} --collect
exec {compare} {sweep_dir}
)",
      fmt::arg("name", one_line(plan.spec.name)), fmt::arg("job", job), fmt::arg("dir", abs_dir.string()),
      fmt::arg("cwd", shell_quote(cwd.string())), fmt::arg("cmd", cmd), fmt::arg("extra", extra),
      fmt::arg("compare", shell_quote(compare.string())), fmt::arg("sweep_dir", shell_quote(abs_dir.string())));
  const std::string submit = fmt::format(
      R"(#!/bin/bash
# Submits the job array of the sweep '{name}', then its collect job to run when the array has ended.
set -euo pipefail
array=$(sbatch --parsable {array})
sbatch --dependency=afterany:"${{array%%;*}}" {collect}
)",
      fmt::arg("name", one_line(plan.spec.name)), fmt::arg("array", shell_quote((abs_dir / "slurm.sh").string())),
      fmt::arg("collect", shell_quote((abs_dir / "collect.sh").string())));
  write_plan_files(plan, dir);
  std::error_code ec;
  fs::create_directories(dir / "runs", ec);
  write_file_atomically(dir / "slurm.sh", array, file_mode::executable);
  write_file_atomically(dir / "collect.sh", collect, file_mode::executable);
  write_file_atomically(dir / "submit.sh", submit, file_mode::executable);
  fmt::print("sae-sweep: wrote {} ({} array tasks, {} cpus each) and collect.sh\n  submit: {}\n",
             (dir / "slurm.sh").string(), plan.rows.size(), cpus, (dir / "submit.sh").string());
}

void dry_run(const sweep_plan& plan, const fs::path& dir, const std::vector<int>& rows, const fs::path& trainer,
             int threads) {
  fmt::print("sae-sweep: {} ({} mode, {} seed{}): {} runs in {}; {} selected, {} thread{} each\n", plan.spec.name,
             to_string(plan.spec.mode), plan.spec.seeds, plan.spec.seeds == 1 ? "" : "s", plan.rows.size(),
             dir.string(), rows.size(), threads, threads == 1 ? "" : "s");
  fmt::print("  base: {}\n", plan.spec.base.string());
  for (int r : rows) {
    const plan_row& row = plan.rows[static_cast<std::size_t>(r)];
    const planned_run_state st = inspect_run(plan, row, dir);
    fmt::print("{:>4}  {:<11} {}\n", row.index, to_string(st.status), row.id);
    using S = planned_run_status;
    if (st.status == S::done || st.status == S::running) continue;
    if (st.status == S::mismatch) {
      fmt::print("      refused: {}\n", st.detail);
      continue;
    }
    std::string cmd;
    for (const auto& w : train_command(plan, row, dir, trainer, st, threads)) cmd.append(" ").append(shell_quote(w));
    fmt::print("     {}\n", cmd);
  }
}

// One line per problem, each prefixed, so every one is seen.
void print_problems(const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = std::min(text.find('\n', start), text.size());
    fmt::print(stderr, "sae-sweep: {}\n", text.substr(start, nl - start));
    start = nl + 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  cli::arguments parsed;
  if (const auto code = cli::parse_or_exit(command_line, argc, argv, parsed)) return *code;
  args a;
  sweep_plan plan;
  fs::path dir, trainer;
  std::vector<int> rows;
  try {
    a = parse_args(parsed);
    plan = make_plan(read_sweep_file(a.sweep_file));
    dir = a.out.empty() ? default_sweep_dir(plan.spec) : fs::path(a.out);
    rows = select_rows(static_cast<int>(plan.rows.size()), a.shard_sel, a.task);
    trainer = a.trainer.empty() ? self_dir() / "sae-train" : fs::path(a.trainer);
  } catch (const sweep_error& e) {
    print_problems(e.what());
    if (argc < 2) fmt::print(stderr, "{}", usage);
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-sweep: {}\n", e.what());
    return 2;
  }

  const int cores = a.cores > 0 ? a.cores : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  try {
    if (a.emit == "slurm") {
      emit_slurm(a, plan, dir);
      return 0;
    }
    if (a.dry_run) {
      dry_run(plan, dir, rows, trainer, threads_per_run(cores, a.jobs));
      return 0;
    }
    if (a.collect) {
      const csv_table t = update_summary(plan, dir);
      print_counts(t);
      fmt::print("sae-sweep: wrote {} and {}\n", (dir / "summary.csv").string(), (dir / "sweep.h5").string());
      return 0;
    }

    std::error_code ec;
    if (!fs::is_regular_file(trainer, ec) || ::access(trainer.c_str(), X_OK) != 0) {
      fmt::print(stderr, "sae-sweep: {}: no sae-train there; build it (ninja -C build) or pass --trainer PATH\n",
                 trainer.string());
      return 2;
    }
    // Held until the last summary is written; a second whole sweep is refused
    // here, array tasks and shards share it (sweep_lock.hpp).
    const sweep_lock lock = sweep_lock::acquire(dir, a.task || a.shard_sel ? sweep_lock_mode::shared
                                                                          : sweep_lock_mode::exclusive);
    check_run_dirs(plan, dir, rows);  // before anything is written
    write_plan_files(plan, dir);
    // A closed output pipe becomes a write error (and a clean stop of the
    // running runs), not a silent death that leaves them orphaned.
    std::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    fmt::print("sae-sweep: {}: {} runs ({} selected) -> {}\n", plan.spec.name, plan.rows.size(), rows.size(),
               dir.string());
    std::fflush(stdout);
    sweep_run_options opt;
    opt.jobs = a.jobs;
    opt.cores = cores;
    opt.trainer = trainer;
    opt.rows = rows;
    opt.signals = &signals_received;
    opt.print = [](const std::string& s) {
      fmt::print("{}\n", s);
      std::fflush(stdout);
    };
    opt.on_run_end = [&](const plan_row& row) -> std::string {
      try {
        const csv_table t = update_summary(plan, dir);
        return metrics_text(t, t.rows[static_cast<std::size_t>(row.index)]);
      } catch (const std::exception& e) {
        return fmt::format("  (summary not written: {})", e.what());
      }
    };
    const sweep_run_result res = run_sweep(plan, dir, opt);

    const csv_table t = update_summary(plan, dir);
    print_counts(t);
    fmt::print("sae-sweep: summary: {} and {}\n", (dir / "summary.csv").string(), (dir / "sweep.h5").string());
    if (res.stopped) {
      fmt::print("sae-sweep: stopped; run the same command again to continue\n");
      return 130;
    }
    if (res.failed > 0) {
      fmt::print("sae-sweep: {} run{} failed (see runs/ID.log); run the same command again to retry\n", res.failed,
                 res.failed == 1 ? "" : "s");
      return 1;
    }
    // The whole plan, not just this shard or task, decides whether it is time to compare.
    std::string again = shell_quote(argv[0]) + " " + shell_quote(a.sweep_file);
    if (!a.out.empty()) again += " --out " + shell_quote(a.out);
    fmt::print("{}\n", sweep_next_step(t, again, dir));
    return 0;
  } catch (const sweep_error& e) {
    print_problems(e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-sweep: {}\n", e.what());
    return 1;
  }
}
