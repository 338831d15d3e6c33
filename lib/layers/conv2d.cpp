#include "layers/conv2d.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>


namespace saelab {

template <class T>
conv2d<T>::conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride,
                  std::int64_t padding)
    : in_(in_channels), out_(out_channels), k_(kernel), stride_(stride), pad_(padding) {
  if (in_ < 1 || out_ < 1 || k_ < 1 || stride_ < 1 || pad_ < 0)
    throw std::invalid_argument(fmt::format("conv2d: need channels, kernel and stride >= 1 and padding >= 0, got {}",
                                            describe()));
}

template <class T>
std::string conv2d<T>::describe() const {
  return fmt::format("conv2d({} -> {}, k{}, s{}, p{})", in_, out_, k_, stride_, pad_);
}

template <class T>
shape conv2d<T>::output_shape(const shape& in) const {
  if (in.rank() != 3) throw std::invalid_argument(fmt::format("{}: input {} is not [C, H, W]", describe(), in.str()));
  if (in[0] != in_)
    throw std::invalid_argument(
        fmt::format("{}: input {} has {} channels, expected {}", describe(), in.str(), in[0], in_));
  if (in[1] < 1 || in[2] < 1 || in[1] + 2 * pad_ < k_ || in[2] + 2 * pad_ < k_)
    throw std::invalid_argument(fmt::format("{}: input {} is smaller than the kernel", describe(), in.str()));
  const conv_geometry g = conv_geometry_for(in[0], in[1], in[2], k_, stride_, pad_);
  return shape{out_, g.out_height, g.out_width};
}

template <class T>
layer_flops conv2d<T>::flops(const shape& in) const {
  const std::int64_t outputs = output_shape(in).numel(), macs = outputs * in_ * k_ * k_;
  return {2 * macs + outputs, 2 * macs, 2 * macs + outputs};
}

template <class T>
void conv2d<T>::prepare(const shape& x) {
  output_shape(x);
  batch_.prepare(conv_geometry_for(x[0], x[1], x[2], k_, stride_, pad_), out_);
}

template <class T>
void conv2d<T>::bind(T* params, T* grads) {
  const std::int64_t nw = out_ * in_ * k_ * k_;
  w_ = params;
  b_ = params + nw;
  dw_ = grads;
  db_ = grads + nw;
}

template <class T>
void conv2d<T>::init(rng& r) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_ * k_ * k_));
  for (std::int64_t i = 0; i < out_ * in_ * k_ * k_; ++i) w_[i] = static_cast<T>(r.uniform(-bound, bound));
  for (std::int64_t i = 0; i < out_; ++i) b_[i] = static_cast<T>(r.uniform(-bound, bound));
}

template <class T>
void conv2d<T>::forward(const tensor<T>& x, tensor<T>& y) {
  prepare(x.dims().drop_batch());
  const auto& plan = batch_.plan();
  const std::int64_t n = x.size(0), in_size = plan.geometry().image_size(), out_size = plan.grid_size();
  check_same_shape(y.dims(), output_shape(x.dims().drop_batch()).batched(n), "conv2d output");
  batch_.for_each_sample(n, [&](std::int64_t i, auto& ws) {
    plan.apply(w_, b_, x.data() + i * in_size, y.data() + i * out_size, ws);
  });
}

template <class T>
void conv2d<T>::backward(const tensor<T>& x, const tensor<T>&, const tensor<T>& dy, tensor<T>* dx) {
  prepare(x.dims().drop_batch());
  const auto& plan = batch_.plan();
  const std::int64_t n = x.size(0), in_size = plan.geometry().image_size(), out_size = plan.grid_size();
  const T* packed = dx ? batch_.pack_adjoint(w_) : nullptr;
  batch_.backward(n, dy.data(), out_size, out_, dw_, db_, [&](std::int64_t i, T* dwt, auto& ws) {
    const T* g = dy.data() + i * out_size;
    plan.weight_grad(g, x.data() + i * in_size, dwt, ws);
    if (dx) plan.apply_adjoint(packed, nullptr, g, dx->data() + i * in_size, ws);
  });
}

template class conv2d<float>;
template class conv2d<double>;

}  // namespace saelab
