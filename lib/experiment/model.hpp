#pragma once
// The model zoo: a name and a few sizes become a network whose output is the
// logits of a sigmoid reconstruction (the sigmoid lives in the loss, fused
// with the BCE for stability), with every hidden activation named as a site.

#include <memory>
#include <string>

#include "config/config.hpp"
#include "layers/network.hpp"

namespace saelab {

// Input [1, 28, 28] for MNIST.
//  fc:        linear(784 -> H), act [site hidden], linear(H -> 784)
//  seed_conv: the reference conv autoencoder (see README), sites conv1,
//             conv2, conv3, pool, deconv1, deconv2
template <class T>
std::unique_ptr<network<T>> build_model(const model_config& spec, const shape& input);

}  // namespace saelab
