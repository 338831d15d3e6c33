// plan_resume on run directories written by hand (no training): what a
// resume would do, and every refusal before anything is loaded or written.
#include <catch2/catch.hpp>

#include <fstream>

#include "experiment/checkpoint.hpp"
#include "experiment/model.hpp"
#include "experiment/resume_plan.hpp"
#include "optim/optimizer.hpp"

#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace saelab;
using saelab::testing::error_of;
using saelab::testing::temp_dir;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// DIR/resolved.ini of a 3-epoch fc run; the rest as each test needs it.
struct hand_made_run {
  temp_dir tmp;
  fs::path dir;
  experiment_config cfg;

  explicit hand_made_run(const std::string& tag) : tmp(tag), dir(tmp / "run") {
    cfg.model.hidden = 8;
    cfg.train.epochs = 3;
    fs::create_directories(dir);
    std::ofstream(dir / "resolved.ini") << to_ini(cfg);
  }
  // model.h5 holding `epochs` finished epochs of `trained_with`, and run.h5.
  void checkpoint(int epochs, const experiment_config& trained_with) const {
    auto net = build_model<float>(trained_with.model, shape{1, 28, 28});
    rng r(1);
    net->init(r);
    adam<float> opt(net->params().numel(), 1e-3, 0.9, 0.999, 1e-8);
    save_checkpoint(dir / "model.h5", *net, opt, r, {to_ini(trained_with), trained_with.optim.kind, epochs});
    std::ofstream(dir / "run.h5") << "a log";  // the plan only asks whether it exists
  }
  void checkpoint(int epochs) const { checkpoint(epochs, cfg); }
  void status(run_status s, int epochs_done) const { write_run_state(dir, s, epochs_done, cfg.train.epochs); }
};

}  // namespace

TEST_CASE("resume plan: an interrupted run continues at its checkpoint, with the overrides", "[resume_plan]") {
  hand_made_run run("plan_interrupted");
  run.checkpoint(1);
  run.status(run_status::interrupted, 1);

  SECTION("no override") {
    const resume_plan plan = plan_resume(run.dir, {});
    CHECK(plan.epochs_done == 1);
    CHECK(plan.from_checkpoint);
    CHECK(plan.continue_log);
    CHECK(plan.changed.empty());
    CHECK(plan.cfg.run.out == run.dir.string());
    CHECK(plan.cfg.train.epochs == 3);
    REQUIRE(plan.lock);
    CHECK(run_lock::held_elsewhere(run.dir));  // held until the plan goes
  }
  SECTION("overridable keys apply") {
    const resume_plan plan = plan_resume(run.dir, {"--train.epochs=5", "--data.dir=moved/mnist"});
    CHECK(plan.cfg.train.epochs == 5);
    CHECK(plan.cfg.data.dir == "moved/mnist");
    CHECK(plan.changed == std::vector<std::string>{"data.dir", "train.epochs"});
  }
  CHECK_FALSE(run_lock::held_elsewhere(run.dir));
}

TEST_CASE("resume plan: a run stopped before its first checkpoint starts over", "[resume_plan]") {
  hand_made_run run("plan_no_checkpoint");
  run.status(run_status::interrupted, 0);
  const resume_plan plan = plan_resume(run.dir, {});
  CHECK(plan.epochs_done == 0);
  CHECK_FALSE(plan.from_checkpoint);
  CHECK_FALSE(plan.continue_log);
}

TEST_CASE("resume plan: refusals name the directory or key, and take no lock", "[resume_plan]") {
  hand_made_run run("plan_refused");
  const std::string d = run.dir.string();

  SECTION("a key that is not overridable") {
    run.checkpoint(1);
    CHECK_THAT(error_of<config_error>([&] { plan_resume(run.dir, {"--model.hidden=9"}); }),
               Contains("model.hidden cannot change on --resume") && Contains("train.epochs"));
  }
  SECTION("a finished run, unless its epoch count is raised") {
    run.checkpoint(3);
    run.status(run_status::done, 3);
    CHECK_THAT(error_of<run_dir_error>([&] { plan_resume(run.dir, {}); }),
               Contains(d) && Contains("already done (3 of 3 epochs)") && Contains("--train.epochs=N"));
    CHECK(plan_resume(run.dir, {"--train.epochs=4"}).epochs_done == 3);
  }
  SECTION("train.epochs below the finished epochs") {
    run.checkpoint(2);
    run.status(run_status::interrupted, 2);
    CHECK_THAT(error_of<config_error>([&] { plan_resume(run.dir, {"--train.epochs=1"}); }),
               Contains("train.epochs = 1 is below the 2 epochs"));
  }
  SECTION("finished epochs but no checkpoint") {
    run.status(run_status::interrupted, 2);
    CHECK_THAT(error_of<run_dir_error>([&] { plan_resume(run.dir, {}); }),
               Contains(d) && Contains("status says 2 epochs are finished, but there is no model.h5"));
  }
  SECTION("a checkpoint but no log to continue") {
    run.checkpoint(1);
    run.status(run_status::interrupted, 1);
    fs::remove(run.dir / "run.h5");
    CHECK_THAT(error_of<run_dir_error>([&] { plan_resume(run.dir, {}); }),
               Contains((run.dir / "run.h5").string()) && Contains("cannot continue after epoch 1"));
  }
  SECTION("resolved.ini and the checkpoint disagree") {
    experiment_config other = run.cfg;
    other.run.seed = 43;
    run.checkpoint(1, other);
    CHECK_THAT(error_of<run_dir_error>([&] { plan_resume(run.dir, {}); }), Contains("disagree on run.seed"));
  }
  SECTION("not a run directory") {
    fs::remove(run.dir / "resolved.ini");
    CHECK_THAT(error_of<run_dir_error>([&] { plan_resume(run.dir, {}); }), Contains(d) && Contains("no resolved.ini"));
  }
  CHECK_FALSE(run_lock::held_elsewhere(run.dir));
}

TEST_CASE("resume plan: a directory another process writes is refused", "[resume_plan]") {
  hand_made_run run("plan_locked");
  run.status(run_status::running, 0);
  auto held = run_lock::acquire(run.dir);
  CHECK_THAT(error_of<run_dir_error>([&] { plan_resume(run.dir, {}); }), Contains("another sae-train"));
}
