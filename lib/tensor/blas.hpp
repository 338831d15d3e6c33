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

// OpenBLAS's thread count for every later call; 1 <= n <= max_threads(),
// else std::invalid_argument naming run.threads (the key it comes from).
void set_threads(int n);
// 4 threads per core of this machine, and no more than the OpenBLAS library
// was built for (Debian 12's: MAX_THREADS=64). Beyond that OpenBLAS's
// busy-waiting threads only take turns on the cores, and every GEMM waits for
// the slowest of them: a run slows to a crawl, as if wedged.
int max_threads();
int threads();

}  // namespace saelab::blas
