#include "layers/activation.hpp"

#include <cmath>

#include "tensor/parallel.hpp"
#include "tensor/vector_math.hpp"

namespace saelab {

template <class T>
void sigmoid<T>::forward(const tensor<T>& x, tensor<T>& y) {
  const T* in = x.data();
  T* out = y.data();
  const std::int64_t n = x.numel();
  parallel_for(n, 20, [&](std::int64_t b, std::int64_t e) { logistic_into(in + b, out + b, e - b); });
}

template <class T>
void sigmoid<T>::backward(const tensor<T>&, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) {
  if (!dx) return;
  const T* s = y.data();
  const T* g = dy.data();
  T* d = dx->data();
  const std::int64_t n = y.numel();
  parallel_for(n, 2, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) d[i] = g[i] * s[i] * (T(1) - s[i]);
  });
}

template <class T>
void relu<T>::forward(const tensor<T>& x, tensor<T>& y) {
  const T* in = x.data();
  T* out = y.data();
  const std::int64_t n = x.numel();
  parallel_for(n, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) out[i] = in[i] > T(0) ? in[i] : T(0);
  });
}

template <class T>
void relu<T>::backward(const tensor<T>&, const tensor<T>& y, const tensor<T>& dy, tensor<T>* dx) {
  if (!dx) return;
  const T* out = y.data();
  const T* g = dy.data();
  T* d = dx->data();
  const std::int64_t n = y.numel();
  parallel_for(n, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) d[i] = select(out[i] > T(0), g[i], T(0));
  });
}

template class sigmoid<float>;
template class sigmoid<double>;
template class relu<float>;
template class relu<double>;

}  // namespace saelab
