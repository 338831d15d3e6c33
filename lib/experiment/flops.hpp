#pragma once
// Floating-point operations of one training sample through a network, from
// each layer's exact count (layer::flops):
//
//   const network_flops f = count_flops(net);
//   f.layers[i].forward        // layer i, one sample
//   f.training()               // forward + backward of the whole model
//
// The network never computes its first layer's input gradient (nobody needs
// it), so that part is counted as 0. The loss, the penalties and the
// optimiser are not layers and are not counted.

#include <cstdint>
#include <vector>

#include "layers/network.hpp"

namespace saelab {

struct network_flops {
  std::vector<layer_flops> layers;  // [net.size()], per sample
  layer_flops total;                // their sums
  std::int64_t training() const { return total.forward + total.backward(); }
};

template <class T>
network_flops count_flops(const network<T>& net);

extern template network_flops count_flops<float>(const network<float>&);
extern template network_flops count_flops<double>(const network<double>&);

}  // namespace saelab
