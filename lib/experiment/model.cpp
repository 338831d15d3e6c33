#include "experiment/model.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "config/layer_list.hpp"
#include "layers/activation.hpp"
#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/linear.hpp"
#include "layers/max_pool2d.hpp"

namespace saelab {

namespace {

std::string preset_list(const model_config& spec, const shape& input) {
  const std::string_view act = to_string(spec.hidden_activation);
  if (spec.arch == model_arch::fc)
    return fmt::format("linear({}) {}@hidden, linear({})", spec.hidden, act, input.numel());
  // The reference's layers: 1x28x28 -> 8x26x26 -> 16x22x22 -> 32x9x9 -> pool
  // 32x4x4 -> 16x9x9 -> 8x21x21 -> 1x28x28.
  return fmt::format(
      "conv(8, 3) {0}@conv1, conv(16, 5) {0}@conv2, conv(32, 5, stride=2) {0}@conv3, maxpool(2)@pool, "
      "convT(16, 3, stride=2) {0}@deconv1, convT(8, 5, stride=2) {0}@deconv2, convT({1}, 8)",
      act, input.rank() == 3 ? input[0] : 1);
}

// The layer for one spec, given the shape it receives.
template <class T>
std::unique_ptr<layer<T>> make_layer(const layer_spec& s, const shape& in) {
  const auto channels = [&] {
    if (in.rank() != 3) throw std::invalid_argument(fmt::format("input {} is not [C, H, W]", in.str()));
    return in[0];
  };
  if (s.kind == "linear") return std::make_unique<linear<T>>(in.numel(), s.arg("out"));
  if (s.kind == "conv")
    return std::make_unique<conv2d<T>>(channels(), s.arg("out"), s.arg("k"), s.arg("stride"), s.arg("pad"));
  if (s.kind == "convT")
    return std::make_unique<conv_transpose2d<T>>(channels(), s.arg("out"), s.arg("k"), s.arg("stride"),
                                                 s.arg("pad"), s.arg("outpad"));
  if (s.kind == "maxpool") return std::make_unique<max_pool2d<T>>(s.arg("k"), s.arg("stride"));
  if (s.kind == "relu") return std::make_unique<relu<T>>();
  if (s.kind == "sigmoid") return std::make_unique<sigmoid<T>>();
  throw std::logic_error(fmt::format("model: no layer for kind '{}'", s.kind));
}

// A shape's element count in double, which cannot overflow as int64 would
// for a typo such as convT(1000000, 1000000).
double numel_of(const shape& s) {
  double n = 1;
  for (int a = 0; a < s.rank(); ++a) n *= static_cast<double>(s[a]);
  return n;
}

}  // namespace

std::string model_layer_list(const model_config& spec, const shape& input) {
  return spec.arch == model_arch::layers ? spec.layers : preset_list(spec, input);
}

template <class T>
std::unique_ptr<network<T>> build_model(const model_config& spec, const shape& input) {
  const std::string text = model_layer_list(spec, input);
  const auto fail = [&](const std::string& why) {
    throw config_error(fmt::format("model.layers = '{}': {}", text, why));
  };
  std::vector<layer_spec> specs;
  try {
    specs = parse_layer_list(text);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
  auto net = std::make_unique<network<T>>(input);
  double params = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const shape in = net->activation_shape(net->size());
    try {
      auto l = make_layer<T>(specs[i], in);
      for (const param_tensor& p : l->parameters()) params += numel_of(p.dims);
      if (params > static_cast<double>(model_max_params))
        throw std::invalid_argument(fmt::format("the model reaches {:.0f} parameters here, above the limit of {}",
                                                params, model_max_params));
      if (const double n = numel_of(l->output_shape(in)); n > static_cast<double>(model_max_activation))
        throw std::invalid_argument(fmt::format("its output would have {:.0f} values per sample, above the limit of {}",
                                                n, model_max_activation));
      net->add(std::move(l), specs[i].site);
    } catch (const std::invalid_argument& e) {
      fail(fmt::format("layer {} '{}' on input {}: {}", i + 1, specs[i].text(), in.str(), e.what()));
    }
  }
  const shape out = net->activation_shape(net->size());
  if (out.numel() != input.numel())
    fail(fmt::format("the last layer's output {} has {} values, the input {} has {}: a reconstruction needs as many",
                     out.str(), out.numel(), input.str(), input.numel()));
  net->set_layer_list(layer_list_text(specs));
  net->finalize();
  return net;
}

template std::unique_ptr<network<float>> build_model<float>(const model_config&, const shape&);
template std::unique_ptr<network<double>> build_model<double>(const model_config&, const shape&);

}  // namespace saelab
