#include "layers/layer.hpp"

namespace saelab {

std::vector<param_tensor> weight_and_bias(const shape& w, std::string axes, std::int64_t out) {
  return {{"weight", w, std::move(axes), 0}, {"bias", shape{out}, "out", w.numel()}};
}

}  // namespace saelab
