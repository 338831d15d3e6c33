#pragma once
// The figures sae-train draws into DIR/figures at the end of a run (and
// sae-eval's reconstructions), from the trained network and the run's
// records. The drawing itself is figures.hpp.

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "train/activity.hpp"
#include "layers/network.hpp"
#include "report/figures.hpp"

namespace saelab {

// The reference's figure: the first 10 test images over their
// reconstructions (sigmoid of the logits), as dir/reconstructions.png.
// Runs net.forward, overwriting its tape. Returns the path written.
std::filesystem::path write_reconstruction_figure(const std::filesystem::path& dir, network<float>& net,
                                                  const tensor<float>& test_images);

// The n units that fire most often, by firing fraction (highest first; ties
// keep unit order).
std::vector<int> most_active_units(std::span<const double> active_fraction, int n);

// Encoder filters as dir/filters.png: the first layer with parameters. An fc
// encoder row is one input-sized image: the 100 units of the site it feeds
// that fire most often in `activity` (network site order), most active first,
// listed with their firing fractions in dir/filters.txt (the caption); the
// first 100 units when no such site is measured. Conv kernels are k x k
// tiles. Other first layers draw nothing.
void write_filter_figure(const std::filesystem::path& dir, const network<float>& net,
                         std::span<const site_activity> activity);

// Every end-of-run figure into dir: reconstructions, filters, the loss
// curves of `curve`, the sparsity curves of `sparsity` (one L0 and dead
// fraction per site and epoch), and a rho_hat histogram and a firing density
// per site of `activity` (the last test pass, in network site order). One
// figure's failure (e.g. a full disk) costs that figure, not the run: it is
// printed as a warning on stderr and named in the returned text ("" when
// every figure was written).
std::string write_run_figures(const std::filesystem::path& dir, network<float>& net, const tensor<float>& test_images,
                              std::span<const epoch_losses> curve, std::span<const step_loss> steps,
                              std::span<const epoch_sparsity> sparsity, std::span<const site_activity> activity);

}  // namespace saelab
