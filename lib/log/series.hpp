#pragma once
// Series: the growing datasets of run.h5. Rows are appended along an
// unlimited first axis while SWMR readers watch, and cut back when a run
// resumes from an earlier checkpoint.
//
//   auto ds = series::create_stack<float>(group, "weight", {16, 28, 28}, {16, 28, 28});
//   series::append_one(epochs, 3);
//   series::truncate_rows(path, ds, 2);

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>

#include "log/h5.hpp"

namespace saelab::series {

hsize_t product(const h5::extent& e);
std::string shape_text(const h5::extent& e);  // "[16, 28, 28]"

// A log that does not fit the run resuming it: throws std::runtime_error
// "PATH: cannot resume this log: WHY".
[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why);

// Opens `name` in a log being resumed; refuses a log that lacks it.
h5::dataset open_or_refuse(const h5::object& f, const std::filesystem::path& path, const std::string& name);

// Shrinks the first axis of a series to `rows`; refuses one with fewer.
void truncate_rows(const std::filesystem::path& path, const h5::dataset& ds, hsize_t rows);

template <h5::element T>
void append_one(const h5::dataset& ds, T value) {
  h5::append(ds, &value, 1);
}

// A compressed series whose rows may have any number of axes
// (h5::create_series stops at three), chunked as [1, chunk_row...]. One
// append of a row fills its chunks, which is what SWMR wants of compressed
// chunks. Shuffle + gzip level 4, as h5::create_series.
template <h5::element T>
h5::dataset create_stack(const h5::object& parent, std::string_view name, const h5::extent& row,
                         const h5::extent& chunk_row) {
  constexpr std::string_view op = "create dataset";
  h5::detail::check_can_create(parent.id(), name, op);
  h5::extent cur{0}, max{H5S_UNLIMITED}, chunk{1};
  for (std::size_t a = 0; a < row.size(); ++a) {
    cur.push_back(row[a]);
    max.push_back(row[a]);
    chunk.push_back(std::clamp<hsize_t>(chunk_row[a], 1, row[a]));
  }
  const auto rank = static_cast<int>(cur.size());
  h5::handle space(H5Screate_simple(rank, cur.data(), max.data()));
  h5::handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  h5::handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  if (!space || !dcpl || !lcpl || H5Pset_chunk(dcpl.get(), rank, chunk.data()) < 0 ||
      H5Pset_shuffle(dcpl.get()) < 0 || H5Pset_deflate(dcpl.get(), 4) < 0 ||
      H5Pset_create_intermediate_group(lcpl.get(), 1) < 0)
    h5::detail::fail_plain(h5::detail::where(parent.id(), name), op, h5::detail::take_reason());
  const hid_t id = H5Dcreate2(parent.id(), std::string(name).c_str(), h5::file_type<T>(), space.get(), lcpl.get(),
                              dcpl.get(), H5P_DEFAULT);
  if (id < 0) h5::detail::fail(parent.id(), name, op);
  return h5::dataset(id);
}

}  // namespace saelab::series
