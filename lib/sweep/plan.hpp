#pragma once
// A sweep file expanded into its runs, checked before anything runs.
//
//   sweep_spec spec = read_sweep_file("experiments/kl_vs_l1.ini");
//   sweep_plan plan = make_plan(spec);       // throws sweep_error listing every problem
//   plan.rows[3].id                          // "003-kl-rho0.05-beta0.01-s42"
//   planned_config(plan, plan.rows[3], dir)  // the experiment_config that run trains
//   plan_csv(plan)                           // plan.csv's text
//
// Order: seeds outermost, then the sections in file order, then each
// section's points; in grid mode the first key varies slowest. So a sweep cut
// short has covered every point with its first seeds. In zip mode a list of one
// value applies to every point of its section; the other lists must have equal
// lengths. Seeds are base.run.seed + 0, 1, ..., seeds - 1.
//
// Run ids: "<index>-<label>-<key><value>...-s<seed>", naming only the keys with
// more than one value in the row's section (by their last dotted part, or the
// whole key with '_' for '.' when two swept keys share it), index zero-padded
// to the plan's width (at least 3 digits), characters other than letters,
// digits, '.', '+' and '-' written as '_'. The index makes ids unique.
//
// make_plan checks, before any run starts: first, from the list lengths alone,
// that there are at most max_sweep_runs runs (spec.hpp); every key is a config key and not
// one sae-sweep sets itself (run.seed, run.out, run.name, run.threads); every
// value loads with the base config (load_config); zip lists have equal
// lengths; every point builds its model and objective (e.g. KL on ReLU sites is
// refused); no two points are the same config.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sweep/spec.hpp"

namespace saelab {

struct plan_row {
  int index = 0;
  std::string id;
  std::string label;  // the section's label
  std::uint64_t seed = 0;
  // One per sweep_plan::keys: the value this row's section sets, or "" when its
  // section does not set that key (the run then has the base/[fixed] value).
  std::vector<std::string> values;
  // "--key=value" tokens for sae-train: [fixed], then the section's keys.
  std::vector<std::string> overrides;
  std::string run_dir;  // "runs/<id>", relative to the sweep directory
};

struct sweep_plan {
  sweep_spec spec;
  std::vector<std::string> keys;  // the swept keys (every [grid*] key), in order of first appearance
  std::vector<plan_row> rows;
};

// Expands and checks; throws sweep_error with one line per problem.
sweep_plan make_plan(const sweep_spec& spec);

// The config of a row's run: base + overrides + run.seed + run.name = id +
// run.out = sweep_dir / row.run_dir.
experiment_config planned_config(const sweep_plan& plan, const plan_row& row, const std::filesystem::path& sweep_dir);

// plan.csv: index,id,label,seed,<keys...>,run_dir, one row per run.
std::string plan_csv(const sweep_plan& plan);

// The sweep directory: `<the sweep file's directory>/<name>`.
std::filesystem::path default_sweep_dir(const sweep_spec& spec);

// Keys a sweep may not set: sae-sweep sets them per run.
const std::vector<std::string>& sweep_reserved_keys();

}  // namespace saelab
