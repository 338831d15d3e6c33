#include "log/weight_log.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "log/h5_scales.hpp"
#include "log/series.hpp"

namespace saelab {

namespace {

using series::product;
using series::shape_text;

constexpr hsize_t chunk_bytes = 1 << 20;
constexpr hsize_t epoch_chunk_rows = 64;

// The dims a tensor is logged with, and its axis names. A linear layer on a
// one-channel image logs each unit's weights as an image too, [out, H, W]
// (the same bytes as [out, H * W]), so a viewer shows every unit as a filter.
struct logged_shape {
  h5::extent dims;
  std::vector<std::string> axes;
  std::string note;
};

logged_shape logged_shape_of(const network<float>& net, const network<float>::parameter& p) {
  logged_shape out;
  for (int a = 0; a < p.tensor.dims.rank(); ++a) out.dims.push_back(static_cast<hsize_t>(p.tensor.dims[a]));
  for (std::size_t a = 0; a <= p.tensor.axes.size();) {
    const std::size_t end = std::min(p.tensor.axes.find(", ", a), p.tensor.axes.size());
    out.axes.push_back(p.tensor.axes.substr(a, end - a));
    a = end + 2;
  }
  const shape& in = net.activation_shape(p.layer);
  if (net.at(p.layer).kind() == "linear" && p.tensor.name == "weight" && in.rank() == 3 && in[0] == 1) {
    out.dims = {out.dims[0], static_cast<hsize_t>(in[1]), static_cast<hsize_t>(in[2])};
    out.axes = {"out", "row", "column"};
    out.note = "; each unit's weights as an image";
  }
  return out;
}

std::string path_of(const network<float>::parameter& p) { return fmt::format("/weights/{}/{}", p.group, p.tensor.name); }

}  // namespace

void weight_log::create(const h5::file& f, const network<float>& net) {
  auto wg = h5::create_group(f, "/weights");
  h5::write_attr_string(wg, "description",
                        "parameter snapshots at snapshot epochs, one group per layer, named as in checkpoints");
  auto epochs = h5::create_series<std::int32_t>(f, "/weights/epochs", {}, epoch_chunk_rows, false);
  h5::set_description(epochs, "epoch", "the epoch after which each snapshot was taken");
  h5::label_axes(epochs, std::vector<std::string>{"snapshot"});
  h5::make_scale(epochs, "epoch");
  int open_layer = -1;
  for (const auto& p : net.parameter_list()) {
    if (p.layer != open_layer) {
      auto g = h5::create_group(f, "/weights/" + p.group);
      h5::write_attr_string(g, "layer", net.at(p.layer).describe());
      h5::write_attr_int(g, "param_offset", net.param_offset(p.layer));
      h5::write_attr_string(g, "description", fmt::format("layer {}: {}", p.layer, net.at(p.layer).describe()));
      open_layer = p.layer;
    }
    const logged_shape ls = logged_shape_of(net, p);
    h5::extent chunk = ls.dims;
    const hsize_t row_bytes = std::max<hsize_t>(product(ls.dims) / ls.dims[0] * sizeof(float), 1);
    chunk[0] = std::clamp<hsize_t>(chunk_bytes / row_bytes, 1, ls.dims[0]);
    auto ds = series::create_stack<float>(f, path_of(p), ls.dims, chunk);
    h5::set_description(ds, "1", fmt::format("{} {}, axes [snapshot, {}]{}", p.tensor.name, shape_text(ls.dims),
                                             fmt::join(ls.axes, ", "), ls.note));
    std::vector<std::string> labels{"epoch"};
    labels.insert(labels.end(), ls.axes.begin(), ls.axes.end());
    h5::label_axes(ds, labels);
    h5::attach_scale(ds, epochs, 0);
    // The fc encoder's filters under the name a reader looks for (a link, not a copy).
    if (p.layer == 0 && ls.dims.size() == 3 && p.tensor.name == "weight")
      h5::create_soft_link(f, path_of(p), "/weights/encoder_filters");
  }
}

weight_log::weight_log(const h5::file& f, const network<float>& net, const std::filesystem::path& path) : net_(&net) {
  const auto open = [&](const std::string& name) { return series::open_or_refuse(f, path, name); };
  epochs_ = open("/weights/epochs");
  for (const auto& p : net.parameter_list()) {
    tensor_set t{p.tensor.offset, open(path_of(p))};
    const h5::extent d = h5::dims(t.data), want = logged_shape_of(net, p).dims;
    if (h5::extent(d.begin() + 1, d.end()) != want)
      series::refuse(path, fmt::format("{} has shape {}, this network's {}", path_of(p),
                                       shape_text(h5::extent(d.begin() + 1, d.end())), shape_text(want)));
    tensors_.push_back(std::move(t));
  }
}

void weight_log::append(int epoch) {
  if (net_ == nullptr) throw std::logic_error("weight_log::append on a log that holds nothing");
  const float* params = net_->params().data();
  for (const auto& t : tensors_) h5::append(t.data, params + t.offset, 1);
  series::append_one<std::int32_t>(epochs_, epoch);
}

void weight_log::truncate(const std::filesystem::path& path, int epochs) {
  const auto e = h5::read<std::int32_t>(epochs_);
  const auto keep = static_cast<hsize_t>(std::find_if(e.begin(), e.end(), [&](std::int32_t v) { return v > epochs; }) -
                                         e.begin());
  for (const auto& t : tensors_) series::truncate_rows(path, t.data, keep);
  series::truncate_rows(path, epochs_, keep);
}

}  // namespace saelab
