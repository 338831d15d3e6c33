#include "sweep/compare_report.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "io/input_file.hpp"
#include "report/atomic_write.hpp"
#include "report/gnuplot.hpp"
#include "report/quote.hpp"
#include "sweep/summary.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

std::string kind_name(const std::string& k) {
  if (k == "kl") return "KL";
  if (k == "l1") return "L1";
  return k;
}

std::string kind_color(std::size_t i) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  return colors[i % std::size(colors)];
}

std::string weight_name(const std::string& k) { return k == "l1" ? "lambda" : k == "none" ? "weight" : "beta"; }

// kl, l1 first, then the others in order of appearance.
std::vector<std::string> kinds_of(const std::vector<setting_stats>& settings) {
  std::vector<std::string> kinds;
  for (const char* k : {"kl", "l1"})
    if (std::any_of(settings.begin(), settings.end(), [&](const auto& s) { return s.kind == k; })) kinds.push_back(k);
  for (const auto& s : settings)
    if (std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end()) kinds.push_back(s.kind);
  return kinds;
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.1f}%", 100 * v) : "-"; }
std::string fixed(double v, int digits) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "-"; }
std::string general(double v) { return std::isfinite(v) ? fmt::format("{:.3g}", v) : "-"; }
std::string g7(double v) { return std::isfinite(v) ? fmt::format("{:.7g}", v) : ""; }
double or0(double v) { return std::isfinite(v) ? v : 0.0; }

// "0.0912 ± 0.0004" (markdown), or the mean alone for one seed.
std::string pm(const mean_sd& m, const std::function<std::string(double)>& f) {
  if (!std::isfinite(m.mean)) return "-";
  return std::isfinite(m.sd) ? fmt::format("{} ± {}", f(m.mean), f(m.sd)) : f(m.mean);
}

struct writer {
  fs::path dir, fig;
  comparison_output out;

  void file(const fs::path& p, const std::string& text) {
    write_file_atomically(p, text);
    out.files.push_back(p);
  }
  void plot(const std::string& stem, const std::string& dat, const std::string& gp) {
    file(fig / (stem + ".dat"), dat);
    file(fig / (stem + ".gp"), gp);
    ++out.plots;
    if (gnuplot_render(fig, stem + ".gp", stem + ".png")) {
      ++out.pngs;
      out.files.push_back(fig / (stem + ".png"));
    }
  }
};

std::string gp_header(const std::string& stem, int w, int h) {
  return fmt::format(
      "# Rendered by sae-compare; run `gnuplot {0}.gp` in this directory to redraw {0}.png from {0}.dat.\n"
      "set terminal pngcairo noenhanced size {1},{2} font 'Sans,11'\n"
      "set output '{0}.png'\n"
      "set grid\n",
      stem, w, h);
}

// What every output is made from.
struct comparison {
  fs::path dir;
  std::string site;
  std::vector<setting_stats> settings;
  std::vector<std::string> kinds;
  std::vector<matched_level> levels;
  std::optional<std::pair<std::size_t, std::size_t>> pair;  // the matched pair (nearest_pair)
  int done = 0;                                             // finished runs
  std::int64_t units = 0;
};

comparison read_comparison(const fs::path& dir, const comparison_options& opt) {
  const fs::path summary_path = dir / "summary.csv";
  std::error_code ec;
  if (!fs::exists(summary_path, ec))
    throw std::runtime_error(fmt::format("{}: no summary.csv; run sae-sweep first (or sae-sweep SWEEP --collect)",
                                         dir.string()));
  const csv_table summary = read_csv(summary_path);
  const auto sites = summary_sites(summary);
  if (sites.empty()) throw std::runtime_error(fmt::format("{}: no site columns", summary_path.string()));
  comparison c;
  c.dir = dir;
  c.site = opt.site.empty() ? sites.front() : opt.site;
  c.settings = aggregate_settings(summary, c.site);
  if (c.settings.empty())
    throw std::runtime_error(fmt::format("{}: no finished run yet (status done)", summary_path.string()));
  mark_frontiers(c.settings);
  c.kinds = kinds_of(c.settings);
  c.levels = match_levels(c.settings, c.kinds, opt.levels);
  if (c.kinds.size() >= 2) c.pair = nearest_pair(c.settings, c.kinds[0], c.kinds[1]);
  for (const auto& r : summary.rows) c.done += r[summary.column("status")] == "done";
  c.units = c.settings.front().units;
  return c;
}

// Frontier plot. Per kind: every setting with its error bars, the path of
// each rho group in order of weight (thin, dotted: how a setting moves as
// the weight grows), and the Pareto set (thick line, open circles).
void frontier_plot(writer& w, const std::vector<setting_stats>& settings, const std::vector<std::string>& kinds,
                   bool dead, const std::string& site, std::int64_t units) {
  const std::string stem = dead ? "frontier_dead" : "frontier_l0";
  std::string dat = fmt::format("# test BCE against {} for site {} ({} units); mean and sd over seeds\n",
                                dead ? "the fraction of dead units" : "L0 (active units per input)", one_line(site),
                                units);
  std::vector<std::string> plots;
  double xmin = std::numeric_limits<double>::infinity(), xmax = 0;
  int block = 0;
  auto x = [&](const setting_stats* s) { return dead ? s->dead_fraction : s->l0; };
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    const std::string name = kind_name(kinds[k]), color = kind_color(k);
    std::vector<const setting_stats*> all, front;
    for (const auto& s : settings) {
      if (s.kind != kinds[k]) continue;
      all.push_back(&s);
      if (dead ? s.on_dead_frontier : s.on_l0_frontier) front.push_back(&s);
    }
    std::sort(front.begin(), front.end(), [&](auto* a, auto* b) { return x(a).mean < x(b).mean; });
    dat += fmt::format("\n\n# index {}: {} settings: x x_sd test_bce test_bce_sd setting\n", block, one_line(name));
    for (const auto* s : all) {
      dat += fmt::format("{} {} {} {} {}\n", g7(x(s).mean), g7(or0(x(s).sd)), g7(s->test_bce.mean),
                         g7(or0(s->test_bce.sd)), gnuplot_data_string(s->setting));
      if (x(s).mean > 0) xmin = std::min(xmin, x(s).mean);
      xmax = std::max(xmax, x(s).mean);
    }
    plots.push_back(fmt::format("'{}.dat' index {} using 1:3:2:4 with xyerrorbars pt 7 ps 0.8 lc rgb '{}' title {}",
                                stem, block++, color, gnuplot_quote(name + " settings")));
    // The weight paths, one per rho (or one for a kind without rho).
    std::vector<double> rhos;
    for (const auto* s : all) {
      const double r = std::isfinite(s->rho) ? s->rho : -1;
      if (std::find(rhos.begin(), rhos.end(), r) == rhos.end()) rhos.push_back(r);
    }
    for (std::size_t g = 0; g < rhos.size(); ++g) {
      std::vector<const setting_stats*> path;
      for (const auto* s : all)
        if ((std::isfinite(s->rho) ? s->rho : -1) == rhos[g]) path.push_back(s);
      std::sort(path.begin(), path.end(), [](auto* a, auto* b) { return a->weight < b->weight; });
      dat += fmt::format("\n\n# index {}: {} {}, by increasing {}: x test_bce weight\n", block, one_line(name),
                         rhos[g] >= 0 ? fmt::format("rho {}", rhos[g]) : std::string("path"), weight_name(kinds[k]));
      for (const auto* s : path) dat += fmt::format("{} {} {}\n", g7(x(s).mean), g7(s->test_bce.mean), g7(s->weight));
      plots.push_back(fmt::format("'' index {} using 1:2 with lines dt 3 lw 1 lc rgb '{}' {}", block++, color,
                                  g == 0 ? "title " + gnuplot_quote(fmt::format("{} as the {} grows", name,
                                                                                weight_name(kinds[k])))
                                         : std::string("notitle")));
    }
    dat += fmt::format("\n\n# index {}: {} Pareto set (minimising x and test BCE), sorted by x: x test_bce\n", block,
                       one_line(name));
    for (const auto* s : front) dat += fmt::format("{} {}\n", g7(x(s).mean), g7(s->test_bce.mean));
    plots.push_back(fmt::format("'' index {} using 1:2 with linespoints lw 2.5 pt 6 ps 2 lc rgb '{}' title {}",
                                block++, color, gnuplot_quote(name + " Pareto frontier")));
  }
  std::string gp = gp_header(stem, 960, 640);
  gp += fmt::format("set title {}\n",
                    gnuplot_quote(dead ? fmt::format("Test BCE against dead units, site {} ({} units)", site, units)
                                       : fmt::format("Test BCE against L0, site {} ({} units)", site, units)));
  gp += fmt::format("set xlabel '{}'\nset ylabel 'test BCE (nat/pixel), mean +- sd over seeds'\n",
                    dead ? "fraction of dead units (never active on the test set)"
                         : "L0: active units per test input (log scale)");
  if (!dead && xmax > 0 && std::isfinite(xmin)) gp += "set logscale x\n";
  if (dead) gp += "set xrange [-0.02:1.02]\n";
  gp += "set key outside right top\n";
  gp += fmt::format("plot {}\n", fmt::join(plots, ", \\\n     "));
  w.plot(stem, dat, gp);
}

// The mean over runs of each histogram, as fractions of units.
std::optional<std::pair<std::vector<double>, std::vector<double>>> mean_histogram(const fs::path& dir,
                                                                                  const setting_stats& s,
                                                                                  const std::string& site) {
  std::vector<double> edges, frac;
  int n = 0;
  for (const auto& rd : s.run_dirs) {
    const auto h = read_rho_hat_histogram(dir / rd / "run.h5", site);
    if (!h) continue;
    double total = 0;
    for (auto c : h->counts) total += static_cast<double>(c);
    if (total == 0) continue;
    if (frac.empty()) frac.assign(h->counts.size(), 0), edges = h->edges_log10;
    if (h->counts.size() != frac.size()) continue;
    for (std::size_t b = 0; b < frac.size(); ++b) frac[b] += static_cast<double>(h->counts[b]) / total;
    ++n;
  }
  if (n == 0) return std::nullopt;
  for (double& f : frac) f /= n;
  return std::make_pair(edges, frac);
}

// The matched pair's histograms, averaged over seeds; or why they cannot be drawn.
struct pair_histograms {
  std::vector<double> edges, a, b;  // log10 bin edges; fraction of units per bin
};

std::optional<pair_histograms> matched_histograms(const comparison& c, std::string& why) {
  if (!c.pair) {
    why = c.kinds.size() < 2 ? "needs two penalty kinds with finished runs" : "a penalty kind has no frontier";
    return std::nullopt;
  }
  const setting_stats* both[] = {&c.settings[c.pair->first], &c.settings[c.pair->second]};
  std::optional<std::pair<std::vector<double>, std::vector<double>>> h[2];
  for (int i = 0; i < 2; ++i) {
    const setting_stats& s = *both[i];
    h[i] = mean_histogram(c.dir, s, c.site);
    if (h[i]) continue;
    std::error_code ec;
    const bool absent = std::none_of(s.run_dirs.begin(), s.run_dirs.end(),
                                     [&](const std::string& rd) { return fs::exists(c.dir / rd / "run.h5", ec); });
    const std::string log = s.run_dirs.empty() ? std::string("?") : (c.dir / s.run_dirs.front() / "run.h5").string();
    why = absent ? fmt::format("needs the run logs of {} {}, which are not here (no {})", kind_name(s.kind),
                               s.setting, log)
                 : fmt::format("the run logs of {} {} hold no rho_hat histogram of site {} (e.g. {})",
                               kind_name(s.kind), s.setting, c.site, log);
    return std::nullopt;
  }
  if (h[0]->first != h[1]->first) {
    why = "the two settings' histograms have different bins";
    return std::nullopt;
  }
  return pair_histograms{h[0]->first, h[0]->second, h[1]->second};
}

void histogram_plot(writer& w, const comparison& c, const pair_histograms& h) {
  const setting_stats& a = c.settings[c.pair->first];
  const setting_stats& b = c.settings[c.pair->second];
  const std::string& site = c.site;
  const auto& edges = h.edges;
  std::string dat = fmt::format(
      "# log10 rho_hat histograms of site {}, fraction of units (mean over seeds)\n"
      "# A = {} {} (test BCE {:.5f}), B = {} {} (test BCE {:.5f})\n"
      "# bin 0 also holds rho_hat below 10^{}, the last bin rho_hat >= 10^{}\n"
      "# log10_lo log10_hi center fraction_A fraction_B\n",
      one_line(site), one_line(kind_name(a.kind)), one_line(a.setting), a.test_bce.mean, one_line(kind_name(b.kind)),
      one_line(b.setting), b.test_bce.mean, edges.front(), edges.back());
  for (std::size_t i = 0; i + 1 < edges.size(); ++i)
    dat += fmt::format("{} {} {} {} {}\n", edges[i], edges[i + 1], (edges[i] + edges[i + 1]) / 2, g7(h.a[i]),
                       g7(h.b[i]));
  auto legend = [](const setting_stats& s) {
    return fmt::format("{} {}: test BCE {:.4f}, L0 {:.1f}, dead {:.0f}%", kind_name(s.kind), s.setting,
                       s.test_bce.mean, s.l0.mean, 100 * s.dead_fraction.mean);
  };
  std::string gp = gp_header("rho_hat_matched", 900, 560);
  gp += fmt::format("set title {}\n",
                    gnuplot_quote(fmt::format("Mean activation per unit at matched reconstruction, site {}", site)));
  gp += "set xlabel 'log10 rho_hat (mean activation of a unit over the test set)'\n"
        "set ylabel 'fraction of units'\n"
        "set style fill transparent solid 0.45 noborder\n"
        "set key top left\n";
  gp += fmt::format("set boxwidth {} absolute\n", edges[1] - edges[0]);
  gp += fmt::format("set xrange [{}:{}]\n", edges.front(), edges.back());
  gp += fmt::format(
      "plot 'rho_hat_matched.dat' using 3:4 with boxes lc rgb '{}' title {}, \\\n"
      "     '' using 3:5 with boxes lc rgb '{}' title {}\n",
      kind_color(0), gnuplot_quote(legend(a)), kind_color(1), gnuplot_quote(legend(b)));
  w.plot("rho_hat_matched", dat, gp);
}

void weight_plot(writer& w, const std::vector<setting_stats>& settings, const std::vector<std::string>& kinds,
                 const std::string& site) {
  std::string dat = fmt::format("# dead and dense fractions of site {} against the sparsity weight (means over seeds)\n",
                                one_line(site));
  std::string gp = gp_header("activity_vs_weight", 520 * static_cast<int>(std::max<std::size_t>(kinds.size(), 1)), 600);
  gp += fmt::format("set multiplot layout 1,{} title {}\n", kinds.size(),
                    gnuplot_quote(fmt::format("Dead (solid) and dense (dashed) units, site {}", site)));
  gp += "set yrange [-0.02:1.02]\nset ylabel 'fraction of units'\nset key below\nset format x '%g'\n"
        "set bmargin 8\n";
  int block = 0;
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    // One line per rho for KL-type kinds (rho is NaN otherwise: one group).
    std::vector<double> rhos;
    for (const auto& s : settings)
      if (s.kind == kinds[k]) {
        const double r = std::isfinite(s.rho) ? s.rho : -1;
        if (std::find(rhos.begin(), rhos.end(), r) == rhos.end()) rhos.push_back(r);
      }
    std::sort(rhos.begin(), rhos.end());
    std::string plots;
    bool log_ok = true;
    for (std::size_t g = 0; g < rhos.size(); ++g) {
      std::vector<const setting_stats*> pts;
      for (const auto& s : settings)
        if (s.kind == kinds[k] && (std::isfinite(s.rho) ? s.rho : -1) == rhos[g]) pts.push_back(&s);
      std::sort(pts.begin(), pts.end(), [](auto* a, auto* b) { return a->weight < b->weight; });
      const std::string group = rhos[g] >= 0 ? fmt::format("rho {}", rhos[g]) : kind_name(kinds[k]);
      dat += fmt::format("\n\n# index {}: {} {}: {} dead dense\n", block, one_line(kind_name(kinds[k])),
                         one_line(group), weight_name(kinds[k]));
      for (const auto* s : pts) {
        dat += fmt::format("{} {} {}\n", g7(s->weight), g7(s->dead_fraction.mean), g7(s->dense_fraction.mean));
        if (!(s->weight > 0)) log_ok = false;
      }
      const std::string color = rhos.size() == 1 ? kind_color(k) : kind_color(g + 2 * (k + 1));
      plots += fmt::format(
          "{}'activity_vs_weight.dat' index {} using 1:2 with linespoints lw 2 pt 7 lc rgb '{}' title {}, \\\n"
          "     '' index {} using 1:3 with linespoints lw 2 dt 2 pt 6 lc rgb '{}' title {}",
          g ? ", \\\n     " : "", block, color, gnuplot_quote(group + " dead"), block, color,
          gnuplot_quote(group + " dense"));
      ++block;
    }
    gp += fmt::format("set title {}\nset xlabel 'sparsity.{}{}'\n{}", gnuplot_quote(kind_name(kinds[k])),
                      weight_name(kinds[k]),
                      log_ok ? " (log scale)" : "", log_ok ? "set logscale x\n" : "unset logscale x\n");
    gp += "plot " + plots + "\n";
  }
  gp += "unset multiplot\n";
  w.plot("activity_vs_weight", dat, gp);
}

std::string fixed1(double v) { return fixed(v, 1); }
std::string fixed3(double v) { return fixed(v, 3); }
std::string fixed5(double v) { return fixed(v, 5); }

// The metrics compared, in the order of every table and CSV: one row serves
// comparison.csv, matched.csv, the terminal table and comparison.md.
struct metric {
  std::string_view column;    // CSV column (summary.hpp's name for it)
  std::string_view md;        // comparison.md's header; "" = not in the markdown tables
  std::string_view terminal;  // the terminal's header; "" = not an activity metric
  int width;                  // of the terminal column
  mean_sd setting_stats::*stat;
  double activity_values::*activity;  // nullptr: not an activity metric (not matched)
  std::string (*format)(double);
};

constexpr metric metrics[] = {
    {"test_bce", "test BCE", "", 0, &setting_stats::test_bce, nullptr, fixed5},
    {"test_mse", "", "", 0, &setting_stats::test_mse, nullptr, nullptr},
    {"l0", "L0", "L0", 7, &setting_stats::l0, &activity_values::l0, fixed1},
    {"dead_fraction", "dead", "dead", 7, &setting_stats::dead_fraction, &activity_values::dead_fraction, pct},
    {"dense_fraction", "dense", "dense", 7, &setting_stats::dense_fraction, &activity_values::dense_fraction, pct},
    {"population_sparsity", "pop. TR", "pop.TR", 8, &setting_stats::population_sparsity,
     &activity_values::population_sparsity, fixed3},
    {"lifetime_sparsity", "life. TR", "life.TR", 9, &setting_stats::lifetime_sparsity,
     &activity_values::lifetime_sparsity, fixed3},
    {"mean_when_active", "when active", "when.act", 9, &setting_stats::mean_when_active,
     &activity_values::mean_when_active, fixed3},
    {"rho_hat_median", "median rho_hat", "med.rho", 10, &setting_stats::rho_hat_median,
     &activity_values::rho_hat_median, general},
};

std::string comparison_csv(const comparison& c) {
  csv_table t;
  t.header = {"kind", "label", "setting", "weight", "rho", "seeds"};
  for (const metric& m : metrics) t.header.insert(t.header.end(), {std::string(m.column), std::string(m.column) + "_sd"});
  t.header.insert(t.header.end(), {"on_l0_frontier", "on_dead_frontier", "ids"});
  for (const auto& s : c.settings) {
    std::vector<std::string> r{s.kind, s.label, s.setting, g7(s.weight), g7(s.rho), std::to_string(s.ids.size())};
    for (const metric& m : metrics) r.insert(r.end(), {g7((s.*m.stat).mean), g7((s.*m.stat).sd)});
    r.insert(r.end(), {s.on_l0_frontier ? "1" : "0", s.on_dead_frontier ? "1" : "0", fmt::format("{}", fmt::join(s.ids, " "))});
    t.rows.push_back(std::move(r));
  }
  return to_csv(t);
}

std::string matched_csv(const comparison& c) {
  csv_table t;
  t.header = {"test_bce", "method", "kind"};
  for (const metric& m : metrics)
    if (m.activity) t.header.emplace_back(m.column);
  t.header.push_back("from");
  for (const auto& L : c.levels)
    for (const auto& v : L.by_kind) {
      std::vector<std::string> r{g7(L.test_bce), L.method, v.kind};
      for (const metric& m : metrics)
        if (m.activity) r.push_back(g7(v.values.*m.activity));
      r.push_back(v.from);
      t.rows.push_back(std::move(r));
    }
  return to_csv(t);
}

// One terminal row of activity metrics: the given cells, then the metrics' own.
std::string terminal_row(const std::string& bce, const std::string& penalty,
                         const std::function<std::string(const metric&)>& cell, const std::string& from) {
  std::string line = fmt::format("  {:>9}  {:<7}", bce, penalty);
  for (const metric& m : metrics)
    if (m.activity) line += fmt::format(" {:>{}}", cell(m), m.width);
  return line + "  " + from + "\n";
}

std::string terminal_text(const comparison& c) {
  std::string text = fmt::format("Comparison of {} ({} finished runs, {} settings), site {} ({} units):\n\n",
                                 c.dir.string(), c.done, c.settings.size(), c.site, c.units);
  if (!c.levels.empty()) {
    text += fmt::format("Activity at matched test BCE ({}):\n",
                        c.levels.front().method == "interpolated"
                            ? "interpolated along each penalty's BCE-L0 frontier"
                            : "the frontiers share no BCE range: nearest frontier settings");
    text += terminal_row("test BCE", "penalty", [](const metric& m) { return std::string(m.terminal); },
                         "from frontier settings");
    for (const auto& L : c.levels) {
      bool first = true;
      for (const auto& v : L.by_kind) {
        text += terminal_row(first ? fmt::format("{:.5f}", L.test_bce) : "", kind_name(v.kind),
                             [&](const metric& m) { return m.format(v.values.*m.activity); }, v.from);
        first = false;
      }
    }
    text += "  (pop.TR / life.TR: Treves-Rolls population / lifetime sparsity, lower = sparser; when.act: mean\n"
            "   activation of a unit when active; med.rho: median over units of the mean activation)\n\n";
  } else if (c.kinds.size() < 2) {
    text += fmt::format("Only one penalty kind ({}) has finished runs: no matched comparison.\n\n", c.kinds.front());
  }
  text += "Frontier settings (test BCE against L0), sparsest first:\n";
  for (const auto& k : c.kinds) {
    std::vector<const setting_stats*> f;
    for (const auto& s : c.settings)
      if (s.kind == k && s.on_l0_frontier) f.push_back(&s);
    std::sort(f.begin(), f.end(), [](auto* a, auto* b) { return a->l0.mean < b->l0.mean; });
    text += fmt::format("  {}:", kind_name(k));
    for (const auto* s : f) text += fmt::format("\n    {:<28} test BCE {:.5f}  L0 {:>6.1f}  dead {:>6}  dense {:>6}",
                                                s->setting, s->test_bce.mean, s->l0.mean, pct(s->dead_fraction.mean),
                                                pct(s->dense_fraction.mean));
    text += "\n";
  }
  return text;
}

// "| a | b |\n" from cells.
std::string md_row(const std::vector<std::string>& cells) { return fmt::format("| {} |\n", fmt::join(cells, " | ")); }

// The line under a header of n columns: "|---|---|\n".
std::string md_rule(std::size_t n) {
  std::string rule = "|";
  for (std::size_t i = 0; i < n; ++i) rule += "---|";
  return rule + "\n";
}

std::string md_matched_table(const comparison& c) {
  std::string md = c.levels.front().method == "interpolated"
                       ? "## Activity at matched reconstruction loss\n\nEach metric interpolated linearly in test BCE "
                         "along each penalty's BCE-L0 frontier (`matched.csv`).\n\n"
                       : "## Activity at matched reconstruction loss\n\nThe frontiers share no test-BCE range; the "
                         "nearest frontier settings are compared instead (`matched.csv`).\n\n";
  std::vector<std::string> header{"test BCE", "penalty"};
  for (const metric& m : metrics)
    if (m.activity) header.emplace_back(m.md);
  header.push_back("from frontier settings");
  md += md_row(header) + md_rule(header.size());
  for (const auto& L : c.levels)
    for (const auto& v : L.by_kind) {
      std::vector<std::string> r{fmt::format("{:.5f}", L.test_bce), kind_name(v.kind)};
      for (const metric& m : metrics)
        if (m.activity) r.push_back(m.format(v.values.*m.activity));
      r.push_back(v.from);
      md += md_row(r);
    }
  return md + "\n";
}

std::string md_settings_table(const comparison& c) {
  std::string md = "## Every setting\n\nFrontier: on the BCE-L0 frontier (L0), on the BCE-dead frontier (dead).\n\n";
  std::vector<std::string> header{"penalty", "setting", "seeds"};
  for (const metric& m : metrics)
    if (!m.md.empty()) header.emplace_back(m.md);
  header.push_back("frontier");
  md += md_row(header) + md_rule(header.size());
  for (const auto& k : c.kinds) {
    std::vector<const setting_stats*> rows;
    for (const auto& s : c.settings)
      if (s.kind == k) rows.push_back(&s);
    std::stable_sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->l0.mean < b->l0.mean; });
    for (const auto* s : rows) {
      std::string f = s->on_l0_frontier ? "L0" : "";
      if (s->on_dead_frontier) f += f.empty() ? "dead" : ", dead";
      std::vector<std::string> r{kind_name(s->kind), s->setting, std::to_string(s->ids.size())};
      for (const metric& m : metrics)
        if (!m.md.empty()) r.push_back(pm(s->*m.stat, m.format));
      r.push_back(f);
      md += md_row(r);
    }
  }
  return md;
}

std::string comparison_md(const comparison& c, bool have_hist) {
  std::string md = fmt::format("# Penalty comparison: {}\n\n", c.dir.filename().string());
  md += fmt::format(
      "Written by `sae-compare {}` from `summary.csv`: {} finished runs in {} settings. Metrics are on the whole "
      "test set at the end of training, for site `{}` ({} units); a unit is active on an input when its activation "
      "exceeds `log.active_threshold`. Values are mean ± sd over seeds.\n\n"
      "- **L0**: active units per input. **dead**: units never active. **dense**: units active on more than half "
      "the inputs.\n"
      "- **pop. TR**: population sparsity, the Treves-Rolls measure (mean a)²/mean(a²) across units, averaged over "
      "inputs; **life. TR**: lifetime sparsity, the same over inputs for one unit, averaged over the units that are "
      "not dead. Both lie in (0, 1]; lower is sparser.\n"
      "- **when active**: mean activation of a unit on the inputs where it is active (live units); **median "
      "rho_hat**: median over units of the mean activation.\n\n",
      c.dir.string(), c.done, c.settings.size(), c.site, c.units);
  if (!c.levels.empty()) md += md_matched_table(c);
  if (c.pair) {
    const auto& a = c.settings[c.pair->first];
    const auto& b = c.settings[c.pair->second];
    md += fmt::format(
        "## The matched pair\n\nThe frontier settings of the two penalties closest in test BCE, relative to what "
        "their sparsity costs (the distance above the sweep's best test BCE): {} {} (test BCE {:.5f}, L0 {:.1f}, "
        "dead {}) and {} {} (test BCE {:.5f}, L0 {:.1f}, dead {}).{}\n\n",
        kind_name(a.kind), a.setting, a.test_bce.mean, a.l0.mean, pct(a.dead_fraction.mean), kind_name(b.kind),
        b.setting, b.test_bce.mean, b.l0.mean, pct(b.dead_fraction.mean),
        have_hist ? " Their rho_hat histograms: `figures/rho_hat_matched.png`." : "");
  }
  md += md_settings_table(c);
  md += "\n## Figures\n\n";
  md += "| | |\n|---|---|\n";
  md += "| test BCE against L0, frontiers | ![](figures/frontier_l0.png) |\n";
  md += "| test BCE against dead fraction | ![](figures/frontier_dead.png) |\n";
  if (have_hist) md += "| rho_hat histograms of the matched pair | ![](figures/rho_hat_matched.png) |\n";
  md += "| dead and dense fractions against the weight | ![](figures/activity_vs_weight.png) |\n";
  md += "\nEach figure is `figures/NAME.dat` + `figures/NAME.gp`; `gnuplot NAME.gp` in `figures/` redraws it.\n";
  return md;
}

// The figures an existing comparison.md shows that the one about to be
// written would not: today only rho_hat_matched can be missing, when the
// run directories (not committed with a study) are absent.
std::vector<std::string> figures_lost(const fs::path& md, bool have_hist) {
  std::error_code ec;
  if (have_hist || !fs::exists(md, ec)) return {};
  const std::string figure = "figures/rho_hat_matched.png";
  if (read_input_text(md, "a comparison.md").find("](" + figure + ")") == std::string::npos) return {};
  return {figure};
}

}  // namespace

comparison_output write_comparison(const fs::path& dir, const comparison_options& opt) {
  const comparison c = read_comparison(dir, opt);
  std::string no_hist_why;
  const std::optional<pair_histograms> hist = matched_histograms(c, no_hist_why);
  const std::vector<std::string> lost = figures_lost(dir / "comparison.md", hist.has_value());
  const std::string lost_text = fmt::format("{} shows {}, which cannot be drawn now: {}",
                                            (dir / "comparison.md").string(), fmt::join(lost, ", "), no_hist_why);
  if (!lost.empty() && !opt.force)
    throw std::runtime_error(lost_text + "; nothing written (--force rewrites it without them)");

  writer w{dir, dir / "figures", {}};
  std::error_code ec;
  fs::create_directories(w.fig, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create: {}", w.fig.string(), ec.message()));
  if (!lost.empty()) w.out.warnings.push_back(lost_text + "; rewritten without them (--force)");
  if (!hist) w.out.not_drawn.push_back(fmt::format("{}: {}", (w.fig / "rho_hat_matched.png").string(), no_hist_why));

  w.file(dir / "comparison.csv", comparison_csv(c));
  w.file(dir / "matched.csv", matched_csv(c));
  frontier_plot(w, c.settings, c.kinds, false, c.site, c.units);
  frontier_plot(w, c.settings, c.kinds, true, c.site, c.units);
  if (hist) histogram_plot(w, c, *hist);
  weight_plot(w, c.settings, c.kinds, c.site);
  w.file(dir / "comparison.md", comparison_md(c, hist.has_value()));

  std::string text = terminal_text(c);
  text += fmt::format("\nWritten: {}, {}, {}\n", (dir / "comparison.md").string(), (dir / "comparison.csv").string(),
                      (dir / "matched.csv").string());
  text += fmt::format("Figures ({} of {} rendered to PNG{}): {}/\n", w.out.pngs, w.out.plots,
                      w.out.pngs < w.out.plots ? "; install gnuplot-nox for the rest" : "", w.fig.string());
  for (const auto& p : w.out.files)
    if (p.extension() == ".png") text += fmt::format("  {}\n", p.string());
  if (!w.out.not_drawn.empty()) text += "Not drawn:\n";
  for (const auto& n : w.out.not_drawn) text += fmt::format("  {}\n", n);
  w.out.text = text;
  return w.out;
}

}  // namespace saelab
