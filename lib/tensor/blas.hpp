#pragma once
// A typed face on cblas: one name for float and double, row-major only.
// C = alpha * op(A) * op(B) + beta * C with op(X) = X or X^T.

#include <cstdint>

namespace saelab::blas {

enum class trans { no, yes };

template <class T>
void gemm(trans ta, trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

// y = alpha * op(A) * x + beta * y, A is [m, n].
template <class T>
void gemv(trans ta, std::int64_t m, std::int64_t n, T alpha, const T* a, std::int64_t lda, const T* x,
          T beta, T* y);

// y += alpha * x
template <class T>
void axpy(std::int64_t n, T alpha, const T* x, T* y);

// OpenBLAS's thread count for every later call; n >= 1.
void set_threads(int n);
int threads();

}  // namespace saelab::blas
