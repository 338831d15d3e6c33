// Sweep files, plans, run-directory states, shards, and sae-sweep end to end
// (real sae-train runs on a tiny fake MNIST).

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include <hdf5_hl.h>

#include "experiment/run_dir.hpp"
#include "fake_mnist.hpp"
#include "h5py_check.hpp"
#include "in_child.hpp"
#include "report/quote.hpp"
#include "log/h5.hpp"
#include "sweep/csv.hpp"
#include "sweep/executor.hpp"
#include "sweep/next_step.hpp"
#include "sweep/plan.hpp"
#include "sweep/spec.hpp"
#include "sweep/summary.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::check_with_h5py;
using saelab::testing::slurp;
using saelab::testing::temp_dir;

namespace {

using strings = std::vector<std::string>;

// A small base config, so every plan check (load, build, objective) is cheap.
constexpr const char* base_ini = R"([model]
arch = fc
hidden = 8
[sparsity]
kind = kl
rho = 0.05
beta = 0.01
sites = hidden
[train]
epochs = 1
[run]
seed = 42
)";

struct sweep_files {
  temp_dir dir;
  explicit sweep_files(const std::string& tag) : dir(tag) {
    std::ofstream(dir / "base.ini") << base_ini;
  }
  // Writes a sweep file whose [sweep] names the base; `body` follows.
  fs::path write(const std::string& name, const std::string& sweep_keys, const std::string& body) {
    const fs::path p = dir / name;
    std::ofstream(p) << "[sweep]\nbase = " << (dir / "base.ini").string() << "\n" << sweep_keys << "\n" << body;
    return p;
  }
  sweep_plan plan(const std::string& sweep_keys, const std::string& body) {
    return make_plan(read_sweep_file(write("s.ini", sweep_keys, body)));
  }
};

std::string plan_error(sweep_files& f, const std::string& sweep_keys, const std::string& body) {
  try {
    f.plan(sweep_keys, body);
  } catch (const sweep_error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string list_error(const std::string& text) {
  try {
    parse_value_list(text);
  } catch (const sweep_error& e) {
    return e.what();
  }
  return "(no error)";
}

fs::path build_dir() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path(); }

int run_command(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("value lists: comma lists, quotes, log and range", "[sweep]") {
  CHECK(parse_value_list("0.1, 0.2,0.3") == strings{"0.1", "0.2", "0.3"});
  CHECK(parse_value_list("kl") == strings{"kl"});
  CHECK(parse_value_list("\"conv1, conv2\", all") == strings{"conv1, conv2", "all"});
  CHECK(parse_value_list("log(1e-3, 1e-1, 3)") == strings{"0.001", "0.01", "0.1"});
  CHECK(parse_value_list("log(1, 1000, 4)") == strings{"1", "10", "100", "1000"});
  CHECK(parse_value_list("log(1e-4, 1e-2, 5)") == strings{"0.0001", "0.0003162", "0.001", "0.003162", "0.01"});
  CHECK(parse_value_list("log(0.5, 0.5, 1)") == strings{"0.5"});
  CHECK(parse_value_list("range(1, 5, 2)") == strings{"1", "3", "5"});
  CHECK(parse_value_list("range(1, 6, 2)") == strings{"1", "3", "5"});
  CHECK(parse_value_list("range(0.1, 0.5, 0.1)") == strings{"0.1", "0.2", "0.3", "0.4", "0.5"});
  CHECK(parse_value_list("range(5, 1, -2)") == strings{"5", "3", "1"});
  CHECK(parse_value_list("logistic") == strings{"logistic"});  // a plain value, not log(...)
}

TEST_CASE("value lists: every malformed list says what was expected", "[sweep]") {
  CHECK_THAT(list_error(""), Catch::Contains("no values"));
  CHECK_THAT(list_error("1,,2"), Catch::Contains("empty item"));
  CHECK_THAT(list_error("1, 2,"), Catch::Contains("empty item"));
  CHECK_THAT(list_error("log(1e-3, 1e-1)"), Catch::Contains("three arguments, got 2"));
  CHECK_THAT(list_error("log(0, 1, 3)"), Catch::Contains("a > 0 and b > 0"));
  CHECK_THAT(list_error("log(1, 10, 2.5)"), Catch::Contains("integer n"));
  CHECK_THAT(list_error("log(1, x, 3)"), Catch::Contains("b 'x' is not a number"));
  CHECK_THAT(list_error("log(1, 10, 3"), Catch::Contains("closing parenthesis"));
  CHECK_THAT(list_error("range(0, 1, 0)"), Catch::Contains("step that goes from a towards b"));
  CHECK_THAT(list_error("range(0, 1, -0.1)"), Catch::Contains("step that goes from a towards b"));
  CHECK_THAT(list_error("lin(0, 1, 3)"), Catch::Contains("unknown function 'lin'"));
  CHECK_THAT(list_error("\"a, b"), Catch::Contains("unclosed quote"));
}

TEST_CASE("grid mode: every combination, first key slowest, seeds outermost", "[sweep]") {
  sweep_files f("sweep_grid");
  const sweep_plan p = f.plan("seeds = 2",
                              "[fixed]\ntrain.epochs = 3\n"
                              "[grid]\nsparsity.rho = 0.02, 0.1\nsparsity.beta = log(1e-3, 1e-1, 3)\n");
  REQUIRE(p.rows.size() == 12);
  CHECK(p.keys == strings{"sparsity.rho", "sparsity.beta"});
  CHECK(p.rows[0].id == "000-rho0.02-beta0.001-s42");
  CHECK(p.rows[1].id == "001-rho0.02-beta0.01-s42");
  CHECK(p.rows[3].values == strings{"0.1", "0.001"});
  CHECK(p.rows[5].seed == 42);
  CHECK(p.rows[6].seed == 43);  // the second seed: base run.seed + 1
  CHECK(p.rows[6].values == p.rows[0].values);
  CHECK(p.rows[11].id == "011-rho0.1-beta0.1-s43");
  CHECK(p.rows[11].run_dir == "runs/011-rho0.1-beta0.1-s43");
  CHECK(p.rows[4].overrides == strings{"--train.epochs=3", "--sparsity.rho=0.1", "--sparsity.beta=0.01"});

  const experiment_config c = planned_config(p, p.rows[7], "/sweeps/x");
  CHECK(c.sparsity.rho == 0.02);
  CHECK(c.sparsity.beta == 0.01);
  CHECK(c.train.epochs == 3);
  CHECK(c.run.seed == 43);
  CHECK(c.run.name == p.rows[7].id);
  CHECK(c.run.out == "/sweeps/x/" + p.rows[7].run_dir);
  CHECK(c.model.hidden == 8);  // from the base
}

TEST_CASE("zip mode: the i-th values together; one-value lists apply to every point", "[sweep]") {
  sweep_files f("sweep_zip");
  const sweep_plan p = f.plan("mode = zip",
                              "[grid]\nsparsity.kind = kl\nsparsity.rho = 0.02, 0.05, 0.1\n"
                              "sparsity.beta = 0.001, 0.01, 0.1\n");
  REQUIRE(p.rows.size() == 3);
  CHECK(p.rows[0].values == strings{"kl", "0.02", "0.001"});
  CHECK(p.rows[2].values == strings{"kl", "0.1", "0.1"});
  CHECK(p.rows[1].id == "001-rho0.05-beta0.01-s42");  // one-value keys stay out of ids
}

TEST_CASE("several grid sections are concatenated, each with its own keys", "[sweep]") {
  sweep_files f("sweep_sections");
  const sweep_plan p = f.plan("seeds = 2",
                              "[grid.kl]\nsparsity.kind = kl\nsparsity.rho = 0.02, 0.1\nsparsity.beta = 0.01\n"
                              "[grid.l1]\nsparsity.kind = l1\nsparsity.lambda = range(1, 3, 1)\n");
  REQUIRE(p.rows.size() == 10);
  CHECK(p.keys == strings{"sparsity.kind", "sparsity.rho", "sparsity.beta", "sparsity.lambda"});
  CHECK(p.rows[0].label == "kl");
  CHECK(p.rows[0].id == "000-kl-rho0.02-s42");
  CHECK(p.rows[2].label == "l1");
  CHECK(p.rows[2].id == "002-l1-lambda1-s42");
  CHECK(p.rows[2].values == strings{"l1", "", "", "1"});  // blank: not set by [grid.l1]
  CHECK(p.rows[5].id == "005-kl-rho0.02-s43");
  CHECK(planned_config(p, p.rows[3], "d").sparsity.kind == sparsity_kind::l1);
  CHECK(planned_config(p, p.rows[3], "d").sparsity.lambda == 2);

  const std::string csv = plan_csv(p);
  CHECK(csv.rfind("index,id,label,seed,sparsity.kind,sparsity.rho,sparsity.beta,sparsity.lambda,run_dir\n", 0) == 0);
  CHECK_THAT(csv, Catch::Contains("\n2,002-l1-lambda1-s42,l1,42,l1,,,1,runs/002-l1-lambda1-s42\n"));
}

TEST_CASE("the plan is deterministic", "[sweep]") {
  sweep_files f("sweep_determinism");
  const std::string body = "[grid.a]\nsparsity.rho = log(0.01, 0.2, 4)\nmodel.hidden = 4, 8\n"
                           "[grid.b]\nsparsity.kind = l1\nsparsity.lambda = range(0.001, 0.004, 0.001)\n";
  const sweep_plan a = f.plan("seeds = 3", body);
  const sweep_plan b = f.plan("seeds = 3", body);
  CHECK(plan_csv(a) == plan_csv(b));
  CHECK(a.rows.size() == 3 * (8 + 4));
  std::set<std::string> ids;
  for (const auto& r : a.rows) ids.insert(r.id);
  CHECK(ids.size() == a.rows.size());
}

TEST_CASE("rebuilding the summary keeps the done rows of runs whose directories are absent (a committed study)",
          "[sweep]") {
  sweep_files f("sweep_committed");
  const sweep_plan plan = f.plan("", "[grid]\nsparsity.rho = 0.1, 0.2\n");
  const fs::path dir = f.dir / "s";
  fs::create_directories(dir);
  csv_table t = collect_summary(plan, dir);
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0][t.column("status")] == "pending");
  // As committed: the summary of finished runs, without their directories.
  t.rows[0][t.column("status")] = "done";
  t.rows[0][t.column("test_bce")] = "0.1";
  write_summary(plan, dir, t);

  const csv_table again = collect_summary(plan, dir);
  CHECK(again.rows[0] == t.rows[0]);
  CHECK(again.rows[1][again.column("status")] == "pending");
  write_summary(plan, dir, again);
  CHECK(read_sweep_h5_runs(dir / "sweep.h5").rows[0][t.column("status")] == "done");
  {
    const h5::file h = h5::file::open_read(dir / "sweep.h5");
    H5G_info_t info{};
    REQUIRE(H5Gget_info_by_name(h.id(), "/run_logs", &info, H5P_DEFAULT) >= 0);
    CHECK(info.nlinks == 0);  // no link to a run.h5 that is not there
  }
  // A directory, even an empty one, is what the run is now.
  fs::create_directories(dir / plan.rows[0].run_dir);
  CHECK(collect_summary(plan, dir).rows[0][t.column("status")] == "pending");
}

TEST_CASE("the time left comes from the done runs' durations and does not jump when two runs end together",
          "[sweep]") {
  // Four runs of 60 s, two at a time; the first two end together at 60 s.
  // Reaping the first (the other still counted as running) and then the
  // second must give the same estimate: 60 s for the last two runs.
  const auto first = sweep_seconds_left({60}, {60}, 2, 2), second = sweep_seconds_left({60, 60}, {}, 2, 2);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(*first == Approx(60));
  CHECK(*second == Approx(60));
  // The mean of the done runs; a running run's elapsed time is subtracted.
  CHECK(*sweep_seconds_left({10, 30}, {5}, 0, 2) == Approx(15));
  CHECK(*sweep_seconds_left({10, 30}, {5}, 3, 1) == Approx(15 + 3 * 20));
  CHECK(*sweep_seconds_left({10, 30}, {}, 3, 2) == Approx(40));
  CHECK(*sweep_seconds_left({20}, {50}, 0, 1) == Approx(0));  // longer than the mean: nothing more is guessed
  CHECK_FALSE(sweep_seconds_left({}, {5}, 3, 2));  // no run done yet: no estimate
}

TEST_CASE("sae-sweep's last line names sae-compare only when every run of the plan is done", "[sweep]") {
  csv_table t;
  t.header = {"index", "id", "status"};
  auto with = [&](std::vector<std::string> statuses) {
    t.rows.clear();
    for (std::size_t i = 0; i < statuses.size(); ++i) t.rows.push_back({std::to_string(i), "r", statuses[i]});
    return sweep_next_step(t, "sae-sweep s.ini", "exp/s");
  };
  CHECK(with({"done", "done"}) == "next: sae-compare exp/s");
  CHECK(with({"done", "pending", "pending", "failed"}) ==
        "sae-sweep: 3 of 4 runs are not done (1 failed, 2 pending): run sae-sweep s.ini again to finish them");
  CHECK(with({"done", "running", "pending"}) ==
        "sae-sweep: 2 of 3 runs are not done (1 pending, 1 running elsewhere): run sae-sweep s.ini again to finish "
        "them");
  CHECK(with({"done", "running"}) == "sae-sweep: 1 of 2 runs are not done (1 running elsewhere): another process "
                                     "runs them; sae-compare once they are done");
}

TEST_CASE("shards together are the whole plan, each row once; a task is one row", "[sweep]") {
  for (int rows : {0, 1, 7, 12}) {
    for (int n : {1, 2, 3, 5}) {
      std::vector<int> all;
      for (int i = 0; i < n; ++i) {
        const auto s = select_rows(rows, parse_shard(fmt::format("{}/{}", i, n)), std::nullopt);
        for (int r : s) CHECK(r % n == i);
        all.insert(all.end(), s.begin(), s.end());
      }
      std::sort(all.begin(), all.end());
      std::vector<int> expected(static_cast<std::size_t>(rows));
      std::iota(expected.begin(), expected.end(), 0);
      CHECK(all == expected);
    }
  }
  CHECK(select_rows(5, std::nullopt, 3) == std::vector<int>{3});
  CHECK_THROWS_WITH(select_rows(5, std::nullopt, 5), Catch::Contains("rows 0 to 4"));
  CHECK_THROWS_WITH(parse_shard("3/3"), Catch::Contains("0 <= i < n"));
  CHECK_THROWS_WITH(parse_shard("1"), Catch::Contains("expected i/n"));
  CHECK_THROWS_WITH(parse_shard("a/b"), Catch::Contains("expected i/n"));
  CHECK(threads_per_run(2, 1) == 2);
  CHECK(threads_per_run(2, 2) == 1);
  CHECK(threads_per_run(2, 4) == 1);
  CHECK(threads_per_run(8, 3) == 2);
}

TEST_CASE("bad sweep files are refused, each problem with its own message", "[sweep]") {
  sweep_files f("sweep_bad");
  const std::string kl = "[grid]\nsparsity.rho = 0.1, 0.2\n";
  // The file's own structure.
  CHECK_THAT(plan_error(f, "", "[grid]\n"), Catch::Contains("s.ini:4: [grid] is empty"));
  CHECK_THAT(plan_error(f, "", ""), Catch::Contains("no [grid] section: nothing to sweep"));
  CHECK_THAT(plan_error(f, "seeds = 0", kl), Catch::Contains("seeds = '0': expected a number of seeds"));
  CHECK_THAT(plan_error(f, "mode = shuffle", kl), Catch::Contains("mode = 'shuffle': expected grid or zip"));
  CHECK_THAT(plan_error(f, "colour = red", kl), Catch::Contains("[sweep] has no key 'colour'"));
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.rho = 0.1,,0.2\n"),
             Catch::Contains("s.ini:5: [grid] sparsity.rho: '0.1,,0.2' has an empty item"));
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.rho = log(0.1, 0.2)\n"), Catch::Contains("three arguments"));
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.rho = 0.1\nsparsity.rho = 0.2\n"),
             Catch::Contains("sparsity.rho is given twice"));
  CHECK_THAT(plan_error(f, "", "[grids]\nsparsity.rho = 0.1\n"), Catch::Contains("unknown section [grids]"));
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.rho\n"), Catch::Contains("expected 'key = value'"));
  CHECK_THAT(plan_error(f, "", "[fixed]\ntrain.epochs = 1, 2\n" + kl), Catch::Contains("[fixed] takes one value"));
  // Keys and values, against the config.
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.bta = 0.1, 0.2\n"),
             Catch::Contains("s.ini:5: [grid] unknown key 'sparsity.bta'; did you mean 'sparsity.beta'?"));
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.rho = 0.1, 1.5\n"),
             Catch::Contains("[grid] sparsity.rho = 1.5 is out of range: expected a number in (0, 1)"));
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.kind = kl, l2\n"), Catch::Contains("sparsity.kind = 'l2': expected one of"));
  CHECK_THAT(plan_error(f, "", "[grid]\nrun.seed = 1, 2\n"), Catch::Contains("run.seed cannot be set in a sweep"));
  CHECK_THAT(plan_error(f, "", "[grid]\nrun.threads = 1, 2\n"), Catch::Contains("run.threads cannot be set"));
  CHECK_THAT(plan_error(f, "mode = zip", "[grid]\nsparsity.rho = 0.1, 0.2\nsparsity.beta = 1, 2, 3\n"),
             Catch::Contains("zip mode: sparsity.beta has 3 values but sparsity.rho (line 5) has 2"));
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.rho = 0.1, 0.1\n"), Catch::Contains("lists '0.1' twice"));
  CHECK_THAT(plan_error(f, "", "[grid.a]\nsparsity.rho = 0.1, 0.2\n[grid.b]\nsparsity.rho = 0.2\n"),
             Catch::Contains("[grid.b] point (single) is the same config as [grid.a] point sparsity.rho=0.2"));
  CHECK_THAT(plan_error(f, "", "[fixed]\nsparsity.rho = 0.1\n[grid]\nsparsity.rho = 0.2, 0.3\n"),
             Catch::Contains("sparsity.rho is also in [fixed]"));
  // Points the model or the objective refuse: KL needs units bounded in [0, 1].
  CHECK_THAT(plan_error(f, "", "[grid]\nmodel.hidden_activation = sigmoid, relu\n"),
             Catch::Contains("point model.hidden_activation=relu: sparsity.kind = kl on site 'hidden'"));
  CHECK_THAT(plan_error(f, "", "[grid]\nsparsity.sites = hidden, nowhere\n"), Catch::Contains("nowhere"));

  // Several problems at once: all of them.
  const std::string many = plan_error(f, "", "[grid]\nsparsity.bta = 1, 2\nsparsity.rho = 7, 0.1\n");
  CHECK_THAT(many, Catch::Contains("sparsity.bta") && Catch::Contains("sparsity.rho = 7"));

  // A missing base.
  {
    const fs::path p = f.dir / "nobase.ini";
    std::ofstream(p) << "[sweep]\nbase = no/such.ini\n" << kl;
    CHECK_THROWS_WITH(read_sweep_file(p), Catch::Contains("base config 'no/such.ini' not found"));
  }
  CHECK_THROWS_WITH(read_sweep_file(f.dir / "absent.ini"), Catch::Contains("no such sweep file"));
}

TEST_CASE("a sweep over the run cap is refused from its list lengths, before anything is expanded", "[sweep]") {
  sweep_files f("sweep_cap");
  // Ten keys of 1000 values: 10^30 points. Before, every value was checked and
  // then every point built in memory before the cap was looked at.
  std::string grid = "[grid]\n";
  for (const char* key : {"sparsity.rho", "sparsity.beta", "sparsity.lambda", "optim.lr", "optim.beta1", "optim.beta2",
                          "optim.eps", "optim.momentum", "log.active_threshold"})
    grid += fmt::format("{} = log(1e-4, 0.5, 1000)\n", key);
  grid += "model.hidden = range(1, 1000, 1)\n";
  const auto r = saelab::testing::run_in_child([&] { f.plan("", grid); });
  CHECK_THAT(r.message, Catch::Contains("s.ini: 1e+30 runs ([sweep] seeds x the points of every [grid] section): "
                                        "more than the 100000 a sweep may have"));
  // Past 2^64 the count is still named, and seeds and sections count too.
  const auto twice = [&] { f.plan("seeds = 1000", grid + "[grid.b]\n" + grid.substr(7)); };
  CHECK_THAT(saelab::testing::run_in_child(twice).message, Catch::Contains("2e+33 runs"));
  CHECK_THAT(plan_error(f, "seeds = 3", "[grid]\nsparsity.rho = log(1e-4, 0.5, 200)\nsparsity.beta = log(1, 2, 200)\n"),
             Catch::Contains("120000 runs ([sweep] seeds x") && Catch::Contains("more than the 100000"));
  CHECK_THAT(plan_error(f, "mode = zip\nseeds = 11", "[grid]\nsparsity.rho = log(1e-4, 0.5, 10000)\n"),
             Catch::Contains("110000 runs"));
  CHECK_NOTHROW(
      f.plan("mode = zip\nseeds = 10", "[grid]\nsparsity.rho = log(1e-4, 0.5, 3)\nsparsity.beta = 1, 2, 3\n"));
  // Many short sections, each list expanded from one line: refused while reading,
  // at the line that goes past the cap, before the rest is expanded.
  std::string sections;
  for (int i = 0; i < 1000; ++i) sections += fmt::format("[grid.s{}]\nsparsity.rho = log(1e-4, 0.5, 10000)\n", i);
  CHECK_THROWS_WITH(read_sweep_file(f.write("many.ini", "", sections)),
                    Catch::Contains("many.ini:25: [grid.s10] sparsity.rho: the lists so far make more than the "
                                    "100000 runs"));
}

TEST_CASE("run directory states decide what a sweep does with each run", "[sweep]") {
  sweep_files f("sweep_states");
  const sweep_plan p = f.plan("", "[fixed]\ntrain.epochs = 2\n[grid]\nsparsity.rho = 0.02, 0.1\n");
  const fs::path dir = f.dir / "sweep";
  const plan_row& row = p.rows[0];
  const fs::path run = dir / row.run_dir;
  using S = planned_run_status;
  auto state = [&] { return inspect_run(p, row, dir).status; };
  auto fake_run = [&](run_status s, int epochs_done, const experiment_config& cfg) {
    fs::create_directories(run);
    experiment_config recorded = cfg;
    recorded.run.out.clear();
    std::ofstream(run / "resolved.ini") << "# resolved\n" << to_ini(recorded);
    write_run_state(run, {s, epochs_done, cfg.train.epochs, "", 0, "", ""});
  };
  const experiment_config planned = planned_config(p, row, dir);

  CHECK(state() == S::pending);
  fs::create_directories(run);
  CHECK(state() == S::pending);  // an empty directory
  std::ofstream(run / "epochs.csv") << "epoch\n";
  CHECK(state() == S::broken);  // files, no status
  fs::remove_all(run);

  fake_run(run_status::done, 2, planned);
  CHECK(state() == S::done);
  fake_run(run_status::interrupted, 1, planned);
  CHECK(state() == S::interrupted);
  fake_run(run_status::failed, 1, planned);
  CHECK(state() == S::failed);
  fake_run(run_status::running, 1, planned);
  CHECK(state() == S::killed);  // no process holds the lock
  {
    auto lock = run_lock::acquire(run);
    CHECK(state() == S::running);
  }
  // Another thread count is the same run.
  experiment_config other_threads = planned;
  other_threads.run.threads = 1;
  fake_run(run_status::done, 2, other_threads);
  CHECK(state() == S::done);
  // Fewer epochs than planned: extended by a resume.
  experiment_config shorter = planned;
  shorter.train.epochs = 1;
  fake_run(run_status::done, 1, shorter);
  CHECK(state() == S::too_short);
  const auto cmd = train_command(p, row, dir, "sae-train", inspect_run(p, row, dir), 1);
  CHECK(cmd == strings{"sae-train", "--resume", run.string(), "--train.epochs=2", "--run.threads=1", "--quiet"});
  // Another config: refused.
  experiment_config other = planned;
  other.sparsity.rho = 0.3;
  fake_run(run_status::done, 2, other);
  const auto st = inspect_run(p, row, dir);
  CHECK(st.status == S::mismatch);
  CHECK_THAT(st.detail, Catch::Contains("sparsity.rho = 0.3 in the run, 0.02 in the plan"));
  sweep_run_options opt;
  opt.rows = {0, 1};
  opt.trainer = "/nonexistent/sae-train";
  CHECK_THROWS_WITH(run_sweep(p, dir, opt), Catch::Contains("holds a run of another config"));
  CHECK_FALSE(fs::exists(dir / p.rows[1].run_dir));  // nothing started

  // A fresh start names everything sae-train needs.
  fs::remove_all(run);
  const auto fresh = train_command(p, row, dir, "sae-train", inspect_run(p, row, dir), 2);
  CHECK(fresh == strings{"sae-train", (f.dir / "base.ini").string(), "--train.epochs=2", "--sparsity.rho=0.02",
                         "--run.seed=42", "--run.name=" + row.id, "--run.out=" + run.string(), "--run.threads=2",
                         "--quiet"});
}

TEST_CASE("csv round trip with quotes, commas and line breaks", "[sweep]") {
  csv_table t{{"a", "b,c", "d"}, {{"1", "x \"y\"", ""}, {"line\nbreak", ",", "z"}}};
  const std::string text = to_csv(t);
  CHECK(text.rfind("a,\"b,c\",d\n1,\"x \"\"y\"\"\",\n", 0) == 0);
  CHECK(parse_csv(text) == t);
  CHECK(t.column("d") == 2);
  CHECK_THROWS_WITH(t.column("e"), Catch::Contains("no column 'e'"));
  CHECK_THROWS_WITH(parse_csv("a,b\n1\n"), Catch::Contains("row 1 has 1 fields"));
}

TEST_CASE("sae-sweep end to end: runs, resume skips done runs, --collect rebuilds the same summary", "[sweep][slow]") {
  const fs::path sweep_exe = build_dir() / "apps" / "sae-sweep";
  const fs::path train_exe = build_dir() / "apps" / "sae-train";
  REQUIRE(fs::exists(sweep_exe));
  REQUIRE(fs::exists(train_exe));
  sweep_files f("sweep_e2e");
  saelab::testing::write_fake_mnist(f.dir / "mnist", 200, 100);
  const fs::path file = f.write("tiny.ini", "seeds = 2",
                                "[fixed]\ntrain.batch_size = 50\nmodel.hidden = 6\ndata.dir = " +
                                    (f.dir / "mnist").string() +
                                    "\n[grid.kl]\nsparsity.kind = kl\nsparsity.beta = 0.01, 0.1\n"
                                    "[grid.l1]\nsparsity.kind = l1\nsparsity.lambda = 0.001\n");
  const fs::path out = f.dir / "out";
  // One thread per run whatever -j, so a redone run repeats its bits.
  const std::string base_cmd = fmt::format("'{}' '{}' --out '{}' --trainer '{}' --cores 1", sweep_exe.string(),
                                           file.string(), out.string(), train_exe.string());
  const std::string log = (f.dir / "log.txt").string();

  // A bad sweep file: refused before anything runs, nothing written.
  const fs::path bad = f.write("bad.ini", "", "[grid]\nsparsity.rho = 2\n");
  CHECK(run_command(fmt::format("'{}' '{}' --out '{}' > '{}' 2>&1", sweep_exe.string(), bad.string(),
                                (f.dir / "bad_out").string(), log)) == 2);
  CHECK_THAT(slurp(log), Catch::Contains("sparsity.rho = 2 is out of range"));
  CHECK_FALSE(fs::exists(f.dir / "bad_out"));

  // A shard first: rows 0, 2, 4.
  REQUIRE(run_command(base_cmd + " -j 2 --shard 0/2 > '" + log + "' 2>&1") == 0);
  const sweep_plan p = make_plan(read_sweep_file(file));
  REQUIRE(p.rows.size() == 6);
  for (const auto& r : p.rows)
    CHECK(inspect_run(p, r, out).status ==
          (r.index % 2 == 0 ? planned_run_status::done : planned_run_status::pending));
  CHECK_THAT(slurp(out / "summary.csv"), Catch::Contains(",pending,"));

  // The whole sweep: the shard's runs are skipped, not redone.
  const auto written_before = fs::last_write_time(out / p.rows[0].run_dir / "status");
  REQUIRE(run_command(base_cmd + " -j 2 > '" + log + "' 2>&1") == 0);
  CHECK_THAT(slurp(log), Catch::Contains("3 of 6 selected runs are done already; 3 to run"));
  CHECK(fs::last_write_time(out / p.rows[0].run_dir / "status") == written_before);
  for (const auto& r : p.rows) CHECK(inspect_run(p, r, out).status == planned_run_status::done);
  CHECK(fs::exists(out / "plan.csv"));
  CHECK(slurp(out / "plan.csv") == plan_csv(p));

  // Again: nothing to do.
  REQUIRE(run_command(base_cmd + " > '" + log + "' 2>&1") == 0);
  CHECK_THAT(slurp(log), Catch::Contains("6 of 6 selected runs are done already; 0 to run"));

  // The summary: every run done with metrics.
  const std::string during = slurp(out / "summary.csv");
  const csv_table t = parse_csv(during);
  REQUIRE(t.rows.size() == 6);
  for (const auto& r : t.rows) {
    CHECK(r[t.column("status")] == "done");
    CHECK_FALSE(r[t.column("test_bce")].empty());
    CHECK(r[t.column("hidden.units")] == "6");
  }
  CHECK(t.rows[2][t.column("kind")] == "l1");
  CHECK(t.rows[2][t.column("weight")] == "0.001");
  CHECK(t.rows[0][t.column("rho")] == "0.05");
  const csv_table h5_during = read_sweep_h5_runs(out / "sweep.h5");
  {  // sweep.h5 in viewers: columns in summary order, each on the run axis, with units and description
    const h5::file f = h5::file::open_read(out / "sweep.h5");
    const h5::group runs = h5::open_group(f, "/runs");
    for (std::size_t c = 0; c < t.header.size(); ++c) {
      char name[64] = {};
      REQUIRE(H5Lget_name_by_idx(runs.id(), ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, c, name, sizeof name,
                                 H5P_DEFAULT) > 0);
      CHECK(name == t.header[c]);
      if (c > 0) CHECK(H5DSget_num_scales(h5::open_dataset(runs, name).id(), 0) == 1);
    }
    CHECK(h5::read_attr_string(h5::open_dataset(runs, "hidden.l0"), "units") == "units");
  }
  check_with_h5py(out / "sweep.h5");
  check_with_h5py(out / p.rows[0].run_dir / "run.h5");  // as sae-train writes it

  // --collect from the run directories alone gives the same summary.
  fs::remove(out / "summary.csv");
  fs::remove(out / "sweep.h5");
  REQUIRE(run_command(base_cmd + " --collect > '" + log + "' 2>&1") == 0);
  CHECK(slurp(out / "summary.csv") == during);
  const csv_table h5_collected = read_sweep_h5_runs(out / "sweep.h5");
  CHECK(h5_collected == h5_during);
  // sweep.h5 holds the summary's columns: the same strings, the same numbers.
  REQUIRE(h5_collected.header == t.header);
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    for (std::size_t c = 0; c < t.header.size(); ++c) {
      const std::string& a = t.rows[r][c];
      const std::string& b = h5_collected.rows[r][c];
      if (a == b) continue;
      INFO(t.header[c] << ": " << a << " vs " << b);
      CHECK(std::stod(a) == std::stod(b));
    }

  // A run removed (lost) is redone alone, to the same numbers at the same
  // thread count (only its seconds differ).
  auto without_seconds = [](csv_table x) {
    const std::size_t c = x.column("seconds");
    for (auto& r : x.rows) r[c].clear();
    return x;
  };
  fs::remove_all(out / p.rows[1].run_dir);
  REQUIRE(run_command(base_cmd + " > '" + log + "' 2>&1") == 0);
  CHECK_THAT(slurp(log), Catch::Contains("5 of 6 selected runs are done already; 1 to run"));
  CHECK_THAT(slurp(log), Catch::Contains("start   " + p.rows[1].id));
  CHECK(without_seconds(read_csv(out / "summary.csv")) == without_seconds(t));

  // More epochs in the sweep file: every run is extended by a resume, not redone.
  {
    std::string text = slurp(file);
    text.replace(text.find("[fixed]\n"), 8, "[fixed]\ntrain.epochs = 2\n");
    std::ofstream(file) << text;
  }
  REQUIRE(run_command(base_cmd + " -j 2 > '" + log + "' 2>&1") == 0);
  CHECK_THAT(slurp(log), Catch::Contains("resume  " + p.rows[0].id + " (short, 1 of 2 epochs)"));
  const csv_table longer = read_csv(out / "summary.csv");
  for (const auto& r : longer.rows) {
    CHECK(r[longer.column("status")] == "done");
    CHECK(r[longer.column("epochs")] == "2");
  }

  // --emit slurm: a job array over the plan.
  REQUIRE(run_command(base_cmd + " --emit slurm > '" + log + "' 2>&1") == 0);
  const std::string script = slurp(out / "slurm.sh");
  CHECK_THAT(script, Catch::Contains("#SBATCH --array=0-5"));
  CHECK_THAT(script, Catch::Contains("--task \"$SLURM_ARRAY_TASK_ID\""));
}

TEST_CASE("sae-sweep on SIGINT stops its runs cleanly, starts no new one and exits 130", "[sweep][slow]") {
  const fs::path sweep_exe = build_dir() / "apps" / "sae-sweep";
  const fs::path train_exe = build_dir() / "apps" / "sae-train";
  sweep_files f("sweep_sigint");
  saelab::testing::write_fake_mnist(f.dir / "mnist", 200, 50);
  // Long enough (500 epochs) that the runs are still going when the signal comes.
  const fs::path file = f.write("long.ini", "",
                                "[fixed]\ntrain.batch_size = 100\ntrain.epochs = 500\nmodel.hidden = 6\ndata.dir = " +
                                    (f.dir / "mnist").string() + "\n[grid]\nsparsity.beta = 0.01, 0.1, 1\n");
  const fs::path out = f.dir / "out";
  const sweep_plan p = make_plan(read_sweep_file(file));

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string log = (f.dir / "log.txt").string();
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    ::execl(sweep_exe.c_str(), sweep_exe.c_str(), file.c_str(), "-j", "2", "--out", out.c_str(), "--trainer",
            train_exe.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  // Wait until both runs have finished an epoch or two.
  auto running = [&](int row) {
    const auto s = read_run_state(out / p.rows[static_cast<std::size_t>(row)].run_dir);
    return s && s->epochs_done >= 2;
  };
  for (int i = 0; i < 300 && !(running(0) && running(1)); ++i) ::usleep(100000);
  REQUIRE(running(0));
  REQUIRE(running(1));
  ::kill(pid, SIGINT);
  int status = -1;
  for (int i = 0; i < 300; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    ::usleep(100000);
  }
  if (!WIFEXITED(status)) ::kill(pid, SIGKILL), ::waitpid(pid, &status, 0);
  INFO(slurp(f.dir / "log.txt"));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(inspect_run(p, p.rows[0], out).status == planned_run_status::interrupted);
  CHECK(inspect_run(p, p.rows[1], out).status == planned_run_status::interrupted);
  CHECK(inspect_run(p, p.rows[2], out).status == planned_run_status::pending);
  CHECK_THAT(slurp(f.dir / "log.txt"), Catch::Contains("run the same command again to continue"));
  CHECK_THAT(slurp(out / "summary.csv"), Catch::Contains(",interrupted,"));
}

TEST_CASE("sae-sweep --emit slurm: hostile sweep names and directories give a valid script or a clear refusal",
          "[sweep][quote]") {
  const fs::path sweep_exe = build_dir() / "apps" / "sae-sweep";
  REQUIRE(fs::exists(sweep_exe));
  sweep_files f("sweep_slurm_names");
  // bash -n runs nothing: the checks are on the script's lines.
  const std::string marker = "PWNED";
  struct attempt {
    std::string file, out;
    bool accepted;
  };
  const std::vector<attempt> attempts = {
      {"plain.ini", "out_plain", true},
      {"my sweep.ini", "out_space_name", true},
      {"it's; touch " + marker + ".ini", "out_quote_name", true},
      {"$(touch " + marker + ").ini", "out_subst_name", true},
      {"x\ntouch " + marker + "\n#SBATCH --wrap=y.ini", "out_newline_name", false},
      {"plain2.ini", "out with spaces", false},
      {"plain3.ini", "out\ntouch " + marker, false},
      {"plain4.ini", "out#hash", false},
      {"plain5.ini", "out%A", false},
  };
  for (const auto& a : attempts) {
    INFO("sweep file '" << a.file << "', --out '" << a.out << "'");
    const fs::path file = f.write(a.file, "", "[grid]\nsparsity.beta = 0.01, 0.1\n");
    const fs::path out = f.dir / a.out;
    const fs::path log = f.dir / "log.txt";
    const int rc = run_command(fmt::format("{} {} --out {} --emit slurm > {} 2>&1", shell_quote(sweep_exe.string()),
                                           shell_quote(file.string()), shell_quote(out.string()),
                                           shell_quote(log.string())));
    const fs::path script = out / "slurm.sh";
    if (!a.accepted) {
      CHECK(rc != 0);
      CHECK_THAT(slurp(log), Catch::Contains("cannot go into a script") || Catch::Contains("#SBATCH line"));
      CHECK_FALSE(fs::exists(script));
      continue;
    }
    REQUIRE(rc == 0);
    for (const char* name : {"slurm.sh", "collect.sh", "submit.sh"}) {
      INFO(name);
      REQUIRE(fs::exists(out / name));
      CHECK(run_command("bash -n " + shell_quote((out / name).string()) + " 2>/dev/null") == 0);
      int directives = 0;
      std::istringstream lines(slurp(out / name));
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("#SBATCH", 0) != 0) continue;
        ++directives;
        // "#SBATCH --option=value": one blank, nothing Slurm's tokenizer could split or cut.
        CHECK(line.rfind("#SBATCH --", 0) == 0);
        CHECK(line.find_first_of(" \t\"'\\#", 8) == std::string::npos);
      }
      CHECK(directives == (name == std::string("slurm.sh") ? 5 : name == std::string("collect.sh") ? 3 : 0));
    }
    CHECK_THAT(slurp(script), Catch::Contains("#SBATCH --job-name=sae-sweep-"));
  }
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("sae-sweep --emit slurm: time, memory, partition and account, the stop signal, the collect job",
          "[sweep]") {
  const fs::path sweep_exe = build_dir() / "apps" / "sae-sweep";
  sweep_files f("sweep_slurm_options");
  const fs::path file = f.write("s.ini", "", "[grid]\nsparsity.beta = 0.01, 0.1\n");
  const fs::path out = f.dir / "out", log = f.dir / "log.txt";
  const std::string base = fmt::format("{} {} --out {} ", shell_quote(sweep_exe.string()), shell_quote(file.string()),
                                       shell_quote(out.string()));
  REQUIRE(run_command(base + "--emit slurm --slurm-time 4:00:00 --slurm-mem=8G --slurm-partition short "
                             "--slurm-account lab_1 > " + shell_quote(log.string()) + " 2>&1") == 0);
  const std::string array = slurp(out / "slurm.sh"), collect = slurp(out / "collect.sh");
  for (const std::string& text : {array, collect}) {
    CHECK_THAT(text, Catch::Contains("#SBATCH --time=4:00:00\n#SBATCH --mem=8G\n#SBATCH --partition=short\n"
                                     "#SBATCH --account=lab_1\n"));
  }
  CHECK_THAT(array, Catch::Contains("#SBATCH --signal=B:TERM@120\n") && Catch::Contains("exec "));
  CHECK_THAT(collect, Catch::Contains(" --collect\n") && Catch::Contains("apps/sae-compare " + out.string() + "\n"));
  CHECK_THAT(slurp(out / "submit.sh"), Catch::Contains("array=$(sbatch --parsable ") &&
                                           Catch::Contains("sbatch --dependency=afterany:\"${array%%;*}\" "));
  CHECK_THAT(slurp(log), Catch::Contains("submit: " + (out / "submit.sh").string()));
  // Values go into #SBATCH lines as they are: anything but plain text is refused, writing nothing.
  for (const std::string bad : {"'4:00 #x'", "'8G --wrap=x'", "\"$(printf '1\\n#SBATCH --wrap=x')\"", "''"}) {
    INFO(bad);
    fs::remove_all(out);
    CHECK(run_command(base + "--emit slurm --slurm-time " + bad + " > " + shell_quote(log.string()) + " 2>&1") == 2);
    CHECK_THAT(slurp(log), Catch::Contains("--slurm-time") && Catch::Contains("expected letters, digits"));
    CHECK_FALSE(fs::exists(out / "slurm.sh"));
  }
  CHECK(run_command(base + "--slurm-mem 8G > " + shell_quote(log.string()) + " 2>&1") == 2);
  CHECK_THAT(slurp(log), Catch::Contains("--slurm-mem goes with --emit slurm"));
}
