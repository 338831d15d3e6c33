#pragma once
// Fully connected: y = x W^T + b, W [out, in] (PyTorch's layout), b [out].

#include "layers/layer.hpp"

namespace saelab {

template <class T>
class linear final : public layer<T> {
 public:
  linear(std::int64_t in, std::int64_t out);

  std::string describe() const override;
  std::string kind() const override { return "linear"; }
  shape output_shape(const shape& in) const override;
  void forward(const tensor<T>& x, tensor<T>& y) override;  // x [N, in] -> y [N, out]
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) override;
  // forward 2*in*out + out (bias), dx 2*in*out, dW and db 2*in*out + out.
  layer_flops flops(const shape& in) const override;

  // weight [out, in], bias [out]
  std::vector<param_tensor> parameters() const override {
    return weight_and_bias(shape{out_, in_}, "out, in", out_);
  }
  void bind(T* params, T* grads) override;
  // PyTorch's default: weights and biases uniform in +-1/sqrt(in).
  void init(rng& r) override;

  const T* weight() const { return w_; }  // [out, in]
  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }

 private:
  std::int64_t in_, out_;
  T* w_ = nullptr;   // [out, in]
  T* b_ = nullptr;   // [out]
  T* dw_ = nullptr;  // [out, in]
  T* db_ = nullptr;  // [out]
};

extern template class linear<float>;
extern template class linear<double>;

}  // namespace saelab
