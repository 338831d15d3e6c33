#include "experiment/flops.hpp"

namespace saelab {

template <class T>
network_flops count_flops(const network<T>& net) {
  network_flops out;
  for (int i = 0; i < net.size(); ++i) {
    layer_flops f = net.at(i).flops(net.activation_shape(i));
    if (i == 0) f.backward_input = 0;  // network::backward passes no dx to layer 0
    out.layers.push_back(f);
    out.total.forward += f.forward;
    out.total.backward_input += f.backward_input;
    out.total.backward_weight += f.backward_weight;
  }
  return out;
}

template network_flops count_flops<float>(const network<float>&);
template network_flops count_flops<double>(const network<double>&);

}  // namespace saelab
