#pragma once
// A minimal PNG encoder over zlib: 8-bit grayscale or 8-bit RGB, no
// interlacing, filter type 0 (None) on every row. Enough for figures; written
// here so the project needs no image library.
//
//   std::vector<std::uint8_t> px(w * h);      // row-major, top row first
//   write_png_gray("figures/x.png", w, h, px.data());
//
// File layout: 8-byte signature, IHDR, one IDAT (zlib stream of the rows, each
// prefixed by its filter byte 0), IEND; every chunk ends in a CRC-32 of its
// type and data.

#include <cstdint>
#include <filesystem>
#include <string>

namespace saelab {

// Values are the PNG colour-type codes written into IHDR.
enum class png_color : std::uint8_t { gray = 0, rgb = 2 };

// The complete PNG file as bytes. pixels: [height, width] for gray,
// [height, width, 3] interleaved R,G,B for rgb. Throws std::invalid_argument
// on a non-positive size, std::runtime_error when zlib fails.
std::string encode_png(int width, int height, png_color color, const std::uint8_t* pixels);

// Encode and write atomically (temporary + rename). Throws std::runtime_error
// naming the path when it cannot be written.
void write_png_gray(const std::filesystem::path& path, int width, int height, const std::uint8_t* pixels);
void write_png_rgb(const std::filesystem::path& path, int width, int height, const std::uint8_t* pixels);

}  // namespace saelab
