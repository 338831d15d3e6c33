#pragma once
// Reconstruction losses: tiny value/gradient pairs, each a mean over every
// element of the batch (PyTorch's reduction='mean'). The gradient, when
// asked for, is written (overwritten) into the tensor given. Sums run in
// double so a float batch of a million pixels keeps its digits.

#include <type_traits>

#include "tensor/tensor.hpp"

namespace saelab {

// Binary cross-entropy on logits z with targets t in [0, 1], fused with the
// sigmoid in the stable form max(z,0) - z t + log(1 + exp(-|z|)).
// dz = (sigmoid(z) - t) / count.
template <class T>
double bce_with_logits(const tensor<T>& z, const tensor<T>& t, std::type_identity_t<tensor<T>>* dz);

// Binary cross-entropy on probabilities p. As PyTorch's BCELoss, each log is
// clamped at -100 so p = 0 or 1 gives a large finite loss, not inf.
template <class T>
double bce(const tensor<T>& p, const tensor<T>& t, std::type_identity_t<tensor<T>>* dp);

// Mean squared error.
template <class T>
double mse(const tensor<T>& y, const tensor<T>& t, std::type_identity_t<tensor<T>>* dy);

}  // namespace saelab
