#pragma once
// Many small images laid out as one grid picture, for filters and
// reconstructions:
//
//   tile_options o;  o.columns = 10;  o.norm = tile_norm::fixed;  o.scale = 3;
//   gray_image g = tile_image(images, o);        // images [N, H, W] or [N, 1, H, W]
//   write_png_gray(path, g.width, g.height, g.pixels.data());
//
// Tile n sits at grid row n / columns, column n % columns. With border b and
// scale s, its top-left pixel is (x, y) = (b + col*(W*s + b), b + row*(H*s + b))
// (tile_layout::x0, y0).

#include <cstdint>
#include <vector>

#include "tensor/tensor.hpp"

namespace saelab {

// An 8-bit grayscale picture, row-major, top row first.
struct gray_image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // [height, width]
  std::uint8_t at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

// How values become gray levels: [lo, hi] maps linearly to [0, 255], clamped.
enum class tile_norm {
  per_tile,            // each tile's own min..max: shows every tile's structure
  per_tile_symmetric,  // each tile's -max|v|..max|v|: 0 is mid-gray (weights)
  global,              // min..max over all tiles: tiles comparable
  global_symmetric,    // -max|v|..max|v| over all tiles
  fixed,               // tile_options::lo..hi, e.g. [0, 1] for pixels
};

struct tile_options {
  int columns = 0;  // 0: about sqrt(N), a near-square grid
  tile_norm norm = tile_norm::per_tile;
  float lo = 0.0f, hi = 1.0f;       // range for tile_norm::fixed
  int scale = 1;                    // integer nearest-neighbour upscaling
  int border = 1;                   // pixels between and around tiles
  std::uint8_t border_gray = 128;   // also fills empty grid cells
};

// Where the tiles of a grid sit; tile_image draws with it, and callers use it
// to colour borders or to find a tile's pixels.
struct tile_layout {
  int count = 0, columns = 0, rows = 0;
  int tile_width = 0, tile_height = 0;  // after scaling
  int border = 0;
  int width() const { return border + columns * (tile_width + border); }
  int height() const { return border + rows * (tile_height + border); }
  int x0(int n) const { return border + (n % columns) * (tile_width + border); }
  int y0(int n) const { return border + (n / columns) * (tile_height + border); }
  // Tile index under pixel (x, y), or -1 on a border or an empty cell.
  int tile_at(int x, int y) const;
};

// The layout of n images of h x w under `opt`; throws std::invalid_argument
// when n, h, w are not positive, scale/border are out of range or the grid
// exceeds 32768 pixels a side.
tile_layout tile_layout_for(std::int64_t n, std::int64_t h, std::int64_t w, const tile_options& opt);

// images: [N, H, W] or [N, 1, H, W]. A tile without contrast (max == min)
// is drawn mid-gray; non-finite values draw black. Throws
// std::invalid_argument on another shape or what tile_layout_for rejects.
gray_image tile_image(const tensor<float>& images, const tile_options& opt);

}  // namespace saelab
