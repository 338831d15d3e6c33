#pragma once
// Comparing sparsity penalties across a sweep: per-setting means over seeds,
// the Pareto frontier of reconstruction loss against activity, and activity
// at matched reconstruction loss.
//
//   csv_table summary = read_csv(dir / "summary.csv");
//   auto settings = aggregate_settings(summary, "hidden");      // one per setting, seeds averaged
//   mark_frontiers(settings);                                   // on_l0_frontier, on_dead_frontier
//   auto levels = match_levels(settings, {"kl", "l1"}, 5);      // activity at equal test BCE
//
// A setting is one label and one value of every swept key except the seed;
// only runs whose status is done count. Frontiers are per penalty kind and
// minimise both coordinates: a setting is on the BCE-L0 frontier when no other
// setting of its kind has both lower-or-equal test BCE and lower-or-equal L0,
// one of them strictly lower (likewise for BCE against dead fraction).
//
// Matched reconstruction loss: along each kind's BCE-L0 frontier, every
// activity metric is interpolated linearly in test BCE between neighbouring
// frontier settings. Levels are spread evenly over the BCE range all kinds'
// frontiers share. When they share none, each level is instead the nearest
// frontier settings (method "nearest").

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sweep/csv.hpp"

namespace saelab {

struct mean_sd {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double sd = std::numeric_limits<double>::quiet_NaN();  // sample sd; NaN with fewer than 2 values
};

// The activity metrics compared, in this order everywhere (tables, CSV).
struct activity_values {
  double l0 = 0, dead_fraction = 0, dense_fraction = 0, population_sparsity = 0, lifetime_sparsity = 0,
         mean_when_active = 0, rho_hat_median = 0;
};

struct setting_stats {
  std::string kind;     // sparsity.kind: "kl", "l1", ...
  std::string label;    // the sweep section's label
  std::string setting;  // "rho=0.05 beta=0.01": the row's swept keys, sparsity.kind left out
  double weight = 0;    // beta (kl) or lambda (l1)
  double rho = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::string> ids;     // the done runs averaged
  std::vector<std::string> run_dirs;
  mean_sd test_bce, test_mse, l0, dead_fraction, dense_fraction, population_sparsity, lifetime_sparsity,
      mean_when_active, rho_hat_median;
  std::int64_t units = 0;
  bool on_l0_frontier = false, on_dead_frontier = false;

  activity_values means() const;
};

// Groups the done rows of a summary by setting, in order of first appearance.
// `site` picks the <site>.* columns. Throws std::runtime_error for a summary
// without the columns (or without that site).
std::vector<setting_stats> aggregate_settings(const csv_table& summary, const std::string& site);

// The sites a summary has columns for, in column order.
std::vector<std::string> summary_sites(const csv_table& summary);

// Indexes of the points not dominated when minimising both x and y, sorted by
// x ascending (so y descending). Points with a NaN are never on it; equal
// points are all kept.
std::vector<std::size_t> pareto_front(const std::vector<std::pair<double, double>>& xy);

// Sets on_l0_frontier and on_dead_frontier, per kind.
void mark_frontiers(std::vector<setting_stats>& settings);

struct matched_value {
  std::string kind;
  activity_values values;
  std::string from;  // the frontier settings it comes from: "a .. b", or one setting
};

struct matched_level {
  double test_bce = 0;
  std::string method;  // "interpolated" or "nearest"
  std::vector<matched_value> by_kind;
};

// Activity of each kind at `levels` test-BCE levels (see above). Kinds with
// no frontier are left out; fewer than two kinds give no levels.
std::vector<matched_level> match_levels(const std::vector<setting_stats>& settings,
                                        const std::vector<std::string>& kinds, int levels);

// The matched pair: one BCE-L0 frontier setting of kind a and one of kind b
// whose test BCEs are closest relative to what sparsity costs them, i.e.
// minimising |bce_a - bce_b| / ((bce_a + bce_b) / 2 - best), best = the lowest
// test BCE of either kind. (A plain |bce_a - bce_b| would pick two barely
// penalised settings, close only because both sit at the floor.) Indexes into
// settings; nullopt when a kind has no frontier.
std::optional<std::pair<std::size_t, std::size_t>> nearest_pair(const std::vector<setting_stats>& settings,
                                                                 const std::string& a, const std::string& b);

}  // namespace saelab
