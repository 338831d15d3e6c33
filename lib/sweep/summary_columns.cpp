#include "sweep/summary_columns.hpp"

#include <algorithm>

namespace saelab {

namespace {

struct doc_row {
  std::string_view name, units, description;
};

const doc_row run_columns[] = {
    {"index", "1", "the run's row of plan.csv, 0-based, plan order"},
    {"id", "", "the run's id, also its directory name"},
    {"label", "", "the plan section the run comes from"},
    {"seed", "1", "run.seed of the run"},
    {"kind", "", "sparsity.kind of the run (resolved)"},
    {"weight", "1", "the sparsity weight: beta for kl and seed_kl, lambda for l1, 0 for none"},
    {"rho", "1", "the KL target rate (kl, seed_kl), else blank"},
    {"status", "", "pending, running, done, killed, interrupted, failed, short, broken or mismatch"},
    {"epochs", "epoch", "finished epochs the metrics are from"},
    {"seconds", "s", "training seconds (run.h5:/epochs/wall_time, last row)"},
    {"test_bce", "nat/pixel", "binary cross-entropy on the whole test set, last finished epoch"},
    {"test_mse", "intensity^2/pixel", "mean squared error on the whole test set, last finished epoch"},
    {"run_dir", "", "the run directory, relative to the sweep directory"},
};

const doc_row site_columns[] = {
    {"units", "units", "units per input"},
    {"l0", "units", "mean number of active units per test input, last finished epoch"},
    {"dead_fraction", "1", "fraction of units never active on the test set"},
    {"dense_fraction", "1", "fraction of units active on more than half of the test inputs"},
    {"population_sparsity", "1", "mean over test inputs of the Treves-Rolls sparsity across units"},
    {"lifetime_sparsity", "1", "mean over units that are not dead of their Treves-Rolls sparsity over inputs"},
    {"mean_when_active", "activation", "mean over units that are not dead of their mean activation when active"},
    {"rho_hat_median", "activation", "median over all units of the mean activation on the test set"},
};

}  // namespace

column_doc describe_column(std::string_view name, const std::vector<std::string>& swept_keys) {
  if (std::find(swept_keys.begin(), swept_keys.end(), name) != swept_keys.end())
    return {"", "the swept key " + std::string(name) + " as the run's plan section sets it (blank: not set)"};
  for (const auto& d : run_columns)
    if (d.name == name) return {std::string(d.units), std::string(d.description)};
  if (const auto dot = name.rfind('.'); dot != std::string_view::npos)
    for (const auto& d : site_columns)
      if (d.name == name.substr(dot + 1))
        return {std::string(d.units), "site " + std::string(name.substr(0, dot)) + ": " + std::string(d.description)};
  return {"", "a summary column"};
}

}  // namespace saelab
