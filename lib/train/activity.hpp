#pragma once
// Hidden-unit activity statistics of one site over a set of inputs (the
// test set), the same for every penalty kind so KL and L1 runs compare on
// equal footing. Fed batch by batch from the test pass:
//
//   activity_accumulator acc(units, threshold);
//   for each test batch: net.forward(x); acc.add(net.activation(site));  // [B, units...]
//   site_activity a = acc.finish();
//
// A unit is active on an input when its activation exceeds the threshold
// (log.active_threshold).

#include <cstdint>
#include <vector>

#include "tensor/tensor.hpp"

namespace saelab {

struct site_activity {
  std::int64_t inputs = 0;                // inputs seen
  std::vector<double> rho_hat;            // [units] mean activation over inputs
  std::vector<double> active_fraction;    // [units] fraction of inputs on which the unit is active
  std::vector<std::uint8_t> dead;         // [units] 1 when never active
  std::vector<double> lifetime_sparsity;  // [units] Treves-Rolls: (mean a)^2 / mean(a^2); 1 = dense, 1/n = one input
  std::vector<double> mean_when_active;   // [units] mean activation over the inputs it is active on (0 if dead)
  double l0 = 0;                          // mean number of active units per input
  double dead_fraction = 0;               // fraction of units never active
  double dense_fraction = 0;              // fraction of units active on more than dense_threshold of inputs
  double population_sparsity = 0;         // mean over inputs of Treves-Rolls across units
  // log10(rho_hat) histogram: counts over [hist_lo, hist_hi) in hist_bins
  // equal bins; units with rho_hat below 10^hist_lo (including 0) go to bin 0.
  std::vector<std::int64_t> rho_hat_histogram;
};

class activity_accumulator {
 public:
  static constexpr double dense_threshold = 0.5;
  static constexpr double hist_lo = -6, hist_hi = 0;
  static constexpr int hist_bins = 24;

  activity_accumulator(std::int64_t units, double active_threshold);
  void add(const tensor<float>& a);  // [B, units...]
  site_activity finish() const;

 private:
  std::int64_t units_;
  double threshold_;
  std::int64_t inputs_ = 0;
  std::vector<double> sum_, sum_sq_, active_sum_;
  std::vector<std::int64_t> active_count_;
  double l0_sum_ = 0, population_sum_ = 0;
};

}  // namespace saelab
