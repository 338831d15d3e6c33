#pragma once
// Elementwise activations, after tiny-dnn: each is a forward and a backward
// loop. Backward uses the cached output y where that is cheaper than x.

#include <cmath>

#include "layers/layer.hpp"

namespace saelab {

template <class T>
class sigmoid final : public layer<T> {
 public:
  std::string describe() const override { return "sigmoid"; }
  shape output_shape(const shape& in) const override { return in; }
  void forward(const tensor<T>& x, tensor<T>& y) override;
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) override;
  bool output_in_unit_interval() const override { return true; }
};

template <class T>
class relu final : public layer<T> {
 public:
  std::string describe() const override { return "relu"; }
  shape output_shape(const shape& in) const override { return in; }
  void forward(const tensor<T>& x, tensor<T>& y) override;
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) override;
};

// The logistic function, stable for large |x|.
template <class T>
inline T logistic(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

extern template class sigmoid<float>;
extern template class sigmoid<double>;
extern template class relu<float>;
extern template class relu<double>;

}  // namespace saelab
