#include "report/png.hpp"

#include <zlib.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "report/atomic_write.hpp"

namespace saelab {

namespace {

void put_u32_be(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

// length, type, data, CRC-32 over type + data (the length is not covered).
void put_chunk(std::string& out, const char type[4], std::string_view data) {
  put_u32_be(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t type_at = out.size();
  out.append(type, 4);
  out.append(data);
  const auto* p = reinterpret_cast<const Bytef*>(out.data() + type_at);
  put_u32_be(out, static_cast<std::uint32_t>(crc32(0L, p, static_cast<uInt>(4 + data.size()))));
}

}  // namespace

std::string encode_png(int width, int height, png_color color, const std::uint8_t* pixels) {
  if (width <= 0 || height <= 0)
    throw std::invalid_argument("encode_png: width and height must be positive");
  const std::size_t channels = color == png_color::rgb ? 3 : 1;
  const std::size_t row_bytes = static_cast<std::size_t>(width) * channels;

  // Filter type 0 leaves each row as is; zlib alone does well on figures,
  // which are mostly flat backgrounds and borders.
  std::vector<Bytef> raw((row_bytes + 1) * static_cast<std::size_t>(height));
  for (std::size_t y = 0; y < static_cast<std::size_t>(height); ++y) {
    Bytef* row = raw.data() + y * (row_bytes + 1);
    row[0] = 0;
    std::copy(pixels + y * row_bytes, pixels + (y + 1) * row_bytes, row + 1);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, raw.data(),
                static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
    throw std::runtime_error("encode_png: zlib compress2 failed");
  packed.resize(packed_size);

  std::string ihdr;
  put_u32_be(ihdr, static_cast<std::uint32_t>(width));
  put_u32_be(ihdr, static_cast<std::uint32_t>(height));
  ihdr.push_back(8);                               // bit depth
  ihdr.push_back(static_cast<char>(color));        // colour type
  ihdr.append(3, '\0');                            // compression, filter method, no interlace

  std::string out("\x89PNG\r\n\x1a\n", 8);
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "IDAT", packed);
  put_chunk(out, "IEND", {});
  return out;
}

void write_png_gray(const std::filesystem::path& path, int width, int height, const std::uint8_t* pixels) {
  write_file_atomically(path, encode_png(width, height, png_color::gray, pixels));
}

void write_png_rgb(const std::filesystem::path& path, int width, int height, const std::uint8_t* pixels) {
  write_file_atomically(path, encode_png(width, height, png_color::rgb, pixels));
}

}  // namespace saelab
