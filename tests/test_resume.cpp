// Exact resume: a run stopped after epoch k and continued from its checkpoint
// ends with the same bits as a run that never stopped.

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <sstream>

#include "experiment/checkpoint.hpp"
#include "experiment/model.hpp"
#include "experiment/runner.hpp"
#include "experiment/trainer.hpp"
#include "fake_mnist.hpp"
#include "log/h5.hpp"
#include "tensor/blas.hpp"

using namespace saelab;
using namespace saelab::testing;

namespace {

class silent final : public training_observer {
 public:
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record&) override {}
};

experiment_config tiny_config(optim_kind kind) {
  experiment_config c;
  c.model.hidden = 16;
  c.sparsity.kind = sparsity_kind::kl;
  c.sparsity.beta = 0.1;
  c.train.epochs = 2;
  c.train.batch_size = 48;  // 200 images: 4 full batches and one of 8
  c.optim.kind = kind;
  c.optim.lr = 5e-3;
  c.run.seed = 7;
  c.run.threads = 2;
  return c;
}

mnist_data tiny_data() {
  mnist_data d;
  d.train.images = blob_images(200, 8, 8, 11);
  d.test.images = blob_images(40, 8, 8, 12);
  return d;
}

struct trained {
  std::vector<float> params;
  std::vector<std::vector<float>> state;
  std::int64_t steps = 0;
};

trained snapshot(network<float>& net, optimizer<float>& opt) {
  trained t;
  t.params.assign(net.params().data(), net.params().data() + net.params().numel());
  for (auto* s : opt.state()) t.state.emplace_back(s->data(), s->data() + s->numel());
  t.steps = opt.steps();
  return t;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Trains cfg from scratch to cfg.train.epochs.
trained train_straight(const experiment_config& cfg, const mnist_data& data) {
  auto net = build_model<float>(cfg.model, shape{1, 8, 8});
  rng r(cfg.run.seed);
  net->init(r);
  trainer t(cfg, *net, data, r);
  silent obs;
  t.run(obs);
  return snapshot(*net, t.optim());
}

// Trains `first` epochs, checkpoints, drops every object, and continues in a
// fresh network, optimiser and rng (deliberately seeded differently) loaded
// from the checkpoint alone.
trained train_with_restart(const experiment_config& cfg, const mnist_data& data, int first,
                           const std::filesystem::path& file) {
  {
    experiment_config part = cfg;
    part.train.epochs = first;
    auto net = build_model<float>(part.model, shape{1, 8, 8});
    rng r(part.run.seed);
    net->init(r);
    trainer t(part, *net, data, r);
    silent obs;
    t.run(obs);
    REQUIRE(t.next_epoch() == first);
    save_checkpoint(file, *net, t.optim(), r, {to_ini(cfg), cfg.optim.kind, t.next_epoch()});
  }
  auto net = build_model<float>(cfg.model, shape{1, 8, 8});
  rng r(cfg.run.seed + 1000);
  net->init(r);
  trainer t(cfg, *net, data, r);
  const checkpoint_info info = load_checkpoint(file, *net, &t.optim(), &r);
  REQUIRE(info.next_epoch == first);
  t.set_next_epoch(info.next_epoch);
  silent obs;
  t.run(obs);
  return snapshot(*net, t.optim());
}

}  // namespace

TEST_CASE("resume from an epoch-end checkpoint is bitwise exact", "[resume]") {
  temp_dir tmp("resume_lib");
  const mnist_data data = tiny_data();
  const optim_kind kind = GENERATE(optim_kind::adam, optim_kind::sgd);
  INFO("optimiser " << to_string(kind));
  const experiment_config cfg = tiny_config(kind);
  blas::set_threads(cfg.run.threads);
  const trained straight = train_straight(cfg, data);
  const trained resumed = train_with_restart(cfg, data, 1, tmp / "model.h5");
  CHECK(straight.steps == 10);
  CHECK(resumed.steps == straight.steps);
  CHECK(same_bits(straight.params, resumed.params));
  REQUIRE(straight.state.size() == resumed.state.size());
  for (std::size_t i = 0; i < straight.state.size(); ++i) CHECK(same_bits(straight.state[i], resumed.state[i]));
  // A run that trained differently really does differ: the check can fail.
  experiment_config other = cfg;
  other.run.seed = cfg.run.seed + 1;
  CHECK_FALSE(same_bits(straight.params, train_straight(other, data).params));
}

// ---- through the runner: run directories, stop flag, resume ----

namespace {

// Sets the stop flag at a chosen step, as a signal handler would.
class stopper final : public training_observer {
 public:
  stopper(std::atomic<bool>& flag, int epoch, std::int64_t batch) : flag_(flag), epoch_(epoch), batch_(batch) {}
  void on_step(const step_record& s) override {
    if (s.epoch == epoch_ && s.batch == batch_) flag_ = true;
  }
  void on_epoch(const epoch_record&) override {}

 private:
  std::atomic<bool>& flag_;
  int epoch_;
  std::int64_t batch_;
};

// Ends the process on the spot at a chosen step, as SIGKILL would: no
// destructor runs, run.h5 stays marked as open by a SWMR writer.
class killer final : public training_observer {
 public:
  killer(int epoch, std::int64_t batch) : epoch_(epoch), batch_(batch) {}
  void on_step(const step_record& s) override {
    if (s.epoch == epoch_ && s.batch == batch_) ::_exit(9);
  }
  void on_epoch(const epoch_record&) override {}

 private:
  int epoch_;
  std::int64_t batch_;
};

experiment_config run_config_in(const temp_dir& tmp, const std::string& out) {
  experiment_config c = tiny_config(optim_kind::adam);
  c.data.dir = (tmp / "mnist").string();
  c.run.out = (tmp / out).string();
  c.run.name = "tiny";
  c.log.every_steps = 1;  // every step in run.h5, so a cut is visible
  return c;
}

std::vector<float> final_params(const std::filesystem::path& model, const experiment_config& cfg) {
  auto net = build_model<float>(cfg.model, shape{1, 28, 28});
  load_checkpoint(model, *net, nullptr, nullptr);
  return {net->params().data(), net->params().data() + net->params().numel()};
}

std::vector<int> csv_epochs(const std::filesystem::path& csv) {
  std::istringstream in(slurp(csv));
  std::string line;
  std::getline(in, line);
  std::vector<int> epochs;
  while (std::getline(in, line)) epochs.push_back(std::stoi(line.substr(0, line.find(','))));
  return epochs;
}

// run.h5's epoch numbers and logged step numbers.
std::vector<std::int32_t> log_epochs(const std::filesystem::path& dir) {
  auto f = h5::file::open_read(dir / "run.h5");
  return h5::read<std::int32_t>(f, "/epochs/epoch");
}
std::vector<std::int64_t> log_steps(const std::filesystem::path& dir) {
  auto f = h5::file::open_read(dir / "run.h5");
  return h5::read<std::int64_t>(f, "/steps/step");
}
std::string log_status_of(const std::filesystem::path& dir) {
  auto f = h5::file::open_read(dir / "run.h5");
  return h5::read_attr_string(f, "status");
}

}  // namespace

TEST_CASE("sae-train --resume continues an interrupted run exactly", "[resume]") {
  temp_dir tmp("resume_run");
  write_fake_mnist(tmp / "mnist", 200, 40);
  run_options quiet;
  quiet.quiet = true;

  const experiment_config a = run_config_in(tmp, "a");
  REQUIRE(run_experiment(a, quiet) == run_status::done);
  const auto reference = final_params(tmp / "a" / "model.h5", a);
  CHECK(read_run_state(tmp / "a")->status == run_status::done);
  CHECK(csv_epochs(tmp / "a" / "epochs.csv") == std::vector<int>{1, 2});
  CHECK(log_epochs(tmp / "a") == std::vector<std::int32_t>{1, 2});
  const auto steps = log_steps(tmp / "a");
  CHECK(steps == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(log_status_of(tmp / "a") == "done");

  SECTION("stopped in the middle of epoch 2") {
    const experiment_config b = run_config_in(tmp, "b");
    std::atomic<bool> stop{false};
    stopper s(stop, 1, 2);
    run_options o = quiet;
    o.stop = &stop;
    o.observer = &s;
    REQUIRE(run_experiment(b, o) == run_status::interrupted);
    const auto st = read_run_state(tmp / "b");
    REQUIRE(st);
    CHECK(st->status == run_status::interrupted);
    CHECK(st->epochs_done == 1);
    CHECK(st->message.find("redone on resume") != std::string::npos);
    CHECK(read_checkpoint_info(tmp / "b" / "model.h5").next_epoch == 1);
    CHECK(csv_epochs(tmp / "b" / "epochs.csv") == std::vector<int>{1});

    CHECK(log_status_of(tmp / "b") == "interrupted");
    CHECK(log_steps(tmp / "b").back() > 5);  // steps of the unfinished epoch were logged...

    REQUIRE(resume_experiment(tmp / "b", {}, quiet) == run_status::done);
    CHECK(same_bits(final_params(tmp / "b" / "model.h5", b), reference));
    CHECK(csv_epochs(tmp / "b" / "epochs.csv") == std::vector<int>{1, 2});
    CHECK(log_epochs(tmp / "b") == std::vector<std::int32_t>{1, 2});
    CHECK(log_steps(tmp / "b") == steps);  // ...and cut on resume: no duplicates, no gaps
    CHECK(log_status_of(tmp / "b") == "done");
    CHECK(read_run_state(tmp / "b")->status == run_status::done);
  }

  SECTION("killed without any clean-up in the middle of epoch 2") {
    const experiment_config k = run_config_in(tmp, "k");
    std::fflush(stdout);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      killer kill_at(1, 2);
      run_options o = quiet;
      o.observer = &kill_at;
      try {
        run_experiment(k, o);
      } catch (...) {
      }
      ::_exit(1);  // not reached when the killer fires
    }
    int wstatus = 0;
    ::waitpid(child, &wstatus, 0);
    REQUIRE(WIFEXITED(wstatus));
    REQUIRE(WEXITSTATUS(wstatus) == 9);
    const auto st = read_run_state(tmp / "k");
    REQUIRE(st);
    CHECK(st->status == run_status::running);  // it never got to say otherwise
    CHECK(st->epochs_done == 1);
    // A new run there is refused and pointed at --resume; the resume repairs run.h5.
    bool refused = false;
    try {
      run_experiment(k, quiet);
    } catch (const run_dir_error& e) {
      refused = std::string(e.what()).find("--resume") != std::string::npos;
    }
    CHECK(refused);
    REQUIRE(resume_experiment(tmp / "k", {}, quiet) == run_status::done);
    CHECK(same_bits(final_params(tmp / "k" / "model.h5", k), reference));
    CHECK(csv_epochs(tmp / "k" / "epochs.csv") == std::vector<int>{1, 2});
    CHECK(log_epochs(tmp / "k") == std::vector<std::int32_t>{1, 2});
    CHECK(log_steps(tmp / "k") == steps);
  }

  SECTION("a finished 1-epoch run extended to 2 epochs") {
    experiment_config c = run_config_in(tmp, "c");
    c.train.epochs = 1;
    REQUIRE(run_experiment(c, quiet) == run_status::done);
    REQUIRE(resume_experiment(tmp / "c", {"--train.epochs=2"}, quiet) == run_status::done);
    CHECK(same_bits(final_params(tmp / "c" / "model.h5", c), reference));
    CHECK(csv_epochs(tmp / "c" / "epochs.csv") == std::vector<int>{1, 2});
    CHECK(log_epochs(tmp / "c") == std::vector<std::int32_t>{1, 2});
    CHECK(log_steps(tmp / "c") == steps);
    // resolved.ini now says 2 epochs, and still loads.
    CHECK(load_config((tmp / "c" / "resolved.ini").string(), {}).train.epochs == 2);
  }

  SECTION("stopped during epoch 1, before any checkpoint: resume starts over") {
    const experiment_config d = run_config_in(tmp, "d");
    std::atomic<bool> stop{true};
    run_options o = quiet;
    o.stop = &stop;
    REQUIRE(run_experiment(d, o) == run_status::interrupted);
    CHECK_FALSE(std::filesystem::exists(tmp / "d" / "model.h5"));
    CHECK(read_run_state(tmp / "d")->epochs_done == 0);
    REQUIRE(resume_experiment(tmp / "d", {}, quiet) == run_status::done);
    CHECK(same_bits(final_params(tmp / "d" / "model.h5", d), reference));
    CHECK(csv_epochs(tmp / "d" / "epochs.csv") == std::vector<int>{1, 2});
    CHECK(log_epochs(tmp / "d") == std::vector<std::int32_t>{1, 2});
    CHECK(log_steps(tmp / "d") == steps);
  }

  SECTION("a log row written after the last checkpoint is cut on resume") {
    // A crash between epochs.csv and model.h5 leaves the table one row ahead.
    experiment_config e = run_config_in(tmp, "e");
    e.train.epochs = 1;
    REQUIRE(run_experiment(e, quiet) == run_status::done);
    {
      std::ofstream csv(tmp / "e" / "epochs.csv", std::ios::app);
      csv << "2,9,9,9,9,9,9,9\n";
    }
    REQUIRE(resume_experiment(tmp / "e", {"--train.epochs=2"}, quiet) == run_status::done);
    CHECK(csv_epochs(tmp / "e" / "epochs.csv") == std::vector<int>{1, 2});
    CHECK(slurp(tmp / "e" / "epochs.csv").find("2,9,9,9") == std::string::npos);
    CHECK(same_bits(final_params(tmp / "e" / "model.h5", e), reference));
  }
}

TEST_CASE("a run whose loss blows up to a large finite value stops as diverged", "[trainer]") {
  // SGD at lr 1e6 saturates the logits: BCE near 100, still finite.
  auto cfg = tiny_config(optim_kind::sgd);
  cfg.optim.lr = 1e6;
  const auto data = tiny_data();
  auto net = build_model<float>(cfg.model, shape{1, 8, 8});
  rng r(cfg.run.seed);
  net->init(r);
  trainer t(cfg, *net, data, r);
  silent obs;
  REQUIRE_THROWS_WITH(t.run(obs), Catch::Contains("diverged in epoch 1") && Catch::Contains("more than twice"));

  // The same run at a sane rate trains.
  cfg.optim.lr = 5e-3;
  auto net2 = build_model<float>(cfg.model, shape{1, 8, 8});
  rng r2(cfg.run.seed);
  net2->init(r2);
  trainer t2(cfg, *net2, data, r2);
  REQUIRE_NOTHROW(t2.run(obs));
}
