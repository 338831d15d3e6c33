#include "experiment/model.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "layers/activation.hpp"
#include "layers/linear.hpp"

namespace saelab {

namespace {
template <class T>
std::unique_ptr<layer<T>> make_activation(activation_kind kind) {
  if (kind == activation_kind::activation_kind_sigmoid) return std::make_unique<sigmoid<T>>();
  return std::make_unique<relu<T>>();
}

template <class T>
void build_fc(network<T>& net, const model_config& spec, std::int64_t pixels) {
  net.add(std::make_unique<linear<T>>(pixels, spec.hidden));
  net.add(make_activation<T>(spec.hidden_activation), "hidden");
  net.add(std::make_unique<linear<T>>(spec.hidden, pixels));
}
}  // namespace

template <class T>
std::unique_ptr<network<T>> build_model(const model_config& spec, const shape& input) {
  auto net = std::make_unique<network<T>>(input);
  switch (spec.arch) {
    case model_arch::model_arch_fc:
      build_fc(*net, spec, input.numel());
      break;
    case model_arch::model_arch_seed_conv:
      throw std::invalid_argument("model.arch = seed_conv is not built yet");
  }
  net->finalize();
  return net;
}

template std::unique_ptr<network<float>> build_model<float>(const model_config&, const shape&);
template std::unique_ptr<network<double>> build_model<double>(const model_config&, const shape&);

}  // namespace saelab
