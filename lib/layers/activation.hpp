#pragma once
// Elementwise activations, after tiny-dnn: each is a forward and a backward
// loop. Backward uses the cached output y where that is cheaper than x.

#include "layers/layer.hpp"
#include "tensor/vector_math.hpp"  // logistic

namespace saelab {

template <class T>
class sigmoid final : public layer<T> {
 public:
  std::string describe() const override { return "sigmoid"; }
  std::string kind() const override { return "sigmoid"; }
  shape output_shape(const shape& in) const override { return in; }
  void forward(const tensor<T>& x, tensor<T>& y) override;
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) override;
  // Per element: forward 3 (exp counted as 1, an add, a divide), dx 3
  // (dy * s * (1 - s)).
  layer_flops flops(const shape& in) const override { return {3 * in.numel(), 3 * in.numel(), 0}; }
  bool output_in_unit_interval() const override { return true; }
};

template <class T>
class relu final : public layer<T> {
 public:
  std::string describe() const override { return "relu"; }
  std::string kind() const override { return "relu"; }
  shape output_shape(const shape& in) const override { return in; }
  void forward(const tensor<T>& x, tensor<T>& y) override;
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) override;
  // Per element: forward 1 (a max), dx 1 (a select).
  layer_flops flops(const shape& in) const override { return {in.numel(), in.numel(), 0}; }
};

extern template class sigmoid<float>;
extern template class sigmoid<double>;
extern template class relu<float>;
extern template class relu<double>;

}  // namespace saelab
