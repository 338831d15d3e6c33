#include "tensor/blas.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include <unistd.h>

#include <cblas.h>

namespace saelab::blas {

namespace {
CBLAS_TRANSPOSE to_cblas(trans t) { return t == trans::yes ? CblasTrans : CblasNoTrans; }
blasint i(std::int64_t v) { return static_cast<blasint>(v); }
}  // namespace

template <>
void gemm<float>(trans ta, trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                 std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), i(m), i(n), i(k), alpha, a, i(lda), b, i(ldb), beta, c, i(ldc));
}

template <>
void gemm<double>(trans ta, trans tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
                  std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), i(m), i(n), i(k), alpha, a, i(lda), b, i(ldb), beta, c, i(ldc));
}

template <>
void gemv<float>(trans ta, std::int64_t m, std::int64_t n, float alpha, const float* a, std::int64_t lda,
                 const float* x, float beta, float* y) {
  cblas_sgemv(CblasRowMajor, to_cblas(ta), i(m), i(n), alpha, a, i(lda), x, 1, beta, y, 1);
}

template <>
void gemv<double>(trans ta, std::int64_t m, std::int64_t n, double alpha, const double* a, std::int64_t lda,
                  const double* x, double beta, double* y) {
  cblas_dgemv(CblasRowMajor, to_cblas(ta), i(m), i(n), alpha, a, i(lda), x, 1, beta, y, 1);
}

template <>
void axpy<float>(std::int64_t n, float alpha, const float* x, float* y) {
  cblas_saxpy(i(n), alpha, x, 1, y, 1);
}

template <>
void axpy<double>(std::int64_t n, double alpha, const double* x, double* y) {
  cblas_daxpy(i(n), alpha, x, 1, y, 1);
}

namespace {
// From openblas_get_config(), e.g. "OpenBLAS 0.3.21 ... MAX_THREADS=64"; 0 if it does not say.
int openblas_build_threads() {
  const char* config = openblas_get_config();
  const char* at = config != nullptr ? std::strstr(config, "MAX_THREADS=") : nullptr;
  return at != nullptr ? std::atoi(at + std::strlen("MAX_THREADS=")) : 0;
}
}  // namespace

int max_threads() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int built = openblas_build_threads();
  return built > 0 ? std::min(4 * cores, built) : 4 * cores;
}

void set_threads(int n) {
  if (n < 1) throw std::invalid_argument("blas::set_threads: thread count must be at least 1");
  if (n > max_threads())
    throw std::invalid_argument(fmt::format(
        "run.threads = {} is above the limit of {} on this machine ({} cores, 4 threads per core at most; "
        "OpenBLAS built for {}): more only makes its threads wait on each other",
        n, max_threads(), std::max(1u, std::thread::hardware_concurrency()), openblas_build_threads()));
  openblas_set_num_threads(n);
}

int threads() { return openblas_get_num_threads(); }

void pin_core_type(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with whatever kernel OpenBLAS chose.
}

}  // namespace saelab::blas
