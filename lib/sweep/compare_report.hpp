#pragma once
// sae-compare's output for a sweep directory: the comparison as text for the
// terminal, comparison.md, comparison.csv, matched.csv and figures/.
//
//   comparison.md     what was compared, every setting (mean ± sd over seeds) with
//                     its frontier membership, activity at matched test BCE, the
//                     matched pair, the figures
//   comparison.csv    one row per setting: kind, label, setting, weight, rho, seeds,
//                     <metric>, <metric>_sd ..., on_l0_frontier, on_dead_frontier, ids
//   matched.csv       one row per (test BCE level, kind): the activity metrics there
//   figures/frontier_l0.{dat,gp,png}      test BCE against L0, every setting, the frontiers
//   figures/frontier_dead.{dat,gp,png}    test BCE against dead fraction
//   figures/rho_hat_matched.{dat,gp,png}  log10 rho_hat histograms of the matched KL / L1
//                                         frontier pair (nearest_pair), overlaid (fraction of
//                                         units, averaged over the pair's seeds)
//   figures/activity_vs_weight.{dat,gp,png}  dead and dense fractions against the
//                                         sparsity weight, one panel per kind (KL: a line per rho)
// Plots are data + gnuplot script, rendered to PNG when gnuplot is installed.

#include <filesystem>
#include <string>
#include <vector>

#include "sweep/compare.hpp"
#include "sweep/csv.hpp"

namespace saelab {

struct comparison_options {
  std::string site;  // "" = the summary's first site
  int levels = 5;    // matched test-BCE levels
  bool force = false;  // rewrite a comparison.md even when it would lose a figure
};

struct comparison_output {
  std::string text;                         // the terminal table
  std::vector<std::filesystem::path> files;  // written, PNGs included
  int pngs = 0;                             // how many plots gnuplot rendered
  int plots = 0;                            // how many were scripted
  std::vector<std::string> not_drawn;       // "figures/X.png: why", also at the end of text
  std::vector<std::string> warnings;        // for stderr: what a --force rewrite lost
};

// Reads sweep_dir/summary.csv (and the runs' run.h5 for the histograms), writes
// everything above into sweep_dir. Throws std::runtime_error when there is no
// summary or no finished run, and, writing nothing, when an existing
// comparison.md shows a figure that cannot be drawn now (the matched pair's
// run.h5 files are absent, as in a committed study) unless opt.force.
comparison_output write_comparison(const std::filesystem::path& sweep_dir, const comparison_options& opt);

}  // namespace saelab
