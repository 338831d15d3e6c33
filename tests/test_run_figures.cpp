// The end-of-run figures a trained run leaves in DIR/figures: the firing
// density per site, the sparsity curves over every logged epoch (a resume
// included) and the fc filters of the most active units.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "experiment/runner.hpp"
#include "fake_mnist.hpp"
#include "log/h5.hpp"
#include "report/gnuplot.hpp"
#include "report/run_figures.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using namespace saelab::testing;

TEST_CASE("a resumed fc run writes firing densities, sparsity curves of all epochs, most active filters",
          "[figures][run]") {
  temp_dir tmp("run_figures");
  write_fake_mnist(tmp / "mnist", 96, 32);
  const experiment_config cfg =
      load_config("", {"--model.hidden=16", "--model.hidden_activation=relu", "--sparsity.kind=l1", "--train.epochs=1",
                       "--train.batch_size=32", "--run.threads=1", "--data.dir=" + (tmp / "mnist").string(),
                       "--run.out=" + (tmp / "run").string()});
  run_options quiet;
  quiet.quiet = true;
  REQUIRE(run_experiment(cfg, quiet) == run_status::done);
  REQUIRE(resume_experiment(tmp / "run", {"--train.epochs=2"}, quiet) == run_status::done);

  const fs::path fig = tmp / "run" / "figures";
  const bool gnuplot = !find_program("gnuplot").empty();
  for (const char* stem : {"firing_density_hidden", "sparsity_curves", "step_loss"}) {
    INFO(stem);
    CHECK(fs::exists(fig / (std::string(stem) + ".dat")));
    CHECK(fs::exists(fig / (std::string(stem) + ".gp")));
    CHECK(fs::exists(fig / (std::string(stem) + ".png")) == gnuplot);
    CHECK(!fs::exists(fig / (std::string(stem) + ".gp.log")));
  }
  CHECK(fs::exists(fig / "rho_hat_hidden.dat"));  // the existing figures stay
  CHECK(fs::exists(fig / "loss_curves.dat"));
  CHECK(fs::exists(fig / "filters.png"));

  // Both epochs, the one before the resume included, as run.h5 logged them.
  auto f = h5::file::open_read(tmp / "run" / "run.h5");
  const auto l0 = h5::read<double>(f, "/sites/hidden/l0");
  const auto dead = h5::read<double>(f, "/sites/hidden/dead_fraction");
  REQUIRE(l0.size() == 2);
  const std::string dat = slurp(fig / "sparsity_curves.dat");
  CHECK(dat.find(fmt::format("\n1 {:.8g} {:.8g}\n", l0[0], dead[0])) != std::string::npos);
  CHECK(dat.find(fmt::format("\n2 {:.8g} {:.8g}\n", l0[1], dead[1])) != std::string::npos);

  // Every logged step of both epochs (3 steps each, logged every 2: steps 2, 4, 6).
  const auto steps = h5::read<std::int64_t>(f, "/steps/step");
  const auto losses = h5::read<double>(f, "/steps/loss");
  REQUIRE(!steps.empty());
  const std::string step_dat = slurp(fig / "step_loss.dat");
  CHECK(static_cast<std::size_t>(std::count(step_dat.begin(), step_dat.end(), '\n')) == 2 + steps.size());
  CHECK(step_dat.find(fmt::format("\n{} {:.8g} ", steps.back(), losses.back())) != std::string::npos);

  // filters.txt: the tiles' units, most often active (last epoch) first.
  const auto fraction_f32 = h5::read<float>(f, "/sites/hidden/active_fraction");  // [2, 16]
  REQUIRE(fraction_f32.size() == 32);
  std::istringstream caption(slurp(fig / "filters.txt"));
  std::string line;
  std::vector<int> units;
  std::vector<double> shown;
  while (std::getline(caption, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream row(line);
    int tile = 0, unit = 0;
    double fraction = 0;
    REQUIRE(static_cast<bool>(row >> tile >> unit >> fraction));
    CHECK(tile == static_cast<int>(units.size()));
    units.push_back(unit);
    shown.push_back(fraction);
    CHECK(fraction == Approx(fraction_f32[16 + static_cast<std::size_t>(unit)]));
  }
  REQUIRE(units.size() == 16);
  CHECK(std::is_sorted(shown.rbegin(), shown.rend()));
  std::vector<int> sorted = units;
  std::sort(sorted.begin(), sorted.end());
  for (int u = 0; u < 16; ++u) CHECK(sorted[static_cast<std::size_t>(u)] == u);
}
