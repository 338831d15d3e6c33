#include "log/h5_dataset.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <type_traits>

namespace saelab::h5 {

namespace {

std::string z(std::string_view s) { return std::string(s); }

// The type an element has in memory (file_type, in the header, is how it is stored).
template <element T>
hid_t mem_type() {
  if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  if constexpr (std::is_same_v<T, std::int32_t>) return H5T_NATIVE_INT32;
  if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
}

hid_t checked(hid_t id, std::string_view op) {
  if (id < 0) detail::fail_plain("HDF5", op, detail::take_reason());
  return id;
}

hsize_t product(const extent& e) {
  hsize_t n = 1;
  for (hsize_t d : e) n *= d;
  return n;
}

// Current and maximum extent of a dataset.
void extents(const dataset& ds, extent& cur, extent* max, std::string_view op) {
  handle space(H5Dget_space(ds.id()));
  int rank = space ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (rank < 0) detail::fail(ds.id(), op);
  cur.assign(static_cast<std::size_t>(rank), 0);
  if (max != nullptr) max->assign(static_cast<std::size_t>(rank), 0);
  if (H5Sget_simple_extent_dims(space.get(), cur.data(), max != nullptr ? max->data() : nullptr) < 0)
    detail::fail(ds.id(), op);
}

// HDF5 would convert 0.7f into an integer dataset as 0 without a word; a
// write that changes the kind of number is almost always a bug, so refuse it.
template <element T>
void check_kind(const dataset& ds, std::string_view op) {
  handle t(H5Dget_type(ds.id()));
  if (!t) detail::fail(ds.id(), op);
  H5T_class_t c = H5Tget_class(t.get());
  bool want_int = std::is_integral_v<T>;
  if (c == (want_int ? H5T_INTEGER : H5T_FLOAT)) return;
  std::string_view held = c == H5T_INTEGER ? "integers" : c == H5T_FLOAT ? "floating-point numbers"
                          : c == H5T_STRING ? "strings" : "non-numbers";
  detail::fail_plain(ds.where(), op, fmt::format("the dataset holds {}, the data are {}", held,
                                                 want_int ? "integers" : "floating-point numbers"));
}

dataset create_dataset(const object& parent, std::string_view name, hid_t type, hid_t space,
                       hid_t dcpl) {
  detail::check_can_create(parent.id(), name, "create dataset");
  handle lcpl(checked(H5Pcreate(H5P_LINK_CREATE), "create link property list"));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  hid_t id = H5Dcreate2(parent.id(), z(name).c_str(), type, space, lcpl.get(), dcpl, H5P_DEFAULT);
  if (id < 0) detail::fail(parent.id(), name, "create dataset");
  return dataset(id);
}

handle chunked_dcpl(const extent& chunk, bool compress, std::string_view where) {
  handle dcpl(checked(H5Pcreate(H5P_DATASET_CREATE), "create dataset property list"));
  if (H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0 ||
      (compress && (H5Pset_shuffle(dcpl.get()) < 0 || H5Pset_deflate(dcpl.get(), 4) < 0)))
    detail::fail_plain(std::string(where), "set chunking and compression", detail::take_reason());
  return dcpl;
}

// Image attributes are written exactly as H5IM writes them (ASCII,
// null-terminated), the form viewers were tested against.
void put_image_attr(const dataset& ds, const char* name, hid_t type, hid_t space, hid_t mem_type,
                    const void* data) {
  if (H5Aexists(ds.id(), name) > 0 && H5Adelete(ds.id(), name) < 0)
    detail::fail(ds.id(), "mark as image");
  handle a(H5Acreate2(ds.id(), name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!a || H5Awrite(a.get(), mem_type, data) < 0) detail::fail(ds.id(), "mark as image");
}

void put_image_string(const dataset& ds, const char* name, std::string_view text) {
  handle t(checked(H5Tcopy(H5T_C_S1), "copy string type"));
  H5Tset_size(t.get(), text.size() + 1);
  H5Tset_strpad(t.get(), H5T_STR_NULLTERM);
  handle space(checked(H5Screate(H5S_SCALAR), "create dataspace"));
  std::string buf(text);
  put_image_attr(ds, name, t.get(), space.get(), t.get(), buf.c_str());
}

}  // namespace

dataset open_dataset(const object& parent, std::string_view path) {
  hid_t id = H5Dopen2(parent.id(), z(path).c_str(), H5P_DEFAULT);
  if (id < 0) detail::fail(parent.id(), path, "open dataset");
  return dataset(id);
}

extent dims(const dataset& ds) {
  extent cur;
  extents(ds, cur, nullptr, "read dimensions");
  return cur;
}

template <element T>
dataset create_series(const object& parent, std::string_view name, const extent& row_shape,
                      hsize_t chunk_rows, bool compress) {
  std::string where = detail::where(parent.id(), name);
  if (row_shape.size() > 3) detail::fail_plain(where, "create series", "rows have more than 3 axes");
  if (chunk_rows == 0 || product(row_shape) == 0)
    detail::fail_plain(where, "create series", "chunk rows and row axes must be positive");
  extent cur{0}, max{H5S_UNLIMITED}, chunk{chunk_rows};
  for (hsize_t d : row_shape) {
    cur.push_back(d);
    max.push_back(d);
    chunk.push_back(d);
  }
  handle space(checked(H5Screate_simple(static_cast<int>(cur.size()), cur.data(), max.data()),
                       "create dataspace"));
  handle dcpl = chunked_dcpl(chunk, compress, where);
  return create_dataset(parent, name, file_type<T>(), space.get(), dcpl.get());
}

template <element T>
void append(const dataset& ds, const T* rows, hsize_t nrows) {
  constexpr std::string_view op = "append rows";
  if (nrows == 0) return;
  extent cur, max;
  extents(ds, cur, &max, op);
  if (cur.empty() || max[0] != H5S_UNLIMITED)
    detail::fail_plain(ds.where(), op, "not a series (its first axis is not unlimited)");
  check_kind<T>(ds, op);
  extent grown = cur, start(cur.size(), 0), count = cur;
  grown[0] += nrows;
  start[0] = cur[0];
  count[0] = nrows;
  if (H5Dset_extent(ds.id(), grown.data()) < 0) detail::fail(ds.id(), op);
  handle fspace(H5Dget_space(ds.id()));
  handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
  if (!fspace || !mspace ||
      H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                          nullptr) < 0 ||
      H5Dwrite(ds.id(), mem_type<T>(), mspace.get(), fspace.get(), H5P_DEFAULT, rows) < 0) {
    // Take the rows back out, so a failed append leaves no rows of fill values.
    std::string reason = detail::take_reason();
    H5Dset_extent(ds.id(), cur.data());
    detail::fail_plain(ds.where(), op, reason);
  }
}

template <element T>
dataset write_array(const object& parent, std::string_view name, const extent& dims,
                    std::span<const T> data, bool compress) {
  hsize_t n = product(dims);
  if (data.size() != n)
    detail::fail_plain(detail::where(parent.id(), name), "write array",
                       fmt::format("{} values given for {} elements", data.size(), n));
  handle space(checked(dims.empty() ? H5Screate(H5S_SCALAR)
                                    : H5Screate_simple(static_cast<int>(dims.size()), dims.data(),
                                                       nullptr),
                       "create dataspace"));
  handle dcpl;
  if (compress && n > 0 && !dims.empty()) {
    // Chunks of about 1 MiB, cut along the first axis only.
    extent chunk = dims;
    hsize_t row_bytes = std::max<hsize_t>(n / dims[0] * sizeof(T), 1);
    chunk[0] = std::clamp<hsize_t>((hsize_t{1} << 20) / row_bytes, 1, dims[0]);
    dcpl = chunked_dcpl(chunk, true, detail::where(parent.id(), name));
  }
  dataset ds = create_dataset(parent, name, file_type<T>(), space.get(),
                              dcpl ? dcpl.get() : H5P_DEFAULT);
  if (n > 0 && H5Dwrite(ds.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
    detail::fail(ds.id(), "write array");
  return ds;
}

template <element T>
void overwrite(const dataset& ds, std::span<const T> data) {
  constexpr std::string_view op = "overwrite";
  extent cur;
  extents(ds, cur, nullptr, op);
  if (data.size() != product(cur))
    detail::fail_plain(ds.where(), op,
                       fmt::format("{} values given for {} elements", data.size(), product(cur)));
  check_kind<T>(ds, op);
  if (!data.empty() &&
      H5Dwrite(ds.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
    detail::fail(ds.id(), op);
}

template <element T>
std::vector<T> read(const dataset& ds) {
  extent cur;
  extents(ds, cur, nullptr, "read");
  std::vector<T> out(product(cur));
  if (!out.empty() && H5Dread(ds.id(), mem_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    detail::fail(ds.id(), "read");
  return out;
}

// One line per element type: the templates live here, not in the header.
#define SAELAB_H5_INSTANTIATE(T)                                                                \
  template dataset create_series<T>(const object&, std::string_view, const extent&, hsize_t,   \
                                    bool);                                                      \
  template void append<T>(const dataset&, const T*, hsize_t);                                   \
  template dataset write_array<T>(const object&, std::string_view, const extent&,               \
                                  std::span<const T>, bool);                                    \
  template void overwrite<T>(const dataset&, std::span<const T>);                               \
  template std::vector<T> read<T>(const dataset&);
SAELAB_H5_INSTANTIATE(float)
SAELAB_H5_INSTANTIATE(double)
SAELAB_H5_INSTANTIATE(std::int64_t)
SAELAB_H5_INSTANTIATE(std::int32_t)
SAELAB_H5_INSTANTIATE(std::uint8_t)
#undef SAELAB_H5_INSTANTIATE

// ---- strings ----

dataset write_string(const object& parent, std::string_view name, std::string_view text,
                     std::size_t reserve) {
  handle type = detail::string_type(std::max(text.size(), reserve));
  handle space(checked(H5Screate(H5S_SCALAR), "create dataspace"));
  dataset ds = create_dataset(parent, name, type.get(), space.get(), H5P_DEFAULT);
  overwrite_string(ds, text);
  return ds;
}

void overwrite_string(const dataset& ds, std::string_view text) {
  constexpr std::string_view op = "write string";
  handle t(H5Dget_type(ds.id()));
  if (!t) detail::fail(ds.id(), op);
  if (H5Tget_class(t.get()) != H5T_STRING || H5Tis_variable_str(t.get()) != 0)
    detail::fail_plain(ds.where(), op, "not a fixed-length string dataset");
  std::size_t size = H5Tget_size(t.get());
  std::size_t room = size - (H5Tget_strpad(t.get()) == H5T_STR_NULLTERM ? 1 : 0);
  if (text.size() > room)
    detail::fail_plain(ds.where(), op,
                       fmt::format("{} bytes do not fit in its {} bytes", text.size(), room));
  std::string buf(size, '\0');  // null padding clears an older, longer value
  std::copy(text.begin(), text.end(), buf.begin());
  if (H5Dwrite(ds.id(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
    detail::fail(ds.id(), op);
}

std::string read_string(const dataset& ds) {
  return detail::read_string_from(ds.id(), false, "read string");
}

std::string read_string(const object& parent, std::string_view path) {
  return read_string(open_dataset(parent, path));
}

// ---- images ----

void mark_image(const dataset& ds, double lo, double hi) {
  extent cur;
  extents(ds, cur, nullptr, "mark as image");
  if (cur.size() != 2 && cur.size() != 3)
    detail::fail_plain(ds.where(), "mark as image", "an image has 2 axes, a stack of images 3");
  if (detail::swmr_writing(ds.id()))
    detail::fail_plain(ds.where(), "mark as image", "attributes cannot be created while SWMR writing");
  put_image_string(ds, "CLASS", "IMAGE");
  put_image_string(ds, "IMAGE_VERSION", "1.2");
  put_image_string(ds, "IMAGE_SUBCLASS", "IMAGE_GRAYSCALE");
  handle scalar(checked(H5Screate(H5S_SCALAR), "create dataspace"));
  std::uint8_t white_is_zero = 0;
  put_image_attr(ds, "IMAGE_WHITE_IS_ZERO", H5T_STD_U8LE, scalar.get(), H5T_NATIVE_UINT8,
                 &white_is_zero);
  // The range has the image's own type; HDF5 converts the doubles.
  handle type(H5Dget_type(ds.id()));
  hsize_t two = 2;
  handle pair(checked(H5Screate_simple(1, &two, nullptr), "create dataspace"));
  double range[2] = {lo, hi};
  put_image_attr(ds, "IMAGE_MINMAXRANGE", type.get(), pair.get(), H5T_NATIVE_DOUBLE, range);
}

}  // namespace saelab::h5
