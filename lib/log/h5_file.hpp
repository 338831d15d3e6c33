#pragma once
// saelab::h5, part 1: owning handles, errors, files, groups and attributes.
// (Datasets, strings and images are in h5_dataset.hpp; include log/h5.hpp for both.)
//
//   auto f = h5::file::create("run.h5");            // a new file; SWMR-capable format
//   auto g = h5::create_group(f, "/epoch");         // intermediate groups are made too
//   h5::write_attr_string(f, "status", "running", 32);   // 32 bytes reserved for later values
//   ... create every group, dataset and attribute here ...
//   f.start_swmr();                                 // from now on: append and overwrite only
//   h5::write_attr_string(f, "status", "epoch 3");  // in place: fits the 32 bytes
//   f.flush();                                      // readers see everything written so far
//
// Every failure throws h5::error naming the file, the object path and the
// operation, followed by HDF5's innermost reason:
//   "run.h5:/epoch/loss: cannot append rows: ..."
// HDF5's own printing of error stacks to stderr is switched off whenever a file
// is created or opened here, so the exception is the only report.
//
// Strings are always fixed-length (UTF-8, null-padded): variable-length
// strings break SWMR readers. Under SWMR an existing attribute can be
// overwritten in place (checked with HDF5 1.10.8: a reader process that opens
// the file, or calls h5::refresh on the object, sees the new value), but not
// created, deleted or resized; the writers here refuse that with a clear error.

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace saelab::h5 {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Owns one HDF5 identifier of any kind. The close call is chosen from the
// identifier's own type (H5Iget_type), so a handle can never be closed with
// the wrong H5?close. Movable, not copyable.
class handle {
 public:
  handle() = default;
  explicit handle(hid_t id) : id_(id) {}
  ~handle() { reset(); }
  handle(handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  handle& operator=(handle&& o) noexcept;
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Closes now; the returned status is < 0 on failure (destructors ignore it).
  herr_t reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// A file, group or dataset: something with a path that can carry attributes.
// A file stands for its root group wherever a location is expected.
class object {
 public:
  object() = default;
  explicit object(hid_t id) : h_(id) {}
  hid_t id() const { return h_.get(); }
  explicit operator bool() const { return static_cast<bool>(h_); }
  // "run.h5:/epoch/loss", as used in error messages.
  std::string where() const;

 protected:
  handle h_;
};

class group : public object {
 public:
  using object::object;
};

class file : public object {
 public:
  // Replaces whatever is at `path` by a new file: an existing file or symlink
  // is removed (a link is never followed, its target never truncated), then
  // the file is created exclusively, so a link planted in between is refused.
  // Library version bounds are LATEST/LATEST, which SWMR needs.
  static file create(const std::filesystem::path& path);
  // Read-only. With swmr = true the file may be held by a SWMR writer.
  static file open_read(const std::filesystem::path& path, bool swmr = false);
  // Read-write, for resuming a log: existing datasets can be appended to.
  // A symlink at `path` is refused, not written through.
  static file open_rw(const std::filesystem::path& path);

  // After this only appends and in-place overwrites are allowed, and SWMR
  // readers may open the file. Create every object before calling it.
  void start_swmr();
  // H5Fflush with global scope: also writes the end-of-allocation record,
  // which H5Dflush alone leaves stale.
  void flush();
  // Closes the file and reports a failure. For a file open for writing, every
  // group, dataset and attribute handle from it must be closed first (else
  // this throws): HDF5 finishes
  // closing a file only when the last of them closes, and a failure there
  // could not be reported.
  void close();
  const std::filesystem::path& path() const { return path_; }
  bool swmr_writing() const;

 private:
  file(hid_t id, std::filesystem::path path) : object(id), path_(std::move(path)) {}
  std::filesystem::path path_;
};

// ---- groups ----
// Creates the group and any missing groups above it; fails if it exists.
group create_group(const object& parent, std::string_view path);
group open_group(const object& parent, std::string_view path);
// A soft link at `path` to the object at `target` (resolved when read, so
// h5py, h5dump and HDFView show the target's data under both names).
void create_soft_link(const object& parent, std::string_view target, std::string_view path);
// The names of a group's links, in name order.
std::vector<std::string> members(const object& group);
// True if every component of `path` exists (a group, dataset or named type).
bool exists(const object& parent, std::string_view path);
// Re-reads the object's metadata from disk (H5Orefresh): a long-lived SWMR
// reader calls this to see new rows or new attribute values.
void refresh(const object& obj);

// ---- attributes ----
// Writers create the attribute, or overwrite it in place when it exists with a
// compatible type and size; otherwise they replace it (refused under SWMR).
// A string attribute is a fixed-length UTF-8 string of max(text size,
// `reserve`) bytes; a later value fits in place if it is no longer than that.
void write_attr_string(const object& obj, std::string_view name, std::string_view text,
                       std::size_t reserve = 0);
void write_attr_int(const object& obj, std::string_view name, std::int64_t value);
void write_attr_double(const object& obj, std::string_view name, double value);
void write_attr_ints(const object& obj, std::string_view name, std::span<const std::int64_t> values);
void write_attr_doubles(const object& obj, std::string_view name, std::span<const double> values);

bool has_attr(const object& obj, std::string_view name);
// Readers convert between numeric types as HDF5 does; the string reader also
// accepts variable-length strings written by other tools, and strips padding.
std::string read_attr_string(const object& obj, std::string_view name);
std::int64_t read_attr_int(const object& obj, std::string_view name);
double read_attr_double(const object& obj, std::string_view name);
std::vector<std::int64_t> read_attr_ints(const object& obj, std::string_view name);
std::vector<double> read_attr_doubles(const object& obj, std::string_view name);

// `units` and `description` string attributes in one call.
void set_description(const object& obj, std::string_view units, std::string_view description);

namespace detail {
// Shared by h5_file.cpp and h5_dataset.cpp. Each takes HDF5's innermost error
// description first (any later HDF5 call clears the error stack), then builds
// the message "<where>: cannot <op>: <reason>" and throws h5::error.
[[noreturn]] void fail(hid_t obj, std::string_view op);
[[noreturn]] void fail(hid_t parent, std::string_view child, std::string_view op);
[[noreturn]] void fail_plain(const std::string& where, std::string_view op, const std::string& reason);
// The innermost description on HDF5's error stack, which it then clears.
std::string take_reason();
std::string where(hid_t obj);
std::string where(hid_t parent, std::string_view child);
// True if the object's file is in SWMR-write mode (new objects are refused).
bool swmr_writing(hid_t obj);
// Throws unless `parent` is a file or group and the file is not SWMR writing.
void check_can_create(hid_t parent, std::string_view child, std::string_view op);
// A fixed-length string type of `size` bytes (at least 1), UTF-8, null-padded.
handle string_type(std::size_t size);
// Reads a string held by an attribute (is_attr) or a scalar dataset; a
// fixed-length one above max_string_bytes is refused before it is allocated.
inline constexpr std::size_t max_string_bytes = std::size_t{64} << 20;
std::string read_string_from(hid_t id, bool is_attr, std::string_view op);
}  // namespace detail

}  // namespace saelab::h5
