#pragma once
// Models: a config's [model] section becomes a network whose output is the
// logits of a sigmoid reconstruction (the sigmoid lives in the loss, fused
// with the BCE for stability) or, under MSE, the reconstruction itself.
//
// Every model is a layer list (config/layer_list.hpp). The presets expand to
// one, for an input of shape [C, H, W] (or any shape, for fc):
//   fc:        linear(hidden) ACT@hidden, linear(C*H*W)
//   seed_conv: the reference's conv autoencoder (docs/results.md), for
//              [1, 28, 28]: conv(8, 3) ACT@conv1, conv(16, 5) ACT@conv2,
//              conv(32, 5, stride=2) ACT@conv3, maxpool(2)@pool,
//              convT(16, 3, stride=2) ACT@deconv1, convT(8, 5, stride=2)
//              ACT@deconv2, convT(C, 8)
// with ACT = model.hidden_activation.

#include <memory>
#include <string>

#include "config/config.hpp"
#include "layers/network.hpp"

namespace saelab {

// The model's layer list for a per-sample input shape (presets expanded).
std::string model_layer_list(const model_config& spec, const shape& input);

// Builds, finalizes and returns the network; its parameters are zero until
// init() or a checkpoint fills them. A list that does not fit the input
// throws config_error naming the layer, its inferred input shape and why.
template <class T>
std::unique_ptr<network<T>> build_model(const model_config& spec, const shape& input);

// Above this many parameters a model is refused before anything is allocated
// (2^28 floats: 1 GiB, 3 GiB with Adam's state).
inline constexpr std::int64_t model_max_params = std::int64_t{1} << 28;
// And above this many values in one sample's activation (64 MiB of float).
inline constexpr std::int64_t model_max_activation = std::int64_t{1} << 24;

}  // namespace saelab
