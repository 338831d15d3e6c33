#include <catch2/catch.hpp>
#include <fmt/core.h>
#include <hdf5_hl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "train/activity.hpp"
#include "experiment/model.hpp"
#include "experiment/objective.hpp"
#include "log/h5.hpp"
#include "log/run_log.hpp"
#include "log/run_schema.hpp"

#include "h5py_check.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::temp_dir;
using saelab::testing::check_with_h5py;
using saelab::testing::slurp;

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Runs a hidden test case of this binary in a fresh process (a real second
// SWMR process; within one process HDF5 shares the open file).
int run_child(const std::string& test_name, const fs::path& file, const std::string& expect, const fs::path& log) {
  ::setenv("SAELAB_RUN_LOG_CHILD_FILE", file.c_str(), 1);
  ::setenv("SAELAB_RUN_LOG_CHILD_EXPECT", expect.c_str(), 1);
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  const std::string cmd = fmt::format("'{}' '{}' -w NoTests > '{}' 2>&1", exe, test_name, log.string());
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : (WIFSIGNALED(rc) ? 128 + WTERMSIG(rc) : -1);
}

// A tiny world: fc 784-16-784 with a KL penalty, 150 fake test images, 5
// batches per epoch, a step logged every 2 steps.
constexpr int batches = 5;
constexpr std::int64_t test_count = 150;

struct world {
  experiment_config cfg;
  std::unique_ptr<network<float>> net;
  std::unique_ptr<objective<float>> obj;
  tensor<float> test_images{shape{test_count, 1, 28, 28}};
  run_log_info info{"9.9.9", "abc123", 100, 0};

  world() {
    cfg.model.hidden = 16;
    cfg.sparsity.kind = sparsity_kind::kl;
    cfg.train.epochs = 3;
    cfg.log.every_steps = 2;
    cfg.run.seed = 7;
    net = build_model<float>(cfg.model, shape{1, 28, 28});
    obj = std::make_unique<objective<float>>(*net, cfg.train.loss, cfg.sparsity);
    for (std::int64_t i = 0; i < test_images.numel(); ++i)
      test_images[i] = static_cast<float>((i * 37 + i / 784 * 11) % 256) / 255.0f;
    set_weights(0);
  }

  // Weights as a function of the epoch alone, so every process and every
  // resumed run sees the same ones.
  void set_weights(int epoch) {
    rng r(5);
    net->init(r);
    for (std::int64_t i = 0; i < net->params().numel(); ++i) net->params()[i] += 0.01f * static_cast<float>(epoch);
  }

  // The records of 0-based epoch e; the test activity is real (a forward pass).
  epoch_record epoch_of(int e) {
    set_weights(e + 1);
    epoch_record r;
    r.epoch = e;
    r.loss = 1.0 / (e + 1);
    r.reconstruction = 0.9 / (e + 1);
    r.penalty = 0.1 / (e + 1);
    r.site_penalty = {0.1 / (e + 1)};
    r.test.bce = 0.3 + e;
    r.test.bce_reference = 0.31 + e;
    r.test.mse = 0.05 + e;
    r.train_seconds = 2.0 + e;
    r.test_seconds = 0.5 + e;
    activity_accumulator acc(16, cfg.log.active_threshold);
    net->forward(test_images);
    acc.add(net->activation(net->sites()[0].activation));
    r.test.activity.push_back(acc.finish());
    return r;
  }

  static step_record step_of(int e, int b) {
    const std::int64_t step = e * batches + b + 1;
    return {e, step, b, batches, 1.0 - 0.01 * static_cast<double>(step), 0.9, 0.1, 1e-3};
  }

  // Steps [b0, b1) of epoch e, then (if b1 == batches) the epoch's end.
  void drive(run_log& log, int e, int b0 = 0, int b1 = batches) {
    for (int b = b0; b < b1; ++b) log.on_step(step_of(e, b));
    if (b1 == batches) log.on_epoch(epoch_of(e));
  }
};

// Every dataset in the file, with the names of those lacking units or description.
struct visit_result {
  std::vector<std::string> datasets, undescribed;
};
herr_t visit_dataset(hid_t obj, const char* name, const H5O_info_t* info, void* data) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  auto* r = static_cast<visit_result*>(data);
  r->datasets.push_back(name);
  if (H5Aexists_by_name(obj, name, "units", H5P_DEFAULT) <= 0 ||
      H5Aexists_by_name(obj, name, "description", H5P_DEFAULT) <= 0)
    r->undescribed.push_back(name);
  return 0;
}

template <class T>
std::vector<T> rd(const h5::object& f, const std::string& path) {
  return h5::read<T>(f, path);
}
h5::extent dims(const h5::object& f, const std::string& path) { return h5::dims(h5::open_dataset(f, path)); }

const char* const epoch_series[] = {"epoch",  "loss",     "reconstruction", "penalty",       "test_bce",
                                    "test_bce_first1200", "test_mse", "train_seconds", "test_seconds", "wall_time"};
const char* const step_series[] = {"step", "epoch", "loss", "reconstruction", "penalty", "learning_rate", "wall_time"};
const char* const site_series[] = {"rho_hat", "active_fraction", "dead", "lifetime_sparsity", "mean_when_active",
                                   "l0", "dead_fraction", "dense_fraction", "population_sparsity",
                                   "rho_hat_histogram"};

// Checks a closed (or SWMR-readable) log of `epochs` finished epochs written by world.
void check_series_lengths(const h5::file& f, hsize_t epochs, hsize_t steps) {
  for (const char* s : epoch_series) {
    INFO(s);
    CHECK(dims(f, fmt::format("/epochs/{}", s))[0] == epochs);
  }
  CHECK(dims(f, "/epochs/site_penalty") == h5::extent{epochs, 1});
  for (const char* s : step_series) {
    INFO(s);
    CHECK(dims(f, fmt::format("/steps/{}", s))[0] == steps);
  }
  for (const char* s : site_series) {
    INFO(s);
    CHECK(dims(f, fmt::format("/sites/hidden/{}", s))[0] == epochs);
  }
}

}  // namespace

namespace {

hid_t stored_type(series_type t) {
  switch (t) {
    case series_type::i32: return H5T_STD_I32LE;
    case series_type::i64: return H5T_STD_I64LE;
    case series_type::f32: return H5T_IEEE_F32LE;
    case series_type::f64: return H5T_IEEE_F64LE;
    case series_type::u8: return H5T_STD_U8LE;
  }
  return H5I_INVALID_HID;
}

// A new log of world w: `epochs` finished epochs, then `steps` steps of the next.
void write_fresh(const fs::path& path, world& w, int epochs, int steps = 0) {
  run_log log(path, w.cfg, to_ini(w.cfg), *w.net, w.test_images, w.obj->penalties(), w.info);
  for (int e = 0; e < epochs; ++e) w.drive(log, e);
  if (steps > 0) w.drive(log, epochs, 0, steps);
}

}  // namespace

TEST_CASE("run_log: snapshot epochs and probe indices", "[run_log]") {
  std::vector<int> picked;
  for (int e = 1; e <= 20; ++e)
    if (run_log::snapshot_epoch(e, 20, 0)) picked.push_back(e);
  CHECK(picked == std::vector<int>{1, 4, 8, 12, 16, 20});
  picked.clear();
  for (int e = 1; e <= 7; ++e)
    if (run_log::snapshot_epoch(e, 7, 3)) picked.push_back(e);
  CHECK(picked == std::vector<int>{1, 3, 6, 7});
  CHECK(run_log::snapshot_epoch(2, 3, 0));  // short runs: every epoch
  for (int epochs : {1, 5, 9, 13, 20, 37, 100, 1000}) {
    int n = 0;
    for (int e = 1; e <= epochs; ++e) n += run_log::snapshot_epoch(e, epochs, 0);
    INFO(epochs);
    CHECK(n <= 7);
    CHECK(n >= std::min(epochs, 2));
  }

  const auto a = run_log::probe_indices(42, 10000, 100);
  REQUIRE(a.size() == 100);
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(std::adjacent_find(a.begin(), a.end()) == a.end());  // distinct
  CHECK(a.front() >= 0);
  CHECK(a.back() < 10000);
  CHECK(run_log::probe_indices(42, 10000, 100) == a);  // the seed decides
  CHECK(run_log::probe_indices(43, 10000, 100) != a);
  CHECK(run_log::probe_indices(1, 30, 100).size() == 30);  // small test sets: all of them
  CHECK(to_string(run_status::interrupted) == "interrupted");
}

TEST_CASE("run_log: a 3-epoch log has the documented layout", "[run_log]") {
  temp_dir dir("layout");
  const auto path = dir / "run.h5";
  world w;
  const std::string ini = to_ini(w.cfg);
  std::vector<float> weights_after[3];
  {
    run_log log(path, w.cfg, ini, *w.net, w.test_images, w.obj->penalties(), w.info);
    for (int e = 0; e < 3; ++e) {
      w.drive(log, e);
      weights_after[e].assign(w.net->params().data(), w.net->params().data() + w.net->params().numel());
      if (e == 1) {
        // A SWMR reader in this process while the writer is open...
        auto r = h5::file::open_read(path, true);
        CHECK(rd<double>(r, "/epochs/loss") == std::vector<double>{1.0, 0.5});
        CHECK(rd<std::int32_t>(r, "/epochs/epoch") == std::vector<std::int32_t>{1, 2});
        CHECK(h5::read_attr_string(r, "status") == "running");
        // ...and in another process, from what the flush put on disk.
        const auto child_log = dir / "child.log";
        const int rc = run_child("run_log swmr child reader", path, "2|running", child_log);
        INFO(slurp(child_log));
        CHECK(rc == 0);
      }
    }
    log.set_status(run_status::interrupted);
    const auto child_log = dir / "child.log";
    const int rc = run_child("run_log swmr child reader", path, "3|interrupted", child_log);
    INFO(slurp(child_log));
    CHECK(rc == 0);
    log.set_status(run_status::done);
  }

  auto f = h5::file::open_read(path);
  // Root attributes and the config.
  CHECK(h5::read_attr_string(f, "schema") == "saelab.run");
  CHECK(h5::read_attr_int(f, "schema_version") == 2);
  CHECK(h5::read_attr_string(f, "program_version") == "9.9.9");
  CHECK(h5::read_attr_string(f, "git_revision") == "abc123");
  CHECK(h5::read_attr_int(f, "seed") == 7);
  CHECK(h5::read_attr_int(f, "epochs_planned") == 3);
  CHECK(h5::read_attr_ints(f, "resumed_after_epochs").empty());
  CHECK(h5::read_attr_string(f, "status") == "done");
  const std::string start = h5::read_attr_string(f, "start_time");
  REQUIRE(start.size() == 20);  // 2024-05-01T12:34:56Z
  CHECK(start[4] == '-');
  CHECK(start[10] == 'T');
  CHECK(start[19] == 'Z');
  CHECK(h5::read_string(f, "/config") == ini);

  // Series: 3 epochs; steps 2, 4, 5 | 6, 8, 10 | 12, 14, 15 (every 2nd and each epoch's last).
  check_series_lengths(f, 3, 9);
  CHECK(rd<std::int64_t>(f, "/steps/step") == std::vector<std::int64_t>{2, 4, 5, 6, 8, 10, 12, 14, 15});
  CHECK(rd<std::int32_t>(f, "/steps/epoch") == std::vector<std::int32_t>{1, 1, 1, 2, 2, 2, 3, 3, 3});
  CHECK(rd<double>(f, "/steps/loss")[2] == Approx(0.95));
  CHECK(rd<double>(f, "/steps/learning_rate")[0] == 1e-3);
  const auto wall = rd<double>(f, "/steps/wall_time");
  CHECK(std::is_sorted(wall.begin(), wall.end()));
  CHECK(rd<std::int32_t>(f, "/epochs/epoch") == std::vector<std::int32_t>{1, 2, 3});
  CHECK(rd<double>(f, "/epochs/test_bce_first1200") == std::vector<double>{0.31, 0.31 + 1, 0.31 + 2});
  CHECK(rd<double>(f, "/epochs/site_penalty")[2] == Approx(0.1 / 3));
  CHECK(h5::read_attr_string(h5::open_dataset(f, "/epochs/site_penalty"), "sites") == "hidden");

  // Sites.
  auto site = h5::open_group(f, "/sites/hidden");
  CHECK(h5::read_attr_ints(site, "shape") == std::vector<std::int64_t>{16});
  CHECK(h5::read_attr_int(site, "penalised") == 1);
  CHECK_THAT(h5::read_attr_string(site, "penalty"), Catch::Contains("kl"));
  CHECK(h5::read_attr_string(site, "layer") == "sigmoid");
  CHECK(dims(f, "/sites/hidden/rho_hat") == h5::extent{3, 16});
  CHECK(dims(f, "/sites/hidden/dead") == h5::extent{3, 16});
  CHECK(dims(f, "/sites/hidden/rho_hat_histogram") == h5::extent{3, 24});
  const auto edges = h5::read_attr_doubles(h5::open_dataset(f, "/sites/hidden/rho_hat_histogram"), "bin_edges_log10");
  REQUIRE(edges.size() == 25);
  CHECK(edges.front() == -6.0);
  CHECK(edges[1] == -5.75);
  CHECK(edges.back() == 0.0);
  const auto last = w.epoch_of(2).test.activity[0];  // the same weights again
  const auto rho = rd<float>(f, "/sites/hidden/rho_hat");
  for (int j = 0; j < 16; ++j) CHECK(rho[32 + j] == static_cast<float>(last.rho_hat[j]));
  CHECK(rd<double>(f, "/sites/hidden/l0")[2] == last.l0);
  const auto hist = rd<std::int64_t>(f, "/sites/hidden/rho_hat_histogram");
  CHECK(std::vector<std::int64_t>(hist.begin() + 48, hist.end()) == last.rho_hat_histogram);

  // Probe.
  const auto idx = rd<std::int64_t>(f, "/probe/indices");
  CHECK(idx == run_log::probe_indices(7, test_count, 100));
  auto images = h5::open_dataset(f, "/probe/images");
  CHECK(h5::dims(images) == h5::extent{100, 28, 28});
  CHECK(h5::read_attr_string(images, "CLASS") == "IMAGE");
  const auto px = h5::read<std::uint8_t>(images);
  for (int p : {0, 300, 783}) {
    INFO(p);
    const float v = w.test_images[idx[5] * 784 + p];
    CHECK(px[5 * 784 + p] == static_cast<std::uint8_t>(std::lround(v * 255)));
  }
  CHECK(rd<std::int32_t>(f, "/probe/epochs") == std::vector<std::int32_t>{1, 2, 3});
  CHECK(dims(f, "/probe/reconstructions") == h5::extent{3, 100, 28, 28});
  CHECK(dims(f, "/probe/activations/hidden") == h5::extent{3, 100, 16});
  {
    // The last snapshot's activations are those of a forward pass of the probe images.
    tensor<float> probe(shape{100, 1, 28, 28});
    for (int i = 0; i < 100; ++i)
      for (int p = 0; p < 784; ++p) probe[i * 784 + p] = w.test_images[idx[i] * 784 + p];
    w.net->forward(probe);
    const auto& a = w.net->activation(w.net->sites()[0].activation);
    const auto act = rd<float>(f, "/probe/activations/hidden");
    CHECK(std::vector<float>(act.begin() + 2 * 1600, act.end()) == std::vector<float>(a.data(), a.data() + 1600));
  }

  // Weights.
  CHECK(rd<std::int32_t>(f, "/weights/epochs") == std::vector<std::int32_t>{1, 2, 3});
  CHECK(dims(f, "/weights/00_linear/weight") == h5::extent{3, 16, 28, 28});  // one filter per unit
  CHECK(dims(f, "/weights/00_linear/bias") == h5::extent{3, 16});
  CHECK(dims(f, "/weights/02_linear/weight") == h5::extent{3, 784, 16});
  CHECK(dims(f, "/weights/encoder_filters") == h5::extent{3, 16, 28, 28});
  const auto enc = rd<float>(f, "/weights/00_linear/weight");
  CHECK(rd<float>(f, "/weights/encoder_filters") == enc);
  // ... through a link: the weights are stored once
  H5L_info_t link{};
  REQUIRE(H5Lget_info(f.id(), "/weights/encoder_filters", &link, H5P_DEFAULT) >= 0);
  CHECK(link.type == H5L_TYPE_SOFT);
  const auto dec_b = rd<float>(f, "/weights/02_linear/bias");
  for (int e = 0; e < 3; ++e) {
    INFO(e);
    CHECK(std::equal(enc.begin() + e * 16 * 784, enc.begin() + (e + 1) * 16 * 784, weights_after[e].begin()));
    const std::int64_t off = w.net->param_offset(2) + 784 * 16;
    CHECK(std::equal(dec_b.begin() + e * 784, dec_b.begin() + (e + 1) * 784, weights_after[e].begin() + off));
  }

  // Every dataset carries units and a description.
  visit_result v;
  REQUIRE(H5Ovisit2(f.id(), H5_INDEX_NAME, H5_ITER_INC, visit_dataset, &v, H5O_INFO_BASIC) >= 0);
  CHECK(v.datasets.size() >= 39);
  CHECK(v.undescribed.empty());
  for (const auto& name : v.undescribed) WARN("no units/description: " << name);
}

// Run by the test above in a fresh process: SAELAB_RUN_LOG_CHILD_EXPECT is "<epochs>|<status>".
TEST_CASE("run_log swmr child reader", "[.]") {
  const std::string expect = env("SAELAB_RUN_LOG_CHILD_EXPECT");
  const auto bar = expect.find('|');
  REQUIRE(bar != std::string::npos);
  const auto epochs = std::stoul(expect.substr(0, bar));
  auto r = h5::file::open_read(env("SAELAB_RUN_LOG_CHILD_FILE"), true);
  CHECK(rd<std::int32_t>(r, "/epochs/epoch").size() == epochs);
  CHECK(rd<double>(r, "/epochs/loss").size() == epochs);
  CHECK(dims(r, "/sites/hidden/rho_hat") == h5::extent{epochs, 16});
  CHECK(dims(r, "/weights/encoder_filters")[0] == epochs);
  CHECK(h5::read_attr_string(r, "status") == expect.substr(bar + 1));
}

TEST_CASE("run_log: the conv model's sites and weights keep their natural shapes", "[run_log]") {
  temp_dir dir("conv");
  const auto path = dir / "run.h5";
  experiment_config cfg;
  cfg.model.arch = model_arch::seed_conv;
  cfg.model.hidden_activation = activation_kind::relu;
  cfg.sparsity.kind = sparsity_kind::l1;
  cfg.sparsity.sites = {"conv1", "pool"};
  cfg.train.epochs = 2;
  auto net = build_model<float>(cfg.model, shape{1, 28, 28});
  rng r(3);
  net->init(r);
  objective<float> obj(*net, cfg.train.loss, cfg.sparsity);
  tensor<float> images(shape{6, 1, 28, 28});
  for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = static_cast<float>(i % 29) / 28.0f;
  const run_log_info info{"0", "", 4, 0};
  {
    run_log log(path, cfg, to_ini(cfg), *net, images, obj.penalties(), info);
    for (int e = 0; e < 2; ++e) {
      log.on_step({e, e + 1, 0, 1, 0.7, 0.6, 0.1, 9e-3});
      epoch_record rec;
      rec.epoch = e;
      rec.site_penalty = {0.05, 0.05};
      net->forward(images);
      for (const auto& s : net->sites()) {
        activity_accumulator acc(net->activation_shape(s.activation).numel(), cfg.log.active_threshold);
        acc.add(net->activation(s.activation));
        rec.test.activity.push_back(acc.finish());
      }
      log.on_epoch(rec);
    }
  }
  auto f = h5::file::open_read(path);
  CHECK(h5::read_attr_string(h5::open_group(f, "/sites"), "names") == "conv1, conv2, conv3, pool, deconv1, deconv2");
  CHECK(dims(f, "/sites/conv1/rho_hat") == h5::extent{2, 8, 26, 26});
  CHECK(dims(f, "/sites/pool/dead") == h5::extent{2, 32, 4, 4});
  CHECK(dims(f, "/sites/deconv2/mean_when_active") == h5::extent{2, 8, 21, 21});
  CHECK(h5::read_attr_ints(h5::open_group(f, "/sites/conv3"), "shape") == std::vector<std::int64_t>{32, 9, 9});
  CHECK(h5::read_attr_int(h5::open_group(f, "/sites/conv1"), "penalised") == 1);
  CHECK(h5::read_attr_int(h5::open_group(f, "/sites/conv2"), "penalised") == 0);
  CHECK(h5::read_attr_string(h5::open_group(f, "/sites/conv2"), "penalty").empty());
  CHECK(h5::read_attr_string(h5::open_dataset(f, "/epochs/site_penalty"), "sites") == "conv1, pool");
  CHECK(dims(f, "/probe/images") == h5::extent{4, 28, 28});
  CHECK(dims(f, "/probe/reconstructions") == h5::extent{2, 4, 28, 28});
  CHECK(dims(f, "/probe/activations/conv2") == h5::extent{2, 4, 16, 22, 22});
  CHECK(dims(f, "/probe/activations/pool") == h5::extent{2, 4, 32, 4, 4});
  CHECK(dims(f, "/weights/00_conv2d/weight") == h5::extent{2, 8, 1, 3, 3});
  CHECK(dims(f, "/weights/02_conv2d/weight") == h5::extent{2, 16, 8, 5, 5});
  CHECK(dims(f, "/weights/04_conv2d/bias") == h5::extent{2, 32});
  CHECK(dims(f, "/weights/07_conv_transpose2d/weight") == h5::extent{2, 32, 16, 3, 3});
  CHECK(dims(f, "/weights/11_conv_transpose2d/weight") == h5::extent{2, 8, 1, 8, 8});
  CHECK(dims(f, "/weights/11_conv_transpose2d/bias") == h5::extent{2, 1});
  CHECK_FALSE(h5::exists(f, "/weights/encoder_filters"));
  // The first kernel of the last snapshot is the layer's own weight.
  const auto w0 = rd<float>(f, "/weights/00_conv2d/weight");
  const float* p = net->params().data() + net->param_offset(0);
  CHECK(std::vector<float>(w0.begin() + 72, w0.end()) == std::vector<float>(p, p + 72));
  // The probe activations of the last snapshot are a forward pass's.
  const auto idx = rd<std::int64_t>(f, "/probe/indices");
  tensor<float> probe(shape{4, 1, 28, 28});
  for (int i = 0; i < 4; ++i)
    for (int q = 0; q < 784; ++q) probe[i * 784 + q] = images[idx[i] * 784 + q];
  net->forward(probe);
  const auto& pool = net->activation(net->find_site("pool").activation);
  const auto act = rd<float>(f, "/probe/activations/pool");
  CHECK(std::vector<float>(act.begin() + 4 * 512, act.end()) == std::vector<float>(pool.data(), pool.data() + 4 * 512));
  visit_result v;
  REQUIRE(H5Ovisit2(f.id(), H5_INDEX_NAME, H5_ITER_INC, visit_dataset, &v, H5O_INFO_BASIC) >= 0);
  CHECK(v.undescribed.empty());
  char label[16] = {};
  CHECK(H5DSget_label(h5::open_dataset(f, "/sites/conv2/rho_hat").id(), 1, label, sizeof label) > 0);
  CHECK(std::string(label) == "channel");
  check_with_h5py(path);
}

TEST_CASE("run_log: a resumed log equals an uninterrupted one", "[run_log]") {
  temp_dir dir("resume");
  world w;
  const std::string ini = to_ini(w.cfg);
  {
    run_log log(dir / "whole.h5", w.cfg, ini, *w.net, w.test_images, w.obj->penalties(), w.info);
    for (int e = 0; e < 3; ++e) w.drive(log, e);
  }
  {
    // Two epochs and three steps of the third, then the run stops.
    run_log log(dir / "resumed.h5", w.cfg, ini, *w.net, w.test_images, w.obj->penalties(), w.info);
    w.drive(log, 0);
    w.drive(log, 1);
    w.drive(log, 2, 0, 3);
    log.set_status(run_status::interrupted);
  }
  CHECK(dims(h5::file::open_read(dir / "resumed.h5"), "/steps/step")[0] == 7);  // step 12 was logged
  {
    // The checkpoint was saved after epoch 2 (step 10): everything later goes.
    auto log = run_log::reopen(dir / "resumed.h5", w.cfg, *w.net, w.test_images, w.obj->penalties(), w.info, {2, 10});
    {
      auto r = h5::file::open_read(dir / "resumed.h5", true);
      CHECK(rd<std::int64_t>(r, "/steps/step") == std::vector<std::int64_t>{2, 4, 5, 6, 8, 10});
      CHECK(h5::read_attr_string(r, "status") == "running");
    }
    w.drive(log, 2);
    log.set_status(run_status::done);
  }
  auto a = h5::file::open_read(dir / "whole.h5");
  auto b = h5::file::open_read(dir / "resumed.h5");
  check_series_lengths(b, 3, 9);
  CHECK(h5::read_attr_ints(b, "resumed_after_epochs") == std::vector<std::int64_t>{2});
  CHECK(h5::read_attr_string(b, "status") == "done");
  for (const char* s : epoch_series) {
    if (std::string(s) == "wall_time") continue;
    INFO(s);
    CHECK(rd<double>(a, fmt::format("/epochs/{}", s)) == rd<double>(b, fmt::format("/epochs/{}", s)));
  }
  for (const char* s : step_series) {
    if (std::string(s) == "wall_time") continue;
    INFO(s);
    CHECK(rd<double>(a, fmt::format("/steps/{}", s)) == rd<double>(b, fmt::format("/steps/{}", s)));
  }
  for (const char* s : site_series) {
    INFO(s);
    CHECK(rd<double>(a, fmt::format("/sites/hidden/{}", s)) == rd<double>(b, fmt::format("/sites/hidden/{}", s)));
  }
  for (const char* s : {"/probe/epochs", "/probe/reconstructions", "/probe/activations/hidden", "/weights/epochs",
                        "/weights/00_linear/weight", "/weights/02_linear/bias", "/weights/encoder_filters"}) {
    INFO(s);
    CHECK(rd<float>(a, s) == rd<float>(b, s));
  }
  const auto wall = rd<double>(b, "/steps/wall_time");
  CHECK(std::is_sorted(wall.begin(), wall.end()));  // continues across the resume
}

TEST_CASE("run_log: reopen refuses a log that does not fit", "[run_log]") {
  temp_dir dir("refuse");
  const auto path = dir / "run.h5";
  world w;
  {
    run_log log(path, w.cfg, to_ini(w.cfg), *w.net, w.test_images, w.obj->penalties(), w.info);
    w.drive(log, 0);
  }
  // More epochs than the log holds.
  CHECK_THROWS_WITH(run_log::reopen(path, w.cfg, *w.net, w.test_images, w.obj->penalties(), w.info, {2, 10}),
                    Catch::Contains("cannot resume this log") && Catch::Contains("holds 1 finished epochs"));
  // Another network.
  world other;
  other.cfg.model.hidden = 8;
  other.net = build_model<float>(other.cfg.model, shape{1, 28, 28});
  other.obj = std::make_unique<objective<float>>(*other.net, other.cfg.train.loss, other.cfg.sparsity);
  CHECK_THROWS_WITH(run_log::reopen(path, other.cfg, *other.net, w.test_images, other.obj->penalties(), w.info, {1, 5}),
                    Catch::Contains("site hidden has units [16], this network [8]"));
  // Other penalised sites.
  objective<float> unpenalised(*w.net, w.cfg.train.loss, sparsity_config{});
  CHECK_THROWS_WITH(run_log::reopen(path, w.cfg, *w.net, w.test_images, unpenalised.penalties(), w.info, {1, 5}),
                    Catch::Contains("it logs penalties of sites [hidden], this run penalises []"));
  // Another seed picks other probe images.
  experiment_config seeded = w.cfg;
  seeded.run.seed = 8;
  CHECK_THROWS_WITH(run_log::reopen(path, seeded, *w.net, w.test_images, w.obj->penalties(), w.info, {1, 5}),
                    Catch::Contains("probe images differ"));
  // Not a run log.
  {
    auto f = h5::file::create(dir / "other.h5");
  }
  CHECK_THROWS_WITH(run_log::reopen(dir / "other.h5", w.cfg, *w.net, w.test_images, w.obj->penalties(), w.info, {0, 0}),
                    Catch::Contains("not a saelab run log"));
  // The refused reopens changed nothing: it still resumes.
  auto log = run_log::reopen(path, w.cfg, *w.net, w.test_images, w.obj->penalties(), w.info, {1, 5});
  w.drive(log, 1);
  log.close();
  CHECK(rd<std::int32_t>(h5::file::open_read(path), "/epochs/epoch") == std::vector<std::int32_t>{1, 2});
}

TEST_CASE("run_log: a killed writer keeps its finished epochs", "[run_log][swmr]") {
  temp_dir dir("killed");
  const auto path = dir / "run.h5";
  const auto child_log = dir / "child.log";
  const int rc = run_child("run_log killed writer child", path, "", child_log);
  INFO(slurp(child_log));
  REQUIRE(rc == 128 + SIGKILL);
  REQUIRE(fs::exists(path));
  // A SWMR reader can read it as it is.
  CHECK(rd<std::int32_t>(h5::file::open_read(path, true), "/epochs/epoch") == std::vector<std::int32_t>{1, 2});
  CHECK_THROWS_WITH(h5::file::open_read(path), Catch::Contains("h5clear -s --increment=0"));
  if (!fs::exists("/usr/bin/h5clear")) {
    WARN("h5clear not installed: repair of a killed writer's log not checked");
    return;
  }
  REQUIRE(std::system(fmt::format("/usr/bin/h5clear -s --increment=0 '{}'", path.string()).c_str()) == 0);
  {
    auto f = h5::file::open_read(path);
    CHECK(h5::read_attr_string(f, "status") == "running");  // the writer never said otherwise
    CHECK(rd<std::int32_t>(f, "/epochs/epoch") == std::vector<std::int32_t>{1, 2});
    CHECK(rd<double>(f, "/epochs/loss") == std::vector<double>{1.0, 0.5});
    CHECK(dims(f, "/sites/hidden/rho_hat") == h5::extent{2, 16});
    CHECK(rd<std::int32_t>(f, "/probe/epochs") == std::vector<std::int32_t>{1, 2});
    CHECK(dims(f, "/weights/encoder_filters") == h5::extent{2, 16, 28, 28});
    const auto steps = rd<std::int64_t>(f, "/steps/step");
    REQUIRE(steps.size() >= 6);
    CHECK(std::vector<std::int64_t>(steps.begin(), steps.begin() + 6) == std::vector<std::int64_t>{2, 4, 5, 6, 8, 10});
  }
  // And the run resumes from its epoch-2 checkpoint.
  world w;
  {
    auto log = run_log::reopen(path, w.cfg, *w.net, w.test_images, w.obj->penalties(), w.info, {2, 10});
    w.drive(log, 2);
    log.set_status(run_status::done);
  }
  auto f = h5::file::open_read(path);
  check_series_lengths(f, 3, 9);
  CHECK(rd<std::int64_t>(f, "/steps/step") == std::vector<std::int64_t>{2, 4, 5, 6, 8, 10, 12, 14, 15});
}

// Run by the test above: two epochs, three steps of the third, then SIGKILL.
TEST_CASE("run_log killed writer child", "[.]") {
  world w;
  run_log log(env("SAELAB_RUN_LOG_CHILD_FILE"), w.cfg, to_ini(w.cfg), *w.net, w.test_images, w.obj->penalties(), w.info);
  w.drive(log, 0);
  w.drive(log, 1);
  w.drive(log, 2, 0, 3);
  std::raise(SIGKILL);
}

TEST_CASE("run_log: every row of the schema table is in a fresh log with its type, units and description",
          "[run_log][schema]") {
  temp_dir dir("schema");
  const auto path = dir / "run.h5";
  world w;
  write_fresh(path, w, 1);  // steps 2, 4 and 5 are logged
  auto f = h5::file::open_read(path);
  std::vector<std::string> rows;
  for (const series_row& row : run_schema()) {
    std::vector<std::string> sites{""};
    if (row.group == series_group::site) {
      sites.clear();
      for (const auto& s : w.net->sites()) sites.push_back(s.name);
    }
    for (const auto& site : sites) {
      const std::string p = series_path(row, site);
      INFO(p);
      REQUIRE(h5::exists(f, p));
      const auto ds = h5::open_dataset(f, p);
      h5::handle type(H5Dget_type(ds.id()));
      CHECK(H5Tequal(type.get(), stored_type(row.type)) > 0);
      CHECK(h5::dims(ds)[0] == (row.group == series_group::steps ? 3u : 1u));
      REQUIRE(h5::has_attr(ds, "units"));
      REQUIRE(h5::has_attr(ds, "description"));
      CHECK(h5::read_attr_string(ds, "units") == (row.units == loss_units ? "nat/pixel" : row.units));
      CHECK(!h5::read_attr_string(ds, "description").empty());
      CHECK(h5::read_attr_string(ds, "description").find('{') == std::string::npos);
      rows.push_back(p.substr(1));
    }
  }
  // And the other way round: no series under /steps, /epochs or /sites is written outside the table.
  visit_result v;
  REQUIRE(H5Ovisit2(f.id(), H5_INDEX_NAME, H5_ITER_INC, visit_dataset, &v, H5O_INFO_BASIC) >= 0);
  for (const auto& name : v.datasets) {
    if (name.rfind("steps/", 0) != 0 && name.rfind("epochs/", 0) != 0 && name.rfind("sites/", 0) != 0) continue;
    INFO(name);
    CHECK(std::find(rows.begin(), rows.end(), name) != rows.end());
  }
}

TEST_CASE("run_log: HDF5 viewers find axes, units and a default plot, also after a resume (h5py)",
          "[run_log][viewer]") {
  temp_dir dir("viewer");
  const auto path = dir / "run.h5";
  world w;
  write_fresh(path, w, 2, 2);  // stopped mid-epoch
  {
    auto f = h5::file::open_read(path);
    CHECK(h5::read_attr_string(f, "default") == "epochs");
    CHECK(H5DSis_scale(h5::open_dataset(f, "/epochs/epoch").id()) > 0);
    CHECK(H5DSget_num_scales(h5::open_dataset(f, "/sites/hidden/rho_hat").id(), 0) == 1);
    char label[16] = {};
    CHECK(H5DSget_label(h5::open_dataset(f, "/sites/hidden/rho_hat").id(), 1, label, sizeof label) > 0);
    CHECK(std::string(label) == "unit");
  }
  check_with_h5py(path);  // rows 2 of 2 epochs, the third epoch's steps: each series as long as its axis
  {
    auto log = run_log::reopen(path, w.cfg, *w.net, w.test_images, w.obj->penalties(), w.info, {1, 5});
    w.drive(log, 1);
    w.drive(log, 2);
    log.set_status(run_status::done);
  }
  check_with_h5py(path);
  auto f = h5::file::open_read(path);
  CHECK(H5DSget_num_scales(h5::open_dataset(f, "/epochs/test_bce").id(), 0) == 1);  // attached once, not twice
  CHECK(H5DSget_num_scales(h5::open_dataset(f, "/probe/reconstructions").id(), 0) == 1);
}
