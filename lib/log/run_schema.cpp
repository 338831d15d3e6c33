#include "log/run_schema.hpp"

namespace saelab {

namespace {

using g = series_group;
using t = series_type;
using sh = series_shape;
using src = const series_source&;
using v = series_value;

// clang-format off
const series_row rows[] = {
  {g::steps, "step", t::i64, sh::scalar, "step", "optimiser steps taken, 1-based",
   [](src s) -> v { return static_cast<double>(s.step->step); }},
  {g::steps, "epoch", t::i32, sh::scalar, "epoch", "the epoch the step belongs to, 1-based",
   [](src s) -> v { return s.step->epoch + 1.0; }},
  {g::steps, "loss", t::f64, sh::scalar, loss_units, "training objective on the step's batch (reconstruction + penalty)",
   [](src s) -> v { return s.step->loss; }},
  {g::steps, "reconstruction", t::f64, sh::scalar, loss_units, "reconstruction loss on the step's batch",
   [](src s) -> v { return s.step->reconstruction; }},
  {g::steps, "penalty", t::f64, sh::scalar, "1", "sparsity penalty on the step's batch, summed over sites",
   [](src s) -> v { return s.step->penalty; }},
  {g::steps, "learning_rate", t::f64, sh::scalar, "1", "learning rate used by the step",
   [](src s) -> v { return s.step->learning_rate; }},
  {g::steps, "wall_time", t::f64, sh::scalar, "s", "seconds of training since the log began, stopped time excluded",
   [](src s) -> v { return s.wall; }},

  {g::epochs, "epoch", t::i32, sh::scalar, "epoch", "the finished epoch, 1-based",
   [](src s) -> v { return s.epoch->epoch + 1.0; }},
  {g::epochs, "loss", t::f64, sh::scalar, loss_units, "training objective, mean over the epoch's batches",
   [](src s) -> v { return s.epoch->loss; }},
  {g::epochs, "reconstruction", t::f64, sh::scalar, loss_units, "training reconstruction loss, epoch mean",
   [](src s) -> v { return s.epoch->reconstruction; }},
  {g::epochs, "penalty", t::f64, sh::scalar, "1", "training sparsity penalty, epoch mean",
   [](src s) -> v { return s.epoch->penalty; }},
  {g::epochs, "test_bce", t::f64, sh::scalar, bce_units, "binary cross-entropy on the whole test set",
   [](src s) -> v { return s.epoch->test.bce; }},
  {g::epochs, "test_bce_first1200", t::f64, sh::scalar, bce_units,
   "binary cross-entropy on the first 1200 test images (the reference's testing loss)",
   [](src s) -> v { return s.epoch->test.bce_reference; }},
  {g::epochs, "test_mse", t::f64, sh::scalar, mse_units, "mean squared error on the whole test set",
   [](src s) -> v { return s.epoch->test.mse; }},
  {g::epochs, "train_seconds", t::f64, sh::scalar, "s", "wall time of the epoch's training pass",
   [](src s) -> v { return s.epoch->train_seconds; }},
  {g::epochs, "test_seconds", t::f64, sh::scalar, "s", "wall time of the epoch's test pass",
   [](src s) -> v { return s.epoch->test_seconds; }},
  {g::epochs, "wall_time", t::f64, sh::scalar, "s", "seconds of training since the log began at the epoch's end",
   [](src s) -> v { return s.wall; }},
  {g::epochs, "site_penalty", t::f64, sh::penalised_sites, "1",
   "training sparsity penalty per penalised site (columns: attribute sites), epoch mean",
   [](src s) -> v { return std::span<const double>(s.epoch->site_penalty); }},

  {g::site, "rho_hat", t::f32, sh::units, "activation", "per unit: mean activation over the test set",
   [](src s) -> v { return std::span<const double>(s.site->rho_hat); }},
  {g::site, "active_fraction", t::f32, sh::units, "1", "per unit: fraction of test inputs with activation > {threshold}",
   [](src s) -> v { return std::span<const double>(s.site->active_fraction); }},
  {g::site, "dead", t::u8, sh::units, "bool", "per unit: 1 when active on no test input (activation > {threshold})",
   [](src s) -> v { return std::span<const std::uint8_t>(s.site->dead); }},
  {g::site, "lifetime_sparsity", t::f32, sh::units, "1",
   "per unit: Treves-Rolls (mean a)^2 / mean(a^2) over test inputs; 1 dense, 1/N one input, 0 never",
   [](src s) -> v { return std::span<const double>(s.site->lifetime_sparsity); }},
  {g::site, "mean_when_active", t::f32, sh::units, "activation", "per unit: mean activation over the inputs it is active on",
   [](src s) -> v { return std::span<const double>(s.site->mean_when_active); }},
  {g::site, "l0", t::f64, sh::scalar, "units", "mean number of active units per test input",
   [](src s) -> v { return s.site->l0; }},
  {g::site, "dead_fraction", t::f64, sh::scalar, "1", "fraction of units active on no test input",
   [](src s) -> v { return s.site->dead_fraction; }},
  {g::site, "dense_fraction", t::f64, sh::scalar, "1", "fraction of units active on more than half of the test inputs",
   [](src s) -> v { return s.site->dense_fraction; }},
  {g::site, "population_sparsity", t::f64, sh::scalar, "1", "mean over test inputs of Treves-Rolls across the site's units",
   [](src s) -> v { return s.site->population_sparsity; }},
  {g::site, "rho_hat_histogram", t::i64, sh::histogram, "units",
   "units per log10(rho_hat) bin (edges: attribute bin_edges_log10); bin 0 also holds rho_hat below the first edge, "
   "including 0; the last bin also holds rho_hat >= 1",
   [](src s) -> v { return std::span<const std::int64_t>(s.site->rho_hat_histogram); }},
};
// clang-format on

}  // namespace

std::span<const series_row> run_schema() { return rows; }

std::string_view series_axis(series_group group) { return group == series_group::steps ? "step" : "epoch"; }

bool is_axis(const series_row& row) { return row.group != series_group::site && row.name == series_axis(row.group); }

std::vector<std::string> unit_axes(std::size_t rank) {
  static const std::vector<std::string> image{"channel", "row", "column"};
  if (rank == 1) return {"unit"};
  if (rank <= image.size()) return {image.end() - static_cast<std::ptrdiff_t>(rank), image.end()};
  std::vector<std::string> out;
  for (std::size_t a = 0; a < rank; ++a) out.push_back("unit axis " + std::to_string(a));
  return out;
}

std::string series_path(const series_row& row, std::string_view site) {
  switch (row.group) {
    case series_group::steps: return "/steps/" + std::string(row.name);
    case series_group::epochs: return "/epochs/" + std::string(row.name);
    case series_group::site: return "/sites/" + std::string(site) + "/" + std::string(row.name);
  }
  return {};
}

}  // namespace saelab
