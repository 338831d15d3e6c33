#pragma once
// The figures of a run, written into its figures/ directory (created when
// missing). Pictures of pixels and filters are PNG written directly; plots are
// saved as data (.dat, whitespace columns, # header) plus a gnuplot script
// (.gp) that names the .dat it reads and the PNG it writes, then rendered when
// gnuplot is on PATH. Plot functions return whether the PNG was made; a missing
// gnuplot is not an error. Unwritable directories throw std::runtime_error.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/tensor.hpp"

namespace saelab {

// The reference's figure: inputs in the top row, their reconstructions below,
// pixels on a fixed [0, 1] scale. inputs, reconstructions: [N, 1, H, W] or
// [N, H, W], equal shapes (the reference uses 10 test images).
// Writes dir/reconstructions.png and returns its path.
std::filesystem::path reconstruction_figure(const std::filesystem::path& dir, const tensor<float>& inputs,
                                            const tensor<float>& reconstructions);

// The first n filters of `weights`, each h*w consecutive values (one row of a
// fully-connected encoder [units, 784] is one 28x28 filter; first-layer conv
// kernels [8, 1, 3, 3] are 8 filters of 3x3), on a near-square grid, each tile
// scaled symmetrically around 0 (mid-gray = 0) and enlarged to about 84 pixels.
// Writes dir/filters.png (RGB: gray tiles, blue borders) and returns its path.
std::filesystem::path filter_figure(const std::filesystem::path& dir, std::span<const float> weights, int n,
                                    int h, int w);

struct epoch_losses {
  int epoch = 0;                    // x value as the caller wants it shown (1-based reads best)
  double train_loss = 0;            // reconstruction + penalty, mean over the epoch
  double train_reconstruction = 0;  // reconstruction only
  double test_bce = 0;              // NaN when not measured this epoch
};

// loss_curves.dat + loss_curves.gp -> loss_curves.png (log y when the curves
// span a decade or more).
bool loss_curves(const std::filesystem::path& dir, std::span<const epoch_losses> epochs);

// Histogram of per-unit mean activation on a log10 axis: 4 bins per decade
// from 1e-6 to 1 (extended by whole decades when a unit exceeds 1, as ReLU
// units can); values in (0, 1e-6) join the first bin; values <= 0 (dead ReLU
// units) get their own "0" bar at the left, and their count is in the title.
// `site` names the files: rho_hat_<site>.dat/.gp/.png (characters other than
// letters, digits, '-', '_' become '_').
bool rho_hat_histogram(const std::filesystem::path& dir, std::string_view site, std::span<const double> rho_hat);

// The firing density researchers read first: histogram of log10 of each
// unit's firing fraction (the fraction of `inputs` test inputs on which it is
// active), 4 bins per decade from the decade of 1 / inputs up to 1. Dead units
// (fraction 0: log10 has no bin) get their own "0" bar at the left and their
// count in the title, as in rho_hat_histogram. Writes
// firing_density_<site>.dat/.gp/.png (site sanitised as there).
bool firing_density(const std::filesystem::path& dir, std::string_view site, std::span<const double> active_fraction,
                    std::int64_t inputs);

struct step_loss {
  double step = 0;            // 1-based optimiser step
  double loss = 0;            // the batch's training loss, penalty included
  double reconstruction = 0;  // its reconstruction part
};

// step_loss.dat + .gp -> .png: the training loss and its reconstruction part
// at every logged step (log.every_steps), where a too-high learning rate or a
// penalty that overwhelms the loss shows first. Log y when the curve spans a
// decade, as loss_curves.
bool step_loss_curve(const std::filesystem::path& dir, std::span<const step_loss> steps);

struct epoch_sparsity {
  int epoch = 0;                       // 1-based, as loss_curves shows it
  std::vector<double> l0;              // per site: mean number of active units per test input
  std::vector<double> dead_fraction;   // per site: fraction of units active on no test input
};

// sparsity_curves.dat + .gp -> .png: L0 (top panel) and dead fraction in %
// (bottom panel) against epoch, one line per site. Rows whose vectors are
// shorter than `sites` get NaN (a missing point) for the missing sites.
bool sparsity_curves(const std::filesystem::path& dir, std::span<const std::string> sites,
                     std::span<const epoch_sparsity> epochs);

}  // namespace saelab
