#include "loss/penalty.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "tensor/branchless.hpp"
#include "tensor/parallel.hpp"
#include "tensor/vector_math.hpp"

namespace saelab {

namespace {
// rho_hat_j: the batch mean of each unit. a [N, units...] -> [units]
// Threads split the units; every unit still adds its samples in order, so
// the means are the same on any thread count.
template <class T>
std::vector<double> unit_means(const tensor<T>& a) {
  const std::int64_t n = a.size(0), units = a.dims().inner();
  std::vector<double> mean(static_cast<std::size_t>(units), 0.0);
  parallel_for(units, n, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t s = 0; s < n; ++s) {
      const T* row = a.data() + s * units;
      for (std::int64_t j = b; j < e; ++j) mean[static_cast<std::size_t>(j)] += row[j];
    }
  });
  for (auto& m : mean) m /= static_cast<double>(n);
  return mean;
}

// da [N, units] += slope [units] in every row.
template <class T>
void add_to_rows(const std::vector<T>& slope, tensor<T>& da) {
  const std::int64_t units = static_cast<std::int64_t>(slope.size());
  T* d = da.data();
  parallel_for(da.size(0), units, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t s = b; s < e; ++s)
      for (std::int64_t j = 0; j < units; ++j) d[s * units + j] += slope[static_cast<std::size_t>(j)];
  });
}

void check_rho(double rho, const char* who) {
  if (!(rho > 0 && rho < 1)) throw std::invalid_argument(fmt::format("{}: rho = {} must lie in (0, 1)", who, rho));
}
}  // namespace

template <class T>
kl_penalty<T>::kl_penalty(double rho, double beta, double eps) : rho_(rho), beta_(beta), eps_(eps) {
  check_rho(rho, "kl penalty");
}

template <class T>
std::string kl_penalty<T>::describe() const {
  return fmt::format("kl(rho={}, beta={})", rho_, beta_);
}

template <class T>
double kl_penalty<T>::evaluate(const tensor<T>& a, tensor<T>* da) const {
  const auto mean = unit_means(a);
  double value = 0;
  for (const double raw : mean) {
    const double q = std::clamp(raw, eps_, 1 - eps_);
    value += rho_ * std::log(rho_ / q) + (1 - rho_) * std::log((1 - rho_) / (1 - q));
  }
  if (da) {
    da->zero();
    add_to_rows(slopes(mean, a.size(0)), *da);
  }
  return beta_ * value;
}

template <class T>
void kl_penalty<T>::add_gradient(const tensor<T>& a, tensor<T>& da) const {
  add_to_rows(slopes(unit_means(a), a.size(0)), da);
}

template <class T>
std::vector<T> kl_penalty<T>::slopes(const std::vector<double>& mean, std::int64_t n) const {
  std::vector<T> slope;
  slope.reserve(mean.size());
  for (const double raw : mean) {
    const double q = std::clamp(raw, eps_, 1 - eps_);
    // d/d rho_hat, times d rho_hat / d a_nj = 1/N
    const double d = (raw == q) ? (-rho_ / q + (1 - rho_) / (1 - q)) : 0.0;
    slope.push_back(static_cast<T>(beta_ * d / static_cast<double>(n)));
  }
  return slope;
}

template <class T>
l1_penalty<T>::l1_penalty(double lambda, l1_reduction reduction) : lambda_(lambda), reduction_(reduction) {
  if (!(lambda >= 0)) throw std::invalid_argument(fmt::format("l1 penalty: lambda = {} must be >= 0", lambda));
}

template <class T>
std::string l1_penalty<T>::describe() const {
  return fmt::format("l1(lambda={}, reduction={})", lambda_,
                     reduction_ == l1_reduction::sum ? "sum" : "mean");
}

template <class T>
double l1_penalty<T>::divisor(const tensor<T>& a) const {
  return reduction_ == l1_reduction::sum ? static_cast<double>(a.size(0)) : static_cast<double>(a.numel());
}

template <class T>
double l1_penalty<T>::evaluate(const tensor<T>& a, tensor<T>* da) const {
  const T* x = a.data();
  const double sum = parallel_sum(a.numel(), 1, [&](std::int64_t b, std::int64_t e) { return sum_abs(x + b, e - b); });
  if (da) {
    da->zero();
    add_gradient(a, *da);
  }
  return lambda_ * sum / divisor(a);
}

template <class T>
void l1_penalty<T>::add_gradient(const tensor<T>& a, tensor<T>& da) const {
  const T w = static_cast<T>(lambda_ / divisor(a));
  const T* x = a.data();
  T* d = da.data();
  // sign(0) = 0, as the subgradient PyTorch's abs uses
  parallel_for(a.numel(), 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) d[i] += select(x[i] > T(0), w, select(x[i] < T(0), -w, T(0)));
  });
}

template <class T>
seed_kl_penalty<T>::seed_kl_penalty(double rho, double beta) : rho_(rho), beta_(beta) {
  check_rho(rho, "seed_kl penalty");
}

template <class T>
std::string seed_kl_penalty<T>::describe() const {
  return fmt::format("seed_kl(rho={}, beta={})", rho_, beta_);
}

template <class T>
double seed_kl_penalty<T>::kl_div(const tensor<T>& a) const {
  const std::int64_t count = a.numel();
  const T* x = a.data();
  const double total = parallel_sum(count, 1, [&](std::int64_t b, std::int64_t e) { return sum(x + b, e - b); });
  const double mean_rho_hat = total / static_cast<double>(count);  // mean over units of the batch means
  return rho_ * (std::log(rho_) - mean_rho_hat);                 // PyTorch's kl_div, mean reduction
}

template <class T>
double seed_kl_penalty<T>::evaluate(const tensor<T>& a, tensor<T>* da) const {
  const double kl = kl_div(a);
  if (da) {
    da->zero();
    add_gradient(a, *da);
  }
  return beta_ * std::abs(kl);
}

template <class T>
void seed_kl_penalty<T>::add_gradient(const tensor<T>& a, tensor<T>& da) const {
  const double sign = kl_div(a) < 0 ? -1.0 : 1.0;
  const T slope = static_cast<T>(-sign * beta_ * rho_ / static_cast<double>(a.numel()));
  T* d = da.data();
  parallel_for(da.numel(), 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) d[i] += slope;
  });
}

template class kl_penalty<float>;
template class kl_penalty<double>;
template class l1_penalty<float>;
template class l1_penalty<double>;
template class seed_kl_penalty<float>;
template class seed_kl_penalty<double>;

}  // namespace saelab
