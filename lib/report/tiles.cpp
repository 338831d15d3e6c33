#include "report/tiles.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace saelab {

namespace {

struct range {
  float lo, hi;
};

// Finite min/max of n values; NaN/inf would otherwise swallow the whole range.
range finite_range(const float* v, std::int64_t n, bool symmetric) {
  float lo = INFINITY, hi = -INFINITY;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) continue;
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  if (lo > hi) return {0.0f, 0.0f};  // nothing finite
  if (symmetric) {
    const float m = std::max(std::fabs(lo), std::fabs(hi));
    return {-m, m};
  }
  return {lo, hi};
}

std::uint8_t to_gray(float v, range r) {
  if (!std::isfinite(v)) return 0;
  if (!(r.hi > r.lo)) return 128;
  const float t = (v - r.lo) / (r.hi - r.lo) * 255.0f;
  return static_cast<std::uint8_t>(std::lround(std::clamp(t, 0.0f, 255.0f)));
}

}  // namespace

int tile_layout::tile_at(int x, int y) const {
  if (x < border || y < border) return -1;
  const int col = (x - border) / (tile_width + border), row = (y - border) / (tile_height + border);
  if (col >= columns || row >= rows) return -1;
  if ((x - border) % (tile_width + border) >= tile_width || (y - border) % (tile_height + border) >= tile_height)
    return -1;
  const int n = row * columns + col;
  return n < count ? n : -1;
}

tile_layout tile_layout_for(std::int64_t n, std::int64_t h, std::int64_t w, const tile_options& opt) {
  if (n <= 0 || h <= 0 || w <= 0)
    throw std::invalid_argument("tile_image: need at least one image of positive size");
  if (opt.scale < 1 || opt.scale > 64) throw std::invalid_argument("tile_image: scale must be in 1..64");
  if (opt.border < 0 || opt.border > 64) throw std::invalid_argument("tile_image: border must be in 0..64");
  constexpr std::int64_t max_side = 1 << 15;
  // Checked before the products below can overflow an int.
  if (n > max_side * max_side || h * opt.scale > max_side || w * opt.scale > max_side)
    throw std::invalid_argument("tile_image: grid larger than 32768 pixels a side");
  const std::int64_t cols = opt.columns > 0 ? std::min<std::int64_t>(opt.columns, n)
                                            : static_cast<std::int64_t>(std::ceil(std::sqrt(double(n))));
  const std::int64_t rows = (n + cols - 1) / cols;
  const std::int64_t tw = w * opt.scale, th = h * opt.scale, b = opt.border;
  if (b + cols * (tw + b) > max_side || b + rows * (th + b) > max_side)
    throw std::invalid_argument("tile_image: grid larger than 32768 pixels a side");
  tile_layout l;
  l.count = static_cast<int>(n);
  l.columns = static_cast<int>(cols);
  l.rows = static_cast<int>(rows);
  l.tile_width = static_cast<int>(tw);
  l.tile_height = static_cast<int>(th);
  l.border = opt.border;
  return l;
}

gray_image tile_image(const tensor<float>& images, const tile_options& opt) {
  const shape& s = images.dims();
  std::int64_t n = 0, h = 0, w = 0;
  if (s.rank() == 3) {
    n = s[0], h = s[1], w = s[2];
  } else if (s.rank() == 4 && s[1] == 1) {
    n = s[0], h = s[2], w = s[3];
  } else {
    throw std::invalid_argument("tile_image: images must be [N, H, W] or [N, 1, H, W], got " + s.str());
  }
  const tile_layout l = tile_layout_for(n, h, w, opt);
  gray_image img;
  img.width = l.width();
  img.height = l.height();
  img.pixels.assign(static_cast<std::size_t>(img.width) * img.height, opt.border_gray);

  const bool symmetric = opt.norm == tile_norm::per_tile_symmetric ||
                         opt.norm == tile_norm::global_symmetric;
  const bool per_tile = opt.norm == tile_norm::per_tile ||
                        opt.norm == tile_norm::per_tile_symmetric;
  range r{opt.lo, opt.hi};
  if (opt.norm == tile_norm::global || opt.norm == tile_norm::global_symmetric)
    r = finite_range(images.data(), n * h * w, symmetric);

  for (int t = 0; t < l.count; ++t) {
    const float* src = images.data() + t * h * w;
    if (per_tile) r = finite_range(src, h * w, symmetric);
    for (int y = 0; y < l.tile_height; ++y) {
      std::uint8_t* dst = img.pixels.data() + static_cast<std::size_t>(l.y0(t) + y) * img.width + l.x0(t);
      const float* row = src + (y / opt.scale) * w;
      for (int x = 0; x < l.tile_width; ++x) dst[x] = to_gray(row[x / opt.scale], r);
    }
  }
  return img;
}

}  // namespace saelab
