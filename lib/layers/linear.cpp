#include "layers/linear.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "tensor/blas.hpp"

namespace saelab {

using blas::trans;

template <class T>
linear<T>::linear(std::int64_t in, std::int64_t out) : in_(in), out_(out) {
  if (in < 1 || out < 1) throw std::invalid_argument(fmt::format("linear: sizes must be positive, got {} -> {}", in, out));
}

template <class T>
std::string linear<T>::describe() const {
  return fmt::format("linear({} -> {})", in_, out_);
}

template <class T>
shape linear<T>::output_shape(const shape& in) const {
  if (in.numel() != in_)
    throw std::invalid_argument(fmt::format("{}: input {} has {} features, expected {}", describe(), in.str(), in.numel(), in_));
  return shape{out_};
}

template <class T>
layer_flops linear<T>::flops(const shape& in) const {
  output_shape(in);
  const std::int64_t macs = in_ * out_;
  return {2 * macs + out_, 2 * macs, 2 * macs + out_};
}

template <class T>
void linear<T>::bind(T* params, T* grads) {
  w_ = params;
  b_ = params + out_ * in_;
  dw_ = grads;
  db_ = grads + out_ * in_;
}

template <class T>
void linear<T>::init(rng& r) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  for (std::int64_t i = 0; i < out_ * in_; ++i) w_[i] = static_cast<T>(r.uniform(-bound, bound));
  for (std::int64_t i = 0; i < out_; ++i) b_[i] = static_cast<T>(r.uniform(-bound, bound));
}

template <class T>
void linear<T>::forward(const tensor<T>& x, tensor<T>& y) {
  const std::int64_t n = x.size(0);
  T* out = y.data();
  // Bias first, then the GEMM accumulates onto it (beta = 1).
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t o = 0; o < out_; ++o) out[i * out_ + o] = b_[o];
  blas::gemm<T>(trans::no, trans::yes, n, out_, in_, T(1), x.data(), in_, w_, in_, T(1), out, out_);
}

template <class T>
void linear<T>::backward(const tensor<T>& x, const tensor<T>&, const tensor<T>& dy, tensor<T>* dx) {
  const std::int64_t n = x.size(0);
  const T* g = dy.data();
  // dW += dy^T x  [out, in]
  blas::gemm<T>(trans::yes, trans::no, out_, in_, n, T(1), g, out_, x.data(), in_, T(1), dw_, in_);
  // db += column sums of dy
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t o = 0; o < out_; ++o) db_[o] += g[i * out_ + o];
  // dx = dy W  [N, in]
  if (dx) blas::gemm<T>(trans::no, trans::no, n, in_, out_, T(1), g, out_, w_, in_, T(0), dx->data(), in_);
}

template class linear<float>;
template class linear<double>;

}  // namespace saelab
