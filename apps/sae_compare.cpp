// sae-compare: compare the sparsity penalties of a finished (or partial) sweep.
//
//   sae-compare experiments/kl_vs_l1
//
// Reads SWEEP_DIR/summary.csv (written by sae-sweep), prints activity at
// matched reconstruction loss and the frontier settings, and writes
// comparison.md, comparison.csv, matched.csv and figures/ into SWEEP_DIR
// (lib/sweep/compare_report.hpp lists them).

#include <cstring>
#include <string>

#include <fmt/format.h>

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
  --help        this text
A figure that cannot be drawn is listed at the end, with why. The matched
pair's histograms need the runs' run.h5 files, which a committed study does
not hold: when SWEEP_DIR/comparison.md shows a figure that cannot be drawn
now, nothing is written unless --force (which warns).
Exit status: 0 written, 2 usage, 1 no summary, no finished run, or a
comparison.md that would lose a figure.
)";

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  saelab::comparison_options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", usage);
      return 0;
    }
    if ((a == "--site" || a == "--levels") && i + 1 == argc) {
      fmt::print(stderr, "sae-compare: {} needs a value\n", a);
      return 2;
    }
    if (a == "--force") {
      opt.force = true;
    } else if (a == "--site") {
      opt.site = argv[++i];
    } else if (a == "--levels") {
      const std::string v = argv[++i];
      try {
        std::size_t used = 0;
        opt.levels = std::stoi(v, &used);
        if (used != v.size() || opt.levels < 1) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        fmt::print(stderr, "sae-compare: --levels '{}': expected an integer >= 1\n", v);
        return 2;
      }
    } else if (a.rfind("-", 0) == 0) {
      fmt::print(stderr, "sae-compare: unknown option '{}'\n{}", a, usage);
      return 2;
    } else if (dir.empty()) {
      dir = a;
    } else {
      fmt::print(stderr, "sae-compare: unexpected argument '{}' (one sweep directory only)\n", a);
      return 2;
    }
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
