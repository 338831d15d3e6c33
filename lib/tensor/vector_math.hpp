#pragma once
// Elementwise transcendental loops, 8 floats at a time, giving the same bits
// as the scalar <cmath> calls they replace (so results do not change):
//
//   logistic_into(z, p, n);   // p[i] = logistic(z[i]), below
//   exp_into(u, e, n);        // e[i] = std::exp(u[i])
//
// glibc's own vector expf (libmvec) differs from its scalar expf on about 2%
// of inputs, so it cannot be used as it is. Instead exp is taken in double
// (libmvec, linked with libm) and rounded to float wherever that is provably
// the scalar expf's result (vector_math.cpp says why); the few lanes near a
// rounding midpoint, or outside [-87, 88], call the scalar expf. Checked
// against the scalar expf on every negative float and on a sample of the
// rest (tests/test_vector_math.cpp). The double overloads are scalar loops.

#include <cmath>
#include <cstdint>

#include "tensor/branchless.hpp"

namespace saelab {

// The logistic function, stable for large |x|: 1 / (1 + exp(-x)) for
// x >= 0, exp(x) / (1 + exp(x)) below. Both take the exp of -|x|, so it is
// taken once and only the numerator is selected: no branch for random signs
// to mispredict, and the same bits as the two-branch form.
template <class T>
inline T logistic(T x) {
  const T e = std::exp(-std::abs(x));
  return select(x >= T(0), T(1), e) / (T(1) + e);
}

void logistic_into(const float* x, float* y, std::int64_t n);
void logistic_into(const double* x, double* y, std::int64_t n);

void exp_into(const float* x, float* y, std::int64_t n);

// Reductions in double, for loss values. A single running sum is
// latency-bound (one add per 4 cycles); these keep 16 interleaved partial
// sums and add them up in a fixed order at the end, so they vectorise and
// still give the same bits on every run, though not the bits of an in-order
// sum. The double overloads are in-order loops (gradient checks use them).
double sum(const float* x, std::int64_t n);
double sum_abs(const float* x, std::int64_t n);
double sum(const double* x, std::int64_t n);
double sum_abs(const double* x, std::int64_t n);

// Sum over i of max(z, 0) - z t + log1p(exp(-|z|)): binary cross-entropy
// of logits z against targets t, stable for large |z|. exp and log1p are
// libmvec's vector versions, within a few double ulps of the scalar calls.
double bce_logits_sum(const float* z, const float* t, std::int64_t n);
double bce_logits_sum(const double* z, const double* t, std::int64_t n);

}  // namespace saelab
