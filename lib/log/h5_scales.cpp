#include "log/h5_scales.hpp"

#include <hdf5_hl.h>

#include <fmt/format.h>

namespace saelab::h5 {

namespace {

void check_not_swmr(const dataset& ds, std::string_view op) {
  if (detail::swmr_writing(ds.id()))
    detail::fail_plain(ds.where(), op, "the file is SWMR writing; axes are set before start_swmr");
}

}  // namespace

void make_scale(const dataset& ds, std::string_view name) {
  constexpr std::string_view op = "make a dimension scale";
  check_not_swmr(ds, op);
  if (H5DSset_scale(ds.id(), std::string(name).c_str()) < 0) detail::fail(ds.id(), op);
}

void attach_scale(const dataset& ds, const dataset& scale, unsigned dim) {
  const std::string op = fmt::format("attach the scale {} to axis {}", scale.where(), dim);
  check_not_swmr(ds, op);
  if (H5DSattach_scale(ds.id(), scale.id(), dim) < 0) detail::fail(ds.id(), op);
}

void label_axes(const dataset& ds, std::span<const std::string> labels) {
  constexpr std::string_view op = "label axes";
  check_not_swmr(ds, op);
  const extent d = dims(ds);
  if (labels.size() != d.size())
    detail::fail_plain(ds.where(), op, fmt::format("{} labels for {} axes", labels.size(), d.size()));
  for (unsigned a = 0; a < labels.size(); ++a)
    if (H5DSset_label(ds.id(), a, labels[a].c_str()) < 0) detail::fail(ds.id(), op);
}

}  // namespace saelab::h5
