// Figure functions: the files each writes, what the gnuplot scripts name, and
// behaviour without (or with a broken) gnuplot.
#include <catch2/catch.hpp>
#include <fmt/core.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "report/figures.hpp"
#include "report/gnuplot.hpp"
#include "report/run_figures.hpp"

#include "path_override.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::path_override;
using saelab::testing::temp_dir;
using saelab::testing::slurp;

namespace {

std::uint32_t u32_be(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

// Just enough of a PNG reader for files from our writer: IHDR + one IDAT,
// filter 0 on every row. test_png checks the format itself.
struct decoded {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
  int at(int x, int y, int c = 0) const { return pixels[(std::size_t(y) * width + x) * channels + c]; }
};

decoded read_png(const fs::path& p) {
  const std::string s = slurp(p);
  REQUIRE(s.size() > 33);
  REQUIRE(s.substr(12, 4) == "IHDR");
  decoded d;
  d.width = int(u32_be(s, 16));
  d.height = int(u32_be(s, 20));
  d.channels = s[25] == 2 ? 3 : 1;
  const std::size_t idat = 33;
  REQUIRE(s.substr(idat + 4, 4) == "IDAT");
  const std::uint32_t len = u32_be(s, idat);
  const std::size_t row = std::size_t(d.width) * d.channels + 1;
  std::vector<std::uint8_t> raw(row * d.height);
  uLongf n = raw.size();
  REQUIRE(uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(s.data() + idat + 8), len) == Z_OK);
  REQUIRE(n == raw.size());
  for (int y = 0; y < d.height; ++y) {
    REQUIRE(raw[y * row] == 0);
    d.pixels.insert(d.pixels.end(), raw.begin() + y * row + 1, raw.begin() + (y + 1) * row);
  }
  return d;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// dir/<stem>.dat after a plot function returned `made`: the PNG exists
// exactly when gnuplot is installed, and no failure log is left.
std::string plotted_dat(const fs::path& dir, const std::string& stem, bool made) {
  CHECK(made == !find_program("gnuplot").empty());
  CHECK(fs::exists(dir / (stem + ".png")) == made);
  CHECK(!fs::exists(dir / (stem + ".gp.log")));
  return slurp(dir / (stem + ".dat"));
}

std::vector<epoch_losses> some_epochs(int n) {
  std::vector<epoch_losses> e;
  for (int i = 1; i <= n; ++i) e.push_back({i, 0.1 + 0.3 / i, 0.09 + 0.3 / i, i == 2 ? NAN : 0.09 + 0.25 / i});
  return e;
}

}  // namespace

TEST_CASE("reconstruction figure: inputs in the top row, reconstructions below", "[figures]") {
  temp_dir dir("recon");
  tensor<float> x({10, 1, 28, 28}), y({10, 1, 28, 28});
  x.at(3, 0, 5, 7) = 1.0f;    // one white pixel in input 3
  y.at(3, 0, 5, 7) = 0.5f;    // half gray in its reconstruction
  y.at(9, 0, 27, 27) = 2.0f;  // out of [0, 1]: clamped, not rescaling the others
  const fs::path png = reconstruction_figure(dir.path / "figures", x, y);
  CHECK(png == dir.path / "figures" / "reconstructions.png");
  const decoded d = read_png(png);
  // 28 px at scale 3 with 2 px borders: 10 columns, 2 rows.
  REQUIRE(d.channels == 1);
  REQUIRE(d.width == 2 + 10 * 86);
  REQUIRE(d.height == 2 + 2 * 86);
  const int x0 = 2 + 3 * 86 + 7 * 3, y_in = 2 + 5 * 3, y_out = y_in + 86;
  CHECK(d.at(x0, y_in) == 255);
  CHECK(d.at(x0 + 2, y_in + 2) == 255);
  CHECK(d.at(x0, y_out) == 128);
  CHECK(d.at(x0 + 3, y_out) == 0);
  CHECK(d.at(2 + 9 * 86 + 83, 88 + 83) == 255);

  CHECK_THROWS_AS(reconstruction_figure(dir.path, x, tensor<float>({9, 1, 28, 28})), std::invalid_argument);
}

TEST_CASE("filter figure: a near-square grid with coloured borders", "[figures]") {
  temp_dir dir("filters");
  // 8 first-layer kernels of 3x3, as the conv model's [8, 1, 3, 3].
  std::vector<float> k(72, 0.0f);
  k[9 * 4 + 0] = -1.0f;  // kernel 4, top-left
  k[9 * 4 + 8] = 0.5f;   // kernel 4, bottom-right
  const fs::path png = filter_figure(dir.path, k, 8, 3, 3);
  CHECK(png.filename() == "filters.png");
  const decoded d = read_png(png);
  REQUIRE(d.channels == 3);
  // 3x3 grid of 84 px tiles (3 px kernels at scale 28) and 2 px borders.
  REQUIRE(d.width == 2 + 3 * 86);
  REQUIRE(d.height == 2 + 3 * 86);
  const int kx = 2 + 1 * 86, ky = 2 + 1 * 86;  // kernel 4: grid row 1, column 1
  CHECK(d.at(kx, ky) == 0);                     // -1: the tile's extreme, black
  CHECK(d.at(kx + 83, ky + 83) == 191);         // 0.5 in [-1, 1]
  CHECK(d.at(kx + 40, ky + 40) == 128);         // 0: mid-gray
  CHECK(d.at(kx + 40, ky + 40, 2) == 128);      // gray inside tiles
  CHECK(d.at(0, 0, 2) > d.at(0, 0, 0));         // blue border
  CHECK(d.at(2 + 2 * 86 + 40, 2 + 2 * 86 + 40, 2) > d.at(2 + 2 * 86 + 40, 2 + 2 * 86 + 40, 0));  // empty cell

  // Fully-connected encoder rows [units, 784]: the first n rows are used.
  std::vector<float> fc(5 * 784, 0.1f);
  CHECK(fs::exists(filter_figure(dir.path / "fc", fc, 4, 28, 28)));
  CHECK_THROWS_AS(filter_figure(dir.path, fc, 6, 28, 28), std::invalid_argument);
}

TEST_CASE("loss curves: .dat and .gp name each other and the PNG", "[figures]") {
  temp_dir dir("loss");
  const bool made = loss_curves(dir.path, some_epochs(5));
  const std::string dat = slurp(dir.path / "loss_curves.dat");
  const std::string gp = slurp(dir.path / "loss_curves.gp");
  CHECK(contains(dat, "# epoch train_loss train_reconstruction test_bce\n"));
  CHECK(contains(dat, "\n2 0.25 0.24 NaN\n"));
  CHECK(contains(gp, "set terminal pngcairo size 800,500"));
  CHECK(contains(gp, "set output 'loss_curves.png'"));
  CHECK(contains(gp, "plot 'loss_curves.dat'"));
  CHECK(contains(gp, "set xlabel"));
  CHECK(contains(gp, "set ylabel"));
  CHECK(!contains(gp, "logscale"));  // 0.14 .. 0.4: less than a decade
  // With gnuplot installed the PNG must come out; otherwise only the data.
  CHECK(made == !find_program("gnuplot").empty());
  CHECK(fs::exists(dir.path / "loss_curves.png") == made);
  if (made) CHECK(u32_be(slurp(dir.path / "loss_curves.png"), 16) == 800);  // gnuplot's IHDR width
  CHECK(!fs::exists(dir.path / "loss_curves.gp.log"));

  std::vector<epoch_losses> wide = some_epochs(3);
  wide.push_back({4, 0.01, 0.009, 0.01});
  loss_curves(dir.path / "wide", wide);
  CHECK(contains(slurp(dir.path / "wide" / "loss_curves.gp"), "set logscale y"));
}

TEST_CASE("rho_hat histogram: explicit zero bin, log bins, sanitised site name", "[figures]") {
  temp_dir dir("rho");
  const std::vector<double> rho{0.0, 0.0, 1e-7, 0.5, 2.0, NAN};
  const bool made = rho_hat_histogram(dir.path, "enc/relu 1", rho);
  const fs::path dat_path = dir.path / "rho_hat_enc_relu_1.dat";
  const fs::path gp_path = dir.path / "rho_hat_enc_relu_1.gp";
  REQUIRE(fs::exists(dat_path));
  REQUIRE(fs::exists(gp_path));
  CHECK(made == !find_program("gnuplot").empty());
  CHECK(fs::exists(dir.path / "rho_hat_enc_relu_1.png") == made);

  const std::string gp = slurp(gp_path);
  CHECK(contains(gp, "set output 'rho_hat_enc_relu_1.png'"));
  CHECK(contains(gp, "plot 'rho_hat_enc_relu_1.dat'"));
  CHECK(contains(gp, "2 units with rho_hat = 0"));
  CHECK(contains(gp, "1 below 1e-6"));
  CHECK(contains(gp, "1 NaN left out"));
  CHECK(contains(gp, "'0' -7"));      // the zero bar's tick
  CHECK(contains(gp, "'10' 1"));      // 2.0 extends the axis by a decade

  // Rows: "x width lo hi count"; block 0 is the zero bin, block 1 the log bins.
  std::istringstream in(slurp(dat_path));
  std::string line;
  int block = 0, blank_run = 0, log_bins = 0;
  long zero_count = -1, log_total = 0, first_bin = -1;
  double first_lo = 0, last_hi = 0;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (++blank_run == 2) ++block;
      continue;
    }
    blank_run = 0;
    if (line[0] == '#') continue;
    std::istringstream row(line);
    double x, width, lo, hi;
    long count;
    REQUIRE(static_cast<bool>(row >> x >> width >> lo >> hi >> count));
    if (block == 0) {
      zero_count = count;
    } else {
      if (log_bins == 0) first_lo = lo, first_bin = count;
      last_hi = hi;
      log_total += count;
      ++log_bins;
    }
  }
  CHECK(zero_count == 2);
  CHECK(log_total == 3);
  CHECK(first_bin == 1);  // 1e-7 joins the first bin
  CHECK(log_bins == 7 * 4);
  CHECK(first_lo == Approx(1e-6));
  CHECK(last_hi == Approx(10.0));
}

TEST_CASE("firing density: dead units apart, log bins from the decade of 1 / inputs", "[figures]") {
  temp_dir dir("firing");
  // 100 test inputs: fractions are multiples of 0.01, so the axis starts at 10^-2.
  const std::vector<double> fraction{0.0, 0.0, 0.0, 0.01, 0.02, 0.5, 1.0};
  const bool made = firing_density(dir.path, "hidden", fraction, 100);
  // Bins [10^(-2 + k/4), 10^(-2 + (k+1)/4)): 0.01 -> 0, 0.02 (log -1.70) -> 1,
  // 0.5 (log -0.30) -> 6, 1.0 joins the last bin, 7.
  CHECK(plotted_dat(dir.path, "firing_density_hidden", made) ==
        "# Histogram of per-unit firing fraction at site 'hidden': 7 units, 100 test inputs\n"
        "# x: bar centre on the plot's log10 axis; width in decades; bin [lo, hi)\n"
        "# index 0: dead units (firing fraction 0); index 1: 4 log-spaced bins per decade\n"
        "# x width lo hi count\n"
        "-3 0.5 0 0 3\n\n\n"
        "-1.875 0.25 0.01 0.017782794 1\n"
        "-1.625 0.25 0.017782794 0.031622777 1\n"
        "-1.375 0.25 0.031622777 0.056234133 0\n"
        "-1.125 0.25 0.056234133 0.1 0\n"
        "-0.875 0.25 0.1 0.17782794 0\n"
        "-0.625 0.25 0.17782794 0.31622777 0\n"
        "-0.375 0.25 0.31622777 0.56234133 1\n"
        "-0.125 0.25 0.56234133 1 1\n");
  const std::string gp = slurp(dir.path / "firing_density_hidden.gp");
  CHECK(contains(gp, "set output 'firing_density_hidden.png'"));
  CHECK(contains(gp, "plot 'firing_density_hidden.dat'"));
  CHECK(contains(gp, "'3 dead units (active on no test input) (bar '"));
  CHECK(contains(gp, "set xtics ('0' -3, '10^{-2}' -2, '10^{-1}' -1, '1' 0)"));

  // 10000 inputs (MNIST's test set): the axis reaches 10^-4.
  firing_density(dir.path, "conv 1", std::vector<double>{1e-4, 0.0}, 10000);
  CHECK(contains(slurp(dir.path / "firing_density_conv_1.dat"), "\n-3.875 0.25 0.0001 0.00017782794 1\n"));
}

TEST_CASE("sparsity curves: two columns per site, one row per epoch, quoted titles", "[figures]") {
  temp_dir dir("sparsity");
  const std::vector<std::string> sites{"hidden", "it's"};
  const std::vector<epoch_sparsity> epochs{{1, {12.5, 3}, {0.25, 0.5}}, {2, {10, 2.5}, {0.375, 0.5}}, {3, {8}, {0.5}}};
  const bool made = sparsity_curves(dir.path, sites, epochs);
  CHECK(plotted_dat(dir.path, "sparsity_curves", made) ==
        "# saelab sparsity per epoch on the test set, two columns per site (NaN: not measured)\n"
        "# epoch l0[hidden] dead_fraction[hidden] l0[it's] dead_fraction[it's]\n"
        "1 12.5 0.25 3 0.5\n"
        "2 10 0.375 2.5 0.5\n"
        "3 8 0.5 NaN NaN\n");
  // L0 panel from columns 2, 4; dead fraction panel (in %) from 3, 5; site
  // names as quoted gnuplot strings.
  const std::string gp = slurp(dir.path / "sparsity_curves.gp");
  for (const char* part : {"set output 'sparsity_curves.png'", "set multiplot layout 2,1",
                           "plot 'sparsity_curves.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.7 title 'hidden'",
                           "'' using 1:4 with linespoints lw 2 pt 7 ps 0.7 title 'it'.\"'\".'s'",
                           "plot 'sparsity_curves.dat' using 1:(100 * $3)", "'' using 1:(100 * $5)"}) {
    INFO(part);
    CHECK(contains(gp, part));
  }
}

TEST_CASE("step loss: one row per logged step, log y over a decade", "[figures]") {
  temp_dir dir("step_loss");
  const std::vector<step_loss> steps{{10, 0.5, 0.45}, {20, 0.25, 0.24}, {30, std::nan(""), 0.2}};
  const bool made = step_loss_curve(dir.path, steps);
  const std::string header = "# saelab training loss per logged step (NaN: not measured)\n# step loss reconstruction\n";
  CHECK(plotted_dat(dir.path, "step_loss", made) == header + "10 0.5 0.45\n20 0.25 0.24\n30 NaN 0.2\n");
  const std::string gp = slurp(dir.path / "step_loss.gp");
  CHECK(contains(gp, "plot 'step_loss.dat' using 1:2 with lines lw 2 title 'loss (with penalty)'"));
  CHECK(!contains(gp, "logscale"));  // 0.2 .. 0.5
  step_loss_curve(dir.path / "wide", std::vector<step_loss>{{1, 2.0, 1.9}, {2, 0.1, 0.09}});
  CHECK(contains(slurp(dir.path / "wide" / "step_loss.gp"), "set logscale y"));
}

TEST_CASE("most active units: by firing fraction, highest first, ties in unit order", "[figures]") {
  const std::vector<double> fraction{0.1, 0.0, 0.7, 0.1, 0.9, 0.0};
  CHECK(most_active_units(fraction, 4) == std::vector<int>{4, 2, 0, 3});
  CHECK(most_active_units(fraction, 100) == std::vector<int>{4, 2, 0, 3, 1, 5});
  CHECK(most_active_units(fraction, 0).empty());
}

TEST_CASE("without gnuplot on PATH: .dat and .gp stay, no PNG, no throw", "[figures]") {
  temp_dir dir("nognuplot");
  fs::create_directories(dir.path / "empty_bin");
  bool loss_made = true, rho_made = true;
  {
    path_override path((dir.path / "empty_bin").string());
    CHECK(find_program("gnuplot").empty());
    REQUIRE_NOTHROW(loss_made = loss_curves(dir.path / "figures", some_epochs(3)));
    REQUIRE_NOTHROW(rho_made = rho_hat_histogram(dir.path / "figures", "conv1", std::vector<double>{0.1, 0.0}));
  }
  CHECK(!loss_made);
  CHECK(!rho_made);
  CHECK(fs::exists(dir.path / "figures" / "loss_curves.dat"));
  CHECK(fs::exists(dir.path / "figures" / "loss_curves.gp"));
  CHECK(!fs::exists(dir.path / "figures" / "loss_curves.png"));
  CHECK(fs::exists(dir.path / "figures" / "rho_hat_conv1.dat"));
  CHECK(fs::exists(dir.path / "figures" / "rho_hat_conv1.gp"));
  CHECK(!fs::exists(dir.path / "figures" / "rho_hat_conv1.png"));
}

TEST_CASE("a failing gnuplot returns false, keeps its log and leaves no PNG", "[figures]") {
  temp_dir dir("badgnuplot");
  const fs::path bin = dir.path / "bin";
  fs::create_directories(bin);
  {
    std::ofstream fake(bin / "gnuplot");
    // Runs in the figures directory, leaves a partial PNG as gnuplot does, fails.
    fake << "#!/bin/sh\necho partial > loss_curves.png\necho \"fake gnuplot cannot render $1\" >&2\nexit 1\n";
  }
  fs::permissions(bin / "gnuplot", fs::perms::owner_all);
  const fs::path figs = dir.path / "figures";
  fs::create_directories(figs);
  std::ofstream(figs / "loss_curves.png") << "stale";
  bool made = true;
  {
    path_override path(bin.string());
    CHECK(find_program("gnuplot") == bin / "gnuplot");
    REQUIRE_NOTHROW(made = loss_curves(figs, some_epochs(2)));
  }
  CHECK(!made);
  CHECK(!fs::exists(figs / "loss_curves.png"));
  CHECK(contains(slurp(figs / "loss_curves.gp.log"), "cannot render loss_curves.gp"));
}

TEST_CASE("real gnuplot failing on an empty table leaves no PNG", "[figures]") {
  if (find_program("gnuplot").empty()) return;  // covered by the fake gnuplot above
  temp_dir dir("empty");
  CHECK(!loss_curves(dir.path, std::vector<epoch_losses>{}));
  CHECK(fs::exists(dir.path / "loss_curves.gp"));
  CHECK(!fs::exists(dir.path / "loss_curves.png"));
}

TEST_CASE("figures into an unwritable place throw, naming the path", "[figures]") {
  temp_dir dir("unwritable");
  std::ofstream(dir.path / "not_a_dir") << "x";
  const fs::path bad = dir.path / "not_a_dir" / "figures";
  try {
    loss_curves(bad, some_epochs(2));
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(bad.string()));
  }
  tensor<float> x({1, 1, 4, 4});
  CHECK_THROWS_AS(reconstruction_figure(bad, x, x), std::runtime_error);
}
