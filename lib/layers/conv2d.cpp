#include "layers/conv2d.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "tensor/blas.hpp"

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
int conv2d<T>::prepare(const shape& x) {
  output_shape(x);
  const conv_geometry g = conv_geometry_for(x[0], x[1], x[2], k_, stride_, pad_);
  if (!planned_ || !(plan_.geometry() == g)) {
    plan_ = conv_plan<T>(g, out_);
    planned_ = true;
    workspaces_.clear();
  }
  const int threads = std::max(1, blas::threads());
  while (static_cast<int>(workspaces_.size()) < threads) workspaces_.push_back(plan_.make_workspace());
  return threads;
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
  const int threads = prepare(x.dims().drop_batch());
  const std::int64_t n = x.size(0), in_size = plan_.geometry().image_size(), out_size = plan_.grid_size();
  check_same_shape(y.dims(), output_shape(x.dims().drop_batch()).batched(n), "conv2d output");
  for_each_slice(n, threads, plan_.work(), [&](int, int t, std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i)
      plan_.apply(w_, b_, x.data() + i * in_size, y.data() + i * out_size, workspaces_[static_cast<std::size_t>(t)]);
  });
}

template <class T>
void conv2d<T>::backward(const tensor<T>& x, const tensor<T>&, const tensor<T>& dy, tensor<T>* dx) {
  const int threads = prepare(x.dims().drop_batch());
  const std::int64_t n = x.size(0), in_size = plan_.geometry().image_size(), out_size = plan_.grid_size();
  const std::int64_t plane = out_size / out_, grad_size = plan_.weight_grad_size();
  if (dx) {
    packed_.resize(static_cast<std::size_t>(plan_.packed_size()));
    plan_.pack_adjoint(w_, packed_.data());
  }
  const int slices = slice_count(n);
  slice_dw_.assign(static_cast<std::size_t>(slices * grad_size), T(0));
  slice_db_.assign(static_cast<std::size_t>(slices * out_), T(0));
  for_each_slice(n, threads, plan_.work(), [&](int s, int t, std::int64_t begin, std::int64_t end) {
    auto& ws = workspaces_[static_cast<std::size_t>(t)];
    T* dwt = slice_dw_.data() + s * grad_size;
    T* db = slice_db_.data() + s * out_;
    for (std::int64_t i = begin; i < end; ++i) {
      const T* g = dy.data() + i * out_size;
      plan_.weight_grad(g, x.data() + i * in_size, dwt, ws);
      for (std::int64_t o = 0; o < out_; ++o) {
        T sum = 0;
        for (std::int64_t q = 0; q < plane; ++q) sum += g[o * plane + q];
        db[o] += sum;
      }
      if (dx) plan_.apply_adjoint(packed_.data(), nullptr, g, dx->data() + i * in_size, ws);
    }
  });
  // Slices in order, whatever thread ran them: reproducible sums.
  for (int s = 0; s < slices; ++s) {
    plan_.add_weight_grad(slice_dw_.data() + s * grad_size, dw_);
    for (std::int64_t o = 0; o < out_; ++o) db_[o] += slice_db_[static_cast<std::size_t>(s * out_ + o)];
  }
}

template class conv2d<float>;
template class conv2d<double>;

}  // namespace saelab
