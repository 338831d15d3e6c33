#include "log/h5_file.hpp"

#include <unistd.h>

#include <cerrno>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "io/input_file.hpp"
#include "log/h5_repair.hpp"

namespace saelab::h5 {

namespace {

std::string z(std::string_view s) { return std::string(s); }  // HDF5 wants NUL-terminated names

// Every file entry point calls this before any other HDF5 call.
// HDF5 1.10 frees a file whose close failed (a full disk: the final flush
// fails) but keeps its id, and its exit handler then closes that id again and
// crashes (HDFFV-11052, fixed in HDF5 1.14). So the library is never torn down
// at exit: every file here is closed by its owner before then, and the kernel
// reclaims the rest. H5dont_atexit only works before HDF5 initialises itself.
// HDF5 also prints every error stack to stderr by default; we report through
// exceptions instead.
void quiet() {
  static const bool no_teardown = H5dont_atexit() >= 0;
  (void)no_teardown;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

// HDF5's file drivers describe a failed system call over several lines
// ("file write failed: time = ...\n, filename = ..., errno = 28, error message =
// 'No space left on device', buf = ..."): keep what failed and the system's
// reason. Any other description is kept on one line.
std::string readable(std::string desc) {
  const std::string key = "error message = '";
  if (const auto at = desc.find(key); at != std::string::npos) {
    const auto from = at + key.size();
    const auto to = desc.find('\'', from);
    return desc.substr(0, std::min(desc.find(':'), desc.find(','))) + ": " +
           desc.substr(from, to == std::string::npos ? std::string::npos : to - from);
  }
  for (char& c : desc)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return desc;
}

herr_t take_innermost(unsigned n, const H5E_error2_t* e, void* data) {
  if (n != 0) return 0;  // walking upward, entry 0 is where the error was detected
  auto* out = static_cast<std::string*>(data);
  if (e->desc != nullptr && e->desc[0] != '\0') {
    *out = e->desc;
  } else {
    char buf[256] = {};
    if (H5Eget_msg(e->min_num, nullptr, buf, sizeof buf) > 0) *out = buf;
  }
  return 0;
}

std::string innermost_reason() {
  std::string out;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? std::string("unknown HDF5 error") : readable(out);
}

// HDF5 name getters share one shape: call once for the length, once to fill.
template <class Getter>
std::string name_of(Getter get) {
  ssize_t n = get(nullptr, 0);
  if (n <= 0) return "?";
  std::string s(static_cast<std::size_t>(n), '\0');
  get(s.data(), static_cast<std::size_t>(n) + 1);
  return s;
}

std::string file_name(hid_t obj) {
  return name_of([obj](char* b, std::size_t n) { return H5Fget_name(obj, b, n); });
}
std::string object_path(hid_t obj) {
  return name_of([obj](char* b, std::size_t n) { return H5Iget_name(obj, b, n); });
}

// For handles of things that have no file location (types, spaces, lists).
hid_t checked(hid_t id, std::string_view op) {
  if (id < 0) detail::fail_plain("HDF5", op, innermost_reason());
  return id;
}

handle latest_fapl() {
  handle p(checked(H5Pcreate(H5P_FILE_ACCESS), "create file access list"));
  if (H5Pset_libver_bounds(p.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0)
    detail::fail_plain("HDF5", "set library version bounds", innermost_reason());
  return p;
}

void require_file(const std::filesystem::path& path, std::string_view op) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) detail::fail_plain(path.string(), op, "no such file");
  try {
    check_input_file(path, "an HDF5 file");  // HDF5's open() would wait forever on a FIFO
  } catch (const input_error& e) {
    detail::fail_plain(path.string(), op, e.reason());
  }
}

// HDF5 refuses a file whose SWMR writer died, and suggests plain `h5clear -s`,
// which truncated such a file in our tests; name the repair that keeps the data.
// A state h5::repair can fix throws needs_repair.
[[noreturn]] void fail_open(const std::filesystem::path& path, std::string_view op) {
  std::string reason = innermost_reason();
  const auto damage = detail::damage_of(reason);
  if (damage && damage->first == damage::killed_writer)
    reason += fmt::format("; if its writer was killed, repair it with: h5clear -s --increment=0 {}",
                          path.string());
  const std::string what = fmt::format("{}: cannot {}: {}", path.string(), op, reason);
  if (damage) throw needs_repair(what, damage->first, damage->second);
  throw error(what);
}

// Opens attribute `name` of `obj` for an in-place overwrite if it exists and
// `fits` accepts it; deletes it if it exists but does not fit. An empty handle
// means: create it. Deleting is refused under SWMR, where readers would break.
template <class Fits>
handle reusable_attr(const object& obj, std::string_view name, std::string_view op, Fits fits) {
  htri_t e = H5Aexists(obj.id(), z(name).c_str());
  if (e < 0) detail::fail(obj.id(), op);
  if (e == 0) {
    if (detail::swmr_writing(obj.id()))
      detail::fail_plain(obj.where(), op, "attributes cannot be created while SWMR writing");
    return handle();
  }
  handle a(H5Aopen(obj.id(), z(name).c_str(), H5P_DEFAULT));
  if (!a) detail::fail(obj.id(), op);
  if (fits(a.get())) return a;
  a.reset();
  if (detail::swmr_writing(obj.id()))
    detail::fail_plain(obj.where(), op, "the existing attribute has another type or size, "
                                        "and attributes cannot be replaced while SWMR writing");
  if (H5Adelete(obj.id(), z(name).c_str()) < 0) detail::fail(obj.id(), op);
  return handle();
}

handle create_attr(const object& obj, std::string_view name, hid_t type, hid_t space,
                   std::string_view op) {
  handle a(H5Acreate2(obj.id(), z(name).c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!a) detail::fail(obj.id(), op);
  return a;
}

// Scalar (n = 1, scalar = true) or 1-D numeric attribute.
void write_attr_numbers(const object& obj, std::string_view name, hid_t file_type, hid_t mem_type,
                        const void* data, hsize_t n, bool scalar) {
  std::string op = fmt::format("write attribute '{}'", name);
  H5T_class_t want = H5Tget_class(file_type);
  handle a = reusable_attr(obj, name, op, [&](hid_t id) {
    handle t(H5Aget_type(id)), s(H5Aget_space(id));
    bool is_scalar = H5Sget_simple_extent_type(s.get()) == H5S_SCALAR;
    return H5Tget_class(t.get()) == want && is_scalar == scalar &&
           H5Sget_simple_extent_npoints(s.get()) == static_cast<hssize_t>(n);
  });
  if (!a) {
    handle space(checked(scalar ? H5Screate(H5S_SCALAR)
                         : n == 0 ? H5Screate(H5S_NULL)
                                  : H5Screate_simple(1, &n, nullptr),
                         "create dataspace"));
    a = create_attr(obj, name, file_type, space.get(), op);
  }
  if (n > 0 && H5Awrite(a.get(), mem_type, data) < 0) detail::fail(obj.id(), op);
}

// Opens an attribute for reading and checks it holds numbers of an accepted class.
handle open_number_attr(const object& obj, std::string_view name, std::string_view op,
                        bool integer_only) {
  handle a(H5Aopen(obj.id(), z(name).c_str(), H5P_DEFAULT));
  if (!a) detail::fail(obj.id(), op);
  handle t(H5Aget_type(a.get()));
  H5T_class_t c = H5Tget_class(t.get());
  if (c != H5T_INTEGER && (integer_only || c != H5T_FLOAT))
    detail::fail_plain(obj.where(), op, integer_only ? "not an integer" : "not a number");
  return a;
}

template <class T>
std::vector<T> read_attr_numbers(const object& obj, std::string_view name, hid_t mem_type,
                                 bool integer_only) {
  std::string op = fmt::format("read attribute '{}'", name);
  handle a = open_number_attr(obj, name, op, integer_only);
  handle s(H5Aget_space(a.get()));
  hssize_t n = H5Sget_simple_extent_npoints(s.get());
  if (n < 0) detail::fail(obj.id(), op);
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0 && H5Aread(a.get(), mem_type, out.data()) < 0) detail::fail(obj.id(), op);
  return out;
}

template <class T>
T read_attr_scalar(const object& obj, std::string_view name, hid_t mem_type, bool integer_only) {
  std::vector<T> v = read_attr_numbers<T>(obj, name, mem_type, integer_only);
  if (v.size() != 1)
    detail::fail_plain(obj.where(), fmt::format("read attribute '{}'", name),
                       fmt::format("holds {} values, not one", v.size()));
  return v[0];
}

}  // namespace

// ---- detail ----

namespace detail {

void fail_plain(const std::string& where, std::string_view op, const std::string& reason) {
  throw error(fmt::format("{}: cannot {}: {}", where, op, reason));
}

void fail(hid_t obj, std::string_view op) {
  std::string reason = innermost_reason();  // before where() makes HDF5 calls
  fail_plain(where(obj), op, reason);
}

void fail(hid_t parent, std::string_view child, std::string_view op) {
  std::string reason = innermost_reason();
  fail_plain(where(parent, child), op, reason);
}

std::string take_reason() { return innermost_reason(); }

std::string where(hid_t obj) {
  std::string s = file_name(obj) + ":" + object_path(obj);
  H5Eclear2(H5E_DEFAULT);
  return s;
}

std::string where(hid_t parent, std::string_view child) {
  if (child.starts_with('/')) return file_name(parent) + ":" + z(child);
  std::string base = object_path(parent);
  if (!base.ends_with('/')) base += '/';
  std::string s = file_name(parent) + ":" + base + z(child);
  H5Eclear2(H5E_DEFAULT);
  return s;
}

bool swmr_writing(hid_t obj) {
  handle f(H5Iget_file_id(obj));
  unsigned intent = 0;
  if (!f || H5Fget_intent(f.get(), &intent) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return (intent & H5F_ACC_SWMR_WRITE) != 0;
}

void check_can_create(hid_t parent, std::string_view child, std::string_view op) {
  H5I_type_t t = H5Iget_type(parent);
  if (t != H5I_FILE && t != H5I_GROUP)  // HDF5's own complaint is "message type not found"
    fail_plain(where(parent, child), op, "only a file or a group can hold other objects");
  if (swmr_writing(parent))
    fail_plain(where(parent, child), op, "objects cannot be created while SWMR writing");
}

handle string_type(std::size_t size) {
  handle t(checked(H5Tcopy(H5T_C_S1), "copy string type"));
  if (H5Tset_size(t.get(), std::max<std::size_t>(size, 1)) < 0 ||
      H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0 || H5Tset_strpad(t.get(), H5T_STR_NULLPAD) < 0)
    fail_plain("HDF5", "make string type", innermost_reason());
  return t;
}

std::string read_string_from(hid_t id, bool is_attr, std::string_view op) {
  handle t(is_attr ? H5Aget_type(id) : H5Dget_type(id));
  handle s(is_attr ? H5Aget_space(id) : H5Dget_space(id));
  if (!t || !s) fail(id, op);
  if (H5Tget_class(t.get()) != H5T_STRING) fail_plain(where(id), op, "not a string");
  if (H5Sget_simple_extent_npoints(s.get()) != 1)
    fail_plain(where(id), op, "not a single string");
  auto read = [&](hid_t mem_type, void* buf) {
    herr_t e = is_attr ? H5Aread(id, mem_type, buf)
                       : H5Dread(id, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (e < 0) fail(id, op);
  };
  if (H5Tis_variable_str(t.get()) > 0) {  // written by another tool, e.g. h5py's default
    handle mt(checked(H5Tcopy(t.get()), "copy string type"));
    char* p = nullptr;
    read(mt.get(), &p);
    std::string out = p != nullptr ? p : "";
    H5free_memory(p);
    return out;
  }
  // A file declares a string's size for free (storage is allocated late).
  if (const std::size_t size = H5Tget_size(t.get()); size > max_string_bytes)
    fail_plain(where(id), op, fmt::format("its {} bytes are above the limit of {}", size, max_string_bytes));
  std::string buf(H5Tget_size(t.get()), '\0');
  read(t.get(), buf.data());  // the file's own type: no charset conversion needed
  if (H5Tget_strpad(t.get()) == H5T_STR_SPACEPAD) {
    buf.erase(buf.find_last_not_of(' ') + 1);
  } else {
    buf.resize(std::strlen(buf.c_str()));
  }
  return buf;
}

}  // namespace detail

// ---- handle, object, file ----

handle& handle::operator=(handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = std::exchange(o.id_, H5I_INVALID_HID);
  }
  return *this;
}

herr_t handle::reset() {
  if (id_ < 0) return 0;
  hid_t id = std::exchange(id_, H5I_INVALID_HID);
  if (H5Iis_valid(id) <= 0) return -1;
  switch (H5Iget_type(id)) {
    case H5I_FILE: return H5Fclose(id);
    case H5I_GROUP: return H5Gclose(id);
    case H5I_DATASET: return H5Dclose(id);
    case H5I_DATASPACE: return H5Sclose(id);
    case H5I_DATATYPE: return H5Tclose(id);
    case H5I_ATTR: return H5Aclose(id);
    case H5I_GENPROP_LST: return H5Pclose(id);
    default: return H5Idec_ref(id);
  }
}

std::string object::where() const { return detail::where(id()); }

file file::create(const std::filesystem::path& path) {
  quiet();
  handle fapl = latest_fapl();
  // H5F_ACC_TRUNC would open through a planted symlink and truncate its target.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    detail::fail_plain(path.string(), "create file", fmt::format("cannot replace it: {}", std::strerror(errno)));
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get());
  if (id < 0) detail::fail_plain(path.string(), "create file", innermost_reason());
  return file(id, path);
}

file file::open_read(const std::filesystem::path& path, bool swmr) {
  quiet();
  std::string_view op = swmr ? "open file for SWMR reading" : "open file for reading";
  require_file(path, op);
  unsigned flags = H5F_ACC_RDONLY | (swmr ? H5F_ACC_SWMR_READ : 0u);
  hid_t id = H5Fopen(path.c_str(), flags, H5P_DEFAULT);
  if (id < 0) fail_open(path, op);
  return file(id, path);
}

file file::open_rw(const std::filesystem::path& path) {
  quiet();
  require_file(path, "open file for writing");
  // A link planted in a shared directory would have its target written.
  std::error_code ec;
  if (std::filesystem::is_symlink(path, ec))
    detail::fail_plain(path.string(), "open file for writing", "it is a symbolic link (refusing to write through it)");
  handle fapl = latest_fapl();  // keeps new objects SWMR-compatible
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
  if (id < 0) fail_open(path, "open file for writing");
  return file(id, path);
}

void file::start_swmr() {
  if (H5Fstart_swmr_write(id()) < 0) detail::fail(id(), "start SWMR writing");
}

void file::flush() {
  if (H5Fflush(id(), H5F_SCOPE_GLOBAL) < 0) detail::fail(id(), "flush");
}

void file::close() {
  // HDF5 closes a file for real, with its final writes, only when its last
  // group, dataset or attribute closes: a failure there (a full disk) would go
  // unseen in that handle's destructor. So none may be open now (a file open
  // for reading has no final writes).
  unsigned intent = 0;
  const bool writing = H5Fget_intent(id(), &intent) >= 0 && (intent & H5F_ACC_RDWR) != 0;
  const ssize_t open = !writing ? 0
                                : H5Fget_obj_count(id(), H5F_OBJ_LOCAL | H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                             H5F_OBJ_DATATYPE | H5F_OBJ_ATTR);
  if (open > 0)
    detail::fail_plain(path_.string(), "close file",
                       fmt::format("{} of its groups, datasets or attributes are still open", open));
  if (h_.reset() < 0) detail::fail_plain(path_.string(), "close file", innermost_reason());
}

bool file::swmr_writing() const { return detail::swmr_writing(id()); }

// ---- groups ----

group create_group(const object& parent, std::string_view path) {
  detail::check_can_create(parent.id(), path, "create group");
  handle lcpl(checked(H5Pcreate(H5P_LINK_CREATE), "create link property list"));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  hid_t id = H5Gcreate2(parent.id(), z(path).c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) detail::fail(parent.id(), path, "create group");
  return group(id);
}

group open_group(const object& parent, std::string_view path) {
  hid_t id = H5Gopen2(parent.id(), z(path).c_str(), H5P_DEFAULT);
  if (id < 0) detail::fail(parent.id(), path, "open group");
  return group(id);
}

void create_soft_link(const object& parent, std::string_view target, std::string_view path) {
  detail::check_can_create(parent.id(), path, "create link");
  if (H5Lcreate_soft(z(target).c_str(), parent.id(), z(path).c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
    detail::fail(parent.id(), path, fmt::format("create soft link to {}", target));
}

std::vector<std::string> members(const object& group) {
  std::vector<std::string> names;
  const auto add = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  hsize_t index = 0;
  if (H5Literate(group.id(), H5_INDEX_NAME, H5_ITER_INC, &index, add, &names) < 0)
    detail::fail(group.id(), "list members");
  return names;
}

bool exists(const object& parent, std::string_view path) {
  // H5Lexists fails rather than answering false when a middle component is
  // missing, so walk the path one component at a time.
  std::string prefix = path.starts_with('/') ? "/" : "";
  std::size_t pos = prefix.size();
  while (pos < path.size()) {
    std::size_t next = std::min(path.find('/', pos), path.size());
    if (next > pos) {
      prefix += path.substr(pos, next - pos);
      if (H5Lexists(parent.id(), prefix.c_str(), H5P_DEFAULT) <= 0 ||
          H5Oexists_by_name(parent.id(), prefix.c_str(), H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
      prefix += '/';
    }
    pos = next + 1;
  }
  return true;
}

void refresh(const object& obj) {
  // H5Orefresh takes groups and datasets; a file stands for its root group.
  if (H5Iget_type(obj.id()) == H5I_FILE) {
    refresh(open_group(obj, "/"));
    return;
  }
  if (H5Orefresh(obj.id()) < 0) detail::fail(obj.id(), "refresh");
}

// ---- attributes ----

void write_attr_string(const object& obj, std::string_view name, std::string_view text,
                       std::size_t reserve) {
  std::string op = fmt::format("write attribute '{}'", name);
  handle a = reusable_attr(obj, name, op, [&](hid_t id) {
    handle t(H5Aget_type(id)), s(H5Aget_space(id));
    if (H5Tget_class(t.get()) != H5T_STRING || H5Tis_variable_str(t.get()) != 0 ||
        H5Sget_simple_extent_npoints(s.get()) != 1)
      return false;
    std::size_t room = H5Tget_size(t.get()) - (H5Tget_strpad(t.get()) == H5T_STR_NULLTERM ? 1 : 0);
    return text.size() <= room;
  });
  handle type;
  if (a) {
    type = handle(H5Aget_type(a.get()));  // write in the attribute's own type: no conversion
  } else {
    type = detail::string_type(std::max(text.size(), reserve));
    handle space(checked(H5Screate(H5S_SCALAR), "create dataspace"));
    a = create_attr(obj, name, type.get(), space.get(), op);
  }
  std::string buf(H5Tget_size(type.get()), '\0');  // null padding clears an older, longer value
  std::copy(text.begin(), text.end(), buf.begin());
  if (H5Awrite(a.get(), type.get(), buf.data()) < 0) detail::fail(obj.id(), op);
}

void write_attr_int(const object& obj, std::string_view name, std::int64_t value) {
  write_attr_numbers(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, 1, true);
}

void write_attr_double(const object& obj, std::string_view name, double value) {
  write_attr_numbers(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, 1, true);
}

void write_attr_ints(const object& obj, std::string_view name,
                     std::span<const std::int64_t> values) {
  write_attr_numbers(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, values.data(), values.size(), false);
}

void write_attr_doubles(const object& obj, std::string_view name, std::span<const double> values) {
  write_attr_numbers(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values.data(), values.size(),
                     false);
}

bool has_attr(const object& obj, std::string_view name) {
  htri_t e = H5Aexists(obj.id(), z(name).c_str());
  if (e < 0) detail::fail(obj.id(), fmt::format("look up attribute '{}'", name));
  return e > 0;
}

std::string read_attr_string(const object& obj, std::string_view name) {
  std::string op = fmt::format("read attribute '{}'", name);
  handle a(H5Aopen(obj.id(), z(name).c_str(), H5P_DEFAULT));
  if (!a) detail::fail(obj.id(), op);
  return detail::read_string_from(a.get(), true, op);
}

std::int64_t read_attr_int(const object& obj, std::string_view name) {
  return read_attr_scalar<std::int64_t>(obj, name, H5T_NATIVE_INT64, true);
}

double read_attr_double(const object& obj, std::string_view name) {
  return read_attr_scalar<double>(obj, name, H5T_NATIVE_DOUBLE, false);
}

std::vector<std::int64_t> read_attr_ints(const object& obj, std::string_view name) {
  return read_attr_numbers<std::int64_t>(obj, name, H5T_NATIVE_INT64, true);
}

std::vector<double> read_attr_doubles(const object& obj, std::string_view name) {
  return read_attr_numbers<double>(obj, name, H5T_NATIVE_DOUBLE, false);
}

void set_description(const object& obj, std::string_view units, std::string_view description) {
  write_attr_string(obj, "units", units);
  write_attr_string(obj, "description", description);
}

}  // namespace saelab::h5
