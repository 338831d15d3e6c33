#pragma once
// Whole-file writes through a temporary file and a rename: a reader (a viewer
// refreshing a figure, a script tailing a run) never sees half a file, and a
// crash never leaves a truncated file under the final name.

#include <filesystem>
#include <string_view>

namespace saelab {

// Writes `bytes` to `path` atomically. Throws std::runtime_error naming the
// path when the directory is missing or unwritable; the temporary is removed.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace saelab
