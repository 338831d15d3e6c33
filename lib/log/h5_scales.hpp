#pragma once
// saelab::h5, part 3: dimension scales and axis labels (HDF5's H5DS, in the
// high-level library hdf5_hl), so viewers plot a dataset against its real axes.
//
//   h5::make_scale(epoch, "epoch");             // /epochs/epoch becomes an axis
//   h5::attach_scale(loss, epoch, 0);           // dim 0 of /epochs/loss is that axis
//   h5::label_axes(rho_hat, {"epoch", "unit"}); // h5py: ds.dims[1].label == "unit"
//
// All three write attributes (CLASS, NAME, DIMENSION_LIST, REFERENCE_LIST,
// DIMENSION_LABELS), so they are refused under SWMR: call them before
// file::start_swmr. They survive appends and truncation, so a resumed log
// keeps its scales without attaching them again.

#include <span>
#include <string>
#include <string_view>

#include "log/h5_dataset.hpp"

namespace saelab::h5 {

void make_scale(const dataset& ds, std::string_view name);
void attach_scale(const dataset& ds, const dataset& scale, unsigned dim);
// One label per axis, outermost first; the count must be the dataset's rank.
void label_axes(const dataset& ds, std::span<const std::string> labels);

}  // namespace saelab::h5
