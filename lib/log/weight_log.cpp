#include "log/weight_log.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/linear.hpp"
#include "log/h5_scales.hpp"
#include "log/series.hpp"

namespace saelab {

namespace {

using series::product;
using series::shape_text;

constexpr hsize_t chunk_bytes = 1 << 20;
constexpr hsize_t epoch_chunk_rows = 64;

// ---- parameter layout: extend here for a new layer kind ----

struct param_layout {
  std::string kind;    // "linear", "conv2d", "conv_transpose2d"; "params" when unknown
  h5::extent weight;   // dims of the weight, the first part of the layer's flat slice
  h5::extent bias;     // dims of the bias that follows it; empty when none
  std::string axes;    // what the weight's axes are
  std::string note = {};
};

// The square kernel size k with count = a * b * k * k + b, from the layer's
// parameter count and its channel counts (conv layers do not expose k).
std::int64_t kernel_size(std::int64_t count, std::int64_t a, std::int64_t b) {
  const std::int64_t kk = (count - b) / (a * b);
  auto k = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(kk))));
  return k * k * a * b + b == count ? k : 0;
}

param_layout param_layout_of(const network<float>& net, int i) {
  const layer<float>& l = net.at(i);
  const std::int64_t count = l.param_count();
  const shape &in = net.activation_shape(i), &out = net.activation_shape(i + 1);
  const auto u = [](std::int64_t v) { return static_cast<hsize_t>(v); };
  if (const auto* lin = dynamic_cast<const linear<float>*>(&l)) {
    const hsize_t o = u(lin->out_features());
    // On a one-channel image each unit's weights are an image too: [out, H, W]
    // (HDFView shows every unit as a filter; the same bytes as [out, H * W]).
    if (in.rank() == 3 && in[0] == 1 && in.numel() == lin->in_features())
      return {"linear", {o, u(in[1]), u(in[2])}, {o}, "out, row, column", "; each unit's weights as an image"};
    return {"linear", {o, u(lin->in_features())}, {o}, "out, in"};
  }
  if (in.rank() == 3 && out.rank() == 3) {
    const std::int64_t ci = in[0], co = out[0];
    if (dynamic_cast<const conv2d<float>*>(&l) != nullptr) {
      if (const std::int64_t k = kernel_size(count, ci, co))
        return {"conv2d", {u(co), u(ci), u(k), u(k)}, {u(co)}, "out, in, kh, kw"};
    } else if (dynamic_cast<const conv_transpose2d<float>*>(&l) != nullptr) {
      if (const std::int64_t k = kernel_size(count, ci, co))
        return {"conv_transpose2d", {u(ci), u(co), u(k), u(k)}, {u(co)}, "in, out, kh, kw"};
    }
  }
  return {"params", {u(count)}, {}, "the layer's flat parameter slice"};
}

std::string group_of(int i, const param_layout& pl) { return fmt::format("/weights/{}_{}", i, pl.kind); }

}  // namespace

void weight_log::create(const h5::file& f, const network<float>& net) {
  auto wg = h5::create_group(f, "/weights");
  h5::write_attr_string(wg, "description",
                        "parameter snapshots at snapshot epochs, one group per layer: <layer index>_<kind>");
  auto epochs = h5::create_series<std::int32_t>(f, "/weights/epochs", {}, epoch_chunk_rows, false);
  h5::set_description(epochs, "epoch", "the epoch after which each snapshot was taken");
  h5::label_axes(epochs, std::vector<std::string>{"snapshot"});
  h5::make_scale(epochs, "epoch");
  // Axis 0 of every snapshot is its epoch; the others are named after pl.axes.
  const auto axes = [&](const h5::dataset& ds, std::vector<std::string> labels) {
    h5::label_axes(ds, labels);
    h5::attach_scale(ds, epochs, 0);
  };
  for (int i = 0; i < net.size(); ++i) {
    if (net.at(i).param_count() == 0) continue;
    const param_layout pl = param_layout_of(net, i);
    const std::string base = group_of(i, pl);
    auto g = h5::create_group(f, base);
    h5::write_attr_string(g, "layer", net.at(i).describe());
    h5::write_attr_int(g, "param_offset", net.param_offset(i));
    h5::write_attr_string(g, "description", fmt::format("layer {}: {}", i, net.at(i).describe()));
    h5::extent chunk = pl.weight;
    const hsize_t row_bytes = std::max<hsize_t>(product(pl.weight) / pl.weight[0] * sizeof(float), 1);
    chunk[0] = std::clamp<hsize_t>(chunk_bytes / row_bytes, 1, pl.weight[0]);
    const std::string what = pl.kind == "params" ? pl.axes
                                                 : fmt::format("weight {}, axes [snapshot, {}]{}",
                                                               shape_text(pl.weight), pl.axes, pl.note);
    auto weight = series::create_stack<float>(g, "weight", pl.weight, chunk);
    h5::set_description(weight, "1", what);
    std::vector<std::string> labels{"epoch"};
    if (pl.kind == "params") labels.push_back("parameter");
    for (std::size_t a = 0; pl.kind != "params" && a <= pl.axes.size();) {
      const std::size_t end = std::min(pl.axes.find(", ", a), pl.axes.size());
      labels.push_back(pl.axes.substr(a, end - a));
      a = end + 2;
    }
    axes(weight, labels);
    if (!pl.bias.empty()) {
      auto bias = series::create_stack<float>(g, "bias", pl.bias, pl.bias);
      h5::set_description(bias, "1", "bias, axes [snapshot, out]");
      axes(bias, {"epoch", "out"});
    }
    // The fc encoder's filters under the name a reader looks for (a link, not a copy).
    if (i == 0 && pl.kind == "linear" && pl.weight.size() == 3)
      h5::create_soft_link(f, base + "/weight", "/weights/encoder_filters");
  }
}

weight_log::weight_log(const h5::file& f, const network<float>& net, const std::filesystem::path& path) : net_(&net) {
  const auto open = [&](const std::string& name) { return series::open_or_refuse(f, path, name); };
  epochs_ = open("/weights/epochs");
  for (int i = 0; i < net.size(); ++i) {
    if (net.at(i).param_count() == 0) continue;
    const param_layout pl = param_layout_of(net, i);
    const std::string base = group_of(i, pl) + "/";
    layer_sets w;
    w.offset = net.param_offset(i);
    w.weight_count = static_cast<std::int64_t>(product(pl.weight));
    const auto bias_count = static_cast<std::int64_t>(pl.bias.empty() ? 0 : product(pl.bias));
    if (w.weight_count + bias_count != net.at(i).param_count())
      throw std::logic_error(fmt::format("weight_log: parameter layout of layer {} does not cover its parameters", i));
    w.weight = open(base + "weight");
    const h5::extent d = h5::dims(w.weight);
    if (h5::extent(d.begin() + 1, d.end()) != pl.weight)
      series::refuse(path, fmt::format("{}weight has shape {}, this network's {}", base,
                                       shape_text(h5::extent(d.begin() + 1, d.end())), shape_text(pl.weight)));
    if (bias_count > 0) w.bias = open(base + "bias");
    layers_.push_back(std::move(w));
  }
}

void weight_log::append(int epoch) {
  if (net_ == nullptr) throw std::logic_error("weight_log::append on a log that holds nothing");
  const float* params = net_->params().data();
  for (const auto& w : layers_) {
    h5::append(w.weight, params + w.offset, 1);
    if (w.bias) h5::append(w.bias, params + w.offset + w.weight_count, 1);
  }
  series::append_one<std::int32_t>(epochs_, epoch);
}

void weight_log::truncate(const std::filesystem::path& path, int epochs) {
  const auto e = h5::read<std::int32_t>(epochs_);
  const auto keep = static_cast<hsize_t>(std::find_if(e.begin(), e.end(), [&](std::int32_t v) { return v > epochs; }) -
                                         e.begin());
  for (const auto& w : layers_) {
    series::truncate_rows(path, w.weight, keep);
    if (w.bias) series::truncate_rows(path, w.bias, keep);
  }
  series::truncate_rows(path, epochs_, keep);
}

}  // namespace saelab
