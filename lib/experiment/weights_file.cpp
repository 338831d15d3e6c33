#include "experiment/weights_file.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "config/printable.hpp"
#include "io/fnv1a.hpp"
#include "io/input_file.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

h5::extent extent_of(const shape& s) {
  h5::extent e;
  for (int a = 0; a < s.rank(); ++a) e.push_back(static_cast<hsize_t>(s[a]));
  return e;
}

std::string text_of(const h5::extent& e) { return fmt::format("[{}]", fmt::join(e, ", ")); }

// Groups under /layers that hold datasets, in name order.
std::vector<std::string> stored_groups(const h5::object& file) {
  std::vector<std::string> out;
  for (const std::string& name : h5::members(h5::open_group(file, "/layers")))
    if (!h5::members(h5::open_group(file, "/layers/" + name)).empty()) out.push_back(name);
  return out;
}

}  // namespace

std::string tensor_checksum(const float* p, std::int64_t n) {
  return fmt::format("fnv1a64:{:016x}", fnv1a(p, static_cast<std::size_t>(n) * sizeof(float)));
}

std::vector<std::string> write_layer_tensors(const h5::object& file, const network<float>& net) {
  std::vector<std::string> sums;
  {  // each group closed before the next: see h5::file::close
    auto layers = h5::create_group(file, "/layers");
    h5::set_description(layers, "", "each layer's parameters in PyTorch's shapes, under network::layer_name");
  }
  const float* p = net.params().data();
  int open_layer = -1;
  for (const auto& t : net.parameter_list()) {
    const std::string group = "/layers/" + t.group;
    if (t.layer != open_layer) {
      auto g = h5::create_group(file, group);
      h5::write_attr_string(g, "layer", net.at(t.layer).describe());
      open_layer = t.layer;
    }
    const std::int64_t n = t.tensor.dims.numel();
    auto ds = h5::write_array<float>(file, group + "/" + t.tensor.name, extent_of(t.tensor.dims),
                                     std::span<const float>(p + t.tensor.offset, static_cast<std::size_t>(n)));
    h5::set_description(ds, "", fmt::format("{} [{}]", t.tensor.name, t.tensor.axes));
    h5::write_attr_string(ds, "axes", t.tensor.axes);
    sums.push_back(tensor_checksum(p + t.tensor.offset, n));
    h5::write_attr_string(ds, "checksum", sums.back());
  }
  return sums;
}

layer_tensors read_layer_tensors(const h5::object& file, const fs::path& path, const network<float>& net,
                                 bool by_name) {
  const auto fail = [&](const std::string& what) {
    throw checkpoint_error(fmt::format("{}: {}", path.string(), what));
  };
  if (!h5::exists(file, "/layers")) fail("no /layers group: expected the per-layer layout of docs/weights.md");
  const auto wanted = net.parameter_list();
  // Which stored group holds each layer's tensors.
  std::vector<std::string> groups;
  for (std::size_t i = 0; i < wanted.size(); ++i)
    if (i == 0 || wanted[i].group != wanted[i - 1].group) groups.push_back(wanted[i].group);
  std::vector<std::string> stored = groups;
  if (!by_name) {
    stored = stored_groups(file);
    if (stored.size() != groups.size())
      fail(fmt::format("/layers holds {} groups with tensors ({}), this model has {} layers with parameters ({})",
                       stored.size(), printable(fmt::format("{}", fmt::join(stored, ", "))), groups.size(),
                       fmt::join(groups, ", ")));
  }
  layer_tensors out;
  out.params.assign(static_cast<std::size_t>(net.params().numel()), 0.0f);
  for (const auto& t : wanted) {
    const auto g = static_cast<std::size_t>(std::find(groups.begin(), groups.end(), t.group) - groups.begin());
    const std::string name = "/layers/" + stored[g] + "/" + t.tensor.name;
    if (!h5::exists(file, name)) fail(fmt::format("no {} (for layer {})", printable(name), t.group));
    auto ds = h5::open_dataset(file, name);
    // A file declares any extent for free: check it before reading.
    const h5::extent have = h5::dims(ds), want = extent_of(t.tensor.dims);
    if (have != want)
      fail(fmt::format("{} has shape {}, layer {} needs {} ({})", printable(name), text_of(have), t.group,
                       text_of(want), t.tensor.axes));
    const std::vector<float> v = h5::read<float>(ds);
    const std::string sum = tensor_checksum(v.data(), static_cast<std::int64_t>(v.size()));
    if (h5::has_attr(ds, "checksum")) {
      if (h5::read_attr_string(ds, "checksum") != sum) fail(fmt::format("{} does not match its checksum", printable(name)));
    } else if (by_name) {
      fail(fmt::format("{} has no checksum attribute", printable(name)));
    }
    std::memcpy(out.params.data() + t.tensor.offset, v.data(), v.size() * sizeof(float));
    out.checksums.push_back(sum);
  }
  return out;
}

void init_from_file(const fs::path& path, network<float>& net) {
  try {
    check_input_file(path, "a weights file (model.init_from)");
  } catch (const input_error& e) {
    throw checkpoint_error(e.what());
  }
  layer_tensors t;
  try {
    const auto f = h5::file::open_read(path);
    t = read_layer_tensors(f, path, net, false);
  } catch (const h5::error& e) {
    throw checkpoint_error(fmt::format("{}: not a readable weights file: {}", path.string(), e.what()));
  }
  std::memcpy(net.params().data(), t.params.data(), t.params.size() * sizeof(float));
}

}  // namespace saelab
