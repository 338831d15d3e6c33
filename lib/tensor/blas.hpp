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

// Debian 12's OpenBLAS 0.3.21 picks wrong or slow kernels on some of our
// processors unless OPENBLAS_CORETYPE names one. OpenBLAS reads it when it
// loads, before main(), so when it is unset this sets it to Haswell (whose
// AVX2/FMA kernels our -march=haswell build needs anyway) and re-executes the
// program; it returns only when the variable was already set. Call it first
// thing in main().
void pin_core_type(char** argv);

// OpenBLAS's thread count for every later call; n >= 1.
void set_threads(int n);
int threads();

}  // namespace saelab::blas
