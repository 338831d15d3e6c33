#pragma once
// HDF5 files a dead writer left unopenable, and their repair.
//
//   try { auto f = h5::file::open_rw(path); ... }
//   catch (const h5::needs_repair& e) {
//     if (h5::repair(path, e)) ... open again ...   // only when the writer is known dead
//   }
//
// file::open_read and file::open_rw throw needs_repair (an h5::error with the
// usual message) for the two states a repair can fix:
//   killed_writer  a SWMR writer died without closing: the superblock still
//                  says "open for writing", and HDF5 refuses the file
//                  (suggesting h5clear);
//   short_file     a write failed for lack of space: the file ends before the
//                  end its superblock records (HDF5: "truncated file").

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "log/h5_file.hpp"

namespace saelab::h5 {

enum class damage { killed_writer, short_file };

class needs_repair : public error {
 public:
  needs_repair(const std::string& what, damage kind, std::uintmax_t stored_eof)
      : error(what), kind_(kind), stored_eof_(stored_eof) {}
  damage kind() const { return kind_; }
  // short_file: the length the superblock records, in bytes (0 otherwise).
  std::uintmax_t stored_eof() const { return stored_eof_; }

 private:
  damage kind_;
  std::uintmax_t stored_eof_;
};

// Repairs `path` (never while a writer may be alive):
//   killed_writer: what `h5clear -s --increment=0 FILE` does: clears the
//     superblock's "open for writing" flags and sets the end-of-allocation to
//     the file's real end (plain -s can truncate the file);
//   short_file: extends the file with zeros to the recorded end. Only sound
//     when the missing tail held no metadata still needed (HDF5's metadata is
//     checksummed in this format, so a reopen then fails rather than read
//     zeros); run.h5 flushes every epoch before its checkpoint, so the tail
//     holds only rows a resume cuts anyway.
// Returns false when the damage is implausible for a short write (the file is
// not shorter, or more than 1 GiB is missing) and nothing was changed; throws
// h5::error when the repair itself fails.
bool repair(const std::filesystem::path& path, const needs_repair& e);

// What repair did, for a message: "its writer had been killed; cleared ...".
std::string_view repair_note(damage kind);

namespace detail {
// The repairable damage HDF5's innermost error description `reason` reports
// on opening a file, with the recorded end for short_file; nullopt otherwise.
// The one place that reads HDF5's error text for it.
std::optional<std::pair<damage, std::uintmax_t>> damage_of(std::string_view reason);
}  // namespace detail

}  // namespace saelab::h5
