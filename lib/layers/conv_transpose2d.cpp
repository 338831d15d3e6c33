#include "layers/conv_transpose2d.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "tensor/blas.hpp"

namespace saelab {

template <class T>
conv_transpose2d<T>::conv_transpose2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel,
                                      std::int64_t stride, std::int64_t padding, std::int64_t output_padding)
    : in_(in_channels), out_(out_channels), k_(kernel), stride_(stride), pad_(padding), out_pad_(output_padding) {
  if (in_ < 1 || out_ < 1 || k_ < 1 || stride_ < 1 || pad_ < 0)
    throw std::invalid_argument(fmt::format(
        "conv_transpose2d: need channels, kernel and stride >= 1 and padding >= 0, got {}", describe()));
  // As in PyTorch: a larger output_padding would add rows no input reaches.
  if (out_pad_ < 0 || out_pad_ >= stride_)
    throw std::invalid_argument(fmt::format("{}: output_padding must be in [0, stride)", describe()));
}

template <class T>
std::string conv_transpose2d<T>::describe() const {
  return fmt::format("conv_transpose2d({} -> {}, k{}, s{}, p{}, op{})", in_, out_, k_, stride_, pad_, out_pad_);
}

template <class T>
shape conv_transpose2d<T>::output_shape(const shape& in) const {
  if (in.rank() != 3) throw std::invalid_argument(fmt::format("{}: input {} is not [C, H, W]", describe(), in.str()));
  if (in[0] != in_)
    throw std::invalid_argument(
        fmt::format("{}: input {} has {} channels, expected {}", describe(), in.str(), in[0], in_));
  const std::int64_t ho = (in[1] - 1) * stride_ - 2 * pad_ + k_ + out_pad_;
  const std::int64_t wo = (in[2] - 1) * stride_ - 2 * pad_ + k_ + out_pad_;
  if (in[1] < 1 || in[2] < 1 || ho < 1 || wo < 1)
    throw std::invalid_argument(fmt::format("{}: input {} is too small, the output would be {}x{}", describe(),
                                            in.str(), ho, wo));
  return shape{out_, ho, wo};
}

template <class T>
layer_flops conv_transpose2d<T>::flops(const shape& in) const {
  const std::int64_t outputs = output_shape(in).numel(), macs = in.numel() * out_ * k_ * k_;
  return {2 * macs + outputs, 2 * macs, 2 * macs + outputs};
}

template <class T>
int conv_transpose2d<T>::prepare(const shape& x) {
  const shape y = output_shape(x);
  // Since output_padding < stride, conv2d's floor division maps y's size
  // back to x's: the grid of this geometry is x's H x W.
  const conv_geometry g = conv_geometry_for(out_, y[1], y[2], k_, stride_, pad_);
  if (g.out_height != x[1] || g.out_width != x[2])
    throw std::logic_error(fmt::format("{}: adjoint geometry does not return to {}", describe(), x.str()));
  if (!planned_ || !(plan_.geometry() == g)) {
    plan_ = conv_plan<T>(g, in_);
    planned_ = true;
    workspaces_.clear();
  }
  const int threads = std::max(1, blas::threads());
  while (static_cast<int>(workspaces_.size()) < threads) workspaces_.push_back(plan_.make_workspace());
  return threads;
}

template <class T>
void conv_transpose2d<T>::bind(T* params, T* grads) {
  const std::int64_t nw = in_ * out_ * k_ * k_;
  w_ = params;
  b_ = params + nw;
  dw_ = grads;
  db_ = grads + nw;
}

template <class T>
void conv_transpose2d<T>::init(rng& r) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(out_ * k_ * k_));
  for (std::int64_t i = 0; i < in_ * out_ * k_ * k_; ++i) w_[i] = static_cast<T>(r.uniform(-bound, bound));
  for (std::int64_t i = 0; i < out_; ++i) b_[i] = static_cast<T>(r.uniform(-bound, bound));
}

template <class T>
void conv_transpose2d<T>::forward(const tensor<T>& x, tensor<T>& y) {
  const int threads = prepare(x.dims().drop_batch());
  const std::int64_t n = x.size(0), in_size = plan_.grid_size(), out_size = plan_.geometry().image_size();
  check_same_shape(y.dims(), output_shape(x.dims().drop_batch()).batched(n), "conv_transpose2d output");
  packed_.resize(static_cast<std::size_t>(plan_.packed_size()));
  plan_.pack_adjoint(w_, packed_.data());
  for_each_slice(n, threads, plan_.work(), [&](int, int t, std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i)
      plan_.apply_adjoint(packed_.data(), b_, x.data() + i * in_size, y.data() + i * out_size,
                          workspaces_[static_cast<std::size_t>(t)]);
  });
}

template <class T>
void conv_transpose2d<T>::backward(const tensor<T>& x, const tensor<T>&, const tensor<T>& dy, tensor<T>* dx) {
  const int threads = prepare(x.dims().drop_batch());
  const std::int64_t n = x.size(0), in_size = plan_.grid_size(), out_size = plan_.geometry().image_size();
  const std::int64_t plane = out_size / out_, grad_size = plan_.weight_grad_size();
  const int slices = slice_count(n);
  slice_dw_.assign(static_cast<std::size_t>(slices * grad_size), T(0));
  slice_db_.assign(static_cast<std::size_t>(slices * out_), T(0));
  for_each_slice(n, threads, plan_.work(), [&](int s, int t, std::int64_t begin, std::int64_t end) {
    auto& ws = workspaces_[static_cast<std::size_t>(t)];
    T* dwt = slice_dw_.data() + s * grad_size;
    T* db = slice_db_.data() + s * out_;
    for (std::int64_t i = begin; i < end; ++i) {
      const T* g = dy.data() + i * out_size;
      if (dx) plan_.apply(w_, nullptr, g, dx->data() + i * in_size, ws);
      plan_.weight_grad(x.data() + i * in_size, g, dwt, ws);
      for (std::int64_t c = 0; c < out_; ++c) {
        T sum = 0;
        for (std::int64_t q = 0; q < plane; ++q) sum += g[c * plane + q];
        db[c] += sum;
      }
    }
  });
  // Slices in order, whatever thread ran them: reproducible sums.
  for (int s = 0; s < slices; ++s) {
    plan_.add_weight_grad(slice_dw_.data() + s * grad_size, dw_);
    for (std::int64_t c = 0; c < out_; ++c) db_[c] += slice_db_[static_cast<std::size_t>(s * out_ + c)];
  }
}

template class conv_transpose2d<float>;
template class conv_transpose2d<double>;

}  // namespace saelab
