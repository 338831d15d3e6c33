#include "loss/reconstruction.hpp"

#include <algorithm>
#include <cmath>

#include "tensor/parallel.hpp"
#include "tensor/vector_math.hpp"

namespace saelab {

template <class T>
double bce_with_logits(const tensor<T>& z, const tensor<T>& t, std::type_identity_t<tensor<T>>* dz) {
  check_same_shape(z.dims(), t.dims(), "bce_with_logits");
  const std::int64_t n = z.numel();
  const T* zs = z.data();
  const T* ts = t.data();
  const double sum =
      parallel_sum(n, 40, [&](std::int64_t b, std::int64_t e) { return bce_logits_sum(zs + b, ts + b, e - b); });
  if (dz) {
    // sigmoid(z) a block at a time through logistic_into (the same bits).
    constexpr std::int64_t block = 256;
    const T scale = T(1) / static_cast<T>(n);
    T* d = dz->data();
    parallel_for(n, 20, [&](std::int64_t b, std::int64_t e) {
      T p[block];  // sigmoid(z)
      for (std::int64_t c = b; c < e; c += block) {
        const std::int64_t m = std::min(block, e - c);
        logistic_into(zs + c, p, m);
        for (std::int64_t j = 0; j < m; ++j) d[c + j] = (p[j] - ts[c + j]) * scale;
      }
    });
  }
  return sum / static_cast<double>(n);
}

template <class T>
double bce(const tensor<T>& p, const tensor<T>& t, std::type_identity_t<tensor<T>>* dp) {
  check_same_shape(p.dims(), t.dims(), "bce");
  const std::int64_t n = p.numel();
  const T* ps = p.data();
  const T* ts = t.data();
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double lp = std::max(std::log(static_cast<double>(ps[i])), -100.0);
    const double lq = std::max(std::log1p(-static_cast<double>(ps[i])), -100.0);
    sum -= ts[i] * lp + (1.0 - ts[i]) * lq;
  }
  if (dp) {
    const double scale = 1.0 / static_cast<double>(n);
    T* d = dp->data();
    for (std::int64_t i = 0; i < n; ++i) {
      const double q = static_cast<double>(ps[i]);
      d[i] = static_cast<T>((q - ts[i]) / std::max(q * (1.0 - q), 1e-12) * scale);
    }
  }
  return sum / static_cast<double>(n);
}

template <class T>
double mse(const tensor<T>& y, const tensor<T>& t, std::type_identity_t<tensor<T>>* dy) {
  check_same_shape(y.dims(), t.dims(), "mse");
  const std::int64_t n = y.numel();
  const T* ys = y.data();
  const T* ts = t.data();
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(ys[i]) - ts[i];
    sum += e * e;
  }
  if (dy) {
    const T scale = T(2) / static_cast<T>(n);
    T* d = dy->data();
    for (std::int64_t i = 0; i < n; ++i) d[i] = (ys[i] - ts[i]) * scale;
  }
  return sum / static_cast<double>(n);
}

#define SAELAB_INSTANTIATE(T)                                              \
  template double bce_with_logits<T>(const tensor<T>&, const tensor<T>&, std::type_identity_t<tensor<T>>*); \
  template double bce<T>(const tensor<T>&, const tensor<T>&, std::type_identity_t<tensor<T>>*);  \
  template double mse<T>(const tensor<T>&, const tensor<T>&, std::type_identity_t<tensor<T>>*);
SAELAB_INSTANTIATE(float)
SAELAB_INSTANTIATE(double)
#undef SAELAB_INSTANTIATE

}  // namespace saelab
