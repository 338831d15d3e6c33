// Files saelab creates in run, eval and sweep directories never follow a
// planted symbolic link: a link at any name a run, a figure or a sweep writes
// is replaced (or the write refused), and the link's target is never changed.

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include "experiment/run_dir.hpp"
#include "experiment/runner.hpp"
#include "fake_mnist.hpp"
#include "log/h5.hpp"
#include "report/atomic_write.hpp"
#include "report/figures.hpp"
#include "report/gnuplot.hpp"
#include "report/quote.hpp"
#include "sweep/plan.hpp"
#include "sweep/spec.hpp"
#include "path_override.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::slurp;
using saelab::testing::path_override;
using saelab::testing::temp_dir;

namespace {

constexpr const char* victim_text = "precious: must never change\n";

// Symlinks planted in a directory, each to its own victim file outside it.
struct planted {
  fs::path victims;
  std::vector<std::pair<fs::path, fs::path>> links;  // link, victim
  explicit planted(fs::path v) : victims(std::move(v)) { fs::create_directories(victims); }

  // A link at `at` to a new victim holding `text` (victim_text by default).
  void plant(const fs::path& at, const std::string& text = victim_text) {
    const fs::path victim = victims / fmt::format("victim{}", links.size());
    { std::ofstream(victim, std::ios::binary) << text; }
    fs::create_directories(at.parent_path());
    fs::remove(at);
    fs::create_symlink(victim, at);
    links.emplace_back(at, victim);
    texts.push_back(text);
  }
  // A dangling link: a file created through it would appear at the victim.
  void plant_dangling(const fs::path& at) {
    const fs::path victim = victims / fmt::format("dangling{}", links.size());
    fs::create_directories(at.parent_path());
    fs::create_symlink(victim, at);
    links.emplace_back(at, victim);
    texts.emplace_back();
  }
  // Every victim as planted: content unchanged, a dangling one still absent.
  void check_untouched() const {
    for (std::size_t i = 0; i < links.size(); ++i) {
      INFO("link " << links[i].first.string());
      if (texts[i].empty()) CHECK_FALSE(fs::exists(links[i].second));
      else CHECK(slurp(links[i].second) == texts[i]);
    }
  }
  std::vector<std::string> texts;
};

experiment_config tiny_run(const temp_dir& tmp) {
  experiment_config c;
  c.model.hidden = 8;
  c.train.epochs = 1;
  c.train.batch_size = 50;
  c.data.dir = (tmp / "mnist").string();
  c.run.out = (tmp / "run").string();
  c.run.name = "tiny";
  c.run.threads = 1;
  return c;
}


template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

int run_command(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("atomic writes replace a planted link, never write through it", "[nofollow]") {
  temp_dir dir("nofollow_atomic");
  planted p(dir / "victims");
  p.plant(dir / "out" / "status");
  p.plant_dangling(dir / "out" / "summary.csv");
  write_file_atomically(dir / "out" / "status", "status: done\n");
  write_file_atomically(dir / "out" / "summary.csv", "a,b\n");
  p.check_untouched();
  CHECK_FALSE(fs::is_symlink(dir / "out" / "status"));
  CHECK(slurp(dir / "out" / "status") == "status: done\n");
  CHECK(slurp(dir / "out" / "summary.csv") == "a,b\n");
  // Nothing but the two targets: no temporary left behind.
  CHECK(std::distance(fs::directory_iterator(dir / "out"), fs::directory_iterator()) == 2);

  // Temporaries have fresh names: two never collide, and none is a fixed name a link could wait at.
  CHECK(temporary_path(dir / "x") != temporary_path(dir / "x"));
  CHECK_THAT(temporary_path(dir / "x").filename().string(), Catch::StartsWith("x.tmp."));
  // create_new_file refuses an existing name, a link most of all.
  CHECK_THROWS_WITH(create_new_file(dir / "out" / "status"), Catch::Contains("cannot create"));
  p.plant(dir / "out" / "planted");
  CHECK_THROWS_WITH(create_new_file(dir / "out" / "planted"), Catch::Contains("cannot create"));
  p.check_untouched();
}

TEST_CASE("logs: a planted link is replaced on truncation and refused on append", "[nofollow]") {
  temp_dir dir("nofollow_log");
  planted p(dir / "victims");
  for (const char* f : {"a.log", "b.log"}) p.plant(dir / f);
  write_log(dir / "a.log", log_open::truncate, "fresh\n");
  CHECK(slurp(dir / "a.log") == "fresh\n");
  CHECK_THROWS_WITH(write_log(dir / "b.log", log_open::append, "more\n"),
                    Catch::Contains("b.log") && Catch::Contains("symbolic link"));
  write_log(dir / "a.log", log_open::append, "more\n");
  CHECK(slurp(dir / "a.log") == "fresh\nmore\n");
  p.check_untouched();
}

TEST_CASE("HDF5 files: create replaces a planted link, open_rw refuses one", "[nofollow]") {
  temp_dir dir("nofollow_h5");
  planted p(dir / "victims");
  p.plant(dir / "run.h5");
  p.plant_dangling(dir / "model.h5");
  { auto f = h5::file::create(dir / "run.h5"); }
  { auto f = h5::file::create(dir / "model.h5"); }
  CHECK_FALSE(fs::is_symlink(dir / "run.h5"));
  p.check_untouched();
  // A valid HDF5 victim: opening the link for writing is refused.
  { auto f = h5::file::create(dir / "victims" / "real.h5"); }
  const std::string real_before = slurp(dir / "victims" / "real.h5");
  fs::create_symlink(dir / "victims" / "real.h5", dir / "log.h5");
  CHECK_THROWS_WITH(h5::file::open_rw(dir / "log.h5"), Catch::Contains("symbolic link"));
  CHECK(slurp(dir / "victims" / "real.h5") == real_before);
}

TEST_CASE("figures: links at the data, script, PNG and gnuplot log are replaced, targets untouched", "[nofollow]") {
  const std::vector<epoch_losses> epochs{{1, 0.3, 0.29, 0.28}, {2, 0.2, 0.19, 0.18}};
  auto plant_all = [](planted& p, const fs::path& figs) {
    for (const char* f : {"loss_curves.dat", "loss_curves.gp", "loss_curves.png", "loss_curves.gp.log",
                          "loss_curves.dat.tmp", "loss_curves.gp.tmp"})
      p.plant(figs / f);
  };
  SECTION("real gnuplot (the PNG is made)") {
    if (find_program("gnuplot").empty()) return;
    temp_dir dir("nofollow_fig_real");
    planted p(dir / "victims");
    plant_all(p, dir / "figures");
    CHECK(loss_curves(dir / "figures", epochs));
    p.check_untouched();
    CHECK_FALSE(fs::is_symlink(dir / "figures" / "loss_curves.png"));
    CHECK(fs::file_size(dir / "figures" / "loss_curves.png") > 100);
  }
  SECTION("a failing gnuplot (the log is kept)") {
    temp_dir dir("nofollow_fig_fail");
    const fs::path bin = dir / "bin";
    fs::create_directories(bin);
    { std::ofstream(bin / "gnuplot") << "#!/bin/sh\necho partial > loss_curves.png\necho cannot render >&2\nexit 1\n"; }
    fs::permissions(bin / "gnuplot", fs::perms::owner_all);
    planted p(dir / "victims");
    plant_all(p, dir / "figures");
    path_override path(bin.string());
    CHECK_FALSE(loss_curves(dir / "figures", epochs));
    p.check_untouched();
    CHECK(slurp(dir / "figures" / "loss_curves.gp.log") == "cannot render\n");
    CHECK_FALSE(fs::exists(dir / "figures" / "loss_curves.png"));
  }
}

TEST_CASE("a run resumed over planted links leaves every target untouched", "[nofollow][rundir]") {
  temp_dir tmp("nofollow_run");
  saelab::testing::write_fake_mnist(tmp / "mnist", 100, 20);
  run_options quiet;
  quiet.quiet = true;
  REQUIRE(run_experiment(tiny_run(tmp), quiet) == run_status::done);
  const fs::path dir = tmp / "run";
  planted p(tmp / "victims");
  // Files a resume reads first are links to copies of themselves, so the run
  // goes on; the rest point at plain victims. Old fixed temporary names too.
  for (const char* f : {"resolved.ini", "epochs.csv", "status"}) p.plant(dir / f, slurp(dir / f));
  for (const char* f : {"model.h5.tmp", "status.tmp", "resolved.ini.tmp", "epochs.csv.tmp", ".write-test",
                        "figures/loss_curves.png", "figures/loss_curves.gp.log", "figures/loss_curves.dat"})
    p.plant(dir / f);
  REQUIRE(resume_experiment(dir, {"--train.epochs=2"}, quiet) == run_status::done);
  p.check_untouched();
  for (const char* f : {"resolved.ini", "epochs.csv", "status"}) CHECK_FALSE(fs::is_symlink(dir / f));
  CHECK_THAT(slurp(dir / "status"), Catch::Contains("epochs: 2 of 2"));

  // run.h5 and the lock as links: the resume is refused, naming the file.
  for (const char* f : {"run.h5", ".lock"}) {
    INFO(f);
    const fs::path real = tmp / fmt::format("{}.real", f);
    fs::rename(dir / f, real);
    const std::string before = slurp(real);
    fs::create_symlink(real, dir / f);
    CHECK_THAT(error_of([&] { resume_experiment(dir, {"--train.epochs=3"}, quiet); }),
               Catch::Contains(f) && Catch::Contains("symbolic link"));
    CHECK(slurp(real) == before);
    fs::remove(dir / f);
    fs::rename(real, dir / f);
  }
}

TEST_CASE("sae-sweep over planted links: per-run logs, plan and summary files are replaced, targets untouched",
          "[nofollow][sweep]") {
  const fs::path sweep_exe = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "apps" / "sae-sweep";
  REQUIRE(fs::exists(sweep_exe));
  temp_dir tmp("nofollow_sweep");
  { std::ofstream(tmp / "base.ini") << "[model]\narch = fc\nhidden = 8\n[train]\nepochs = 1\n"; }
  const fs::path file = tmp / "s.ini";
  {
    std::ofstream(file) << "[sweep]\nbase = " << (tmp / "base.ini").string()
                        << "\n[grid]\nsparsity.beta = 0.01, 0.1\n";
  }
  // A trainer that only says something and fails: the sweep logs it.
  const fs::path trainer = tmp / "fake-train";
  { std::ofstream(trainer) << "#!/bin/sh\necho fake trainer ran\nexit 1\n"; }
  fs::permissions(trainer, fs::perms::owner_all);
  const fs::path out = tmp / "out";
  const sweep_plan plan = make_plan(read_sweep_file(file));
  planted p(tmp / "victims");
  for (const auto& row : plan.rows) {
    p.plant(out / (row.run_dir + ".log"));
    p.plant(out / (row.run_dir + ".log.tmp"));
  }
  for (const char* f : {"plan.csv", "sweep.ini", "summary.csv", "sweep.h5", "summary.csv.tmp", "sweep.h5.tmp"})
    p.plant(out / f);
  const fs::path log = tmp / "log.txt";
  run_command(fmt::format("{} {} --out {} --trainer {} --cores 1 > {} 2>&1", shell_quote(sweep_exe.string()),
                          shell_quote(file.string()), shell_quote(out.string()), shell_quote(trainer.string()),
                          shell_quote(log.string())));
  INFO(slurp(log));
  p.check_untouched();
  for (const auto& row : plan.rows) {
    CHECK_FALSE(fs::is_symlink(out / (row.run_dir + ".log")));
    CHECK_THAT(slurp(out / (row.run_dir + ".log")), Catch::Contains("fake trainer ran"));
  }
  for (const char* f : {"plan.csv", "sweep.ini", "summary.csv", "sweep.h5"}) CHECK_FALSE(fs::is_symlink(out / f));
}
