#include "log/h5_repair.hpp"

#include <cstdlib>
#include <system_error>

#include <fmt/core.h>

namespace saelab::h5 {

namespace fs = std::filesystem;

namespace {

// What `h5clear -s --increment=0 FILE` does.
void clear_killed_writer_flags(const fs::path& path) {
  handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  hbool_t clear = 1;
  // "clear_status_flags" is the file-access property h5clear sets (HDF5 1.10).
  if (!fapl || H5Pset(fapl.get(), "clear_status_flags", &clear) < 0)
    throw error(fmt::format("{}: cannot prepare to clear its SWMR flags: {}", path.string(), detail::take_reason()));
  handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()));
  if (!f || H5Fincrement_filesize(f.get(), 0) < 0 || f.reset() < 0)
    throw error(fmt::format("{}: cannot clear its SWMR flags: {}; try: h5clear -s --increment=0 {}", path.string(),
                            detail::take_reason(), path.string()));
}

// False if `stored` is implausible for a short write, or the resize fails.
bool extend_to(const fs::path& path, std::uintmax_t stored) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  constexpr std::uintmax_t max_missing = std::uintmax_t{1} << 30;  // more is not a short write
  if (ec || stored <= size || stored - size > max_missing) return false;
  fs::resize_file(path, stored, ec);
  return !ec;
}

}  // namespace

bool repair(const fs::path& path, const needs_repair& e) {
  switch (e.kind()) {
    case damage::killed_writer: clear_killed_writer_flags(path); return true;
    case damage::short_file: return extend_to(path, e.stored_eof());
  }
  return false;
}

std::string_view repair_note(damage kind) {
  switch (kind) {
    case damage::killed_writer:
      return "its writer had been killed; cleared its SWMR flags as h5clear -s --increment=0 does";
    case damage::short_file: return "its writer had run out of space; extended it to the length it records";
  }
  return "?";
}

namespace detail {

std::optional<std::pair<damage, std::uintmax_t>> damage_of(std::string_view reason) {
  // "truncated file: eof = N, sblock->base_addr = 0, stored_eof = M"
  const std::string_view key = "stored_eof = ";
  if (const auto at = reason.find(key); reason.find("truncated file") != std::string_view::npos &&
                                        at != std::string_view::npos)
    return std::pair{damage::short_file, std::strtoull(std::string(reason.substr(at + key.size())).c_str(), nullptr, 10)};
  // "file is already open for write (may use <h5clear file> to clear file consistency flags)"
  if (reason.find("h5clear") != std::string_view::npos) return std::pair{damage::killed_writer, std::uintmax_t{0}};
  return std::nullopt;
}

}  // namespace detail

}  // namespace saelab::h5
