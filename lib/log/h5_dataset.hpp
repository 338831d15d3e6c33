#pragma once
// saelab::h5, part 2: datasets, long strings and images.
//
//   // A series: rows of a fixed shape, appended as training goes.
//   auto act = h5::create_series<float>(f, "/act/conv1", {8, 26, 26}, 64, true);
//   h5::append(act, batch.data(), 64);          // 64 rows of 8*26*26 floats
//   h5::dims(act)                               // {64, 8, 26, 26}
//   // Fixed arrays (checkpoints), overwritten in place on the next save.
//   auto w = h5::write_array<float>(f, "/weights/conv1", {8, 1, 3, 3}, weights);
//   h5::overwrite<float>(w, new_weights);
//   h5::write_string(f, "/config", config_text);    // any length: attributes stop at 64 KiB
//   std::vector<float> back = h5::read<float>(f, "/weights/conv1");
//
// A series has an unlimited first axis (0 rows at first) and chunks of
// `chunk_rows` rows. Under SWMR, flushing a half-filled compressed chunk again
// and again bloats the file, so pick chunk_rows = rows per append, and leave
// tiny scalar series uncompressed. Compression is shuffle + gzip level 4.
//
// Element types: float, double, std::int64_t, std::int32_t, std::uint8_t.
// Writes must keep the dataset's kind of number (integer or floating point);
// reads convert as HDF5 does (e.g. a uint8 image read as float).

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "log/h5_file.hpp"

namespace saelab::h5 {

template <class T>
concept element = std::same_as<T, float> || std::same_as<T, double> ||
                  std::same_as<T, std::int64_t> || std::same_as<T, std::int32_t> ||
                  std::same_as<T, std::uint8_t>;

// The type an element is stored as in the file: fixed little-endian, so a
// file means the same on every machine.
template <element T>
hid_t file_type() {
  if constexpr (std::is_same_v<T, float>) return H5T_IEEE_F32LE;
  if constexpr (std::is_same_v<T, double>) return H5T_IEEE_F64LE;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_STD_I64LE;
  if constexpr (std::is_same_v<T, std::int32_t>) return H5T_STD_I32LE;
  if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_STD_U8LE;
}

// Axis lengths, outermost first.
using extent = std::vector<hsize_t>;

class dataset : public object {
 public:
  using object::object;
};

dataset open_dataset(const object& parent, std::string_view path);
extent dims(const dataset& ds);

// ---- series: unlimited first axis ----
// `row_shape` has rank 0 to 3 (rank 0: one number per row).
template <element T>
dataset create_series(const object& parent, std::string_view name, const extent& row_shape,
                      hsize_t chunk_rows, bool compress);
// Extends the first axis by `nrows` and writes them: `rows` holds
// nrows * (elements per row) values, row-major.
template <element T>
void append(const dataset& ds, const T* rows, hsize_t nrows);

// ---- fixed arrays ----
// `dims` may be empty (a scalar); `data` must hold exactly product(dims) values.
template <element T>
dataset write_array(const object& parent, std::string_view name, const extent& dims,
                    std::span<const T> data, bool compress = false);
// Rewrites every element in place; the size must match.
template <element T>
void overwrite(const dataset& ds, std::span<const T> data);

// Whole dataset, row-major.
template <element T>
std::vector<T> read(const dataset& ds);
template <element T>
std::vector<T> read(const object& parent, std::string_view path) {
  return read<T>(open_dataset(parent, path));
}

// ---- strings ----
// One fixed-length UTF-8 string of max(text size, reserve) bytes, stored as a
// scalar dataset so it may be longer than an attribute can be.
dataset write_string(const object& parent, std::string_view name, std::string_view text,
                     std::size_t reserve = 0);
// In place: the text must fit the string's size (works under SWMR).
void overwrite_string(const dataset& ds, std::string_view text);
std::string read_string(const dataset& ds);
std::string read_string(const object& parent, std::string_view path);

// ---- images ----
// Writes the HDF5 Image spec 1.2 attributes directly (CLASS=IMAGE,
// IMAGE_VERSION=1.2, IMAGE_SUBCLASS=IMAGE_GRAYSCALE, IMAGE_WHITE_IS_ZERO=0 as
// uint8, IMAGE_MINMAXRANGE=[lo, hi] in the dataset's type) so viewers such as
// HDFView show it as a grayscale image. H5IM can only make a new dataset, not
// mark an existing one, hence no hdf5_hl call. Rank 2 ([height, width]) is the
// spec's grayscale image; rank 3 is accepted for a stack of them, which
// viewers handle less uniformly. Refused under SWMR (it creates attributes).
void mark_image(const dataset& ds, double lo = 0.0, double hi = 255.0);

}  // namespace saelab::h5
