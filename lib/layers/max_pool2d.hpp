#pragma once
// Max pooling, PyTorch's MaxPool2d without padding or dilation, floor mode:
// x [N, C, H, W] -> y [N, C, Ho, Wo], Ho = (H - k) / s + 1 (9 -> 4 for k2 s2).
// Each output keeps the position of its maximum (Caffe's argmax mask) so
// backward sends dy there and nowhere else. Ties go to the first maximum in
// row-major window order, as in PyTorch; a NaN wins and propagates.

#include <cstdint>
#include <vector>

#include "layers/layer.hpp"

namespace saelab {

template <class T>
class max_pool2d final : public layer<T> {
 public:
  max_pool2d(std::int64_t kernel, std::int64_t stride);

  std::string describe() const override;  // "max_pool2d(k2, s2)"
  std::string kind() const override { return "max_pool2d"; }
  shape output_shape(const shape& in) const override;  // [C, H, W] -> [C, Ho, Wo]
  void forward(const tensor<T>& x, tensor<T>& y) override;  // x [N, C, H, W] -> y [N, C, Ho, Wo]
  // dx is zeroed, then every dy is added at its argmax (windows may overlap).
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) override;
  // Per output: forward k*k - 1 compares, dx 1 add (at the argmax).
  layer_flops flops(const shape& in) const override;
  bool keeps_unit_interval() const override { return true; }

  // Of the last forward: per output, the index h*W + w of its maximum within
  // its input plane. [N, C, Ho, Wo]
  const std::vector<std::int32_t>& argmax() const { return argmax_; }

 private:
  std::int64_t k_, stride_;
  std::vector<std::int32_t> argmax_;
};

extern template class max_pool2d<float>;
extern template class max_pool2d<double>;

}  // namespace saelab
