// The PNG writer checked byte by byte against the format (signature, IHDR,
// CRCs, the zlib stream of filtered rows), and the tile layout.
#include <catch2/catch.hpp>
#include <fmt/core.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "report/png.hpp"
#include "report/tiles.hpp"

#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::temp_dir;
using saelab::testing::slurp;

namespace {

std::uint32_t u32_be(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

struct chunk {
  std::string type, data;
  std::uint32_t crc_stored, crc_computed;
};

// Splits a PNG after its signature into chunks, computing each CRC afresh.
std::vector<chunk> chunks_of(const std::string& png) {
  std::vector<chunk> out;
  std::size_t at = 8;
  while (at + 12 <= png.size()) {
    const std::uint32_t len = u32_be(png, at);
    REQUIRE(at + 12 + len <= png.size());
    chunk c;
    c.type = png.substr(at + 4, 4);
    c.data = png.substr(at + 8, len);
    c.crc_stored = u32_be(png, at + 8 + len);
    c.crc_computed = static_cast<std::uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), static_cast<uInt>(4 + len)));
    out.push_back(c);
    at += 12 + len;
  }
  CHECK(at == png.size());
  return out;
}

std::string inflate_all(const std::string& z, std::size_t expected) {
  std::string out(expected + 16, '\0');  // room to notice a stream that is too long
  uLongf n = static_cast<uLongf>(out.size());
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(z.data()),
                     static_cast<uLong>(z.size())) == Z_OK);
  out.resize(n);
  return out;
}

// Checks a written PNG against the format and returns its inflated rows.
std::string check_png(const std::string& png, int width, int height, int color, int channels) {
  REQUIRE(png.size() > 8);
  CHECK(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  const std::vector<chunk> cs = chunks_of(png);
  REQUIRE(cs.size() == 3);
  CHECK(cs[0].type == "IHDR");
  CHECK(cs[1].type == "IDAT");
  CHECK(cs[2].type == "IEND");
  for (const chunk& c : cs) CHECK(c.crc_stored == c.crc_computed);
  // The CRC of an empty IEND is fixed by the format: an anchor independent of zlib's crc32.
  CHECK(cs[2].crc_stored == 0xAE426082u);
  CHECK(cs[2].data.empty());

  const std::string& ihdr = cs[0].data;
  REQUIRE(ihdr.size() == 13);
  CHECK(u32_be(ihdr, 0) == std::uint32_t(width));
  CHECK(u32_be(ihdr, 4) == std::uint32_t(height));
  CHECK(int(ihdr[8]) == 8);       // bit depth
  CHECK(int(ihdr[9]) == color);   // colour type
  CHECK(int(ihdr[10]) == 0);      // compression
  CHECK(int(ihdr[11]) == 0);      // filter method
  CHECK(int(ihdr[12]) == 0);      // no interlace
  const std::size_t row = std::size_t(width) * channels + 1;
  const std::string rows = inflate_all(cs[1].data, row * height);
  CHECK(rows.size() == row * height);
  return rows;
}

// A pixel as int, so Catch prints a number rather than a character.
int px(const gray_image& g, int x, int y) { return g.at(x, y); }

}  // namespace

TEST_CASE("gray PNG: signature, IHDR, CRCs and rows of filter 0 + pixels", "[png]") {
  temp_dir dir("gray");
  const int w = 5, h = 3;
  std::vector<std::uint8_t> px(w * h);
  for (int i = 0; i < w * h; ++i) px[i] = static_cast<std::uint8_t>(i * 17);
  write_png_gray(dir.path / "g.png", w, h, px.data());

  const std::string rows = check_png(slurp(dir.path / "g.png"), w, h, 0, 1);
  std::string expected;
  for (int y = 0; y < h; ++y) {
    expected.push_back('\0');
    for (int x = 0; x < w; ++x) expected.push_back(static_cast<char>(px[y * w + x]));
  }
  CHECK(rows == expected);
  // The temporary of the atomic write is gone.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("RGB PNG rows hold interleaved R,G,B after the filter byte", "[png]") {
  temp_dir dir("rgb");
  const int w = 2, h = 2;
  const std::vector<std::uint8_t> px{255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  write_png_rgb(dir.path / "c.png", w, h, px.data());
  const std::string rows = check_png(slurp(dir.path / "c.png"), w, h, 2, 3);
  const std::string expected{'\0', '\xff', 0, 0, 0, '\xff', 0, '\0', 0, 0, '\xff', 10, 20, 30};
  CHECK(rows == expected);
}

TEST_CASE("a large image still round-trips through zlib", "[png]") {
  const int w = 700, h = 300;
  std::vector<std::uint8_t> px(std::size_t(w) * h);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
  const std::string rows = check_png(encode_png(w, h, png_color::gray, px.data()), w, h, 0, 1);
  CHECK(std::uint8_t(rows[std::size_t(h - 1) * (w + 1)]) == 0);
  CHECK(std::uint8_t(rows.back()) == px.back());
}

TEST_CASE("PNG errors: bad size, unwritable path named in the message", "[png]") {
  const std::uint8_t px[1] = {0};
  CHECK_THROWS_AS(encode_png(0, 1, png_color::gray, px), std::invalid_argument);
  const fs::path missing = fs::temp_directory_path() / "saelab_no_such_dir_png" / "x.png";
  try {
    write_png_gray(missing, 1, 1, px);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(missing.string()));
  }
  // A regular file where a directory should be.
  temp_dir dir("err");
  std::ofstream(dir.path / "file") << "x";
  CHECK_THROWS_AS(write_png_gray(dir.path / "file" / "x.png", 1, 1, px), std::runtime_error);
}

TEST_CASE("tile layout puts tile n at row n/columns, column n%columns", "[tiles]") {
  // 3 images of 2x3, 2 columns, scale 2, border 1: tiles 6x4, grid 15x11.
  tensor<float> imgs({3, 2, 3});
  imgs[2 * 6 + 1 * 3 + 2] = 1.0f;  // image 2, row 1, column 2: its only bright pixel
  tile_options o;
  o.columns = 2;
  o.scale = 2;
  o.border = 1;
  o.norm = tile_norm::fixed;
  o.border_gray = 77;
  const gray_image g = tile_image(imgs, o);
  REQUIRE(g.width == 15);
  REQUIRE(g.height == 11);

  // Image 2 sits at grid row 1, column 0: top-left (1, 1 + 4 + 1) = (1, 6).
  // Its pixel (row 1, column 2) scaled by 2 covers x 5..6, y 8..9.
  for (int y = 8; y <= 9; ++y)
    for (int x = 5; x <= 6; ++x) CHECK(px(g, x, y) == 255);
  CHECK(px(g, 4, 8) == 0);
  CHECK(px(g, 5, 7) == 0);
  int bright = 0;
  for (std::uint8_t p : g.pixels) bright += p == 255;
  CHECK(bright == 4);

  // Borders and the empty fourth cell carry border_gray.
  CHECK(px(g, 0, 0) == 77);
  CHECK(px(g, 7, 3) == 77);   // between columns
  CHECK(px(g, 3, 5) == 77);   // between rows
  CHECK(px(g, 10, 8) == 77);  // empty cell
  const tile_layout l = tile_layout_for(3, 2, 3, o);
  CHECK(l.x0(2) == 1);
  CHECK(l.y0(2) == 6);
  CHECK(l.tile_at(5, 8) == 2);
  CHECK(l.tile_at(8, 1) == 1);
  CHECK(l.tile_at(7, 3) == -1);
  CHECK(l.tile_at(10, 8) == -1);
  CHECK(l.tile_at(14, 10) == -1);
}

TEST_CASE("tile normalisation maps min to 0 and max to 255", "[tiles]") {
  tensor<float> imgs({2, 1, 1, 3});  // [N, 1, H, W] is accepted too
  const float v[6] = {-2.0f, 0.0f, 6.0f, 10.0f, 11.0f, 12.0f};
  std::copy(v, v + 6, imgs.data());
  tile_options o;
  o.columns = 2;
  o.border = 0;

  SECTION("per tile") {
    o.norm = tile_norm::per_tile;
    const gray_image g = tile_image(imgs, o);
    CHECK(px(g, 0, 0) == 0);
    CHECK(px(g, 1, 0) == 64);  // 2/8 of the way
    CHECK(px(g, 2, 0) == 255);
    CHECK(px(g, 3, 0) == 0);
    CHECK(px(g, 5, 0) == 255);
  }
  SECTION("per tile symmetric: 0 is mid-gray") {
    o.norm = tile_norm::per_tile_symmetric;
    const gray_image g = tile_image(imgs, o);
    CHECK(px(g, 0, 0) == 85);   // -2 in [-6, 6]: 4/12 of the way
    CHECK(px(g, 1, 0) == 128);
    CHECK(px(g, 2, 0) == 255);
  }
  SECTION("global") {
    o.norm = tile_norm::global;
    const gray_image g = tile_image(imgs, o);
    CHECK(px(g, 0, 0) == 0);
    CHECK(px(g, 5, 0) == 255);
    CHECK(px(g, 3, 0) == 219);  // 10 in [-2, 12]: 12/14 of the way
  }
  SECTION("fixed [0, 1] clamps") {
    o.norm = tile_norm::fixed;
    const gray_image g = tile_image(imgs, o);
    CHECK(px(g, 0, 0) == 0);
    CHECK(px(g, 1, 0) == 0);
    CHECK(px(g, 2, 0) == 255);
  }
}

TEST_CASE("tiles: flat tiles are mid-gray, NaN black, bad shapes rejected", "[tiles]") {
  tensor<float> imgs({2, 1, 2});
  imgs[0] = imgs[1] = 3.0f;
  imgs[2] = NAN;
  imgs[3] = 1.0f;
  tile_options o;
  o.border = 0;
  const gray_image g = tile_image(imgs, o);  // 0 columns: a 2x1 near-square grid
  REQUIRE(g.width == 4);
  REQUIRE(g.height == 1);
  CHECK(px(g, 0, 0) == 128);
  CHECK(px(g, 2, 0) == 0);    // NaN
  CHECK(px(g, 3, 0) == 128);  // the only finite value: no contrast
  CHECK_THROWS_AS(tile_image(tensor<float>({2, 2, 3, 3}), o), std::invalid_argument);
  CHECK_THROWS_AS(tile_image(tensor<float>({4, 4}), o), std::invalid_argument);
  o.scale = 0;
  CHECK_THROWS_AS(tile_image(imgs, o), std::invalid_argument);
}
