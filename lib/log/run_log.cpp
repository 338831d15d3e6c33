#include "log/run_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "data/minibatcher.hpp"
#include "io/utc_timestamp.hpp"
#include "layers/activation.hpp"
#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/linear.hpp"
#include "log/h5.hpp"
#include "log/h5_scales.hpp"
#include "log/run_series.hpp"
#include "log/series.hpp"
#include "log/weight_log.hpp"
#include "tensor/rng.hpp"

namespace saelab {

namespace {

using series::append_one;
using series::create_stack;
using series::refuse;
using series::truncate_rows;
using clock_type = std::chrono::steady_clock;

constexpr std::int64_t schema_version = 2;  // 2: image-shaped weights of a linear layer on the image
constexpr std::size_t status_reserve = 16;  // bytes: "interrupted" and room to spare
constexpr double flush_seconds = 30;        // on_step flushes at most this often
constexpr hsize_t epoch_chunk_rows = 64;

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

std::uint8_t to_pixel(double v) {
  return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
}

// [1, H, W] or [H, W] per-sample input -> {H, W}.
std::pair<hsize_t, hsize_t> image_size(const shape& in) {
  if (in.rank() == 3 && in[0] == 1) return {static_cast<hsize_t>(in[1]), static_cast<hsize_t>(in[2])};
  if (in.rank() == 2) return {static_cast<hsize_t>(in[0]), static_cast<hsize_t>(in[1])};
  throw std::invalid_argument(fmt::format("run_log: the network input {} is not one grayscale image", in.str()));
}

void label(const h5::dataset& ds, std::initializer_list<std::string> axes) {
  h5::label_axes(ds, std::vector<std::string>(axes));
}

}  // namespace

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
  struct site_probe {
    int activation = 0;
    h5::dataset probe;  // /probe/activations/<name>
  };

  impl(network<float>& n, h5::file f) : net(n), file(std::move(f)) {}

  network<float>& net;
  h5::file file;
  bool closed = false;
  int every_steps = 1, epochs_planned = 0, snapshot_every = 1;
  clock_type::time_point started = clock_type::now(), last_flush = clock_type::now();
  double wall_offset = 0;  // seconds logged before a resume

  series_layout layout;
  run_series sets;  // /steps, /epochs, /sites: the rows of run_schema()
  std::vector<site_probe> sites;

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

  void configure(const experiment_config& cfg, const run_log_info& info, const tensor<float>& test_images,
                 const std::vector<penalty_info>& penalties);
  void create_layout(const experiment_config& cfg, const std::string& ini, const std::vector<penalty_info>& penalties,
                     const run_log_info& info);
  void open_layout(const std::filesystem::path& path);
  void truncate(const std::filesystem::path& path, resume_point at);
  void snapshot(int epoch);
  void close_all();
};

// Settings and the probe batch, shared by a new and a reopened log.
void run_log::impl::configure(const experiment_config& cfg, const run_log_info& info,
                              const tensor<float>& test_images, const std::vector<penalty_info>& penalties) {
  layout.loss_units = cfg.train.loss == loss_kind::bce ? bce_units : mse_units;
  layout.active_threshold = cfg.log.active_threshold;
  layout.every_steps = std::max(1, cfg.log.every_steps);
  for (const auto& s : net.sites()) layout.sites.push_back({s.name, extent_of(net.activation_shape(s.activation))});
  for (const auto& p : penalties) layout.penalised.push_back(p.site);
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
                                  const std::vector<penalty_info>& penalties, const run_log_info& info) {
  const h5::file& f = file;
  h5::write_attr_string(f, "schema", "saelab.run");
  h5::write_attr_int(f, "schema_version", schema_version);
  h5::write_attr_string(f, "program_version", info.program_version);
  h5::write_attr_string(f, "git_revision", info.git_revision);
  h5::write_attr_int(f, "seed", static_cast<std::int64_t>(cfg.run.seed));
  h5::write_attr_string(f, "start_time", utc_timestamp());
  h5::write_attr_string(f, "status", to_string(run_status::running), status_reserve);
  h5::write_attr_int(f, "epochs_planned", cfg.train.epochs);
  h5::write_attr_ints(f, "resumed_after_epochs", std::vector<std::int64_t>{});
  h5::write_attr_int(f, "snapshot_every", snapshot_every);
  h5::set_description(h5::write_string(f, "/config", ini), "", "the resolved config (INI): sae-train reruns it");

  auto sites_group = h5::create_group(f, "/sites");
  std::vector<std::string> names;
  for (const auto& s : net.sites()) names.push_back(s.name);
  h5::write_attr_string(sites_group, "description", "hidden-unit activity on the test set, one row per epoch");
  h5::write_attr_string(sites_group, "names", join(names));
  for (const auto& s : net.sites()) {
    auto g = h5::create_group(f, "/sites/" + s.name);
    const shape& sh = net.activation_shape(s.activation);
    const h5::extent row = extent_of(sh);
    h5::write_attr_ints(g, "shape", std::vector<std::int64_t>(row.begin(), row.end()));
    std::string penalty;
    for (const auto& p : penalties)
      if (p.site == s.name) penalty = p.description;
    h5::write_attr_int(g, "penalised", penalty.empty() ? 0 : 1);
    h5::write_attr_string(g, "penalty", penalty);
    h5::write_attr_string(g, "layer", net.at(s.activation - 1).describe());
    h5::write_attr_double(g, "active_threshold", cfg.log.active_threshold);
    h5::write_attr_string(g, "description", fmt::format("site {}: output of layer {}, {} units per input", s.name,
                                                        s.activation - 1, sh.numel()));
  }
  run_series::create(f, layout);

  // Probe: fixed images, then snapshots.
  auto pg = h5::create_group(f, "/probe");
  h5::write_attr_string(pg, "description",
                        "a fixed set of test images, their reconstructions and activations at snapshot epochs");
  auto indices = h5::write_array<std::int64_t>(f, "/probe/indices", {probe_count}, probe_rows);
  h5::set_description(indices, "index", "rows of the test set, drawn with rng(run.seed), sorted");
  label(indices, {"probe image"});
  h5::make_scale(indices, "test-set row");
  std::vector<std::uint8_t> pixels(probe_count * img_h * img_w);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = to_pixel(probe[static_cast<std::int64_t>(i)]);
  if (probe_count > 0) {
    auto images = h5::write_array<std::uint8_t>(f, "/probe/images", {probe_count, img_h, img_w}, pixels, true);
    h5::mark_image(images);
    h5::set_description(images, "pixel", "the probe images, 0-255; axes [probe image, row, column]");
    label(images, {"probe image", "row", "column"});  // no scale: H5DS refuses CLASS=IMAGE datasets
    auto epochs_axis = h5::create_series<std::int32_t>(f, "/probe/epochs", {}, epoch_chunk_rows, false);
    h5::set_description(epochs_axis, "epoch", "the epoch after which each snapshot was taken");
    label(epochs_axis, {"snapshot"});
    h5::make_scale(epochs_axis, "epoch");
    auto recon = create_stack<std::uint8_t>(f, "/probe/reconstructions", {probe_count, img_h, img_w},
                                            {probe_count, img_h, img_w});
    h5::set_description(recon, "pixel",
                        "sigmoid output * 255 for the probe images; axes [snapshot, probe image, row, column]");
    label(recon, {"epoch", "probe image", "row", "column"});
    h5::attach_scale(recon, epochs_axis, 0);
    h5::attach_scale(recon, indices, 1);
    for (const auto& s : net.sites()) {
      const h5::extent units = extent_of(net.activation_shape(s.activation));
      h5::extent row{probe_count}, chunk{1};
      for (hsize_t d : units) row.push_back(d), chunk.push_back(d);
      auto act = create_stack<float>(f, "/probe/activations/" + s.name, row, chunk);
      h5::set_description(act, "activation",
                          fmt::format("site {} on the probe images; axes [snapshot, probe image, unit axes...]", s.name));
      std::vector<std::string> axes{"epoch", "probe image"};
      for (auto& a : unit_axes(units.size())) axes.push_back(std::move(a));
      h5::label_axes(act, axes);
      h5::attach_scale(act, epochs_axis, 0);
      h5::attach_scale(act, indices, 1);
    }
  }

  weight_log::create(f, net);
}

// Opens every dataset of the layout; checks it fits this network.
void run_log::impl::open_layout(const std::filesystem::path& path) {
  const h5::file& f = file;
  std::vector<std::string> names;
  for (const auto& s : net.sites()) names.push_back(s.name);
  const std::string have = h5::read_attr_string(h5::open_group(f, "/sites"), "names");
  if (have != join(names)) refuse(path, fmt::format("its sites are [{}], this network's [{}]", have, join(names)));
  sets = run_series(f, path, layout);
  sites.clear();
  for (const auto& s : net.sites()) {
    site_probe sp;
    sp.activation = s.activation;
    if (probe_count > 0) sp.probe = series::open_or_refuse(f, path, "/probe/activations/" + s.name);
    sites.push_back(std::move(sp));
  }
  if (probe_count > 0) {
    probe_epochs = series::open_or_refuse(f, path, "/probe/epochs");
    probe_recon = series::open_or_refuse(f, path, "/probe/reconstructions");
  }
  weights = weight_log(f, net, path);
}

// Cuts every series back to `at`. Within an epoch (and a step) the series
// are appended in a fixed order with /epochs/epoch, /steps/step,
// /probe/epochs and /weights/epochs last, so those say what is complete.
void run_log::impl::truncate(const std::filesystem::path& path, resume_point at) {
  sets.truncate(path, at.epochs, at.steps);
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

  // Wall time continues from the last kept row.
  const auto ep_wall = h5::read<double>(sets.find(series_group::epochs, "wall_time"));
  const auto step_wall = h5::read<double>(sets.find(series_group::steps, "wall_time"));
  wall_offset = 0;
  if (!ep_wall.empty()) wall_offset = ep_wall.back();
  if (!step_wall.empty()) wall_offset = std::max(wall_offset, step_wall.back());
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
  sets = {};
  probe_epochs = {};
  probe_recon = {};
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
                 network<float>& net, const tensor<float>& test_images, const std::vector<penalty_info>& penalties,
                 const run_log_info& info) {
  auto p = std::make_unique<impl>(net, h5::file::create(path));
  p->configure(cfg, info, test_images, penalties);
  p->create_layout(cfg, resolved_ini, penalties, info);
  p->open_layout(path);
  p->file.start_swmr();
  p->flush();
  p_ = std::move(p);
}

run_log run_log::reopen(const std::filesystem::path& path, const experiment_config& cfg, network<float>& net,
                        const tensor<float>& test_images, const std::vector<penalty_info>& penalties, const run_log_info& info,
                        resume_point at) {
  auto p = std::make_unique<impl>(net, h5::file::open_rw(path));
  const h5::file& f = p->file;
  if (!h5::has_attr(f, "schema") || h5::read_attr_string(f, "schema") != "saelab.run")
    refuse(path, "it is not a saelab run log (no schema = saelab.run)");
  if (const auto v = h5::read_attr_int(f, "schema_version"); v != schema_version)
    refuse(path, fmt::format("its schema_version is {}, this program writes {}", v, schema_version));
  p->configure(cfg, info, test_images, penalties);
  if (h5::has_attr(f, "snapshot_every") && info.snapshot_every == 0)
    p->snapshot_every = static_cast<int>(h5::read_attr_int(f, "snapshot_every"));  // keep the run's rule
  if (h5::read<std::int64_t>(f, "/probe/indices") != p->probe_rows)
    refuse(path, "its probe images differ from this run's (another seed or test set)");
  p->open_layout(path);
  p->truncate(path, at);
  auto resumes = h5::read_attr_ints(f, "resumed_after_epochs");
  resumes.push_back(at.epochs);
  h5::write_attr_ints(f, "resumed_after_epochs", resumes);
  h5::write_attr_string(f, "status", to_string(run_status::running));
  p->file.start_swmr();
  p->flush();
  p->started = clock_type::now();
  return run_log(std::move(p));
}

void run_log::on_step(const step_record& s) {
  impl& p = *p_;
  if (s.step % p.every_steps != 0 && s.batch + 1 != s.batches) return;
  p.sets.append_step(s, p.wall());
  if (std::chrono::duration<double>(clock_type::now() - p.last_flush).count() >= flush_seconds) p.flush();
}

void run_log::on_epoch(const epoch_record& e) {
  impl& p = *p_;
  const int epoch = e.epoch + 1;
  p.sets.append_epoch(e, p.wall());
  if (snapshot_epoch(epoch, p.epochs_planned, p.snapshot_every)) p.snapshot(epoch);
  p.sets.finish_epoch(e);  // last: the epoch is complete once it is listed
  p.flush();
}

std::vector<double> run_log::read_f64(std::string_view path) const {
  if (!p_ || p_->closed) throw std::logic_error("run_log::read_f64 after close");
  return h5::read<double>(p_->file, path);
}

void run_log::set_status(run_status s) {
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
