#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "train/activity.hpp"

using namespace saelab;

namespace {

// rows.size() / units inputs as a [B, 2, 2] or [B, units] batch.
tensor<float> batch_of(const std::vector<float>& rows, std::int64_t units, bool square) {
  const auto b = static_cast<std::int64_t>(rows.size()) / units;
  tensor<float> t(square ? shape{b, 2, 2} : shape{b, units});
  for (std::size_t i = 0; i < rows.size(); ++i) t[static_cast<std::int64_t>(i)] = rows[i];
  return t;
}

// Treves-Rolls of one vector: (sum a)^2 / (n sum a^2).
double treves_rolls(const std::vector<double>& a) {
  double s = 0, sq = 0;
  for (double v : a) s += v, sq += v * v;
  return s * s / (static_cast<double>(a.size()) * sq);
}

}  // namespace

// Four inputs of four units (a [2, 2] per-input shape), fed as two batches of
// two. Every value is a binary fraction, so the sums are exact. Threshold
// 0.125: a unit at exactly the threshold is not active.
//
//            u0     u1    u2     u3
//   input 0  0.5    0     0      0.125
//   input 1  0.5    0     0.25   0
//   input 2  0.5    0     0      0.125
//   input 3  0.5    0     0.75   0.25
//
// u0 is always on (dense), u1 never (dead), u2 on half the inputs (exactly
// 0.5: not dense, which needs more than half), u3 only on input 3.
TEST_CASE("site_activity: every statistic on a hand-computed example", "[activity]") {
  activity_accumulator acc(4, 0.125);
  acc.add(batch_of({0.5f, 0, 0, 0.125f, /**/ 0.5f, 0, 0.25f, 0}, 4, true));
  acc.add(batch_of({0.5f, 0, 0, 0.125f, /**/ 0.5f, 0, 0.75f, 0.25f}, 4, true));
  const site_activity a = acc.finish();

  CHECK(a.inputs == 4);
  // rho_hat: column means.
  CHECK(a.rho_hat == std::vector<double>{0.5, 0.0, 0.25, 0.125});
  // Active: strictly above 0.125.
  CHECK(a.active_fraction == std::vector<double>{1.0, 0.0, 0.5, 0.25});
  CHECK(a.dead == std::vector<std::uint8_t>{0, 1, 0, 0});
  // Lifetime (Treves-Rolls over inputs) = mean^2 / mean(a^2):
  //   u0 constant: 1; u1 all zero: 0 by convention;
  //   u2: 0.25^2 / ((0.0625 + 0.5625) / 4) = 0.0625 / 0.15625 = 0.4;
  //   u3: 0.125^2 / ((2 * 0.015625 + 0.0625) / 4) = 0.015625 / 0.0234375 = 2/3.
  REQUIRE(a.lifetime_sparsity.size() == 4);
  CHECK(a.lifetime_sparsity[0] == Approx(1.0).epsilon(1e-15));
  CHECK(a.lifetime_sparsity[1] == 0.0);
  CHECK(a.lifetime_sparsity[2] == Approx(0.4).epsilon(1e-15));
  CHECK(a.lifetime_sparsity[3] == Approx(2.0 / 3.0).epsilon(1e-15));
  // Mean over the inputs a unit is active on; the 0.125 values of u3 do not count.
  CHECK(a.mean_when_active == std::vector<double>{0.5, 0.0, 0.5, 0.25});
  // Active units per input: 1, 2, 1, 3.
  CHECK(a.l0 == 7.0 / 4.0);
  CHECK(a.dead_fraction == 0.25);
  CHECK(a.dense_fraction == 0.25);
  // Population (Treves-Rolls across the four units of each input):
  //   input 0 and 2: 0.625^2 / (4 * 0.265625) = 25/68; input 1: 0.75^2 / (4 * 0.3125) = 9/20;
  //   input 3: 1.5^2 / (4 * 0.875) = 9/14.
  CHECK(treves_rolls({0.5, 0, 0, 0.125}) == Approx(25.0 / 68.0));  // the helper agrees with the hand values
  CHECK(a.population_sparsity == Approx((2 * 25.0 / 68.0 + 9.0 / 20.0 + 9.0 / 14.0) / 4).epsilon(1e-14));

  // log10 histogram, 24 bins of a quarter decade over [1e-6, 1): bin = floor(4 (log10 r + 6)).
  //   0.5: 4 * 5.699 = 22.8 -> 22; 0.25: 21.59 -> 21; 0.125: 20.39 -> 20; 0 -> bin 0.
  REQUIRE(a.rho_hat_histogram.size() == 24);
  std::vector<std::int64_t> hist(24, 0);
  hist[0] = hist[20] = hist[21] = hist[22] = 1;
  CHECK(a.rho_hat_histogram == hist);
}

TEST_CASE("site_activity: splitting the inputs into batches changes nothing", "[activity]") {
  const std::vector<float> rows{0.5f, 0, 0, 0.125f, 0.5f, 0, 0.25f, 0, 0.5f, 0, 0, 0.125f, 0.5f, 0, 0.75f, 0.25f};
  activity_accumulator one(4, 0.125), split(4, 0.125);
  one.add(batch_of(rows, 4, false));
  split.add(batch_of({rows.begin(), rows.begin() + 4}, 4, false));
  split.add(batch_of({rows.begin() + 4, rows.end()}, 4, false));
  const auto a = one.finish(), b = split.finish();
  CHECK(a.rho_hat == b.rho_hat);
  CHECK(a.active_fraction == b.active_fraction);
  CHECK(a.lifetime_sparsity == b.lifetime_sparsity);
  CHECK(a.mean_when_active == b.mean_when_active);
  CHECK(a.l0 == b.l0);
  CHECK(a.population_sparsity == b.population_sparsity);
  CHECK(a.rho_hat_histogram == b.rho_hat_histogram);
}

TEST_CASE("site_activity: histogram edges, tiny, large and non-finite rho_hat", "[activity]") {
  // One input, so rho_hat is the value itself (in double, of the float).
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> v{0.0f, 5e-7f, 3e-3f, 0.5f, 2.0f, 0.9f, inf, nan, 0.03f};
  activity_accumulator acc(static_cast<std::int64_t>(v.size()), 0.1);
  acc.add(batch_of(v, static_cast<std::int64_t>(v.size()), false));
  const auto a = acc.finish();
  std::vector<std::int64_t> hist(24, 0);
  hist[0] += 3;   // 0, 5e-7 (below 1e-6) and NaN
  hist[13] += 1;  // 3e-3: 4 * (6 - 2.523) = 13.9
  hist[22] += 1;  // 0.5
  hist[23] += 3;  // 2, 0.9 (4 * 5.954 = 23.8) and +inf: at or above 1 goes to the last bin
  hist[17] += 1;  // 0.03: 4 * (6 - 1.523) = 17.9
  CHECK(a.rho_hat_histogram == hist);
  // The edges as activity_accumulator states them.
  CHECK(activity_accumulator::hist_lo == -6);
  CHECK(activity_accumulator::hist_hi == 0);
  CHECK(activity_accumulator::hist_bins == 24);
}

TEST_CASE("site_activity: an input with no activity is maximally sparse; no inputs at all", "[activity]") {
  activity_accumulator acc(3, 0.1);
  acc.add(batch_of({0, 0, 0, /**/ 1, 1, 1}, 3, false));
  auto a = acc.finish();
  CHECK(a.population_sparsity == Approx(0.5));  // (0 + 1) / 2
  CHECK(a.l0 == 1.5);
  CHECK(a.dense_fraction == 0.0);  // active on exactly half: not dense
  CHECK(a.lifetime_sparsity == std::vector<double>{0.5, 0.5, 0.5});  // 0.5^2 / 0.5

  const auto empty = activity_accumulator(3, 0.1).finish();
  CHECK(empty.inputs == 0);
  CHECK(empty.rho_hat == std::vector<double>{0, 0, 0});
  CHECK(empty.dead_fraction == 1.0);
  CHECK(empty.l0 == 0.0);
  CHECK(empty.rho_hat_histogram[0] == 3);
}

TEST_CASE("site_activity: a batch of the wrong width is refused", "[activity]") {
  activity_accumulator acc(4, 0.1);
  CHECK_THROWS_AS(acc.add(tensor<float>(shape{2, 3})), std::invalid_argument);
}
