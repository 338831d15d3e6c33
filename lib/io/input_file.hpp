#pragma once
// Opening a file the user names as an input (IDX data, config, sweep file,
// sweep base, summary.csv, checkpoint), refusing anything but a regular file.
//
//   input_file f("data/mnist/train-images-idx3-ubyte", "an IDX file");
//   ::read(f.fd(), buf, n);                              // a plain blocking fd
//   std::string text = read_input_text("configs/fc_kl.ini", "a config file");
//   check_input_file("run/model.h5", "an HDF5 file");    // for libraries that open by name
//
// Why: open() and read() on a FIFO wait for a writer, forever for a mistyped
// path; a directory reads as empty through an ifstream; /dev/zero never ends.
// So the path is stat'ed first (a device is never opened: opening some has
// side effects), then opened with O_NONBLOCK (a FIFO swapped in meanwhile
// does not block the open) and checked again with fstat before O_NONBLOCK is
// cleared. Symbolic links are followed: inputs may well live behind one.
//
// Every refusal throws input_error, one line naming the path:
//   "<path>: not a regular file (a FIFO): expected a config file"

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace saelab {

class input_error : public std::runtime_error {
 public:
  input_error(const std::filesystem::path& path, const std::string& reason)
      : std::runtime_error(path.string() + ": " + reason), reason_(reason) {}
  // The message without the leading "<path>: ".
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// Text inputs larger than this are refused before they are read. The largest
// we write, the summary.csv of a 100,000-run sweep of the six-site conv model,
// is about 60 MiB; configs and sweep files are a few KiB.
inline constexpr std::int64_t max_input_text_bytes = std::int64_t{256} << 20;

// An open read-only descriptor on a regular file; closed on destruction.
class input_file {
 public:
  // `expected` completes the message: "expected <expected>".
  input_file(const std::filesystem::path& path, std::string_view expected);
  ~input_file();
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;

  int fd() const { return fd_; }
  std::int64_t size() const { return size_; }  // when opened
  // Reads up to n bytes, retrying interrupted reads; fewer only at end of file.
  std::size_t read(void* dst, std::size_t n);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::int64_t size_ = 0;
};

// The whole file, at most max_bytes of it (input_error beyond, naming the limit).
std::string read_input_text(const std::filesystem::path& path, std::string_view expected,
                            std::int64_t max_bytes = max_input_text_bytes);

// Throws input_error unless `path` is (a link to) a regular file. For files a
// library opens by name (HDF5); it cannot close the window between this check
// and that open, but it keeps a mistyped or planted FIFO from hanging a run.
void check_input_file(const std::filesystem::path& path, std::string_view expected);

}  // namespace saelab
