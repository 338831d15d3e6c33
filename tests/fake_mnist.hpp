#pragma once
// Test fixtures for run-level tests (with temp_dir.hpp): a small
// MNIST-shaped data set written as IDX files, so runner tests never depend
// on the real download. Images are smooth blobs, deterministic from a seed.

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "data/idx.hpp"
#include "temp_dir.hpp"
#include "tensor/rng.hpp"

namespace saelab::testing {

namespace fs = std::filesystem;

// n images of rows x cols: each a Gaussian blob at a random place, pixel bytes.
inline std::vector<std::uint8_t> blob_pixels(std::int64_t n, int rows, int cols, std::uint64_t seed) {
  rng r(seed);
  std::vector<std::uint8_t> px(static_cast<std::size_t>(n * rows * cols));
  for (std::int64_t i = 0; i < n; ++i) {
    const double cy = r.uniform(4, rows - 4), cx = r.uniform(4, cols - 4), s = r.uniform(1.5, 4.0);
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) {
        const double d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
        px[static_cast<std::size_t>((i * rows + y) * cols + x)] =
            static_cast<std::uint8_t>(std::lround(255.0 * std::exp(-d2 / (2 * s * s))));
      }
  }
  return px;
}

inline void put_be32(std::ofstream& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out.write(b, 4);
}

inline void write_idx_images(const fs::path& path, std::int64_t n, int rows, int cols, std::uint64_t seed) {
  std::ofstream out(path, std::ios::binary);
  put_be32(out, 0x00000803);
  put_be32(out, static_cast<std::uint32_t>(n));
  put_be32(out, static_cast<std::uint32_t>(rows));
  put_be32(out, static_cast<std::uint32_t>(cols));
  const auto px = blob_pixels(n, rows, cols, seed);
  out.write(reinterpret_cast<const char*>(px.data()), static_cast<std::streamsize>(px.size()));
}

inline void write_idx_labels(const fs::path& path, std::int64_t n) {
  std::ofstream out(path, std::ios::binary);
  put_be32(out, 0x00000801);
  put_be32(out, static_cast<std::uint32_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out.put(static_cast<char>(i % 10));
}

// The four MNIST files, 28x28, in `dir`.
inline void write_fake_mnist(const fs::path& dir, std::int64_t train, std::int64_t test) {
  fs::create_directories(dir);
  write_idx_images(dir / "train-images-idx3-ubyte", train, 28, 28, 1);
  write_idx_labels(dir / "train-labels-idx1-ubyte", train);
  write_idx_images(dir / "t10k-images-idx3-ubyte", test, 28, 28, 2);
  write_idx_labels(dir / "t10k-labels-idx1-ubyte", test);
}

// The same blobs in memory: [n, 1, rows, cols], pixels / 255.
inline tensor<float> blob_images(std::int64_t n, int rows, int cols, std::uint64_t seed) {
  const auto px = blob_pixels(n, rows, cols, seed);
  tensor<float> t({n, 1, rows, cols});
  for (std::size_t i = 0; i < px.size(); ++i) t[static_cast<std::int64_t>(i)] = static_cast<float>(px[i]) / 255.0f;
  return t;
}

}  // namespace saelab::testing
