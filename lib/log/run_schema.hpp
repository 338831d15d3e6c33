#pragma once
// The table of run.h5's growing series: every per-step, per-epoch and
// per-site-per-epoch dataset is one row, and that row alone drives creating
// it, reopening and truncating it on resume, closing it and appending to it
// (run_series.hpp). Adding a number to every epoch of run.h5 is one row:
//
//   {series_group::epochs, "test_l1", series_type::f64, series_shape::scalar, "intensity/pixel",
//    "mean absolute error on the whole test set", [](const series_source& s) -> series_value { return s.epoch->test.l1; }},
//
// The rest of run.h5 (root attributes, /config, /probe, /weights) is in
// run_log.hpp's layout comment; docs/run-directory.md has the abridged layout.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "train/records.hpp"

namespace saelab {

// Where a row lives and what its first axis counts:
//   steps:  /steps/NAME            [S, ...]  one row per logged step
//   epochs: /epochs/NAME           [E, ...]  one row per finished epoch
//   site:   /sites/<site>/NAME     [E, ...]  one per hidden site, one row per finished epoch
enum class series_group { steps, epochs, site };
enum class series_type { i32, i64, f32, f64, u8 };  // stored little-endian
// A row's shape after the first axis, and so its axis names:
//   scalar           []                  (one number per row)
//   units            the site's shape    ("unit", or "channel", "row", "column" for conv sites)
//   histogram        [24]                ("bin"; attribute bin_edges_log10)
//   penalised_sites  [P]                 ("site"; attribute sites; not created when P = 0)
enum class series_shape { scalar, units, histogram, penalised_sites };

// What a row's value is read from: `step` is set for steps rows, `epoch` for
// epochs and site rows, `site` (that site's test activity) for site rows.
struct series_source {
  const step_record* step = nullptr;
  const epoch_record* epoch = nullptr;
  const site_activity* site = nullptr;
  double wall = 0;  // seconds of training since the log began
};
// One number for a scalar row, else one row's elements, converted to the row's type.
using series_value = std::variant<double, std::span<const double>, std::span<const std::uint8_t>,
                                  std::span<const std::int64_t>>;

struct series_row {
  series_group group;
  std::string_view name;
  series_type type;
  series_shape shape;
  std::string_view units;        // the `units` attribute; loss_units: the run's loss units
  std::string_view description;  // the `description` attribute; "{threshold}": log.active_threshold
  series_value (*value)(const series_source&);
};

// Resolved when the file is created: bce_units or mse_units, as the run's loss.
inline constexpr std::string_view loss_units = "(loss)";
inline constexpr std::string_view bce_units = "nat/pixel";
inline constexpr std::string_view mse_units = "intensity^2/pixel";  // pixel intensities in [0, 1]

// Every row, in creation and append order. The axis rows (/steps/step,
// /epochs/epoch) are appended last within their step or epoch, so they say
// which rows are complete, and are every other row's dimension scale.
std::span<const series_row> run_schema();

// Where a row is stored, e.g. "/epochs/test_bce", "/sites/conv1/rho_hat".
std::string series_path(const series_row& row, std::string_view site = {});
// "step" for steps rows, "epoch" otherwise: the axis row's name and its first axis.
std::string_view series_axis(series_group g);
bool is_axis(const series_row& row);
// Names of a site's unit axes: {"unit"}, {"row", "column"}, {"channel", "row", "column"}.
std::vector<std::string> unit_axes(std::size_t rank);

}  // namespace saelab
