#pragma once
// 2-D convolution with square kernels, PyTorch's Conv2d (no dilation, no
// groups): x [N, in, H, W] -> y [N, out, Ho, Wo], Ho = (H + 2p - k) / s + 1.
// W [out, in, k, k] and b [out] in PyTorch's layout.
//
// Per sample, forward is conv_plan::apply (y = W im2col(x) + b), backward
// weight_grad (dW += dy im2col(x)^T) and apply_adjoint (dx = col2im(W^T dy)).
// Samples run on blas::threads() threads through conv_batch, which says why the
// sums over samples do not depend on that number.

#include "layers/conv_batch.hpp"
#include "layers/layer.hpp"

namespace saelab {

template <class T>
class conv2d final : public layer<T> {
 public:
  conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride = 1,
         std::int64_t padding = 0);

  std::string describe() const override;  // "conv2d(1 -> 8, k3, s1, p0)"
  std::string kind() const override { return "conv2d"; }
  shape output_shape(const shape& in) const override;  // [in, H, W] -> [out, Ho, Wo]
  void forward(const tensor<T>& x, tensor<T>& y) override;  // x [N, in, H, W] -> y [N, out, Ho, Wo]
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) override;
  // With P = out*Ho*Wo outputs and P*in*k*k multiply-adds (taps on padding
  // included, as the im2col product computes them): forward 2*macs + P
  // (bias), dx 2*macs, dW 2*macs and db P.
  layer_flops flops(const shape& in) const override;

  // weight [out, in, k, k], bias [out]
  std::vector<param_tensor> parameters() const override {
    return weight_and_bias(shape{out_, in_, k_, k_}, "out, in, kh, kw", out_);
  }
  void bind(T* params, T* grads) override;
  // PyTorch's default: weights and biases uniform in +-1/sqrt(in*k*k).
  void init(rng& r) override;

  const T* weight() const { return w_; }  // [out, in, k, k]
  const T* bias() const { return b_; }    // [out]

 private:
  // Validates x's per-sample shape, (re)builds the plan for it and a
  // workspace per thread.
  void prepare(const shape& x);

  std::int64_t in_, out_, k_, stride_, pad_;
  T* w_ = nullptr;   // [out, in*k*k]
  T* b_ = nullptr;   // [out]
  T* dw_ = nullptr;  // [out, in*k*k]
  T* db_ = nullptr;  // [out]
  conv_batch<T> batch_;
};

extern template class conv2d<float>;
extern template class conv2d<double>;

}  // namespace saelab
