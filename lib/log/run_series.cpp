#include "log/run_series.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include "train/activity.hpp"
#include "log/h5_scales.hpp"
#include "log/series.hpp"

namespace saelab {

namespace {

constexpr hsize_t step_chunk_rows = 512;  // 4 KiB of float64: uncompressed, so no bloat
constexpr hsize_t epoch_chunk_rows = 64;

// Calls f(T{}) with the row's element type.
template <class F>
decltype(auto) with_type(series_type t, F&& f) {
  switch (t) {
    case series_type::i32: return f(std::int32_t{});
    case series_type::i64: return f(std::int64_t{});
    case series_type::f32: return f(float{});
    case series_type::f64: return f(double{});
    case series_type::u8: return f(std::uint8_t{});
  }
  throw std::logic_error("run_series: unknown element type");
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The shape after the first axis, and its axis names.
h5::extent row_shape(const series_row& row, const series_layout& layout, std::size_t site) {
  switch (row.shape) {
    case series_shape::scalar: return {};
    case series_shape::units: return layout.sites.at(site).shape;
    case series_shape::histogram: return {static_cast<hsize_t>(activity_accumulator::hist_bins)};
    case series_shape::penalised_sites: return {layout.penalised.size()};
  }
  return {};
}

std::vector<std::string> axis_labels(const series_row& row, const h5::extent& shape) {
  std::vector<std::string> out{std::string(series_axis(row.group))};
  if (row.shape == series_shape::histogram) out.push_back("bin");
  if (row.shape == series_shape::penalised_sites) out.push_back("site");
  if (row.shape == series_shape::units)
    for (auto& a : unit_axes(shape.size())) out.push_back(std::move(a));
  return out;
}

std::string description(const series_row& row, const series_layout& layout) {
  std::string d(row.description);
  if (const auto at = d.find("{threshold}"); at != std::string::npos)
    d.replace(at, 11, fmt::format("{}", layout.active_threshold));
  if (row.shape == series_shape::units) d += "; axes [epoch, unit axes...]";
  return d;
}

// Every (row, site) pair the layout has, in table order.
template <class F>
void for_each_row(const series_layout& layout, F&& f) {
  for (const series_row& row : run_schema()) {
    if (row.shape == series_shape::penalised_sites && layout.penalised.empty()) continue;
    if (row.group != series_group::site) {
      f(row, 0, series_path(row));
      continue;
    }
    for (std::size_t s = 0; s < layout.sites.size(); ++s) f(row, s, series_path(row, layout.sites[s].name));
  }
}

// The groups of the steps and epochs rows, as NeXus NXdata groups (signal
// and axes name datasets in the group), so viewers plot them against their axis.
void create_groups(const h5::file& f, const series_layout& layout) {
  auto steps = h5::create_group(f, "/steps");
  h5::write_attr_string(steps, "description",
                        fmt::format("every {}-th optimiser step and the last step of each epoch", layout.every_steps));
  auto epochs = h5::create_group(f, "/epochs");
  h5::write_attr_string(epochs, "description", "one row per finished epoch; row i is epoch i + 1");
  for (const auto& [g, signal, axis] : {std::tuple{&steps, "loss", "step"}, std::tuple{&epochs, "test_bce", "epoch"}}) {
    h5::write_attr_string(*g, "NX_class", "NXdata");
    h5::write_attr_string(*g, "signal", signal);
    h5::write_attr_string(*g, "axes", axis);
  }
  h5::write_attr_string(f, "default", "epochs");
}

}  // namespace

void run_series::create(const h5::file& f, const series_layout& layout) {
  std::vector<double> edges;
  for (int b = 0; b <= activity_accumulator::hist_bins; ++b)
    edges.push_back(activity_accumulator::hist_lo +
                    (activity_accumulator::hist_hi - activity_accumulator::hist_lo) * b / activity_accumulator::hist_bins);
  create_groups(f, layout);
  h5::dataset step_axis, epoch_axis;
  for_each_row(layout, [&](const series_row& row, std::size_t site, const std::string& path) {
    const h5::extent shape = row_shape(row, layout, site);
    h5::dataset ds = with_type(row.type, [&](auto tag) {
      using T = decltype(tag);
      if (row.shape == series_shape::units) return series::create_stack<T>(f, path, shape, shape);
      const hsize_t chunk = row.group == series_group::steps ? step_chunk_rows : epoch_chunk_rows;
      return h5::create_series<T>(f, path, shape, chunk, false);  // small: uncompressed (SWMR and half-filled chunks)
    });
    h5::set_description(ds, row.units == loss_units ? std::string_view(layout.loss_units) : row.units,
                        description(row, layout));
    if (row.shape == series_shape::histogram) h5::write_attr_doubles(ds, "bin_edges_log10", edges);
    if (row.shape == series_shape::penalised_sites) h5::write_attr_string(ds, "sites", join(layout.penalised));
    h5::label_axes(ds, axis_labels(row, shape));
    h5::dataset& axis = row.group == series_group::steps ? step_axis : epoch_axis;
    if (is_axis(row)) {
      h5::make_scale(ds, series_axis(row.group));
      axis = std::move(ds);
    } else {
      if (!axis) throw std::logic_error("run_series: an axis row must come first in its group");
      h5::attach_scale(ds, axis, 0);
    }
  });
}

run_series::run_series(const h5::file& f, const std::filesystem::path& path, const series_layout& layout) {
  for (const auto& s : layout.sites) sites_.push_back(s.name);
  penalised_ = layout.penalised.size();
  const bool have_penalties = h5::exists(f, "/epochs/site_penalty");
  const std::string have =
      have_penalties ? h5::read_attr_string(h5::open_dataset(f, "/epochs/site_penalty"), "sites") : "";
  if (have != join(layout.penalised))
    series::refuse(path, fmt::format("it logs penalties of sites [{}], this run penalises [{}]", have,
                                     join(layout.penalised)));
  for_each_row(layout, [&](const series_row& row, std::size_t site, const std::string& name) {
    open_row r{&row, site, 1, series::open_or_refuse(f, path, name)};
    const h5::extent shape = row_shape(row, layout, site), d = h5::dims(r.ds);
    const std::string have = series::shape_text(d.empty() ? d : h5::extent(d.begin() + 1, d.end()));
    if (d.empty() || h5::extent(d.begin() + 1, d.end()) != shape)
      series::refuse(path, row.shape == series_shape::units
                               ? fmt::format("site {} has units {}, this network {}", sites_[site], have,
                                             series::shape_text(shape))
                               : fmt::format("{} has rows of {}, this run writes {}", name, have,
                                             series::shape_text(shape)));
    r.elements = series::product(shape);
    rows_.push_back(std::move(r));
  });
}

const h5::dataset& run_series::find(series_group g, std::string_view name) const {
  for (const auto& r : rows_)
    if (r.row->group == g && r.row->name == name) return r.ds;
  throw std::logic_error(fmt::format("run_series: no row {}", name));
}

// Within a step (an epoch) the rows are appended with the axis row last, so
// the axis says what is complete; truncating keeps the same order.
void run_series::truncate(const std::filesystem::path& path, int epochs, std::int64_t steps) {
  const auto epochs_rows = static_cast<hsize_t>(epochs);
  const auto logged = h5::read<std::int32_t>(find(series_group::epochs, "epoch"));
  if (logged.size() < epochs_rows)
    series::refuse(path, fmt::format("it holds {} finished epochs, the resume point is after epoch {} (the runner "
                                     "must finish the log's epoch before saving the checkpoint)",
                                     logged.size(), epochs));
  for (std::size_t i = 0; i < epochs_rows; ++i)
    if (logged[i] != static_cast<std::int32_t>(i + 1))
      series::refuse(path, fmt::format("/epochs/epoch[{}] is {}, not {}", i, logged[i], i + 1));
  const auto done = h5::read<std::int64_t>(find(series_group::steps, "step"));
  const auto step_rows = static_cast<hsize_t>(
      std::find_if(done.begin(), done.end(), [&](std::int64_t v) { return v > steps; }) - done.begin());
  for (bool axis : {false, true})
    for (const auto& r : rows_)
      if (is_axis(*r.row) == axis)
        series::truncate_rows(path, r.ds, r.row->group == series_group::steps ? step_rows : epochs_rows);
}

void run_series::append_group(series_group g, const series_source& src, bool axis) {
  for (const auto& r : rows_) {
    if (r.row->group != g || is_axis(*r.row) != axis) continue;
    series_source one = src;
    if (g == series_group::site) one.site = &src.epoch->test.activity.at(r.site);
    const series_value value = r.row->value(one);
    with_type(r.row->type, [&](auto tag) {
      using T = decltype(tag);
      std::visit(
          [&](const auto& x) {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, double>) {
              series::append_one(r.ds, static_cast<T>(x));
            } else {
              if (x.size() != r.elements)
                throw std::logic_error(fmt::format("run_log: {}: {} values, expected {}", r.ds.where(), x.size(),
                                                   r.elements));
              const std::vector<T> row(x.begin(), x.end());
              h5::append(r.ds, row.data(), 1);
            }
          },
          value);
    });
  }
}

void run_series::append_step(const step_record& s, double wall) {
  const series_source src{.step = &s, .wall = wall};
  append_group(series_group::steps, src, false);
  append_group(series_group::steps, src, true);
}

void run_series::append_epoch(const epoch_record& e, double wall) {
  if (e.test.activity.size() != sites_.size())
    throw std::logic_error(fmt::format("run_log: {} activity records for {} sites", e.test.activity.size(),
                                       sites_.size()));
  if (e.site_penalty.size() != penalised_)
    throw std::logic_error(fmt::format("run_log: {} site penalties for {} penalised sites", e.site_penalty.size(),
                                       penalised_));
  const series_source src{.epoch = &e, .wall = wall};
  append_group(series_group::site, src, false);
  append_group(series_group::epochs, src, false);
}

void run_series::finish_epoch(const epoch_record& e) {
  append_group(series_group::epochs, series_source{.epoch = &e}, true);
}

}  // namespace saelab
