#include "log/run_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <numeric>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "data/minibatcher.hpp"
#include "layers/activation.hpp"
#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/linear.hpp"
#include "log/h5.hpp"
#include "log/series.hpp"
#include "log/weight_log.hpp"
#include "tensor/rng.hpp"

namespace saelab {

namespace {

using series::append_one;
using series::create_stack;
using series::product;
using series::refuse;
using series::shape_text;
using series::truncate_rows;
using clock_type = std::chrono::steady_clock;

constexpr std::int64_t schema_version = 2;  // 2: image-shaped weights of a linear layer on the image
constexpr std::size_t status_reserve = 16;  // bytes: "interrupted" and room to spare
constexpr double flush_seconds = 30;        // on_step flushes at most this often
constexpr hsize_t step_chunk_rows = 512;    // 4 KiB of float64: uncompressed, so no bloat
constexpr hsize_t epoch_chunk_rows = 64;

std::string iso_utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

h5::extent extent_of(const shape& s) {
  h5::extent e;
  for (int a = 0; a < s.rank(); ++a) e.push_back(static_cast<hsize_t>(s[a]));
  return e;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

template <class To, class From>
std::vector<To> convert(const std::vector<From>& v) {
  return std::vector<To>(v.begin(), v.end());
}

std::uint8_t to_pixel(double v) {
  return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
}

// [1, H, W] or [H, W] per-sample input -> {H, W}.
std::pair<hsize_t, hsize_t> image_size(const shape& in) {
  if (in.rank() == 3 && in[0] == 1) return {static_cast<hsize_t>(in[1]), static_cast<hsize_t>(in[2])};
  if (in.rank() == 2) return {static_cast<hsize_t>(in[0]), static_cast<hsize_t>(in[1])};
  throw std::invalid_argument(fmt::format("run_log: the network input {} is not one grayscale image", in.str()));
}

}  // namespace

std::string_view to_string(log_status s) {
  switch (s) {
    case log_status::log_status_running: return "running";
    case log_status::log_status_done: return "done";
    case log_status::log_status_failed: return "failed";
    case log_status::log_status_interrupted: return "interrupted";
  }
  return "?";
}

bool run_log::snapshot_epoch(int epoch, int epochs, int snapshot_every) {
  const int k = snapshot_every > 0 ? snapshot_every : std::max(1, (epochs + 4) / 5);
  return epoch == 1 || epoch == epochs || epoch % k == 0;
}

std::vector<std::int64_t> run_log::probe_indices(std::uint64_t seed, std::int64_t test_images, int count) {
  if (test_images <= 0) throw std::invalid_argument("run_log: no test images to draw the probe from");
  const std::int64_t k = std::clamp<std::int64_t>(count, 0, test_images);
  std::vector<std::int64_t> all(static_cast<std::size_t>(test_images));
  std::iota(all.begin(), all.end(), 0);
  rng r(seed);
  for (std::int64_t i = 0; i < k; ++i) {  // partial Fisher-Yates
    const auto j = i + static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(test_images - i)));
    std::swap(all[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(j)]);
  }
  all.resize(static_cast<std::size_t>(k));
  std::sort(all.begin(), all.end());
  return all;
}

struct run_log::impl {
  struct site_sets {
    std::string name;
    int activation = 0;
    h5::extent shape;  // per sample
    h5::dataset rho_hat, active_fraction, dead, lifetime_sparsity, mean_when_active;
    h5::dataset l0, dead_fraction, dense_fraction, population_sparsity, histogram;
    h5::dataset probe;  // /probe/activations/<name>
  };

  impl(network<float>& n, h5::file f) : net(n), file(std::move(f)) {}

  network<float>& net;
  h5::file file;
  bool closed = false;
  int every_steps = 1, epochs_planned = 0, snapshot_every = 1;
  clock_type::time_point started = clock_type::now(), last_flush = clock_type::now();
  double wall_offset = 0;  // seconds logged before a resume

  h5::dataset step_step, step_epoch, step_loss, step_reconstruction, step_penalty, step_lr, step_wall;
  h5::dataset ep_epoch, ep_loss, ep_reconstruction, ep_penalty, ep_test_bce, ep_test_bce_ref, ep_test_mse,
      ep_train_seconds, ep_test_seconds, ep_wall, ep_site_penalty;
  std::size_t penalised = 0;
  std::vector<site_sets> sites;

  std::vector<std::int64_t> probe_rows;  // [K] rows of the test set
  tensor<float> probe;                   // [K, input...]
  hsize_t probe_count = 0, img_h = 0, img_w = 0;
  h5::dataset probe_epochs, probe_recon;
  std::vector<std::uint8_t> recon_buf;

  weight_log weights;

  double wall() const { return wall_offset + std::chrono::duration<double>(clock_type::now() - started).count(); }
  void flush() {
    file.flush();
    last_flush = clock_type::now();
  }

  void configure(const experiment_config& cfg, const run_log_info& info, const tensor<float>& test_images);
  void create_layout(const experiment_config& cfg, const std::string& ini, const objective<float>& obj,
                     const run_log_info& info);
  void open_layout(const std::filesystem::path& path);
  void truncate(const std::filesystem::path& path, resume_point at);
  void snapshot(int epoch);
  void close_all();
};

// Settings and the probe batch, shared by a new and a reopened log.
void run_log::impl::configure(const experiment_config& cfg, const run_log_info& info,
                              const tensor<float>& test_images) {
  every_steps = std::max(1, cfg.log.every_steps);
  epochs_planned = cfg.train.epochs;
  snapshot_every = info.snapshot_every > 0 ? info.snapshot_every : std::max(1, (epochs_planned + 4) / 5);
  std::tie(img_h, img_w) = image_size(net.activation_shape(0));
  const shape& in = net.activation_shape(0);
  if (test_images.empty() || test_images.dims().drop_batch().numel() != in.numel())
    throw std::invalid_argument(fmt::format("run_log: test images {} do not fit the network input {}",
                                            test_images.dims().str(), in.str()));
  if (net.activation_shape(net.size()).numel() != in.numel())
    throw std::invalid_argument("run_log: the network output is not an image of its input's size");
  probe_rows = probe_indices(cfg.run.seed, test_images.size(0), info.probe_images);
  probe_count = probe_rows.size();
  if (probe_count > 0) {
    gather_rows(test_images, probe_rows, probe);
    probe = probe.reshaped(in.batched(static_cast<std::int64_t>(probe_count)));
  }
  recon_buf.resize(probe_count * img_h * img_w);
}

void run_log::impl::create_layout(const experiment_config& cfg, const std::string& ini,
                                  const objective<float>& obj, const run_log_info& info) {
  const h5::file& f = file;
  h5::write_attr_string(f, "schema", "saelab.run");
  h5::write_attr_int(f, "schema_version", schema_version);
  h5::write_attr_string(f, "program_version", info.program_version);
  h5::write_attr_string(f, "git_revision", info.git_revision);
  h5::write_attr_int(f, "seed", static_cast<std::int64_t>(cfg.run.seed));
  h5::write_attr_string(f, "start_time", iso_utc_now());
  h5::write_attr_string(f, "status", to_string(log_status::log_status_running), status_reserve);
  h5::write_attr_int(f, "epochs_planned", cfg.train.epochs);
  h5::write_attr_ints(f, "resumed_after_epochs", std::vector<std::int64_t>{});
  h5::write_attr_int(f, "snapshot_every", snapshot_every);
  h5::set_description(h5::write_string(f, "/config", ini), "", "the resolved config (INI): sae-train reruns it");

  // Small scalar series: uncompressed (FACTS: SWMR and half-filled compressed chunks).
  const auto scalar = [&](auto tag, const char* path, hsize_t chunk, const char* units, const char* what) {
    using T = decltype(tag);
    h5::set_description(h5::create_series<T>(f, path, {}, chunk, false), units, what);
  };
  const hsize_t sc = step_chunk_rows, ec = epoch_chunk_rows;
  const char* bce_units = "nat/pixel";
  const char* mse_units = "intensity^2/pixel";  // pixel intensities in [0, 1]
  const char* loss_units = cfg.train.loss == loss_kind::loss_kind_bce ? bce_units : mse_units;
  h5::write_attr_string(h5::create_group(f, "/steps"), "description",
                        fmt::format("every {}-th optimiser step and the last step of each epoch", every_steps));
  scalar(std::int64_t{}, "/steps/step", sc, "step", "optimiser steps taken, 1-based");
  scalar(std::int32_t{}, "/steps/epoch", sc, "epoch", "the epoch the step belongs to, 1-based");
  scalar(double{}, "/steps/loss", sc, loss_units, "training objective on the step's batch (reconstruction + penalty)");
  scalar(double{}, "/steps/reconstruction", sc, loss_units, "reconstruction loss on the step's batch");
  scalar(double{}, "/steps/penalty", sc, "1", "sparsity penalty on the step's batch, summed over sites");
  scalar(double{}, "/steps/learning_rate", sc, "1", "learning rate used by the step");
  scalar(double{}, "/steps/wall_time", sc, "s", "seconds of training since the log began, stopped time excluded");

  h5::write_attr_string(h5::create_group(f, "/epochs"), "description", "one row per finished epoch; row i is epoch i + 1");
  scalar(std::int32_t{}, "/epochs/epoch", ec, "epoch", "the finished epoch, 1-based");
  scalar(double{}, "/epochs/loss", ec, loss_units, "training objective, mean over the epoch's batches");
  scalar(double{}, "/epochs/reconstruction", ec, loss_units, "training reconstruction loss, epoch mean");
  scalar(double{}, "/epochs/penalty", ec, "1", "training sparsity penalty, epoch mean");
  scalar(double{}, "/epochs/test_bce", ec, bce_units, "binary cross-entropy on the whole test set");
  scalar(double{}, "/epochs/test_bce_first1200", ec, bce_units,
         "binary cross-entropy on the first 1200 test images (the reference's testing loss)");
  scalar(double{}, "/epochs/test_mse", ec, mse_units, "mean squared error on the whole test set");
  scalar(double{}, "/epochs/train_seconds", ec, "s", "wall time of the epoch's training pass");
  scalar(double{}, "/epochs/test_seconds", ec, "s", "wall time of the epoch's test pass");
  scalar(double{}, "/epochs/wall_time", ec, "s", "seconds of training since the log began at the epoch's end");
  std::vector<std::string> penalised_names;
  for (const auto& s : obj.sites()) penalised_names.push_back(s.name);
  if (!penalised_names.empty()) {
    auto ds = h5::create_series<double>(f, "/epochs/site_penalty", {penalised_names.size()}, ec, false);
    h5::set_description(ds, "1", "training sparsity penalty per penalised site (columns: attribute sites), epoch mean");
    h5::write_attr_string(ds, "sites", join(penalised_names));
  }

  // Per-site activity, every hidden site.
  auto sites_group = h5::create_group(f, "/sites");
  std::vector<std::string> names;
  for (const auto& s : net.sites()) names.push_back(s.name);
  h5::write_attr_string(sites_group, "description", "hidden-unit activity on the test set, one row per epoch");
  h5::write_attr_string(sites_group, "names", join(names));
  std::vector<double> edges;
  for (int b = 0; b <= activity_accumulator::hist_bins; ++b)
    edges.push_back(activity_accumulator::hist_lo +
                    (activity_accumulator::hist_hi - activity_accumulator::hist_lo) * b / activity_accumulator::hist_bins);
  for (const auto& s : net.sites()) {
    auto g = h5::create_group(f, "/sites/" + s.name);
    const shape& sh = net.activation_shape(s.activation);
    const h5::extent row = extent_of(sh);
    std::vector<std::int64_t> dims(row.begin(), row.end());
    h5::write_attr_ints(g, "shape", dims);
    std::string penalty;
    for (const auto& p : obj.sites())
      if (p.name == s.name) penalty = p.term->describe();
    h5::write_attr_int(g, "penalised", penalty.empty() ? 0 : 1);
    h5::write_attr_string(g, "penalty", penalty);
    h5::write_attr_string(g, "layer", net.at(s.activation - 1).describe());
    h5::write_attr_double(g, "active_threshold", cfg.log.active_threshold);
    h5::write_attr_string(g, "description", fmt::format("site {}: output of layer {}, {} units per input", s.name,
                                                        s.activation - 1, sh.numel()));
    const auto unit = [&](auto tag, const char* name, const char* units, const std::string& what) {
      using T = decltype(tag);
      h5::set_description(create_stack<T>(g, name, row, row), units, what + "; axes [epoch, unit axes...]");
    };
    const std::string thr = fmt::format("{}", cfg.log.active_threshold);
    unit(float{}, "rho_hat", "activation", "per unit: mean activation over the test set");
    unit(float{}, "active_fraction", "1", "per unit: fraction of test inputs with activation > " + thr);
    unit(std::uint8_t{}, "dead", "bool", "per unit: 1 when active on no test input (activation > " + thr + ")");
    unit(float{}, "lifetime_sparsity", "1",
         "per unit: Treves-Rolls (mean a)^2 / mean(a^2) over test inputs; 1 dense, 1/N one input, 0 never");
    unit(float{}, "mean_when_active", "activation", "per unit: mean activation over the inputs it is active on");
    const auto one = [&](const char* name, const char* units, const char* what) {
      h5::set_description(h5::create_series<double>(g, name, {}, ec, false), units, what);
    };
    one("l0", "units", "mean number of active units per test input");
    one("dead_fraction", "1", "fraction of units active on no test input");
    one("dense_fraction", "1", "fraction of units active on more than half of the test inputs");
    one("population_sparsity", "1", "mean over test inputs of Treves-Rolls across the site's units");
    auto hist = h5::create_series<std::int64_t>(g, "rho_hat_histogram",
                                                {static_cast<hsize_t>(activity_accumulator::hist_bins)}, ec, false);
    h5::set_description(hist, "units",
                        "units per log10(rho_hat) bin (edges: attribute bin_edges_log10); bin 0 also holds rho_hat "
                        "below the first edge, including 0; the last bin also holds rho_hat >= 1");
    h5::write_attr_doubles(hist, "bin_edges_log10", edges);
  }

  // Probe: fixed images, then snapshots.
  auto pg = h5::create_group(f, "/probe");
  h5::write_attr_string(pg, "description",
                        "a fixed set of test images, their reconstructions and activations at snapshot epochs");
  h5::set_description(h5::write_array<std::int64_t>(f, "/probe/indices", {probe_count}, probe_rows), "index",
                      "rows of the test set, drawn with rng(run.seed), sorted");
  std::vector<std::uint8_t> pixels(probe_count * img_h * img_w);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = to_pixel(probe[static_cast<std::int64_t>(i)]);
  if (probe_count > 0) {
    auto images = h5::write_array<std::uint8_t>(f, "/probe/images", {probe_count, img_h, img_w}, pixels, true);
    h5::mark_image(images);
    h5::set_description(images, "pixel", "the probe images, 0-255; axes [probe image, row, column]");
    h5::set_description(h5::create_series<std::int32_t>(f, "/probe/epochs", {}, ec, false), "epoch",
                        "the epoch after which each snapshot was taken");
    h5::set_description(create_stack<std::uint8_t>(f, "/probe/reconstructions", {probe_count, img_h, img_w},
                                                   {probe_count, img_h, img_w}),
                        "pixel", "sigmoid output * 255 for the probe images; axes [snapshot, probe image, row, column]");
    for (const auto& s : net.sites()) {
      h5::extent row{probe_count}, chunk{1};
      for (hsize_t d : extent_of(net.activation_shape(s.activation))) row.push_back(d), chunk.push_back(d);
      h5::set_description(create_stack<float>(f, "/probe/activations/" + s.name, row, chunk), "activation",
                          fmt::format("site {} on the probe images; axes [snapshot, probe image, unit axes...]", s.name));
    }
  }

  weight_log::create(f, net);
}

// Opens every dataset of the layout; checks it fits this network.
void run_log::impl::open_layout(const std::filesystem::path& path) {
  const h5::file& f = file;
  const auto open = [&](const std::string& name) { return series::open_or_refuse(f, path, name); };
  step_step = open("/steps/step");
  step_epoch = open("/steps/epoch");
  step_loss = open("/steps/loss");
  step_reconstruction = open("/steps/reconstruction");
  step_penalty = open("/steps/penalty");
  step_lr = open("/steps/learning_rate");
  step_wall = open("/steps/wall_time");
  ep_epoch = open("/epochs/epoch");
  ep_loss = open("/epochs/loss");
  ep_reconstruction = open("/epochs/reconstruction");
  ep_penalty = open("/epochs/penalty");
  ep_test_bce = open("/epochs/test_bce");
  ep_test_bce_ref = open("/epochs/test_bce_first1200");
  ep_test_mse = open("/epochs/test_mse");
  ep_train_seconds = open("/epochs/train_seconds");
  ep_test_seconds = open("/epochs/test_seconds");
  ep_wall = open("/epochs/wall_time");
  if (h5::exists(f, "/epochs/site_penalty")) {
    ep_site_penalty = open("/epochs/site_penalty");
    penalised = h5::dims(ep_site_penalty).at(1);
  }

  std::vector<std::string> names;
  for (const auto& s : net.sites()) names.push_back(s.name);
  const std::string have = h5::read_attr_string(h5::open_group(f, "/sites"), "names");
  if (have != join(names)) refuse(path, fmt::format("its sites are [{}], this network's [{}]", have, join(names)));
  sites.clear();
  for (const auto& s : net.sites()) {
    site_sets ss;
    ss.name = s.name;
    ss.activation = s.activation;
    ss.shape = extent_of(net.activation_shape(s.activation));
    const std::string g = "/sites/" + s.name + "/";
    ss.rho_hat = open(g + "rho_hat");
    h5::extent d = h5::dims(ss.rho_hat);
    if (h5::extent(d.begin() + 1, d.end()) != ss.shape)
      refuse(path, fmt::format("site {} has units {}, this network {}", s.name,
                               shape_text(h5::extent(d.begin() + 1, d.end())), shape_text(ss.shape)));
    ss.active_fraction = open(g + "active_fraction");
    ss.dead = open(g + "dead");
    ss.lifetime_sparsity = open(g + "lifetime_sparsity");
    ss.mean_when_active = open(g + "mean_when_active");
    ss.l0 = open(g + "l0");
    ss.dead_fraction = open(g + "dead_fraction");
    ss.dense_fraction = open(g + "dense_fraction");
    ss.population_sparsity = open(g + "population_sparsity");
    ss.histogram = open(g + "rho_hat_histogram");
    if (probe_count > 0) ss.probe = open("/probe/activations/" + s.name);
    sites.push_back(std::move(ss));
  }

  if (probe_count > 0) {
    probe_epochs = open("/probe/epochs");
    probe_recon = open("/probe/reconstructions");
  }
  weights = weight_log(f, net, path);
}

// Cuts every series back to `at`. Within an epoch (and a step) the series
// are appended in a fixed order with /epochs/epoch, /steps/step,
// /probe/epochs and /weights/epochs last, so those say what is complete.
void run_log::impl::truncate(const std::filesystem::path& path, resume_point at) {
  const auto epochs_rows = static_cast<hsize_t>(at.epochs);
  const auto logged = h5::read<std::int32_t>(ep_epoch);
  if (logged.size() < epochs_rows)
    refuse(path, fmt::format("it holds {} finished epochs, the resume point is after epoch {} (the runner must "
                             "finish the log's epoch before saving the checkpoint)",
                             logged.size(), at.epochs));
  for (std::size_t i = 0; i < epochs_rows; ++i)
    if (logged[i] != static_cast<std::int32_t>(i + 1))
      refuse(path, fmt::format("/epochs/epoch[{}] is {}, not {}", i, logged[i], i + 1));
  for (const h5::dataset* ds : {&ep_loss, &ep_reconstruction, &ep_penalty, &ep_test_bce, &ep_test_bce_ref,
                                &ep_test_mse, &ep_train_seconds, &ep_test_seconds, &ep_wall, &ep_epoch})
    truncate_rows(path, *ds, epochs_rows);
  if (ep_site_penalty) truncate_rows(path, ep_site_penalty, epochs_rows);
  for (const auto& s : sites)
    for (const h5::dataset* ds : {&s.rho_hat, &s.active_fraction, &s.dead, &s.lifetime_sparsity, &s.mean_when_active,
                                  &s.l0, &s.dead_fraction, &s.dense_fraction, &s.population_sparsity, &s.histogram})
      truncate_rows(path, *ds, epochs_rows);

  const auto snapshots_before = [&](const h5::dataset& epochs) {
    const auto e = h5::read<std::int32_t>(epochs);
    return static_cast<hsize_t>(std::find_if(e.begin(), e.end(), [&](std::int32_t v) { return v > at.epochs; }) -
                                e.begin());
  };
  if (probe_count > 0) {
    const hsize_t t = snapshots_before(probe_epochs);
    truncate_rows(path, probe_recon, t);
    for (const auto& s : sites) truncate_rows(path, s.probe, t);
    truncate_rows(path, probe_epochs, t);
  }
  weights.truncate(path, at.epochs);

  const auto steps = h5::read<std::int64_t>(step_step);
  const auto keep = static_cast<hsize_t>(
      std::find_if(steps.begin(), steps.end(), [&](std::int64_t v) { return v > at.steps; }) - steps.begin());
  for (const h5::dataset* ds :
       {&step_epoch, &step_loss, &step_reconstruction, &step_penalty, &step_lr, &step_wall, &step_step})
    truncate_rows(path, *ds, keep);

  // Wall time continues from the last kept row.
  wall_offset = 0;
  if (epochs_rows > 0) wall_offset = h5::read<double>(ep_wall).back();
  if (keep > 0) wall_offset = std::max(wall_offset, h5::read<double>(step_wall).back());
}

void run_log::impl::snapshot(int epoch) {
  if (probe_count > 0) {
    const tensor<float>& z = net.forward(probe);  // logits [K, output...]
    for (std::size_t i = 0; i < recon_buf.size(); ++i)
      recon_buf[i] = to_pixel(logistic(static_cast<double>(z[static_cast<std::int64_t>(i)])));
    h5::append(probe_recon, recon_buf.data(), 1);
    for (const auto& s : sites) h5::append(s.probe, net.activation(s.activation).data(), 1);
    append_one<std::int32_t>(probe_epochs, epoch);
  }
  weights.append(epoch);
}

void run_log::impl::close_all() {
  if (closed) return;
  closed = true;
  for (h5::dataset* ds : {&step_step, &step_epoch, &step_loss, &step_reconstruction, &step_penalty, &step_lr,
                          &step_wall, &ep_epoch, &ep_loss, &ep_reconstruction, &ep_penalty, &ep_test_bce,
                          &ep_test_bce_ref, &ep_test_mse, &ep_train_seconds, &ep_test_seconds, &ep_wall,
                          &ep_site_penalty, &probe_epochs, &probe_recon})
    *ds = {};
  sites.clear();
  weights = {};
  file.close();
}

// ---- run_log ----

run_log::run_log(std::unique_ptr<impl> p) : p_(std::move(p)) {}
run_log::run_log(run_log&&) noexcept = default;

run_log::~run_log() {
  if (!p_) return;
  try {
    close();
  } catch (...) {  // a destructor must not throw; close() reports
  }
}

run_log::run_log(const std::filesystem::path& path, const experiment_config& cfg, std::string resolved_ini,
                 network<float>& net, const tensor<float>& test_images, const objective<float>& obj,
                 const run_log_info& info) {
  auto p = std::make_unique<impl>(net, h5::file::create(path));
  p->configure(cfg, info, test_images);
  p->create_layout(cfg, resolved_ini, obj, info);
  p->open_layout(path);
  p->file.start_swmr();
  p->flush();
  p_ = std::move(p);
}

run_log run_log::reopen(const std::filesystem::path& path, const experiment_config& cfg, network<float>& net,
                        const tensor<float>& test_images, const objective<float>& obj, const run_log_info& info,
                        resume_point at) {
  auto p = std::make_unique<impl>(net, h5::file::open_rw(path));
  const h5::file& f = p->file;
  if (!h5::has_attr(f, "schema") || h5::read_attr_string(f, "schema") != "saelab.run")
    refuse(path, "it is not a saelab run log (no schema = saelab.run)");
  if (const auto v = h5::read_attr_int(f, "schema_version"); v != schema_version)
    refuse(path, fmt::format("its schema_version is {}, this program writes {}", v, schema_version));
  p->configure(cfg, info, test_images);
  if (h5::has_attr(f, "snapshot_every") && info.snapshot_every == 0)
    p->snapshot_every = static_cast<int>(h5::read_attr_int(f, "snapshot_every"));  // keep the run's rule
  if (h5::read<std::int64_t>(f, "/probe/indices") != p->probe_rows)
    refuse(path, "its probe images differ from this run's (another seed or test set)");
  p->open_layout(path);
  std::vector<std::string> penalised;
  for (const auto& s : obj.sites()) penalised.push_back(s.name);
  const std::string have = p->ep_site_penalty ? h5::read_attr_string(p->ep_site_penalty, "sites") : "";
  if (have != join(penalised))
    refuse(path, fmt::format("it logs penalties of sites [{}], this run penalises [{}]", have, join(penalised)));
  p->truncate(path, at);
  auto resumes = h5::read_attr_ints(f, "resumed_after_epochs");
  resumes.push_back(at.epochs);
  h5::write_attr_ints(f, "resumed_after_epochs", resumes);
  h5::write_attr_string(f, "status", to_string(log_status::log_status_running));
  p->file.start_swmr();
  p->flush();
  p->started = clock_type::now();
  return run_log(std::move(p));
}

void run_log::on_step(const step_record& s) {
  impl& p = *p_;
  if (s.step % p.every_steps != 0 && s.batch + 1 != s.batches) return;
  append_one<std::int32_t>(p.step_epoch, s.epoch + 1);
  append_one(p.step_loss, s.loss);
  append_one(p.step_reconstruction, s.reconstruction);
  append_one(p.step_penalty, s.penalty);
  append_one(p.step_lr, s.learning_rate);
  append_one(p.step_wall, p.wall());
  append_one<std::int64_t>(p.step_step, s.step);  // last: a row is complete once its step is there
  if (std::chrono::duration<double>(clock_type::now() - p.last_flush).count() >= flush_seconds) p.flush();
}

void run_log::on_epoch(const epoch_record& e) {
  impl& p = *p_;
  const int epoch = e.epoch + 1;
  if (e.test.activity.size() != p.sites.size())
    throw std::logic_error(fmt::format("run_log: {} activity records for {} sites", e.test.activity.size(),
                                       p.sites.size()));
  if (e.site_penalty.size() != p.penalised)
    throw std::logic_error(fmt::format("run_log: {} site penalties for {} penalised sites", e.site_penalty.size(),
                                       p.penalised));
  for (std::size_t i = 0; i < p.sites.size(); ++i) {
    const auto& s = p.sites[i];
    const site_activity& a = e.test.activity[i];
    if (a.rho_hat.size() != product(s.shape))
      throw std::logic_error(fmt::format("run_log: site {}: {} units, expected {}", s.name, a.rho_hat.size(),
                                         product(s.shape)));
    h5::append(s.rho_hat, convert<float>(a.rho_hat).data(), 1);
    h5::append(s.active_fraction, convert<float>(a.active_fraction).data(), 1);
    h5::append(s.dead, a.dead.data(), 1);
    h5::append(s.lifetime_sparsity, convert<float>(a.lifetime_sparsity).data(), 1);
    h5::append(s.mean_when_active, convert<float>(a.mean_when_active).data(), 1);
    append_one(s.l0, a.l0);
    append_one(s.dead_fraction, a.dead_fraction);
    append_one(s.dense_fraction, a.dense_fraction);
    append_one(s.population_sparsity, a.population_sparsity);
    h5::append(s.histogram, a.rho_hat_histogram.data(), 1);
  }
  if (p.ep_site_penalty) h5::append(p.ep_site_penalty, e.site_penalty.data(), 1);
  append_one(p.ep_loss, e.loss);
  append_one(p.ep_reconstruction, e.reconstruction);
  append_one(p.ep_penalty, e.penalty);
  append_one(p.ep_test_bce, e.test.bce);
  append_one(p.ep_test_bce_ref, e.test.bce_reference);
  append_one(p.ep_test_mse, e.test.mse);
  append_one(p.ep_train_seconds, e.train_seconds);
  append_one(p.ep_test_seconds, e.test_seconds);
  append_one(p.ep_wall, p.wall());
  if (snapshot_epoch(epoch, p.epochs_planned, p.snapshot_every)) p.snapshot(epoch);
  append_one<std::int32_t>(p.ep_epoch, epoch);  // last: the epoch is complete once it is listed
  p.flush();
}

void run_log::set_status(log_status s) {
  if (!p_ || p_->closed) throw std::logic_error("run_log::set_status after close");
  h5::write_attr_string(p_->file, "status", to_string(s));
  p_->flush();
}

void run_log::close() {
  if (!p_ || p_->closed) return;
  try {
    p_->flush();
  } catch (...) {  // still close every handle now, then report the flush
    try {
      p_->close_all();
    } catch (...) {
    }
    throw;
  }
  p_->close_all();
}

}  // namespace saelab
