#pragma once
// Creating files in directories others may write too (run, eval and sweep
// directories on a shared disk), without ever writing through a planted
// symbolic link, and whole-file writes that a crash never leaves half done.
//
//   write_file_atomically(dir / "status", text);
//     text goes to a fresh temporary next to the target (a pid- and
//     random-unique name created with O_CREAT|O_EXCL|O_NOFOLLOW), is
//     fsync'ed, and rename(2) puts it in place (replacing a symlink there,
//     never following it); then the directory is fsync'ed. A reader sees
//     the old file or the new one, never half of one.
//   write_log(dir / "x.log", log_open::truncate, "== started\n");
//     starts (or appends to) a log a child process then writes into, never
//     through a symlink; the child opens it O_APPEND|O_NOFOLLOW.

#include <filesystem>
#include <string_view>

namespace saelab {

enum class file_mode { regular, executable };

// Writes `bytes` to `path` atomically and durably. Throws std::runtime_error
// naming the path (directory missing or unwritable, disk full); the
// temporary is removed.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                           file_mode mode = file_mode::regular);

// A name for a temporary next to `path` that no other process picks:
// "<path>.tmp.<pid>.<random>". Create it exclusively (create_new_file, or
// HDF5's H5F_ACC_EXCL), so a link planted under the name is refused.
std::filesystem::path temporary_path(const std::filesystem::path& path);

// Removes temporaries of `path` (temporary_path names) that a killed writer
// left behind. Only for a path one process writes at a time (under a lock).
void remove_stale_temporaries(const std::filesystem::path& path);

// Creates `path`, which must not exist (not even as a symlink), for writing:
// O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC. Returns the descriptor; throws
// std::runtime_error naming the path.
int create_new_file(const std::filesystem::path& path, file_mode mode = file_mode::regular);

enum class log_open { truncate, append };

// Writes `text` to a log without following a symlink at `path`: truncate
// replaces whatever is there (a link is removed, not followed) by a new file;
// append refuses a symlink. Throws std::runtime_error naming the path.
void write_log(const std::filesystem::path& path, log_open how, std::string_view text);

// fsync of a directory, so a rename in it survives a crash. Best effort.
void sync_directory(const std::filesystem::path& dir);

}  // namespace saelab
