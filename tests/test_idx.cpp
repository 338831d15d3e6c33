#include <catch2/catch.hpp>

#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "data/idx.hpp"
#include "data/minibatcher.hpp"
#include "in_child.hpp"
#include "temp_dir.hpp"

using namespace saelab;
namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;
using saelab::testing::run_in_child;
using saelab::testing::temp_dir;

namespace {

void put_be32(bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

// IDX header: magic, then one big-endian uint32 per dimension.
bytes idx_header(std::uint32_t magic, std::initializer_list<std::uint32_t> dims) {
  bytes b;
  put_be32(b, magic);
  for (auto d : dims) put_be32(b, d);
  return b;
}

// n images of rows x cols; pixel i of the whole payload is (i * 37) % 256.
bytes image_file(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, std::int64_t payload) {
  bytes b = idx_header(0x803, {n, rows, cols});
  for (std::int64_t i = 0; i < payload; ++i) b.push_back(static_cast<std::uint8_t>(i * 37 % 256));
  return b;
}
bytes image_file(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  return image_file(n, rows, cols, std::int64_t{n} * rows * cols);
}

bytes label_file(const bytes& labels) {
  bytes b = idx_header(0x801, {static_cast<std::uint32_t>(labels.size())});
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void write_raw(const std::string& path, const bytes& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  REQUIRE(out.good());
}

void write_gz(const std::string& path, const bytes& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

// One gzip member holding `b`, made in memory (compress2 writes zlib, not gzip).
bytes gzip_member(const bytes& b) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  bytes out(deflateBound(&zs, static_cast<uLong>(b.size())) + 32);
  zs.next_in = const_cast<Bytef*>(b.data());
  zs.avail_in = static_cast<uInt>(b.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A gzip file of `header` then `zero_mib` MiB of zero bytes, written as
// concatenated members (one per MiB, each ~1 KiB), so a file of gigabytes
// decompressed costs the test almost nothing to make.
void write_gzip_bomb(const std::string& path, const bytes& header, std::int64_t zero_mib) {
  bytes file = gzip_member(header);
  const bytes mib = gzip_member(bytes(std::size_t{1} << 20, 0));
  for (std::int64_t i = 0; i < zero_mib; ++i) file.insert(file.end(), mib.begin(), mib.end());
  write_raw(path, file);
}

}  // namespace

TEST_CASE("idx images read back scaled, raw and gzip", "[idx]") {
  temp_dir dir("idx_1");
  const bytes file = image_file(3, 2, 4);
  write_raw(dir / "raw-images", file);
  write_gz(dir / "packed-images.gz", file);

  for (const fs::path& path : {dir / "raw-images", dir / "packed-images", dir / "packed-images.gz"}) {
    INFO(path);
    const tensor<float> x = read_idx_images(path);
    CHECK(x.dims() == shape{3, 1, 2, 4});  // [N, 1, rows, cols]
    for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(x[i] == static_cast<float>(i * 37 % 256) / 255.0f);
    CHECK(x.at(2, 0, 1, 3) == static_cast<float>(23 * 37 % 256) / 255.0f);  // the last pixel, index 23
  }
}

TEST_CASE("idx labels read back, raw and gzip", "[idx]") {
  temp_dir dir("idx_2");
  const bytes labels{5, 0, 4, 1, 9};
  write_raw(dir / "labels", label_file(labels));
  write_gz(dir / "labels-gz.gz", label_file(labels));
  CHECK(read_idx_labels(dir / "labels") == labels);
  CHECK(read_idx_labels(dir / "labels-gz") == labels);
}

TEST_CASE("idx corruptions each give their own message", "[idx]") {
  temp_dir dir("idx_3");
  using Catch::Contains;

  SECTION("bad magic") {
    write_raw(dir / "f", label_file({1, 2, 3}));
    CHECK_THROWS_WITH(read_idx_images(dir / "f"),
                      Contains(dir / "f") && Contains("bad magic number 0x00000801, expected 0x00000803 "
                                                      "(IDX unsigned-byte images)"));
    write_raw(dir / "g", image_file(1, 2, 2));
    CHECK_THROWS_WITH(read_idx_labels(dir / "g"),
                      Contains("bad magic number 0x00000803, expected 0x00000801 (IDX unsigned-byte labels)"));
  }
  SECTION("truncated payload") {
    write_raw(dir / "f", image_file(3, 2, 4, 10));
    CHECK_THROWS_WITH(read_idx_images(dir / "f"),
                      Contains(dir / "f: truncated: header promises 3 images of 2x4 (24 bytes after the "
                                     "16-byte header), file has 10 bytes after the header"));
    write_gz(dir / "g.gz", image_file(3, 2, 4, 10));
    CHECK_THROWS_WITH(read_idx_images(dir / "g"),
                      Contains(dir / "g.gz: truncated:") && Contains("file has 10 bytes after the header (decompressed)"));
    bytes short_labels = idx_header(0x801, {5});
    short_labels.push_back(1);
    write_raw(dir / "l", short_labels);
    CHECK_THROWS_WITH(read_idx_labels(dir / "l"),
                      Contains("truncated: header promises 5 labels (5 bytes after the 8-byte header), file has 1"));
  }
  SECTION("trailing bytes") {
    write_raw(dir / "f", image_file(3, 2, 4, 30));
    CHECK_THROWS_WITH(read_idx_images(dir / "f"),
                      Contains("trailing bytes: header promises 3 images of 2x4 (24 bytes after the 16-byte "
                               "header), file has 30 bytes after the header"));
  }
  SECTION("header cut short") {
    bytes b = image_file(3, 2, 4);
    b.resize(10);
    write_raw(dir / "f", b);
    CHECK_THROWS_WITH(read_idx_images(dir / "f"),
                      Contains("truncated: the IDX unsigned-byte images header is 16 bytes, file has 10"));
    write_raw(dir / "empty", {});
    CHECK_THROWS_WITH(read_idx_images(dir / "empty"), Contains("file has 0 bytes, too short for the 4-byte"));
  }
  SECTION("zero or absurd dimensions") {
    write_raw(dir / "f", image_file(3, 0, 4));
    CHECK_THROWS_WITH(read_idx_images(dir / "f"),
                      Contains("bad header: 3 images of 0x4; every dimension must be nonzero"));
    write_raw(dir / "g", image_file(0, 28, 28));
    CHECK_THROWS_WITH(read_idx_images(dir / "g"), Contains("0 images of 28x28; every dimension must be nonzero"));
    write_raw(dir / "h", label_file({}));
    CHECK_THROWS_WITH(read_idx_labels(dir / "h"), Contains("0 labels; every dimension must be nonzero"));
    write_raw(dir / "i", idx_header(0x803, {1, 100000, 28}));
    CHECK_THROWS_WITH(read_idx_images(dir / "i"), Contains("rows and cols must be at most 16384"));
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(read_idx_images(dir / "nope"),
                      Contains((dir / "nope").string() + ": no such file (also tried " + (dir / "nope.gz").string() + ")"));
    CHECK_THROWS_AS(read_idx_labels(dir / "nope"), data_error);
  }
  SECTION("gzip stream cut short") {
    write_gz(dir / "f.gz", image_file(50, 8, 8));
    fs::resize_file(dir / "f.gz", fs::file_size(dir / "f.gz") - 20);
    CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains(dir / "f.gz: truncated gzip stream"));
  }
}

TEST_CASE("idx gzip: concatenated members are read, trailing garbage is refused", "[idx]") {
  temp_dir dir("idx_5");
  using Catch::Contains;
  const bytes file = image_file(3, 2, 4);
  const bytes first(file.begin(), file.begin() + 20), rest(file.begin() + 20, file.end());
  bytes two = gzip_member(first);
  const bytes second = gzip_member(rest);
  two.insert(two.end(), second.begin(), second.end());
  write_raw(dir / "two.gz", two);
  CHECK(read_idx_images(dir / "two").dims() == shape{3, 1, 2, 4});  // as `cat a.gz b.gz` with gzip -d

  for (const bytes& tail : {bytes{'j', 'u', 'n', 'k'}, bytes{0, 0, 0, 0}, bytes{0x1f}}) {
    INFO(tail.size() << " bytes, first " << int{tail[0]});
    bytes b = gzip_member(file);
    const std::size_t end = b.size();
    b.insert(b.end(), tail.begin(), tail.end());
    write_raw(dir / "f.gz", b);
    CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains(dir / "f.gz") &&
                                                      Contains(fmt::format("trailing garbage at byte {}", end)) &&
                                                      Contains("expected the end of the file or another gzip member"));
  }
  // A second member that starts right but is corrupt is corrupt data, not trailing garbage.
  bytes b = gzip_member(file);
  b.insert(b.end(), {0x1f, 0x8b, 0x08, 0x00, 0xff, 0xff});
  write_raw(dir / "g.gz", b);
  CHECK_THROWS_AS(read_idx_images(dir / "g"), data_error);
}

TEST_CASE("idx headers too large for memory are refused from the header, without overflow", "[idx]") {
  temp_dir dir("idx_6");
  using Catch::Contains;
  // Before the bound checks, 2^32-1 cubed overflowed a signed 64-bit product (UBSan).
  write_raw(dir / "f", idx_header(0x803, {0xffffffff, 0xffffffff, 0xffffffff}));
  CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains("rows and cols must be at most 16384"));
  write_raw(dir / "g", idx_header(0x803, {0xffffffff, 16384, 16384}));
  CHECK_THROWS_WITH(read_idx_images(dir / "g"),
                    Contains("bad header: 4294967295 images of 16384x16384; reading 4294967295 of them is "
                             "1152921504338411520 bytes, more than the limit of 2147483648 bytes (2 GiB)"));
  write_raw(dir / "l", idx_header(0x801, {0xffffffff}));
  CHECK_THROWS_WITH(read_idx_labels(dir / "l"), Contains("more than the limit of 2147483648 bytes"));

  // A gzip bomb: 10 million images declared, 7.8 GB decompressed, refused before
  // anything past the header is read.
  write_gzip_bomb(dir / "bomb.gz", idx_header(0x803, {10'000'000, 28, 28}), 2);
  CHECK_THROWS_WITH(read_idx_images(dir / "bomb"), Contains(dir / "bomb.gz: bad header: 10000000 images of 28x28") &&
                                                       Contains("7840000000 bytes, more than the limit"));
}

TEST_CASE("load_mnist reads only train_limit images of a huge file, in bounded memory", "[idx]") {
  temp_dir dir("idx_7");
  // 2^20 images (784 MiB, 3 GiB as floats) in a 1 MB gzip file; labels likewise.
  write_gzip_bomb(dir / "train-images-idx3-ubyte.gz", idx_header(0x803, {1 << 20, 28, 28}), 784);
  write_gzip_bomb(dir / "train-labels-idx1-ubyte.gz", idx_header(0x801, {1 << 20}), 1);
  write_raw(dir / "t10k-images-idx3-ubyte", image_file(3, 28, 28));
  write_raw(dir / "t10k-labels-idx1-ubyte", label_file({4, 1, 4}));
  const auto r = run_in_child([&] {
    const mnist_data d = load_mnist(dir.path.string(), 10, 0);
    if (d.train.images.dims() != shape{10, 1, 28, 28} || d.train.labels.size() != 10)
      throw std::runtime_error("wrong size: " + d.train.images.dims().str());
  });
  CHECK(r.message == "(no error)");
  // Before, all 784 MB were read and 3 GB of floats made before the limit applied.
  INFO("peak RSS grew by " << r.peak_rss_growth_kib << " KiB");
  CHECK(r.peak_rss_growth_kib < 64 * 1024);
}

TEST_CASE("load_mnist pairs images with labels and applies limits", "[idx]") {
  temp_dir dir("idx_4");
  using Catch::Contains;
  CHECK_THROWS_WITH(load_mnist(dir / "absent"), Contains("MNIST directory not found; run data/fetch-mnist"));
  CHECK_THROWS_WITH(load_mnist(dir.path.string()), Contains("train-images-idx3-ubyte: no such file") &&
                                                       Contains("run data/fetch-mnist"));

  write_raw(dir / "train-images-idx3-ubyte", image_file(4, 3, 3));
  write_gz(dir / "train-labels-idx1-ubyte.gz", label_file({7, 2, 1, 0}));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", image_file(3, 3, 3));
  write_raw(dir / "t10k-labels-idx1-ubyte", label_file({4, 1, 4}));

  mnist_data d = load_mnist(dir.path.string());
  CHECK(d.train.images.dims() == shape{4, 1, 3, 3});
  CHECK(d.test.images.dims() == shape{3, 1, 3, 3});
  CHECK(d.train.labels == bytes{7, 2, 1, 0});
  CHECK(d.test.labels == bytes{4, 1, 4});

  d = load_mnist(dir.path.string(), 2, 1);
  CHECK(d.train.images.dims() == shape{2, 1, 3, 3});
  CHECK(d.train.labels == bytes{7, 2});
  CHECK(d.train.images[17] == static_cast<float>(17 * 37 % 256) / 255.0f);
  CHECK(d.test.labels == bytes{4});
  CHECK_THROWS_WITH(load_mnist(dir.path.string(), 5), Contains("train_limit 5 exceeds the 4 train images"));
  CHECK_THROWS_AS(load_mnist(dir.path.string(), -1), std::invalid_argument);

  SECTION("count mismatch") {
    write_raw(dir / "t10k-labels-idx1-ubyte", label_file({4, 1}));
    CHECK_THROWS_WITH(load_mnist(dir.path.string()),
                      Contains("t10k-images-idx3-ubyte: 3 images but") && Contains("has 2 labels"));
  }
  SECTION("label out of range") {
    write_raw(dir / "t10k-labels-idx1-ubyte", label_file({4, 12, 4}));
    CHECK_THROWS_WITH(load_mnist(dir.path.string()), Contains("label 12 at index 1, expected 0 to 9"));
  }
  SECTION("train and test image sizes differ") {
    write_gz(dir / "t10k-images-idx3-ubyte.gz", image_file(3, 2, 2));
    CHECK_THROWS_WITH(load_mnist(dir.path.string()), Contains("training images are [1, 3, 3] but test images are"));
  }
}

TEST_CASE("minibatcher covers every item once per epoch", "[minibatcher]") {
  minibatcher mb(10, 4, true);
  CHECK(mb.batches() == 3);
  rng r(42);
  for (int epoch = 0; epoch < 3; ++epoch) {
    mb.start_epoch(r);
    CHECK(mb.batch(0).size() == 4);
    CHECK(mb.batch(1).size() == 4);
    CHECK(mb.batch(2).size() == 2);  // the last batch is short, not dropped
    std::multiset<std::int64_t> seen;
    for (std::int64_t b = 0; b < mb.batches(); ++b)
      for (auto i : mb.batch(b)) seen.insert(i);
    CHECK(seen.size() == 10);
    for (std::int64_t i = 0; i < 10; ++i) CHECK(seen.count(i) == 1);
  }
  CHECK_THROWS_AS(mb.batch(3), std::out_of_range);
  CHECK(minibatcher(12, 4, false).batches() == 3);
  CHECK(minibatcher(0, 4, false).batches() == 0);
  CHECK_THROWS(minibatcher(10, 0, true));
}

namespace {
std::vector<std::int64_t> epoch_order(minibatcher& mb, rng& r) {
  mb.start_epoch(r);
  std::vector<std::int64_t> order;
  for (std::int64_t b = 0; b < mb.batches(); ++b)
    for (auto i : mb.batch(b)) order.push_back(i);
  return order;
}
}  // namespace

TEST_CASE("minibatcher order follows the seed", "[minibatcher]") {
  minibatcher a(100, 32, true), b(100, 32, true);
  rng ra(7), rb(7);
  const auto first = epoch_order(a, ra);
  CHECK(first == epoch_order(b, rb));     // same seed, same order
  const auto second = epoch_order(a, ra);
  CHECK(first != second);                 // a new order every epoch
  CHECK(second == epoch_order(b, rb));

  // Pinned: mt19937_64 and our Fisher-Yates are fully specified, so this order
  // must hold on every compiler and standard library.
  minibatcher small(10, 10, true);
  rng r42(42);
  CHECK(epoch_order(small, r42) == std::vector<std::int64_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6});

  minibatcher plain(10, 3, false);
  rng r(1), r_copy(1);
  CHECK(epoch_order(plain, r) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(r.next_u64() == r_copy.next_u64());  // no shuffle draws nothing
}

TEST_CASE("gather_rows copies the named rows", "[minibatcher]") {
  tensor<double> src({5, 2, 3});  // [5, 2, 3]
  for (std::int64_t i = 0; i < src.numel(); ++i) src[i] = static_cast<double>(i);
  tensor<double> dst({8, 2, 3});  // larger: resize keeps the storage
  const std::vector<std::int64_t> rows{4, 0, 4};
  gather_rows(src, std::span<const std::int64_t>(rows), dst);
  CHECK(dst.dims() == shape{3, 2, 3});
  for (std::int64_t j = 0; j < 6; ++j) {
    CHECK(dst[j] == 24 + j);
    CHECK(dst[6 + j] == j);
    CHECK(dst[12 + j] == 24 + j);
  }
  tensor<float> fsrc({3, 1, 2, 2}), fdst;  // float, into an empty tensor
  for (std::int64_t i = 0; i < fsrc.numel(); ++i) fsrc[i] = static_cast<float>(i);
  const std::vector<std::int64_t> one{2};
  gather_rows(fsrc, std::span<const std::int64_t>(one), fdst);
  CHECK(fdst.dims() == shape{1, 1, 2, 2});
  CHECK(fdst[3] == 11.0f);
  const std::vector<std::int64_t> bad{5};
  CHECK_THROWS_AS(gather_rows(fsrc, std::span<const std::int64_t>(bad), fdst), std::out_of_range);
}

TEST_CASE("real MNIST has the known pixel statistics", "[idx][mnist]") {
  const std::string dir = "data/mnist";  // tests run from the project root
  if (!fs::exists(dir + "/train-images-idx3-ubyte") && !fs::exists(dir + "/train-images-idx3-ubyte.gz")) {
    WARN("data/mnist absent, skipping; run data/fetch-mnist to enable this test");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const mnist_data d = load_mnist(dir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN("load_mnist took " << seconds << " s");

  CHECK(d.train.images.dims() == shape{60000, 1, 28, 28});
  CHECK(d.test.images.dims() == shape{10000, 1, 28, 28});
  CHECK(d.train.labels.size() == 60000);
  CHECK(d.test.labels.size() == 10000);
  CHECK(bytes(d.train.labels.begin(), d.train.labels.begin() + 5) == bytes{5, 0, 4, 1, 9});

  double sum = 0, sum_sq = 0;
  const tensor<float>& x = d.train.images;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    sum += x[i];
    sum_sq += double{x[i]} * x[i];
  }
  const double n = static_cast<double>(x.numel());
  const double mean = sum / n;
  const double std_dev = std::sqrt(sum_sq / n - mean * mean);
  CHECK(mean == Approx(0.13066).margin(5e-5));
  CHECK(std_dev == Approx(0.30811).margin(5e-5));
}
