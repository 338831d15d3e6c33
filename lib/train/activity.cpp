#include "train/activity.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace saelab {

activity_accumulator::activity_accumulator(std::int64_t units, double active_threshold)
    : units_(units),
      threshold_(active_threshold),
      sum_(static_cast<std::size_t>(units)),
      sum_sq_(static_cast<std::size_t>(units)),
      active_sum_(static_cast<std::size_t>(units)),
      active_count_(static_cast<std::size_t>(units)) {}

void activity_accumulator::add(const tensor<float>& a) {
  if (a.dims().inner() != units_) throw std::invalid_argument("activity_accumulator: unit count changed");
  const std::int64_t n = a.size(0);
  for (std::int64_t s = 0; s < n; ++s) {
    const float* row = a.data() + s * units_;
    double row_sum = 0, row_sq = 0;
    std::int64_t active = 0;
    for (std::int64_t j = 0; j < units_; ++j) {
      const double v = row[j];
      const auto u = static_cast<std::size_t>(j);
      sum_[u] += v;
      sum_sq_[u] += v * v;
      row_sum += v;
      row_sq += v * v;
      if (v > threshold_) {
        ++active_count_[u];
        active_sum_[u] += v;
        ++active;
      }
    }
    l0_sum_ += static_cast<double>(active);
    // Treves-Rolls across units; an all-zero input counts as maximally sparse (0).
    const double mean = row_sum / static_cast<double>(units_), mean_sq = row_sq / static_cast<double>(units_);
    population_sum_ += mean_sq > 0 ? mean * mean / mean_sq : 0.0;
  }
  inputs_ += n;
}

site_activity activity_accumulator::finish() const {
  site_activity r;
  r.inputs = inputs_;
  const auto units = static_cast<std::size_t>(units_);
  const double n = static_cast<double>(std::max<std::int64_t>(inputs_, 1));
  r.rho_hat.resize(units);
  r.active_fraction.resize(units);
  r.dead.resize(units);
  r.lifetime_sparsity.resize(units);
  r.mean_when_active.resize(units);
  r.rho_hat_histogram.assign(hist_bins, 0);
  std::int64_t dead = 0, dense = 0;
  for (std::size_t j = 0; j < units; ++j) {
    const double mean = sum_[j] / n, mean_sq = sum_sq_[j] / n;
    r.rho_hat[j] = mean;
    r.active_fraction[j] = static_cast<double>(active_count_[j]) / n;
    r.dead[j] = active_count_[j] == 0;
    r.lifetime_sparsity[j] = mean_sq > 0 ? mean * mean / mean_sq : 0.0;
    r.mean_when_active[j] = active_count_[j] ? active_sum_[j] / static_cast<double>(active_count_[j]) : 0.0;
    dead += r.dead[j];
    dense += r.active_fraction[j] > dense_threshold;
    // Clamped as a double before the cast: casting an out-of-range or NaN
    // double to int is undefined (rho_hat is +inf or NaN after divergence).
    // So rho_hat >= 10^hist_hi (+inf too) counts in the last bin, NaN in bin 0.
    const double lg = mean > 0 ? std::log10(mean) : hist_lo;
    const double pos = std::floor((lg - hist_lo) / (hist_hi - hist_lo) * hist_bins);
    const int bin = pos >= hist_bins - 1 ? hist_bins - 1 : pos > 0 ? static_cast<int>(pos) : 0;  // NaN -> 0
    ++r.rho_hat_histogram[static_cast<std::size_t>(bin)];
  }
  r.l0 = l0_sum_ / n;
  r.dead_fraction = static_cast<double>(dead) / static_cast<double>(units);
  r.dense_fraction = static_cast<double>(dense) / static_cast<double>(units);
  r.population_sparsity = population_sum_ / n;
  return r;
}

}  // namespace saelab
