#pragma once
// Transposed 2-D convolution, PyTorch's ConvTranspose2d (no dilation, no
// groups): x [N, in, H, W] -> y [N, out, Ho, Wo] with
// Ho = (H - 1) * s - 2p + k + output_padding. W [in, out, k, k] and b [out]
// in PyTorch's layout.
//
// It is the adjoint of conv2d(out -> in, k, s, p) with the same weight array
// (Caffe's deconvolution), so it runs that convolution's conv_plan with the
// roles swapped: forward y = col2im(W^T x) + b is apply_adjoint, backward
// dx = W im2col(dy) is apply and dW += x im2col(dy)^T is weight_grad.
// output_padding (< stride) only picks which of the `stride` input sizes that
// conv2d maps to H is meant.

#include "layers/conv_batch.hpp"
#include "layers/layer.hpp"

namespace saelab {

template <class T>
class conv_transpose2d final : public layer<T> {
 public:
  conv_transpose2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride = 1,
                   std::int64_t padding = 0, std::int64_t output_padding = 0);

  std::string describe() const override;  // "conv_transpose2d(32 -> 16, k3, s2, p0, op0)"
  std::string kind() const override { return "conv_transpose2d"; }
  shape output_shape(const shape& in) const override;  // [in, H, W] -> [out, Ho, Wo]
  void forward(const tensor<T>& x, tensor<T>& y) override;  // x [N, in, H, W] -> y [N, out, Ho, Wo]
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) override;
  // Every input times every k x k tap: in*H*W*out*k*k multiply-adds (taps
  // that land on cropped padding included, as the product computes them).
  // With P = out*Ho*Wo outputs: forward 2*macs + P (bias), dx 2*macs, dW
  // 2*macs and db P.
  layer_flops flops(const shape& in) const override;

  // weight [in, out, k, k], bias [out]
  std::vector<param_tensor> parameters() const override {
    return weight_and_bias(shape{in_, out_, k_, k_}, "in, out, kh, kw", out_);
  }
  void bind(T* params, T* grads) override;
  // PyTorch's default: uniform in +-1/sqrt(fan_in), where PyTorch computes
  // fan_in from weight dim 1, i.e. out*k*k, for both weights and biases.
  void init(rng& r) override;

  const T* weight() const { return w_; }  // [in, out, k, k]
  const T* bias() const { return b_; }    // [out]

 private:
  // Validates x's per-sample shape, (re)builds the plan of the adjoint
  // conv2d (image = our output [out, Ho, Wo], grid = our input) and a
  // workspace per thread.
  void prepare(const shape& x);

  std::int64_t in_, out_, k_, stride_, pad_, out_pad_;
  T* w_ = nullptr;   // [in, out*k*k]
  T* b_ = nullptr;   // [out]
  T* dw_ = nullptr;  // [in, out*k*k]
  T* db_ = nullptr;  // [out]
  conv_batch<T> batch_;
};

extern template class conv_transpose2d<float>;
extern template class conv_transpose2d<double>;

}  // namespace saelab
