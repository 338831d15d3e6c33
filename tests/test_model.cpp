// Models written in the config: presets and layer lists build the same
// networks, a list that does not fit says where, a written model runs end to
// end, and model.init_from starts a run from given weights.

#include <catch2/catch.hpp>

#include <cstring>

#include "error_of.hpp"
#include "experiment/checkpoint.hpp"
#include "experiment/model.hpp"
#include "experiment/objective.hpp"
#include "experiment/runner.hpp"
#include "experiment/trainer.hpp"
#include "experiment/weights_file.hpp"
#include "fake_mnist.hpp"
#include "log/h5.hpp"

using namespace saelab;
using namespace saelab::testing;
using Catch::Matchers::Contains;

namespace {

class silent final : public training_observer {
 public:
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record&) override {}
};

// The seed_conv preset, written out by hand as a researcher would.
const char* seed_conv_written =
    "conv(8, 3) relu@conv1, conv(16, 5) relu@conv2, conv(32, 5, stride=2) relu@conv3, maxpool(2)@pool, "
    "convT(16, 3, stride=2) relu@deconv1, convT(8, 5, stride=2) relu@deconv2, convT(1, 8)";

experiment_config small_run(model_config m) {
  experiment_config c;
  c.model = std::move(m);
  c.sparsity.kind = sparsity_kind::l1;
  c.sparsity.lambda = 1e-3;
  c.train.epochs = 1;
  c.train.batch_size = 32;  // 96 images: 3 steps
  c.run.seed = 5;
  c.run.threads = 1;
  return c;
}

struct trained {
  std::vector<float> params, output;
  std::string summary, layer_list;
};

// Three steps of cfg on blobs; the parameters and the test outputs after them.
trained train(const experiment_config& cfg) {
  mnist_data d{{blob_images(96, 28, 28, 3), {}}, {blob_images(16, 28, 28, 4), {}}};
  auto net = build_model<float>(cfg.model, shape{1, 28, 28});
  rng r(cfg.run.seed);
  net->init(r);
  silent obs;
  trainer(cfg, *net, d, r).run(obs);
  const tensor<float>& y = net->forward(d.test.images);
  return {{net->params().data(), net->params().data() + net->params().numel()},
          {y.data(), y.data() + y.numel()},
          net->summary(),
          net->layer_list()};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::string build_error(const std::string& layers, const shape& input = shape{1, 28, 28}) {
  model_config m;
  m.arch = model_arch::layers;
  m.layers = layers;
  const std::string e = error_of<config_error>([&] { (void)build_model<float>(m, input); });
  return e.empty() ? "(no error)" : e;
}

std::string config_error_of(const std::vector<std::string>& overrides) {
  const std::string e = error_of<config_error>([&] { (void)load_config("", overrides); });
  return e.empty() ? "(no error)" : e;
}

}  // namespace

TEST_CASE("seed_conv from its preset and from the written list: the same bits after three steps", "[model]") {
  model_config preset;
  preset.arch = model_arch::seed_conv;
  preset.hidden_activation = activation_kind::relu;
  model_config written;
  written.arch = model_arch::layers;
  written.layers = seed_conv_written;
  const trained a = train(small_run(preset)), b = train(small_run(written));
  CHECK(a.layer_list == seed_conv_written);
  CHECK(a.summary == b.summary);
  CHECK(a.params.size() == 24473);  // the reference model's parameter count
  CHECK(same_bits(a.params, b.params));
  CHECK(same_bits(a.output, b.output));
}

TEST_CASE("fc from its preset and from the written list: the same bits", "[model]") {
  model_config preset;
  preset.hidden = 24;
  model_config written;
  written.arch = model_arch::layers;
  written.layers = "linear(24) sigmoid@hidden, linear(784)";
  const trained a = train(small_run(preset)), b = train(small_run(written));
  CHECK(a.layer_list == written.layers);
  CHECK(same_bits(a.params, b.params));
  CHECK(same_bits(a.output, b.output));
}

TEST_CASE("a layer list that does not fit names the layer, its input shape and why", "[model]") {
  CHECK_THAT(build_error("linear(100) relu conv(8, 3) linear(784)"),
             Contains("layer 3 'conv(8, 3)' on input [100]") && Contains("is not [C, H, W]"));
  CHECK_THAT(build_error("conv(8, 30) linear(784)"),
             Contains("layer 1 'conv(8, 30)' on input [1, 28, 28]") && Contains("smaller than the kernel"));
  CHECK_THAT(build_error("conv(8, 3) maxpool(2) maxpool(20) linear(784)"),
             Contains("layer 3 'maxpool(20)' on input [8, 13, 13]"));
  CHECK_THAT(build_error("linear(10) relu@code"),
             Contains("the last layer's output [10] has 10 values, the input [1, 28, 28] has 784"));
  CHECK_THAT(build_error("linear(200000) linear(784)"),
             Contains("layer 2 'linear(784)' on input [200000]") && Contains("reaches 313800784 parameters") && Contains("above the limit of 268435456"));
  CHECK_THAT(build_error("convT(2, 3, stride=1000) linear(784)"),
             Contains("layer 1") && Contains("values per sample, above the limit of 16777216"));
  CHECK_THAT(build_error("conv(8, 3) tanh"), Contains("model.layers = 'conv(8, 3) tanh'") &&
                                                  Contains("unknown layer 'tanh'"));
  // A [C, H, W] input of another size: the input shape is the data's.
  CHECK_THAT(build_error("conv(4, 3) relu@a, convT(1, 3)", shape{1, 8, 8}), Contains("(no error)"));
  CHECK_THAT(build_error(seed_conv_written, shape{1, 12, 12}),
             Contains("layer 7 'maxpool(2)@pool' on input [32, 1, 1]"));
}

TEST_CASE("model.layers in a config: arch follows it, contradictions are refused", "[model][config]") {
  const experiment_config c = load_config("", {"--model.layers=linear(16) relu@h, linear(784)"});
  CHECK(c.model.arch == model_arch::layers);
  CHECK(load_config("", {}).model.arch == model_arch::fc);
  CHECK_THAT(config_error_of({"--model.arch=layers"}), Contains("model.arch = layers needs model.layers"));
  // A layer list on the command line replaces the file's preset.
  const experiment_config over = load_config("configs/fc_kl.ini", {"--model.layers=linear(16) relu@h, linear(784)"});
  CHECK(over.model.arch == model_arch::layers);
  CHECK_THAT(config_error_of({"--model.arch=fc", "--model.layers=linear(784)"}),
             Contains("model.layers is given but model.arch = fc"));
  CHECK_THAT(config_error_of({"--model.layers=linear(784) tanh"}),
             Contains("command line: model.layers = 'linear(784) tanh': layer 2 'tanh': unknown layer"));
}

TEST_CASE("a written model trains, checkpoints, resumes, logs its sites and is rebuilt from its checkpoint",
          "[model][run]") {
  temp_dir tmp("model_run");
  write_fake_mnist(tmp / "mnist", 96, 32);
  experiment_config cfg;
  cfg.model.arch = model_arch::layers;
  cfg.model.layers = "conv(4, 3, stride=2) relu@features, maxpool(2)@pooled, convT(1, 8, stride=4)";
  cfg.sparsity.kind = sparsity_kind::l1;
  cfg.sparsity.sites = {"pooled"};
  cfg.train.epochs = 2;
  cfg.train.batch_size = 32;
  cfg.data.dir = (tmp / "mnist").string();
  cfg.run.out = (tmp / "run").string();
  cfg.run.threads = 1;
  run_options quiet;
  quiet.quiet = true;
  experiment_config first = cfg;
  first.train.epochs = 1;
  REQUIRE(run_experiment(first, quiet) == run_status::done);
  REQUIRE(resume_experiment(tmp / "run", {"--train.epochs=2"}, quiet) == run_status::done);

  const auto model = tmp / "run" / "model.h5";
  const checkpoint_info info = read_checkpoint_info(model);
  CHECK(info.next_epoch == 2);
  const experiment_config back = stored_config(info, model);
  CHECK(back.model.layers == cfg.model.layers);
  auto net = build_model<float>(back.model, shape{1, 28, 28});
  load_checkpoint(model, *net, nullptr, nullptr);
  CHECK(net->sites().size() == 2);
  auto f = h5::file::open_read(tmp / "run" / "run.h5");
  CHECK(h5::dims(h5::open_dataset(f, "/sites/features/l0")) == h5::extent{2});
  CHECK(h5::dims(h5::open_dataset(f, "/sites/pooled/l0")) == h5::extent{2});
  CHECK(h5::dims(h5::open_dataset(f, "/weights/03_conv_transpose2d/weight")) == h5::extent{2, 4, 1, 8, 8});
}

TEST_CASE("model.init_from starts from a checkpoint's weights or from weights exported elsewhere", "[model][init]") {
  temp_dir tmp("init_from");
  model_config m;
  m.hidden = 12;
  auto source = build_model<float>(m, shape{1, 28, 28});
  rng r(1);
  source->init(r);
  adam<float> opt(source->params().numel(), 1e-3, 0.9, 0.999, 1e-8);
  save_checkpoint(tmp / "model.h5", *source, opt, r, {to_ini(experiment_config{}), optim_kind::adam, 1});
  const std::vector<float> want(source->params().data(), source->params().data() + source->params().numel());

  SECTION("a saelab checkpoint") {
    auto net = build_model<float>(m, shape{1, 28, 28});
    init_from_file(tmp / "model.h5", *net);
    CHECK(same_bits({net->params().data(), net->params().data() + net->params().numel()}, want));
  }
  SECTION("an export from elsewhere: groups in layer order, no checksums") {
    {
      auto f = h5::file::create(tmp / "export.h5");
      const float* p = want.data();
      h5::write_array<float>(f, "/layers/0_encoder/weight", {12, 784}, std::span<const float>(p, 12 * 784));
      h5::write_array<float>(f, "/layers/0_encoder/bias", {12}, std::span<const float>(p + 12 * 784, 12));
      h5::write_array<float>(f, "/layers/1_decoder/weight", {784, 12}, std::span<const float>(p + 12 * 785, 784 * 12));
      h5::write_array<float>(f, "/layers/1_decoder/bias", {784}, std::span<const float>(p + 12 * 785 + 784 * 12, 784));
      f.close();
    }
    auto net = build_model<float>(m, shape{1, 28, 28});
    init_from_file(tmp / "export.h5", *net);
    CHECK(same_bits({net->params().data(), net->params().data() + net->params().numel()}, want));
  }
  SECTION("another model's weights are refused, naming the tensor and both shapes") {
    model_config wider = m;
    wider.hidden = 16;
    auto net = build_model<float>(wider, shape{1, 28, 28});
    const std::vector<float> before(net->params().data(), net->params().data() + net->params().numel());
    try {
      init_from_file(tmp / "model.h5", *net);
      FAIL("no error");
    } catch (const checkpoint_error& e) {
      CHECK_THAT(e.what(), Contains((tmp / "model.h5").string()) &&
                               Contains("/layers/00_linear/weight has shape [12, 784], layer 00_linear needs [16, 784]"));
    }
    CHECK(same_bits({net->params().data(), net->params().data() + net->params().numel()}, before));
    model_config conv;
    conv.arch = model_arch::seed_conv;
    auto c = build_model<float>(conv, shape{1, 28, 28});
    CHECK_THROWS_WITH(init_from_file(tmp / "model.h5", *c),
                      Contains("/layers holds 2 groups with tensors (00_linear, 02_linear), this model has 6 layers"));
  }
  SECTION("a missing file or a file without /layers") {
    auto net = build_model<float>(m, shape{1, 28, 28});
    CHECK_THROWS_WITH(init_from_file(tmp / "none.h5", *net), Contains("none.h5"));
    { auto f = h5::file::create(tmp / "empty.h5"); f.close(); }
    CHECK_THROWS_WITH(init_from_file(tmp / "empty.h5", *net), Contains("no /layers group"));
  }
}

TEST_CASE("a run started from model.init_from resumes without the file", "[model][init][run]") {
  temp_dir tmp("init_run");
  write_fake_mnist(tmp / "mnist", 64, 16);
  experiment_config cfg;
  cfg.model.hidden = 8;
  cfg.train.epochs = 1;
  cfg.train.batch_size = 32;
  cfg.data.dir = (tmp / "mnist").string();
  cfg.run.threads = 1;
  run_options quiet;
  quiet.quiet = true;
  cfg.run.out = (tmp / "a").string();
  REQUIRE(run_experiment(cfg, quiet) == run_status::done);
  fs::copy_file(tmp / "a" / "model.h5", tmp / "init.h5");

  experiment_config b = cfg;
  b.run.out = (tmp / "b").string();
  b.model.init_from = (tmp / "missing.h5").string();
  CHECK_THROWS_WITH(run_experiment(b, quiet), Contains("missing.h5"));
  CHECK_FALSE(fs::exists(tmp / "b"));
  b.model.init_from = (tmp / "init.h5").string();
  REQUIRE(run_experiment(b, quiet) == run_status::done);
  fs::remove(tmp / "init.h5");
  REQUIRE(resume_experiment(tmp / "b", {"--train.epochs=2"}, quiet) == run_status::done);
  CHECK(read_checkpoint_info(tmp / "b" / "model.h5").next_epoch == 2);
}

TEST_CASE("the objective names each penalty once with its sites", "[model]") {
  model_config m;
  m.arch = model_arch::layers;
  m.layers = "linear(16) sigmoid@a, linear(16) sigmoid@b, linear(784)";
  auto net = build_model<float>(m, shape{1, 28, 28});
  sparsity_config s;
  s.kind = sparsity_kind::l1;
  CHECK(objective<float>(*net, loss_kind::bce, s).describe() ==
        "bce on sigmoid outputs + l1(lambda=0.0001, reduction=sum) at a, b");
}
