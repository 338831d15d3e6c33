#include "optim/optimizer.hpp"

#include <cmath>

#include <fmt/format.h>

#include "tensor/parallel.hpp"

namespace saelab {

template <class T>
sgd<T>::sgd(std::int64_t n, double lr, double momentum) : lr_(lr), momentum_(momentum), velocity_(shape{n}) {}

template <class T>
std::string sgd<T>::describe() const {
  return fmt::format("sgd(lr={}, momentum={})", lr_, momentum_);
}

template <class T>
void sgd<T>::step(tensor<T>& params, const tensor<T>& grads) {
  ++t_;
  const std::int64_t n = params.numel();
  T* p = params.data();
  const T* g = grads.data();
  T* v = velocity_.data();
  const T lr = static_cast<T>(lr_), mu = static_cast<T>(momentum_);
  // Every parameter on its own: split across threads, the same bits.
  parallel_for(n, 4, [=](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      v[i] = mu * v[i] + g[i];
      p[i] -= lr * v[i];
    }
  });
}

template <class T>
adam<T>::adam(std::int64_t n, double lr, double beta1, double beta2, double eps)
    : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), m_(shape{n}), v_(shape{n}) {}

template <class T>
std::string adam<T>::describe() const {
  return fmt::format("adam(lr={}, betas=({}, {}), eps={})", lr_, beta1_, beta2_, eps_);
}

template <class T>
void adam<T>::step(tensor<T>& params, const tensor<T>& grads) {
  ++t_;
  const double bc1 = 1 - std::pow(beta1_, static_cast<double>(t_));
  const double bc2 = 1 - std::pow(beta2_, static_cast<double>(t_));
  const T step_size = static_cast<T>(lr_ / bc1);
  const T sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
  // 1 - b in double, then T: as Python computes it before the tensor op.
  const T w1 = static_cast<T>(1.0 - beta1_), w2 = static_cast<T>(1.0 - beta2_);
  const T b1 = static_cast<T>(beta1_), b2 = static_cast<T>(beta2_), eps = static_cast<T>(eps_);
  const std::int64_t n = params.numel();
  T* p = params.data();
  const T* g = grads.data();
  T* m = m_.data();
  T* v = v_.data();
  parallel_for(n, 16, [=](std::int64_t b, std::int64_t e) {  // by value: no aliasing with m, v, p
    for (std::int64_t i = b; i < e; ++i) {
      m[i] = b1 * m[i] + w1 * g[i];
      v[i] = b2 * v[i] + w2 * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
    }
  });
}

template class sgd<float>;
template class sgd<double>;
template class adam<float>;
template class adam<double>;

}  // namespace saelab
