#include "log/series.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace saelab::series {

hsize_t product(const h5::extent& e) {
  hsize_t n = 1;
  for (hsize_t d : e) n *= d;
  return n;
}

std::string shape_text(const h5::extent& e) {
  std::string out;
  for (hsize_t d : e) out += (out.empty() ? "" : ", ") + std::to_string(d);
  return "[" + out + "]";
}

void refuse(const std::filesystem::path& path, const std::string& why) {
  throw std::runtime_error(fmt::format("{}: cannot resume this log: {}", path.string(), why));
}

h5::dataset open_or_refuse(const h5::object& f, const std::filesystem::path& path, const std::string& name) {
  if (!h5::exists(f, name)) refuse(path, fmt::format("it has no {}", name));
  return h5::open_dataset(f, name);
}

void truncate_rows(const std::filesystem::path& path, const h5::dataset& ds, hsize_t rows) {
  h5::extent d = h5::dims(ds);
  if (d.empty()) h5::detail::fail_plain(ds.where(), "truncate", "not a series");
  if (d[0] < rows)
    refuse(path, fmt::format("{} holds {} rows, fewer than the {} the resume point needs", ds.where(), d[0], rows));
  if (d[0] == rows) return;
  d[0] = rows;
  if (H5Dset_extent(ds.id(), d.data()) < 0) h5::detail::fail(ds.id(), "truncate");
}

}  // namespace saelab::series
