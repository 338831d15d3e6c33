#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace saelab {

namespace {

constexpr std::uint32_t magic_labels = 0x00000801;  // unsigned bytes, 1 axis
constexpr std::uint32_t magic_images = 0x00000803;  // unsigned bytes, 3 axes
// Larger sides mean a corrupt header, not a real image; rejecting them early
// gives a clear message instead of a confusing "truncated".
constexpr std::int64_t max_side = 1 << 14;

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

// One open IDX file, plain or gzip (gzread passes plain files through).
class idx_file {
 public:
  explicit idx_file(const std::string& path) : path_(resolve(path)) {
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec)) throw error("is a directory, expected an IDX file");
    file_ = gzopen(path_.c_str(), "rb");
    if (!file_) throw error(fmt::format("cannot open: {}", std::strerror(errno)));
    gzbuffer(file_, 1 << 20);  // the 64 KiB default costs noticeable time on 47 MB
  }
  ~idx_file() { gzclose(file_); }
  idx_file(const idx_file&) = delete;
  idx_file& operator=(const idx_file&) = delete;

  // Reads up to n bytes; fewer only at end of file.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(n - done, 1 << 20));
      const int got = gzread(file_, dst + done, want);
      if (got < 0) throw read_error();
      done += static_cast<std::size_t>(got);
      if (static_cast<unsigned>(got) < want) {
        int errnum = Z_OK;
        gzerror(file_, &errnum);
        if (errnum != Z_OK) throw read_error();
        break;
      }
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

  bool gzipped() const { return path_.ends_with(".gz"); }
  const std::string& path() const { return path_; }
  data_error error(const std::string& what) const { return data_error(path_ + ": " + what); }

 private:
  data_error read_error() const {
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    if (errnum == Z_BUF_ERROR) return error("truncated gzip stream (the .gz file itself is cut short)");
    if (errnum == Z_ERRNO) return error(fmt::format("read error: {}", std::strerror(errno)));
    return error(fmt::format("corrupt gzip data: {}", msg));
  }

  std::string path_;
  gzFile file_ = nullptr;
};

struct idx_contents {
  std::array<std::int64_t, 3> dims{};  // rank of them used: [N] or [N, rows, cols]
  std::vector<std::uint8_t> bytes;     // N * rows * cols, row-major
};

std::string describe(int rank, const std::array<std::int64_t, 3>& d) {
  return rank == 1 ? fmt::format("{} labels", d[0]) : fmt::format("{} images of {}x{}", d[0], d[1], d[2]);
}

// Reads and checks one IDX file with the given magic and rank (1 or 3).
idx_contents read_idx(const std::string& path, std::uint32_t magic, int rank) {
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
  if (std::find(c.dims.begin(), c.dims.begin() + rank, 0) != c.dims.begin() + rank)
    throw f.error(fmt::format("bad header: {}; every dimension must be nonzero", describe(rank, c.dims)));
  if (rank == 3 && (c.dims[1] > max_side || c.dims[2] > max_side))
    throw f.error(fmt::format("bad header: {}; rows and cols must be at most {}", describe(rank, c.dims), max_side));
  // Only after the side check: N < 2^32 and sides <= 2^14 keep the product below 2^60.
  std::int64_t expected = 1;
  for (int i = 0; i < rank; ++i) expected *= c.dims[static_cast<std::size_t>(i)];

  // Grow the buffer as data arrives, so a corrupt header promising terabytes
  // fails as "truncated" instead of allocating them.
  const auto want = static_cast<std::size_t>(expected);
  while (c.bytes.size() < want) {
    const std::size_t old = c.bytes.size();
    const std::size_t chunk = std::min<std::size_t>(want - old, std::size_t{16} << 20);
    c.bytes.resize(old + chunk);
    const std::size_t n = f.read(c.bytes.data() + old, chunk);
    c.bytes.resize(old + n);
    if (n < chunk) break;
  }
  const auto have = static_cast<std::int64_t>(c.bytes.size());
  const std::int64_t extra = have < expected ? 0 : f.count_rest();
  if (have != expected || extra != 0)
    throw f.error(fmt::format("{}: header promises {} ({} bytes after the {}-byte header), file has {} bytes after the header{}",
                              have < expected ? "truncated" : "trailing bytes", describe(rank, c.dims), expected,
                              header_bytes, have + extra, f.gzipped() ? " (decompressed)" : ""));
  return c;
}

// The first `limit` items of a set; 0 keeps all. Cloned so the rest is freed.
void keep_first(mnist_set& s, std::int64_t limit, const char* which, const std::string& dir) {
  if (limit < 0) throw std::invalid_argument(fmt::format("load_mnist: {}_limit is {}, must be >= 0", which, limit));
  if (limit == 0) return;
  const std::int64_t n = s.images.size(0);
  if (limit > n)
    throw data_error(fmt::format("{}: {}_limit {} exceeds the {} {} images", dir, which, limit, n, which));
  s.images = s.images.slice(0, limit).clone();
  s.labels.resize(static_cast<std::size_t>(limit));
}

mnist_set load_set(const std::string& dir, const std::string& prefix) {
  const std::string images_path = dir + "/" + prefix + "-images-idx3-ubyte";
  const std::string labels_path = dir + "/" + prefix + "-labels-idx1-ubyte";
  for (const auto& p : {images_path, labels_path})
    if (!exists(p) && !exists(p + ".gz"))
      throw data_error(fmt::format("{}: no such file (also tried {}.gz); run data/fetch-mnist to download MNIST", p, p));

  mnist_set s{read_idx_images(images_path), read_idx_labels(labels_path)};
  const std::int64_t n_images = s.images.size(0);
  const auto n_labels = static_cast<std::int64_t>(s.labels.size());
  if (n_images != n_labels)
    throw data_error(fmt::format("{}: {} images but {} has {} labels; the two files must match", images_path, n_images,
                                 labels_path, n_labels));
  // MNIST has ten classes; anything else means the wrong file or corruption.
  for (std::size_t i = 0; i < s.labels.size(); ++i)
    if (s.labels[i] > 9)
      throw data_error(fmt::format("{}: label {} at index {}, expected 0 to 9", labels_path, s.labels[i], i));
  return s;
}

}  // namespace

tensor<float> read_idx_images(const std::string& path) {
  const idx_contents c = read_idx(path, magic_images, 3);
  tensor<float> images({c.dims[0], 1, c.dims[1], c.dims[2]});  // [N, 1, rows, cols]
  float* dst = images.data();
  // Divide, as the reference's ToTensor does (div(255)), rather than multiply by 1/255.
  for (std::size_t i = 0; i < c.bytes.size(); ++i) dst[i] = static_cast<float>(c.bytes[i]) / 255.0f;
  return images;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path) {
  return read_idx(path, magic_labels, 1).bytes;
}

mnist_data load_mnist(const std::string& dir, std::int64_t train_limit, std::int64_t test_limit) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw data_error(fmt::format("{}: MNIST directory not found; run data/fetch-mnist to download MNIST", dir));
  mnist_data d{load_set(dir, "train"), load_set(dir, "t10k")};
  if (d.train.images.dims().drop_batch() != d.test.images.dims().drop_batch())
    throw data_error(fmt::format("{}: training images are {} but test images are {}", dir,
                                 d.train.images.dims().drop_batch().str(), d.test.images.dims().drop_batch().str()));
  keep_first(d.train, train_limit, "train", dir);
  keep_first(d.test, test_limit, "test", dir);
  return d;
}

}  // namespace saelab
