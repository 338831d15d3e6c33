#include "report/figures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "report/atomic_write.hpp"
#include "report/gnuplot.hpp"
#include "report/png.hpp"
#include "report/quote.hpp"
#include "report/tiles.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {

void ensure_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create figures directory: {}", dir.string(), ec.message()));
}

// Integer upscaling that brings a tile to about 84 pixels (MNIST at x3):
// 28x28 digits and 3x3 kernels both become readable on screen.
int scale_for(std::int64_t h, std::int64_t w) { return std::max<int>(1, static_cast<int>(84 / std::max(h, w))); }

// [N, H, W] view of [N, H, W] or [N, 1, H, W].
tensor<float> as_images(const tensor<float>& t, const char* what) {
  const shape& s = t.dims();
  if (s.rank() == 3) return t;
  if (s.rank() == 4 && s[1] == 1) return t.reshaped({s[0], s[2], s[3]});
  throw std::invalid_argument(fmt::format("{}: expected [N, 1, H, W] or [N, H, W], got {}", what, s.str()));
}

void write_gray(const fs::path& path, const gray_image& g) { write_png_gray(path, g.width, g.height, g.pixels.data()); }

// NaN spelled as gnuplot and numpy.loadtxt both read it: a missing point.
std::string num(double v) { return std::isnan(v) ? std::string("NaN") : fmt::format("{:.8g}", v); }

}  // namespace

fs::path reconstruction_figure(const fs::path& dir, const tensor<float>& inputs, const tensor<float>& reconstructions) {
  const tensor<float> x = as_images(inputs, "reconstruction_figure inputs");
  const tensor<float> y = as_images(reconstructions, "reconstruction_figure reconstructions");
  check_same_shape(x.dims(), y.dims(), "reconstruction_figure: inputs vs reconstructions");
  const std::int64_t n = x.size(0), h = x.size(1), w = x.size(2);

  // Inputs fill grid row 0 and reconstructions row 1, so each sits under its input.
  tensor<float> both({2 * n, h, w});
  std::copy(x.data(), x.data() + x.numel(), both.data());
  std::copy(y.data(), y.data() + y.numel(), both.data() + x.numel());

  tile_options opt;
  opt.columns = static_cast<int>(n);
  opt.norm = tile_norm::fixed;  // pixels are in [0, 1]: no per-image stretching hides a faint output
  opt.scale = scale_for(h, w);
  opt.border = 2;
  opt.border_gray = 96;  // gray grid lines against black MNIST backgrounds
  ensure_dir(dir);
  const fs::path path = dir / "reconstructions.png";
  write_gray(path, tile_image(both, opt));
  return path;
}

fs::path filter_figure(const fs::path& dir, std::span<const float> weights, int n, int h, int w) {
  if (n <= 0 || h <= 0 || w <= 0)
    throw std::invalid_argument(fmt::format("filter_figure: n, h, w must be positive, got {}, {}, {}", n, h, w));
  const std::size_t need = static_cast<std::size_t>(n) * h * w;
  if (need > weights.size())
    throw std::invalid_argument(
        fmt::format("filter_figure: {} filters of {}x{} need {} weights, got {}", n, h, w, need, weights.size()));

  tensor<float> filters({n, h, w});
  std::copy(weights.begin(), weights.begin() + static_cast<std::ptrdiff_t>(need), filters.data());
  tile_options opt;
  // Symmetric per tile: a weight's sign is what matters (mid-gray = 0), and
  // filters differ in overall magnitude.
  opt.norm = tile_norm::per_tile_symmetric;
  opt.scale = scale_for(h, w);
  opt.border = 2;
  const gray_image g = tile_image(filters, opt);
  const tile_layout l = tile_layout_for(n, h, w, opt);

  // Every gray level is a weight here, so no gray border stands out against
  // all tiles (black merges with large negative weights of enlarged 3x3
  // kernels): borders and empty cells are drawn in blue instead.
  std::vector<std::uint8_t> rgb(g.pixels.size() * 3);
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * g.width + x;
      const bool tile = l.tile_at(x, y) >= 0;
      rgb[3 * i + 0] = tile ? g.pixels[i] : 30;
      rgb[3 * i + 1] = tile ? g.pixels[i] : 70;
      rgb[3 * i + 2] = tile ? g.pixels[i] : 150;
    }
  ensure_dir(dir);
  const fs::path path = dir / "filters.png";
  write_png_rgb(path, g.width, g.height, rgb.data());
  return path;
}

namespace {

// The finite values a loss plot shows. A log axis pays only when they span a
// decade (fast early epochs); over a narrower range it would leave the axis
// with one labelled tick.
struct loss_range {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  bool all_positive = true;
  void add(double v) {
    if (!std::isfinite(v)) return;
    all_positive = all_positive && v > 0;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool log_scale() const { return all_positive && lo > 0 && hi / lo >= 10; }
};

}  // namespace

bool loss_curves(const fs::path& dir, std::span<const epoch_losses> epochs) {
  std::string dat =
      "# saelab loss curves, one row per epoch (NaN: not measured)\n"
      "# epoch train_loss train_reconstruction test_bce\n";
  loss_range range;
  int first_epoch = 0, last_epoch = 0;
  for (const epoch_losses& e : epochs) {
    dat += fmt::format("{} {} {} {}\n", e.epoch, num(e.train_loss), num(e.train_reconstruction), num(e.test_bce));
    for (double v : {e.train_loss, e.train_reconstruction, e.test_bce}) range.add(v);
  }
  if (!epochs.empty()) first_epoch = epochs.front().epoch, last_epoch = epochs.back().epoch;
  const bool log_y = range.log_scale();

  std::string gp = fmt::format(
      "# Renders loss_curves.png from loss_curves.dat: run `gnuplot loss_curves.gp` in this directory.\n"
      "set terminal pngcairo size 800,500\n"
      "set output 'loss_curves.png'\n"
      "set title 'Loss per epoch' noenhanced\n"
      "set xlabel 'epoch'\n"
      "set ylabel 'mean loss per pixel{}'\n"
      "{}"
      "set format y '%g'\n"
      "{}"
      "set grid\n"
      "set key top right\n"
      "plot 'loss_curves.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.7 title 'train loss (with penalty)', \\\n"
      "     '' using 1:3 with linespoints lw 2 pt 5 ps 0.7 title 'train reconstruction', \\\n"
      "     '' using 1:4 with linespoints lw 2 pt 9 ps 0.9 title 'test BCE'\n",
      log_y ? " (log scale)" : "", log_y ? "set logscale y\n" : "",
      // Whole-number epoch ticks while they fit; gnuplot's own choice otherwise.
      last_epoch - first_epoch <= 20 ? "set xtics 1\n" : "");

  ensure_dir(dir);
  write_file_atomically(dir / "loss_curves.dat", dat);
  write_file_atomically(dir / "loss_curves.gp", gp);
  return gnuplot_render(dir, "loss_curves.gp", "loss_curves.png");
}

bool step_loss_curve(const fs::path& dir, std::span<const step_loss> steps) {
  std::string dat =
      "# saelab training loss per logged step (NaN: not measured)\n"
      "# step loss reconstruction\n";
  loss_range range;
  for (const step_loss& s : steps) {
    dat += fmt::format("{} {} {}\n", num(s.step), num(s.loss), num(s.reconstruction));
    range.add(s.loss);
    range.add(s.reconstruction);
  }
  const bool log_y = range.log_scale();
  const std::string gp = fmt::format(
      "# Renders step_loss.png from step_loss.dat: run `gnuplot step_loss.gp` in this directory.\n"
      "set terminal pngcairo size 800,500\n"
      "set output 'step_loss.png'\n"
      "set title 'Training loss per logged step' noenhanced\n"
      "set xlabel 'optimiser step'\n"
      "set ylabel 'mean loss per pixel{}'\n"
      "{}"
      "set format y '%g'\n"
      "set grid\n"
      "set key top right\n"
      "plot 'step_loss.dat' using 1:2 with lines lw 2 title 'loss (with penalty)', \\\n"
      "     '' using 1:3 with lines lw 2 title 'reconstruction'\n",
      log_y ? " (log scale)" : "", log_y ? "set logscale y\n" : "");
  ensure_dir(dir);
  write_file_atomically(dir / "step_loss.dat", dat);
  write_file_atomically(dir / "step_loss.gp", gp);
  return gnuplot_render(dir, "step_loss.gp", "step_loss.png");
}

namespace {

// A per-unit quantity on a log10 axis: bins_per_decade bins from 10^lo_exp to
// 1 (extended by whole decades when a value exceeds 1); values in (0, 10^lo_exp)
// join the first bin; values <= 0 get their own "0" bar at the left, one decade
// left of the first bin, and their count is in the title.
struct log_histogram_spec {
  std::string stem;        // file names: stem.dat, stem.gp, stem.png
  std::string heading;     // the .dat's first comment line
  std::string zero_rows;   // what the "0" bar counts, for the .dat ("units with rho_hat <= 0")
  std::string zero_title;  // ... and for the title ("units with rho_hat = 0")
  std::string title;       // the title's first line
  std::string xlabel;
  int lo_exp = -6;
};

std::string file_stem(std::string_view prefix, std::string_view site) {
  std::string name;
  for (char c : site) name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  if (name.empty()) name = "site";
  return std::string(prefix) + name;
}

bool log_histogram(const fs::path& dir, const log_histogram_spec& spec, std::span<const double> values) {
  constexpr int bins_per_decade = 4;
  const int lo_exp = spec.lo_exp;
  double max_v = 0;
  for (double v : values)
    if (std::isfinite(v)) max_v = std::max(max_v, v);
  // ReLU units can average above 1: extend by whole decades rather than clip.
  const int hi_exp = max_v > 1 ? std::min(6, static_cast<int>(std::ceil(std::log10(max_v)))) : 0;
  const int n_bins = (hi_exp - lo_exp) * bins_per_decade;

  std::vector<std::int64_t> counts(static_cast<std::size_t>(n_bins), 0);
  std::int64_t zeros = 0, below = 0, nans = 0;
  for (double v : values) {
    if (std::isnan(v)) { ++nans; continue; }
    if (v <= 0) { ++zeros; continue; }
    if (v < std::pow(10.0, lo_exp)) ++below;
    const double k = std::floor((std::log10(v) - lo_exp) * bins_per_decade);
    counts[static_cast<std::size_t>(std::clamp(k, 0.0, double(n_bins - 1)))]++;
  }
  const std::string& stem = spec.stem;

  // The "0" bar sits one decade left of the first bin on the same log10 axis,
  // past a dashed line, so it reads as a separate category, not as a tiny value.
  const double zero_x = lo_exp - 1;
  std::string dat = fmt::format(
      "# {}\n"
      "# x: bar centre on the plot's log10 axis; width in decades; bin [lo, hi)\n"
      "# index 0: {}; index 1: {} log-spaced bins per decade\n"
      "# x width lo hi count\n"
      "{} 0.5 0 0 {}\n\n\n",
      spec.heading, spec.zero_rows, bins_per_decade, num(zero_x), zeros);
  for (int k = 0; k < n_bins; ++k) {
    const double a = lo_exp + double(k) / bins_per_decade, b = lo_exp + double(k + 1) / bins_per_decade;
    dat += fmt::format("{} {} {} {} {}\n", num((a + b) / 2), num(1.0 / bins_per_decade), num(std::pow(10.0, a)),
                       num(std::pow(10.0, b)), counts[static_cast<std::size_t>(k)]);
  }

  std::string tics = fmt::format("'0' {}", num(zero_x));
  for (int e = lo_exp; e <= hi_exp; ++e)
    tics += e == 0 ? ", '1' 0" : e == 1 ? ", '10' 1" : fmt::format(", '10^{{{}}}' {}", e, e);
  // Line 1 says what is counted; line 2 the counts a bar cannot show well.
  std::string title2 = fmt::format("{} {} (bar '0')", zeros, spec.zero_title);
  if (below > 0) title2 += fmt::format(", {} below 1e{} counted in the first bin", below, lo_exp);
  if (nans > 0) title2 += fmt::format(", {} NaN left out", nans);

  const std::string gp = fmt::format(
      "# Renders {0}.png from {0}.dat: run `gnuplot {0}.gp` in this directory.\n"
      "set terminal pngcairo size 800,500\n"
      "set termoption enhanced\n"
      "set output '{0}.png'\n"
      "set title {1} . \"\\n\" . {6} noenhanced\n"
      "set xlabel {7}\n"
      "set ylabel 'units'\n"
      "set xrange [{2}:{3}]\n"
      "set yrange [0:*]\n"
      "set offsets 0, 0, graph 0.08, 0\n"
      "set xtics ({4})\n"
      "set grid ytics\n"
      "set style fill solid 0.7 border -1\n"
      "set arrow from {5}, graph 0 to {5}, graph 1 nohead dashtype 2 lc 'gray40'\n"
      "unset key\n"
      "plot '{0}.dat' index 0 using 1:5:2 with boxes lc rgb '#b03030', \\\n"
      "     '' index 1 using 1:5:2 with boxes lc rgb '#4682b4', \\\n"
      "     '' index 0:1 using 1:5:($5 > 0 ? sprintf('%d', $5) : '') with labels offset 0,0.7 font ',8'\n",
      stem, gnuplot_quote(spec.title), num(zero_x - 0.5), num(hi_exp + 0.25), tics, num(zero_x + 0.5),
      gnuplot_quote(title2), gnuplot_quote(spec.xlabel));

  ensure_dir(dir);
  write_file_atomically(dir / (stem + ".dat"), dat);
  write_file_atomically(dir / (stem + ".gp"), gp);
  return gnuplot_render(dir, stem + ".gp", stem + ".png");
}

}  // namespace

bool rho_hat_histogram(const fs::path& dir, std::string_view site, std::span<const double> rho_hat) {
  log_histogram_spec spec;
  spec.stem = file_stem("rho_hat_", site);
  spec.heading = fmt::format("Histogram of per-unit mean activation rho_hat at site '{}': {} units", one_line(site),
                             rho_hat.size());
  spec.zero_rows = "units with rho_hat <= 0";
  spec.zero_title = "units with rho_hat = 0";
  spec.title = fmt::format("Per-unit mean activation rho_hat at site {} ({} units)", site, rho_hat.size());
  spec.xlabel = "mean activation of a unit on the test set (log scale)";
  spec.lo_exp = -6;
  return log_histogram(dir, spec, rho_hat);
}

bool firing_density(const fs::path& dir, std::string_view site, std::span<const double> active_fraction,
                    std::int64_t inputs) {
  log_histogram_spec spec;
  spec.stem = file_stem("firing_density_", site);
  spec.heading = fmt::format("Histogram of per-unit firing fraction at site '{}': {} units, {} test inputs",
                             one_line(site), active_fraction.size(), inputs);
  spec.zero_rows = "dead units (firing fraction 0)";
  spec.zero_title = "dead units (active on no test input)";
  spec.title = fmt::format("Firing density at site {} ({} units, {} test inputs)", site, active_fraction.size(), inputs);
  spec.xlabel = "fraction of test inputs on which a unit is active (log scale)";
  // The smallest non-zero fraction is 1 / inputs: the axis starts at its decade.
  spec.lo_exp = inputs > 1 ? -static_cast<int>(std::ceil(std::log10(static_cast<double>(inputs)))) : -1;
  return log_histogram(dir, spec, active_fraction);
}

bool sparsity_curves(const fs::path& dir, std::span<const std::string> sites, std::span<const epoch_sparsity> epochs) {
  std::string dat = "# saelab sparsity per epoch on the test set, two columns per site (NaN: not measured)\n# epoch";
  for (const std::string& s : sites) dat += fmt::format(" l0[{0}] dead_fraction[{0}]", one_line(s));
  dat += "\n";
  for (const epoch_sparsity& e : epochs) {
    dat += fmt::format("{}", e.epoch);
    for (std::size_t s = 0; s < sites.size(); ++s)
      dat += fmt::format(" {} {}", num(s < e.l0.size() ? e.l0[s] : NAN),
                         num(s < e.dead_fraction.size() ? e.dead_fraction[s] : NAN));
    dat += "\n";
  }

  // One clause per site: titles are quoted strings, never column headers
  // gnuplot would have to parse.
  std::string l0_plot, dead_plot;
  for (std::size_t s = 0; s < sites.size(); ++s) {
    const char* sep = s == 0 ? "plot " : ", \\\n     ";
    const std::string data = s == 0 ? "'sparsity_curves.dat'" : "''";
    l0_plot += fmt::format("{}{} using 1:{} with linespoints lw 2 pt 7 ps 0.7 title {}", sep, data, 2 + 2 * s,
                           gnuplot_quote(sites[s]));
    dead_plot += fmt::format("{}{} using 1:(100 * ${}) with linespoints lw 2 pt 7 ps 0.7 title {}", sep, data,
                             3 + 2 * s, gnuplot_quote(sites[s]));
  }
  const int first_epoch = epochs.empty() ? 0 : epochs.front().epoch;
  const int last_epoch = epochs.empty() ? 0 : epochs.back().epoch;
  const std::string gp = fmt::format(
      "# Renders sparsity_curves.png from sparsity_curves.dat: run `gnuplot sparsity_curves.gp` in this directory.\n"
      "set terminal pngcairo size 800,700\n"
      "set output 'sparsity_curves.png'\n"
      "set multiplot layout 2,1 title 'Sparsity on the test set per epoch' noenhanced\n"
      "set xlabel 'epoch'\n"
      "set lmargin 12\n"  // the same left edge for both panels, so epochs line up
      "{}"
      "set grid\n"
      "set key outside right noenhanced\n"
      "set format y '%g'\n"
      "set ylabel 'L0: active units per input'\n"
      "set yrange [0:*]\n"
      "{}\n"
      "set ylabel 'dead units (%)'\n"
      "set yrange [0:100]\n"
      "{}\n"
      "unset multiplot\n",
      last_epoch - first_epoch <= 20 ? "set xtics 1\n" : "", l0_plot.empty() ? "plot NaN notitle" : l0_plot,
      dead_plot.empty() ? "plot NaN notitle" : dead_plot);

  ensure_dir(dir);
  write_file_atomically(dir / "sparsity_curves.dat", dat);
  write_file_atomically(dir / "sparsity_curves.gp", gp);
  return gnuplot_render(dir, "sparsity_curves.gp", "sparsity_curves.png");
}

}  // namespace saelab
