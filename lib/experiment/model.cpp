#include "experiment/model.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "layers/activation.hpp"
#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/linear.hpp"
#include "layers/max_pool2d.hpp"

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
// The reference conv autoencoder (see FACTS): per image 1x28x28 -> 8x26x26
// -> 16x22x22 -> 32x9x9 -> pool 32x4x4 -> 16x9x9 -> 8x21x21 -> 1x28x28.
template <class T>
void build_seed_conv(network<T>& net, const model_config& spec) {
  net.add(std::make_unique<conv2d<T>>(1, 8, 3));
  net.add(make_activation<T>(spec.hidden_activation), "conv1");
  net.add(std::make_unique<conv2d<T>>(8, 16, 5));
  net.add(make_activation<T>(spec.hidden_activation), "conv2");
  net.add(std::make_unique<conv2d<T>>(16, 32, 5, 2));
  net.add(make_activation<T>(spec.hidden_activation), "conv3");
  net.add(std::make_unique<max_pool2d<T>>(2, 2), "pool");
  net.add(std::make_unique<conv_transpose2d<T>>(32, 16, 3, 2));
  net.add(make_activation<T>(spec.hidden_activation), "deconv1");
  net.add(std::make_unique<conv_transpose2d<T>>(16, 8, 5, 2));
  net.add(make_activation<T>(spec.hidden_activation), "deconv2");
  net.add(std::make_unique<conv_transpose2d<T>>(8, 1, 8));
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
      build_seed_conv(*net, spec);
      break;
  }
  net->finalize();
  return net;
}

template std::unique_ptr<network<float>> build_model<float>(const model_config&, const shape&);
template std::unique_ptr<network<double>> build_model<double>(const model_config&, const shape&);

}  // namespace saelab
