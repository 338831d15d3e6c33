// sae-compare: compare the sparsity penalties of a finished (or partial) sweep.
//
//   sae-compare experiments/kl_vs_l1
//
// Reads SWEEP_DIR/summary.csv (written by sae-sweep), prints activity at
// matched reconstruction loss and the frontier settings, and writes
// comparison.md, comparison.csv, matched.csv and figures/ into SWEEP_DIR
// (lib/sweep/compare_report.hpp lists them).

#include <string>

#include <fmt/format.h>

#include "cli/cli.hpp"
#include "sweep/compare_report.hpp"

namespace {

constexpr const char* usage = R"(usage: sae-compare SWEEP_DIR [--site NAME] [--levels N] [--force]

Compares the penalty kinds (sparsity.kind) of the sweep in SWEEP_DIR, from its
summary.csv: per setting (runs averaged over seeds), the Pareto frontier of test
BCE against L0 and against the dead-unit fraction, and the activity of each
penalty at matched test BCE (interpolated along its BCE-L0 frontier). Prints
the table and writes comparison.md, comparison.csv, matched.csv and
figures/{frontier_l0,frontier_dead,rho_hat_matched,activity_vs_weight}.{dat,gp,png}.

  --site NAME   the activation site compared (default: the first in the summary)
  --levels N    matched test-BCE levels (default 5)
  --force       rewrite comparison.md even when it loses a figure it shows
  --help, -h    this text
  --version     the program's version and git revision
A figure that cannot be drawn is listed at the end, with why. The matched
pair's histograms need the runs' run.h5 files, which a committed study does
not hold: when SWEEP_DIR/comparison.md shows a figure that cannot be drawn
now, nothing is written unless --force (which warns).
Exit status: 0 written, 2 usage, 1 no summary, no finished run, or a
comparison.md that would lose a figure.
)";

}  // namespace

int main(int argc, char** argv) {
  const saelab::cli::program program{.name = "sae-compare",
                                     .usage = usage,
                                     .options = {{{"--site"}, "NAME"}, {{"--levels"}, "N"}, {{"--force"}, ""}},
                                     .positional = "sweep directory"};
  saelab::cli::arguments args;
  if (const auto code = saelab::cli::parse_or_exit(program, argc, argv, args)) return *code;
  const std::string dir = args.positionals.empty() ? "" : args.positionals.front();
  saelab::comparison_options opt;
  opt.force = args.has("--force");
  opt.site = args.value_or("--site", opt.site);
  try {
    if (args.has("--levels")) opt.levels = saelab::cli::to_int("--levels", args.values.at("--levels"), 1);
  } catch (const saelab::cli::usage_error& e) {
    fmt::print(stderr, "sae-compare: {}\n", e.what());
    return 2;
  }
  if (dir.empty()) {
    fmt::print(stderr, "sae-compare: no sweep directory given\n{}", usage);
    return 2;
  }
  try {
    const auto out = saelab::write_comparison(dir, opt);
    fmt::print("{}", out.text);
    for (const auto& w : out.warnings) fmt::print(stderr, "sae-compare: warning: {}\n", w);
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-compare: {}\n", e.what());
    return 1;
  }
  return 0;
}
