#pragma once
// Reading MNIST-style IDX files.
//
//   mnist_data d = load_mnist("data/mnist");   // run data/fetch-mnist first
//   d.train.images                               // [60000, 1, 28, 28], pixels / 255 in [0, 1]
//   d.train.labels[0]                            // 5
//
// IDX is a big-endian header (magic, then one uint32 per axis) followed by the
// raw unsigned bytes. Files may be plain or gzip-compressed: `path` is tried as
// given, then as `path.gz`; a file starting with the gzip magic is gzip. A gzip
// file may hold several members back to back (as `gzip -d` accepts); any other
// bytes after the gzip data are an error. Only regular files are read (a FIFO
// or a device is refused, io/input_file.hpp). Every check failure throws
// data_error with one message naming the file and what was expected versus
// what was found.
//
// Memory is bounded by the header before anything is read: rows and cols at
// most 16384, and at most 2 GiB of pixels or labels per file read (8 GiB as
// floats); the buffer then grows only as data arrives. A limit (load_mnist)
// stops reading after the first `limit` items: the rest of the file is neither
// read nor checked.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace saelab {

class data_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Magic 0x00000803: N images of rows x cols. Returns [N, 1, rows, cols], pixel / 255.
tensor<float> read_idx_images(const std::string& path);
// Magic 0x00000801: N labels, one byte each.
std::vector<std::uint8_t> read_idx_labels(const std::string& path);

struct mnist_set {
  tensor<float> images;              // [N, 1, 28, 28]
  std::vector<std::uint8_t> labels;  // [N], 0 to 9
};

struct mnist_data {
  mnist_set train, test;
};

// Reads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte (each with or without .gz) from `dir`. A limit > 0
// reads only the first `limit` items of that set; 0 reads all.
mnist_data load_mnist(const std::string& dir, std::int64_t train_limit = 0, std::int64_t test_limit = 0);

// The shape of one training image in `dir`, [1, rows, cols], from the file's
// header and first image alone: a model's input shape before the data is loaded.
shape mnist_sample_shape(const std::string& dir);

}  // namespace saelab
