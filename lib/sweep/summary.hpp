#pragma once
// The sweep's summary: one row per planned run, built only from the plan and
// the run directories, so it is the same whether sae-sweep writes it as runs
// end or `sae-sweep --collect` rebuilds it later. One exception: a run whose
// directory is absent but whose row in the existing summary.csv is done keeps
// that row. A committed study holds no run directories; `--collect` on it
// rebuilds sweep.h5 from its summary, with no link to a missing run.h5.
//
// Columns of summary.csv (and of sweep.h5:/runs):
//   index, id, label, seed, <swept keys...>  as in plan.csv ("" = not set by the row's section)
//   kind                 sparsity.kind of the run (resolved)
//   weight               its sparsity weight: beta for kl and seed_kl, lambda for l1, 0 for none
//   rho                  the KL target rate (kl, seed_kl), else ""
//   status               pending, running, done, killed, interrupted, failed, short, broken, mismatch
//                        (executor.hpp); metrics are blank unless the run has finished epochs
//   epochs               finished epochs the metrics are from (rows of run.h5:/epochs)
//   seconds              training seconds (run.h5:/epochs/wall_time, last row)
//   test_bce, test_mse   on the whole test set (run.h5:/epochs, last row)
//   for every hidden site of the planned models, from run.h5:/sites/<site> (last row):
//   <site>.units                  units per input
//   <site>.l0                     mean number of active units per input
//   <site>.dead_fraction          fraction of units never active on the test set
//   <site>.dense_fraction         fraction of units active on more than half the inputs
//   <site>.population_sparsity    mean over inputs of the Treves-Rolls sparsity across units,
//                                 (mean a)^2 / mean(a^2): near 1/units = one unit per input, 1 = all equal
//   <site>.lifetime_sparsity      mean over units that are not dead of the Treves-Rolls sparsity
//                                 of a unit over inputs (dead units are left out: their value
//                                 measures noise below the threshold, not selectivity)
//   <site>.mean_when_active       mean over units that are not dead of their mean activation
//                                 on the inputs where they are active
//   <site>.rho_hat_median         median over all units of the mean activation
//   run_dir              the run directory, relative to the sweep directory
// Numbers are written with 7 significant digits (seconds with one decimal).
//
// sweep.h5:
//   /                    attributes schema = "saelab.sweep", schema_version = 1, name, base, mode, seeds
//   /sweep_file          string: the sweep file's text
//   /runs/<column>       one 1-D dataset per column above, one element per run in plan order:
//                        float64 when every non-blank cell is a number (blank = NaN), else
//                        fixed-length UTF-8 strings; /runs has attribute columns = "index, id, ..."
//                        and lists them in that order (link creation order, which h5py follows);
//                        each has `units` and `description` (summary_columns.hpp) and its axis
//                        labelled "run", with /runs/index as its dimension scale. When test_bce
//                        has numbers, /runs is an NXdata group (signal test_bce, axes index) and
//                        the root's `default` names it, so silx and h5web plot it first.
//   /run_logs/<id>       external link to <run_dir>/run.h5, only for runs whose run.h5 exists
//                        when the file is written (/runs/run_dir names every run's directory)
// Both files are written through a temporary and a rename, under a flock on
// <sweep dir>/.summary.lock (shards and array tasks may finish together).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sweep/csv.hpp"
#include "sweep/plan.hpp"

namespace saelab {

struct site_metrics {
  std::string name;
  std::int64_t units = 0;
  double l0 = 0, dead_fraction = 0, dense_fraction = 0, population_sparsity = 0;
  double lifetime_sparsity = 0, mean_when_active = 0, rho_hat_median = 0;  // see above; NaN when every unit is dead
};

struct run_metrics {
  int epochs = 0;
  double seconds = 0, test_bce = 0, test_mse = 0;
  std::vector<site_metrics> sites;  // in the log's site order
};

// The last epoch of `run_h5`. nullopt, with the reason in *why, when the file
// is missing, cannot be opened (e.g. a SWMR writer holds it) or has no epochs.
std::optional<run_metrics> read_run_metrics(const std::filesystem::path& run_h5, std::string* why = nullptr);

// The last row of /sites/<site>/rho_hat_histogram with its bin edges (log10).
struct rho_hat_hist {
  std::vector<double> edges_log10;   // bins + 1
  std::vector<std::int64_t> counts;  // bins
};
std::optional<rho_hat_hist> read_rho_hat_histogram(const std::filesystem::path& run_h5, const std::string& site);

// Builds the table (see above).
csv_table collect_summary(const sweep_plan& plan, const std::filesystem::path& sweep_dir);

// Writes sweep_dir/summary.csv and sweep_dir/sweep.h5.
void write_summary(const sweep_plan& plan, const std::filesystem::path& sweep_dir, const csv_table& summary);

// collect_summary then write_summary, both under the summary lock: what
// sae-sweep calls whenever runs may end in other processes. Returns the table.
csv_table update_summary(const sweep_plan& plan, const std::filesystem::path& sweep_dir);

// sweep.h5:/runs back as a table: strings as stored, numbers in shortest
// round-trip form, NaN as "".
csv_table read_sweep_h5_runs(const std::filesystem::path& sweep_h5);

}  // namespace saelab
