#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include "io/input_file.hpp"

namespace saelab {

namespace {

constexpr std::uint32_t magic_labels = 0x00000801;  // unsigned bytes, 1 axis
constexpr std::uint32_t magic_images = 0x00000803;  // unsigned bytes, 3 axes
// Larger sides mean a corrupt header, not a real image; rejecting them early
// gives a clear message instead of a confusing "truncated".
constexpr std::int64_t max_side = 1 << 14;

// The most bytes one read_idx may read: the header alone refuses more, before
// anything is read or allocated. 2 GiB of pixels is 8 GiB of floats, 45 times
// MNIST; a larger set must be read in parts (train.train_limit).
constexpr std::uint64_t max_payload = std::uint64_t{1} << 31;

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// `path` as given, else `path.gz`: callers name the file, not its compression.
std::string resolve(const std::string& path) {
  if (exists(path)) return path;
  if (exists(path + ".gz")) return path + ".gz";
  throw data_error(fmt::format("{}: no such file (also tried {}.gz)", path, path));
}

const char* magic_name(std::uint32_t magic) {
  return magic == magic_images ? "IDX unsigned-byte images" : "IDX unsigned-byte labels";
}

data_error as_data_error(const input_error& e) { return data_error(e.what()); }

// One open IDX file, plain or gzip. It is gzip when it starts with the gzip
// magic 1f 8b (an IDX file starts with two zero bytes), whatever its name.
// A gzip file may hold several members one after the other, as gzip(1)
// accepts (`cat a.gz b.gz`); any other bytes after the end of the gzip data
// are an error, where zlib's gzread would skip them silently.
class idx_file {
 public:
  explicit idx_file(const std::string& path) : path_(resolve(path)), file_(open(path_)), in_(std::size_t{1} << 20) {
    gzip_ = buffer_at_least(2) >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
    if (gzip_ && inflateInit2(&zs_, 15 + 16) != Z_OK) throw error("cannot start gzip decompression: out of memory");
  }
  ~idx_file() {
    if (gzip_) inflateEnd(&zs_);
  }
  idx_file(const idx_file&) = delete;
  idx_file& operator=(const idx_file&) = delete;

  // Reads up to n bytes; fewer only at end of file.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const std::size_t want = std::min<std::size_t>(n - done, 1 << 20);
      const std::size_t got = gzip_ ? inflate_some(dst + done, want) : copy_some(dst + done, want);
      done += got;
      if (got == 0) break;
    }
    return done;
  }

  // Bytes left until end of file, consuming them.
  std::int64_t count_rest() {
    std::array<std::uint8_t, 1 << 16> sink{};
    std::int64_t n = 0;
    while (std::size_t got = read(sink.data(), sink.size())) n += static_cast<std::int64_t>(got);
    return n;
  }

  bool gzipped() const { return gzip_; }
  const std::string& path() const { return path_; }
  data_error error(const std::string& what) const { return data_error(path_ + ": " + what); }

 private:
  static input_file open(const std::string& path) {
    try {
      return input_file(path, "an IDX file (raw or gzip)");
    } catch (const input_error& e) {
      throw as_data_error(e);
    }
  }

  // Makes at least `want` unread bytes buffered if the file has them; returns
  // how many are. zs_.next_in/avail_in track the buffer in both modes.
  std::size_t buffer_at_least(std::size_t want) {
    if (zs_.avail_in >= want) return zs_.avail_in;
    if (zs_.avail_in > 0) std::memmove(in_.data(), zs_.next_in, zs_.avail_in);
    const std::size_t got = read_file(in_.data() + zs_.avail_in, in_.size() - zs_.avail_in);
    zs_.next_in = in_.data();
    zs_.avail_in += static_cast<uInt>(got);
    return zs_.avail_in;
  }

  std::size_t read_file(std::uint8_t* dst, std::size_t n) {
    try {
      const std::size_t got = file_.read(dst, n);
      file_offset_ += got;
      return got;
    } catch (const input_error& e) {
      throw as_data_error(e);
    }
  }

  std::size_t copy_some(std::uint8_t* dst, std::size_t n) {
    if (zs_.avail_in == 0 && n >= in_.size()) return read_file(dst, n);  // large reads skip the buffer
    if (zs_.avail_in == 0 && buffer_at_least(1) == 0) return 0;
    const std::size_t k = std::min<std::size_t>(n, zs_.avail_in);
    std::memcpy(dst, zs_.next_in, k);
    zs_.next_in += k;
    zs_.avail_in -= static_cast<uInt>(k);
    return k;
  }

  std::size_t inflate_some(std::uint8_t* dst, std::size_t n) {
    zs_.next_out = dst;
    zs_.avail_out = static_cast<uInt>(n);
    while (zs_.avail_out > 0) {
      if (member_ended_) {
        if (buffer_at_least(2) == 0) break;  // the end of the file, right after a member
        if (zs_.avail_in < 2 || zs_.next_in[0] != 0x1f || zs_.next_in[1] != 0x8b)
          throw error(fmt::format("trailing garbage at byte {} (after the end of the gzip data): expected the end "
                                  "of the file or another gzip member",
                                  file_offset_ - zs_.avail_in));
        inflateReset(&zs_);
        member_ended_ = false;
      }
      if (zs_.avail_in == 0 && buffer_at_least(1) == 0)
        throw error("truncated gzip stream (the .gz file itself is cut short)");
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) member_ended_ = true;
      else if (rc == Z_MEM_ERROR) throw error("gzip decompression: out of memory");
      else if (rc != Z_OK && rc != Z_BUF_ERROR)
        throw error(fmt::format("corrupt gzip data: {}", zs_.msg ? zs_.msg : "inflate failed"));
    }
    return n - zs_.avail_out;
  }

  std::string path_;
  input_file file_;
  std::vector<std::uint8_t> in_;  // compressed (or raw) bytes not yet used
  z_stream zs_{};
  bool gzip_ = false, member_ended_ = false;
  std::uint64_t file_offset_ = 0;  // bytes read from the file so far
};

struct idx_contents {
  std::array<std::int64_t, 3> dims{};  // from the header; rank of them used: [N] or [N, rows, cols]
  std::int64_t items = 0;              // read: N, or fewer when limited
  std::vector<std::uint8_t> bytes;     // items * rows * cols, row-major
};

std::string describe(int rank, const std::array<std::int64_t, 3>& d) {
  return rank == 1 ? fmt::format("{} labels", d[0]) : fmt::format("{} images of {}x{}", d[0], d[1], d[2]);
}

// Reads and checks one IDX file with the given magic and rank (1 or 3). A
// limit > 0 reads only the first `limit` items: the rest of the file is not
// read, so it is not checked either (that is what the limit saves).
idx_contents read_idx(const std::string& path, std::uint32_t magic, int rank, std::int64_t limit = 0) {
  idx_file f(path);
  const std::size_t header_bytes = 4 + 4 * static_cast<std::size_t>(rank);
  std::array<std::uint8_t, 16> header{};
  const std::size_t got = f.read(header.data(), header_bytes);
  if (got < 4)
    throw f.error(fmt::format("truncated: file has {} bytes, too short for the 4-byte IDX magic number", got));

  // IDX is big-endian: decode byte by byte so the host's byte order never matters.
  auto be32 = [&](std::size_t at) {
    return std::uint32_t{header[at]} << 24 | std::uint32_t{header[at + 1]} << 16 |
           std::uint32_t{header[at + 2]} << 8 | std::uint32_t{header[at + 3]};
  };
  if (be32(0) != magic)
    throw f.error(fmt::format("bad magic number {:#010x}, expected {:#010x} ({})", be32(0), magic, magic_name(magic)));
  if (got < header_bytes)
    throw f.error(fmt::format("truncated: the {} header is {} bytes, file has {}", magic_name(magic), header_bytes, got));

  idx_contents c;
  for (int i = 0; i < rank; ++i) c.dims[static_cast<std::size_t>(i)] = be32(4 + 4 * static_cast<std::size_t>(i));
  if (std::any_of(c.dims.begin(), c.dims.begin() + rank, [](std::int64_t d) { return d == 0; }))
    throw f.error(fmt::format("bad header: {}; every dimension must be nonzero", describe(rank, c.dims)));
  if (rank == 3 && (c.dims[1] > max_side || c.dims[2] > max_side))
    throw f.error(fmt::format("bad header: {}; rows and cols must be at most {}", describe(rank, c.dims), max_side));

  // Sizes in unsigned 64 bits, every product checked: four uint32 fields
  // overflow any 64-bit type.
  std::uint64_t item_bytes = 1, total = 0, want = 0;
  bool overflow = false;
  for (int i = 1; i < rank; ++i)
    overflow |= __builtin_mul_overflow(item_bytes, static_cast<std::uint64_t>(c.dims[static_cast<std::size_t>(i)]),
                                       &item_bytes);
  const auto n = static_cast<std::uint64_t>(c.dims[0]);
  c.items = static_cast<std::int64_t>(limit > 0 ? std::min(n, static_cast<std::uint64_t>(limit)) : n);
  overflow |= __builtin_mul_overflow(n, item_bytes, &total);
  overflow |= __builtin_mul_overflow(static_cast<std::uint64_t>(c.items), item_bytes, &want);
  if (overflow || want > max_payload)
    throw f.error(fmt::format("bad header: {}; reading {} of them is {} bytes, more than the limit of {} bytes (2 GiB)",
                              describe(rank, c.dims), c.items,
                              overflow ? std::string("too many") : std::to_string(want), max_payload));

  // Grow the buffer as data arrives, so a corrupt header promising more than
  // the file holds fails as "truncated" instead of allocating it.
  while (c.bytes.size() < want) {
    const std::size_t old = c.bytes.size();
    const std::size_t chunk = std::min<std::size_t>(want - old, std::size_t{16} << 20);
    c.bytes.resize(old + chunk);
    const std::size_t got_now = f.read(c.bytes.data() + old, chunk);
    c.bytes.resize(old + got_now);
    if (got_now < chunk) break;
  }
  const auto have = static_cast<std::uint64_t>(c.bytes.size());
  const bool whole = c.items == c.dims[0];
  const std::int64_t extra = have < want || !whole ? 0 : f.count_rest();
  if (have != want || extra != 0)
    throw f.error(fmt::format("{}: header promises {} ({} bytes after the {}-byte header), file has {} bytes after the header{}",
                              have < want ? "truncated" : "trailing bytes", describe(rank, c.dims), total,
                              header_bytes, have + static_cast<std::uint64_t>(extra),
                              f.gzipped() ? " (decompressed)" : ""));
  return c;
}

tensor<float> to_images(const idx_contents& c) {
  tensor<float> images({c.items, 1, c.dims[1], c.dims[2]});  // [N, 1, rows, cols]
  float* dst = images.data();
  // Divide, as the reference's ToTensor does (div(255)), rather than multiply by 1/255.
  for (std::size_t i = 0; i < c.bytes.size(); ++i) dst[i] = static_cast<float>(c.bytes[i]) / 255.0f;
  return images;
}

// The first `limit` items of a set (0: all), read no further than needed.
mnist_set load_set(const std::string& dir, const std::string& prefix, std::int64_t limit, const char* which) {
  const std::string images_path = dir + "/" + prefix + "-images-idx3-ubyte";
  const std::string labels_path = dir + "/" + prefix + "-labels-idx1-ubyte";
  for (const auto& p : {images_path, labels_path})
    if (!exists(p) && !exists(p + ".gz"))
      throw data_error(fmt::format("{}: no such file (also tried {}.gz); run data/fetch-mnist to download MNIST", p, p));

  const idx_contents images = read_idx(images_path, magic_images, 3, limit);
  idx_contents labels = read_idx(labels_path, magic_labels, 1, limit);
  const std::int64_t n_images = images.dims[0], n_labels = labels.dims[0];
  if (n_images != n_labels)
    throw data_error(fmt::format("{}: {} images but {} has {} labels; the two files must match", images_path, n_images,
                                 labels_path, n_labels));
  if (limit > n_images)
    throw data_error(fmt::format("{}: {}_limit {} exceeds the {} {} images", dir, which, limit, n_images, which));
  // MNIST has ten classes; anything else means the wrong file or corruption.
  for (std::size_t i = 0; i < labels.bytes.size(); ++i)
    if (labels.bytes[i] > 9)
      throw data_error(fmt::format("{}: label {} at index {}, expected 0 to 9", labels_path, labels.bytes[i], i));
  return {to_images(images), std::move(labels.bytes)};
}

}  // namespace

tensor<float> read_idx_images(const std::string& path) { return to_images(read_idx(path, magic_images, 3)); }

std::vector<std::uint8_t> read_idx_labels(const std::string& path) {
  return read_idx(path, magic_labels, 1).bytes;
}

mnist_data load_mnist(const std::string& dir, std::int64_t train_limit, std::int64_t test_limit) {
  for (const auto& [limit, which] : {std::pair{train_limit, "train"}, std::pair{test_limit, "test"}})
    if (limit < 0) throw std::invalid_argument(fmt::format("load_mnist: {}_limit is {}, must be >= 0", which, limit));
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw data_error(fmt::format("{}: MNIST directory not found; run data/fetch-mnist to download MNIST", dir));
  mnist_data d{load_set(dir, "train", train_limit, "train"), load_set(dir, "t10k", test_limit, "test")};
  if (d.train.images.dims().drop_batch() != d.test.images.dims().drop_batch())
    throw data_error(fmt::format("{}: training images are {} but test images are {}", dir,
                                 d.train.images.dims().drop_batch().str(), d.test.images.dims().drop_batch().str()));
  return d;
}

shape mnist_sample_shape(const std::string& dir) {
  const idx_contents c = read_idx(dir + "/train-images-idx3-ubyte", magic_images, 3, 1);
  return shape{1, c.dims[1], c.dims[2]};
}

}  // namespace saelab
