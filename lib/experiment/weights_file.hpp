#pragma once
// A network's parameters in HDF5, one group per layer that has parameters,
// named as network::layer_name and shaped as PyTorch shapes them:
//
//   /layers/00_linear/weight          float [1024, 784]   [out, in]
//   /layers/00_linear/bias            float [1024]
//   /layers/03_conv_transpose2d/weight float [32, 16, 3, 3] [in, out, kh, kw]
//
// Each dataset has `checksum` (FNV-1a over its float32 bytes), `units`,
// `description` and `axes`; each group `layer` (describe(), for people).
// Checkpoints of format 3 store their parameters so; model.init_from reads the
// same layout from a saelab checkpoint or from weights exported from PyTorch
// with the script in docs/weights.md.

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/network.hpp"
#include "log/h5.hpp"

namespace saelab {

class checkpoint_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "fnv1a64:0123456789abcdef" over n floats' bytes.
std::string tensor_checksum(const float* p, std::int64_t n);

// Writes /layers; returns each tensor's checksum in parameter_list() order.
std::vector<std::string> write_layer_tensors(const h5::object& file, const network<float>& net);

// The parameters of `net` read from /layers, in the flat buffer's order, with
// each tensor's checksum. Every shape is checked before anything is allocated
// for it. by_name: the groups are net's layer names and every tensor has a
// checksum that must match (a checkpoint). Otherwise the groups are matched
// to net's layers with parameters in name order, and a checksum is checked
// only where one is stored (weights from elsewhere). Throws checkpoint_error
// naming `path`, the group and the shapes.
struct layer_tensors {
  std::vector<float> params;           // [P]
  std::vector<std::string> checksums;  // one per tensor
};
layer_tensors read_layer_tensors(const h5::object& file, const std::filesystem::path& path,
                                 const network<float>& net, bool by_name);

// model.init_from: replaces net's parameters with a weights file's /layers,
// all or nothing.
void init_from_file(const std::filesystem::path& path, network<float>& net);

}  // namespace saelab
