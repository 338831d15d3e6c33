#pragma once
// A sweep file: a base config plus the values to try, read into plain
// structs. Expanding it into runs is plan.hpp's job.
//
//   # experiments/kl_vs_l1.ini
//   [sweep]
//   base = configs/fc_kl.ini     # the config every run starts from
//   mode = grid                  # grid: every combination; zip: the i-th values together
//   seeds = 3                    # seeds base.run.seed + 0, 1, 2 for every point
//   name = kl_vs_l1              # optional: the sweep directory's name (default: the file's stem)
//
//   [fixed]                      # optional: one value per key, for every run
//   model.hidden = 256
//
//   [grid.kl]                    # one or more [grid] / [grid.<label>] sections; their
//   sparsity.kind = kl           # expansions are concatenated in file order
//   sparsity.rho = 0.02, 0.05, 0.1
//   sparsity.beta = log(1e-3, 1e-1, 5)
//
//   [grid.l1]
//   sparsity.kind = l1
//   sparsity.lambda = log(1e-5, 1e-2, 7)
//
// Keys in [fixed] and [grid*] are full dotted config keys (config_keys()).
// A value list is one of
//   a, b, c               items separated by commas; an item in double quotes may
//                         hold commas ("conv1, conv2" is one value of sparsity.sites)
//   log(a, b, n)          n numbers from a to b (both > 0), evenly spaced in log,
//                         end points included, each rounded to 4 significant digits
//   range(a, b, step)     a, a+step, ... up to b (b included when a step lands on it
//                         within 1e-9 of a step); integers when a, b and step are
//                         integers, otherwise rounded to 12 significant digits
// '#' starts a comment. Every problem throws sweep_error listing one line per
// problem, each naming the file, the line and what was expected.

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace saelab {

class sweep_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class sweep_mode { grid, zip };
std::string_view to_string(sweep_mode m);  // "grid", "zip"

// The most runs one sweep may have. make_plan counts them from the list
// lengths alone, before it checks or expands anything, so a grid whose
// product is astronomical costs nothing; read_sweep_file stops early when
// the lists it has expanded already make more.
inline constexpr std::uint64_t max_sweep_runs = 100000;

// One key with its list of values, as written on one line.
struct sweep_axis {
  std::string key;                  // "sparsity.rho"
  std::vector<std::string> values;  // exactly as passed to the config: "0.02", "kl"
  int line = 0;                     // in the sweep file, for messages
};

// One [grid] or [grid.<label>] section.
struct sweep_section {
  std::string label;  // "" for a plain [grid]
  std::vector<sweep_axis> axes;
  int line = 0;
};

struct sweep_spec {
  std::filesystem::path file;  // the sweep file as given
  std::string text;            // its contents (recorded in the sweep directory)
  std::string name;            // [sweep] name, else the file's stem
  std::filesystem::path base;  // resolved: see read_sweep_file
  std::string base_as_written;
  sweep_mode mode = sweep_mode::grid;
  int seeds = 1;
  std::vector<sweep_axis> fixed;  // [fixed]: one value each
  std::vector<sweep_section> sections;
};

// Reads and checks the file's own structure: sections, lines, value lists,
// [sweep] keys. `base` is resolved against the current directory, then, if no
// such file is there, against the sweep file's directory. Config keys and
// values are checked later, by check_plan (plan.hpp), against the base.
sweep_spec read_sweep_file(const std::filesystem::path& path);
// The same from text; `path` only names the source in messages and resolves `base`.
sweep_spec parse_sweep(const std::string& text, const std::filesystem::path& path);

// One line's value list (see above) into its values. Throws sweep_error with
// a message saying what was expected (no file or line: callers add them).
std::vector<std::string> parse_value_list(const std::string& text);

}  // namespace saelab
