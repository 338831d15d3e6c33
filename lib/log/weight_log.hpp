#pragma once
// The /weights group of run.h5: every parameter tensor of the network at
// snapshot epochs, as /weights/<layer name>/<tensor name> [snapshot, dims...]
// with the names and shapes of network::parameter_list (as in checkpoints).
//
//   weight_log::create(file, net);       // before SWMR writing starts
//   weight_log w(file, net, path);       // opens it; refuses a layout that does not fit net
//   w.append(epoch);                     // net's current parameters
//   w.truncate(path, epochs);            // on resume: drop snapshots taken after `epochs`

#include <cstdint>
#include <filesystem>
#include <vector>

#include "layers/network.hpp"
#include "log/h5.hpp"

namespace saelab {

class weight_log {
 public:
  weight_log() = default;  // holds nothing; appending to it is an error

  static void create(const h5::file& f, const network<float>& net);
  // Throws std::runtime_error naming `path` when a dataset is missing or its
  // shape is not this network's.
  weight_log(const h5::file& f, const network<float>& net, const std::filesystem::path& path);

  void append(int epoch);
  void truncate(const std::filesystem::path& path, int epochs);

 private:
  struct tensor_set {
    std::int64_t offset = 0;  // into the flat parameter buffer
    h5::dataset data;         // [snapshot, the tensor's dims...]
  };
  const network<float>* net_ = nullptr;
  h5::dataset epochs_;  // appended last: a snapshot is complete once its epoch is listed
  std::vector<tensor_set> tensors_;
};

}  // namespace saelab
