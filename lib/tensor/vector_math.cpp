#include "tensor/vector_math.hpp"

#include <algorithm>
#include <cmath>

#include <immintrin.h>

// libmvec's AVX2 double exp (the name GCC's vectoriser would call); linked
// through libm.
extern "C" __m256d _ZGVdN4v_exp(__m256d x);
extern "C" __m256d _ZGVdN4v_log1p(__m256d x);

namespace saelab {

namespace {

// Whether, for each of 4 lanes, the float r = (float)y is glibc's expf of the
// input whose exp is y (y from a double exp, accurate to a few double ulps).
// glibc's expf is within 0.502 float ulps of the true value, so it returns
// the nearest float r unless the true value lies within 0.002 ulps of the
// midpoint between r and a neighbour. A lane is accepted when y is more than
// 1/128 ulp from both midpoints: far beyond both functions' errors.
__m256d nearest_is_safe(__m256d y, __m128 r) {
  const __m128i bits = _mm_castps_si128(r), one = _mm_set1_epi32(1);
  const __m256d rd = _mm256_cvtps_pd(r);
  const __m256d up = _mm256_cvtps_pd(_mm_castsi128_ps(_mm_add_epi32(bits, one)));
  const __m256d down = _mm256_cvtps_pd(_mm_castsi128_ps(_mm_sub_epi32(bits, one)));
  const __m256d half = _mm256_set1_pd(0.5), tol = _mm256_set1_pd(1.0 / 128);
  const __m256d gap_up = _mm256_sub_pd(up, rd), gap_down = _mm256_sub_pd(rd, down);
  const __m256d d = _mm256_sub_pd(y, rd);  // exact: y and rd are close
  const __m256d above = _mm256_cmp_pd(d, _mm256_setzero_pd(), _CMP_GE_OQ);
  // room left before the midpoint on y's side
  const __m256d room = _mm256_blendv_pd(_mm256_add_pd(_mm256_mul_pd(half, gap_down), d),
                                        _mm256_sub_pd(_mm256_mul_pd(half, gap_up), d), above);
  return _mm256_cmp_pd(room, _mm256_mul_pd(tol, _mm256_min_pd(gap_up, gap_down)), _CMP_GT_OQ);
}

// expf of 8 lanes, bit for bit what std::exp(float) returns (glibc's scalar
// expf): exp in double through libmvec, rounded to float where that is
// provably glibc's answer, and the scalar expf for the rare rest (near a
// rounding midpoint, or outside [-87, 88] where results leave the normal
// range; NaNs too). tests/test_vector_math.cpp checks it against expf.
__m256 expf_exact(__m256 u) {
  const __m256d lo = _ZGVdN4v_exp(_mm256_cvtps_pd(_mm256_castps256_ps128(u)));
  const __m256d hi = _ZGVdN4v_exp(_mm256_cvtps_pd(_mm256_extractf128_ps(u, 1)));
  const __m128 rlo = _mm256_cvtpd_ps(lo), rhi = _mm256_cvtpd_ps(hi);
  const __m256 in_range = _mm256_and_ps(_mm256_cmp_ps(u, _mm256_set1_ps(-87.0f), _CMP_GE_OQ),
                                        _mm256_cmp_ps(u, _mm256_set1_ps(88.0f), _CMP_LE_OQ));
  const int safe = (_mm256_movemask_pd(nearest_is_safe(lo, rlo)) | (_mm256_movemask_pd(nearest_is_safe(hi, rhi)) << 4)) &
                   _mm256_movemask_ps(in_range);
  __m256 r = _mm256_set_m128(rhi, rlo);
  if (safe != 0xff) {
    alignas(32) float in[8], out[8];
    _mm256_store_ps(in, u);
    _mm256_store_ps(out, r);
    for (int j = 0; j < 8; ++j)
      if (!(safe >> j & 1)) out[j] = std::exp(in[j]);
    r = _mm256_load_ps(out);
  }
  return r;
}

// The 16 lanes of four accumulators, added in one fixed order.
double reduce(__m256d a, __m256d b, __m256d c, __m256d d) {
  alignas(32) double lane[4];
  _mm256_store_pd(lane, _mm256_add_pd(_mm256_add_pd(a, b), _mm256_add_pd(c, d)));
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

// 4 floats from p, widened to double.
__m256d load4(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }

template <bool absolute>
double sum_floats(const float* x, std::int64_t n) {
  const __m256d sign = _mm256_set1_pd(-0.0);
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 4; ++k) {
      __m256d v = load4(x + i + 4 * k);
      if constexpr (absolute) v = _mm256_andnot_pd(sign, v);
      acc[k] = _mm256_add_pd(acc[k], v);
    }
  double s = reduce(acc[0], acc[1], acc[2], acc[3]);
  for (; i < n; ++i) s += absolute ? std::abs(static_cast<double>(x[i])) : static_cast<double>(x[i]);
  return s;
}

// max(z, 0) - z t + log1p(exp(-|z|)) for 4 lanes; a NaN z gives NaN.
__m256d bce_term(__m256d z, __m256d t) {
  const __m256d sign = _mm256_set1_pd(-0.0);
  const __m256d softplus_tail = _ZGVdN4v_log1p(_ZGVdN4v_exp(_mm256_or_pd(z, sign)));  // log1p(exp(-|z|))
  return _mm256_add_pd(_mm256_sub_pd(_mm256_max_pd(z, _mm256_setzero_pd()), _mm256_mul_pd(z, t)), softplus_tail);
}

template <class T>
double bce_term_scalar(T z, T t) {
  const double x = z;
  return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::abs(x)));
}

}  // namespace

double sum(const float* x, std::int64_t n) { return sum_floats<false>(x, n); }
double sum_abs(const float* x, std::int64_t n) { return sum_floats<true>(x, n); }

double sum(const double* x, std::int64_t n) {
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

double sum_abs(const double* x, std::int64_t n) {
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += std::abs(x[i]);
  return s;
}

double bce_logits_sum(const float* z, const float* t, std::int64_t n) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_add_pd(acc[k], bce_term(load4(z + i + 4 * k), load4(t + i + 4 * k)));
  double s = reduce(acc[0], acc[1], acc[2], acc[3]);
  for (; i < n; ++i) s += bce_term_scalar(z[i], t[i]);
  return s;
}

double bce_logits_sum(const double* z, const double* t, std::int64_t n) {
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += bce_term_scalar(z[i], t[i]);
  return s;
}

void logistic_into(const float* x, float* y, std::int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 e = expf_exact(_mm256_or_ps(v, sign));         // exp(-|x|)
    const __m256 keep_one = _mm256_cmp_ps(v, zero, _CMP_GE_OQ);  // x >= 0
    const __m256 numerator = _mm256_blendv_ps(e, one, keep_one);
    _mm256_storeu_ps(y + i, _mm256_div_ps(numerator, _mm256_add_ps(one, e)));
  }
  for (; i < n; ++i) y[i] = logistic(x[i]);
}

void logistic_into(const double* x, double* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = logistic(x[i]);
}

void exp_into(const float* x, float* y, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, expf_exact(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = std::exp(x[i]);
}

}  // namespace saelab
