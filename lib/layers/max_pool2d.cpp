#include "layers/max_pool2d.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "layers/conv_plan.hpp"
#include "tensor/blas.hpp"

namespace saelab {

template <class T>
max_pool2d<T>::max_pool2d(std::int64_t kernel, std::int64_t stride) : k_(kernel), stride_(stride) {
  if (k_ < 1 || stride_ < 1)
    throw std::invalid_argument(fmt::format("max_pool2d: kernel and stride must be >= 1, got {}", describe()));
}

template <class T>
std::string max_pool2d<T>::describe() const {
  return fmt::format("max_pool2d(k{}, s{})", k_, stride_);
}

template <class T>
shape max_pool2d<T>::output_shape(const shape& in) const {
  if (in.rank() != 3) throw std::invalid_argument(fmt::format("{}: input {} is not [C, H, W]", describe(), in.str()));
  if (in[1] < k_ || in[2] < k_)
    throw std::invalid_argument(fmt::format("{}: input {} is smaller than the window", describe(), in.str()));
  // int32 argmax indices address one input plane.
  if (in[1] * in[2] > std::numeric_limits<std::int32_t>::max())
    throw std::invalid_argument(fmt::format("{}: input {} has planes too large to index", describe(), in.str()));
  return shape{in[0], (in[1] - k_) / stride_ + 1, (in[2] - k_) / stride_ + 1};
}

template <class T>
layer_flops max_pool2d<T>::flops(const shape& in) const {
  const std::int64_t outputs = output_shape(in).numel();
  return {outputs * (k_ * k_ - 1), outputs, 0};
}

template <class T>
void max_pool2d<T>::forward(const tensor<T>& x, tensor<T>& y) {
  const shape out = output_shape(x.dims().drop_batch());
  const std::int64_t n = x.size(0), c_n = x.size(1), h = x.size(2), w = x.size(3);
  check_same_shape(y.dims(), out.batched(n), "max_pool2d output");
  const std::int64_t ho = out[1], wo = out[2], out_size = c_n * ho * wo;
  argmax_.resize(static_cast<std::size_t>(n * out_size));
  // Samples in parallel; each output is written by exactly one thread.
  for_each_slice(n, blas::threads(), c_n * h * w, [&](int, int, std::int64_t begin, std::int64_t end) {
    for (std::int64_t pl = begin * c_n; pl < end * c_n; ++pl) {
      const T* src = x.data() + pl * h * w;
      T* dst = y.data() + pl * ho * wo;
      std::int32_t* arg = argmax_.data() + pl * ho * wo;
      for (std::int64_t oh = 0; oh < ho; ++oh)
        for (std::int64_t ow = 0; ow < wo; ++ow) {
          const std::int64_t corner = oh * stride_ * w + ow * stride_;
          std::int64_t best_i = corner;
          T best = src[corner];
          for (std::int64_t i = 0; i < k_; ++i)
            for (std::int64_t j = 0; j < k_; ++j) {
              const std::int64_t at = corner + i * w + j;
              const T v = src[at];
              // Strictly greater: the first of equal maxima stays. PyTorch's
              // own test, so NaNs propagate the same way. Written with a mask
              // and a max because GCC turns a plain select into a branch,
              // which random data mispredicts half the time.
              const bool nan = v != v;
              const std::int64_t mask = -static_cast<std::int64_t>((v > best) | nan);
              best_i ^= (best_i ^ at) & mask;
              best = v > best ? v : best;  // a maxss
              if (nan) best = v;           // rare, so predicted
            }
          dst[oh * wo + ow] = best;
          arg[oh * wo + ow] = static_cast<std::int32_t>(best_i);
        }
    }
  });
}

template <class T>
void max_pool2d<T>::backward(const tensor<T>& x, const tensor<T>&, const tensor<T>& dy, tensor<T>* dx) {
  if (!dx) return;
  if (argmax_.size() != static_cast<std::size_t>(dy.numel()))
    throw std::logic_error(fmt::format("{}: backward without a matching forward", describe()));
  const std::int64_t n = x.size(0), c_n = x.size(1), in_plane = x.size(2) * x.size(3);
  const std::int64_t out_plane = dy.size(2) * dy.size(3);
  // Overlapping windows can share an argmax, so dy is added, not assigned.
  for_each_slice(n, blas::threads(), c_n * in_plane, [&](int, int, std::int64_t begin, std::int64_t end) {
    std::fill(dx->data() + begin * c_n * in_plane, dx->data() + end * c_n * in_plane, T(0));
    for (std::int64_t pl = begin * c_n; pl < end * c_n; ++pl) {
      T* d = dx->data() + pl * in_plane;
      const T* g = dy.data() + pl * out_plane;
      const std::int32_t* arg = argmax_.data() + pl * out_plane;
      for (std::int64_t q = 0; q < out_plane; ++q) d[arg[q]] += g[q];
    }
  });
}

template class max_pool2d<float>;
template class max_pool2d<double>;

}  // namespace saelab
