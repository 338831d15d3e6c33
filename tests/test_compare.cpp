// sae-compare's analysis on hand-made sweeps: seeds averaged per setting,
// Pareto frontiers, activity at matched test BCE, and the written report.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "sweep/compare.hpp"
#include "sweep/compare_report.hpp"
#include "sweep/csv.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::slurp;
using saelab::testing::temp_dir;
using Catch::Matchers::WithinAbs;

namespace {

// A summary.csv as sae-sweep writes it, one site "hidden" of 100 units.
struct summary_builder {
  csv_table t{{"index", "id", "label", "seed", "sparsity.kind", "sparsity.rho", "sparsity.beta", "sparsity.lambda",
               "kind", "weight", "rho", "status", "epochs", "seconds", "test_bce", "test_mse", "hidden.units",
               "hidden.l0", "hidden.dead_fraction", "hidden.dense_fraction", "hidden.population_sparsity",
               "hidden.lifetime_sparsity", "hidden.mean_when_active", "hidden.rho_hat_median", "run_dir"},
              {}};
  void kl(double rho, double beta, int seed, double bce, double l0, double dead = 0, const char* status = "done") {
    add("kl", fmt::format("{}", rho), fmt::format("{}", beta), "", fmt::format("{}", beta), fmt::format("{}", rho),
        seed, bce, l0, dead, status);
  }
  void l1(double lambda, int seed, double bce, double l0, double dead) {
    add("l1", "", "", fmt::format("{}", lambda), fmt::format("{}", lambda), "", seed, bce, l0, dead, "done");
  }
  void add(const std::string& kind, const std::string& rho, const std::string& beta, const std::string& lambda,
           const std::string& weight, const std::string& rho_col, int seed, double bce, double l0, double dead,
           const char* status) {
    const std::size_t i = t.rows.size();
    const std::string id = fmt::format("{:03}-{}-s{}", i, kind, seed);
    const bool done = std::string(status) == "done";
    auto v = [&](double x) { return done ? fmt::format("{}", x) : std::string(); };
    t.rows.push_back({std::to_string(i), id, kind, std::to_string(seed), kind, rho, beta, lambda, kind, weight,
                      rho_col, status, done ? "10" : "", v(12.5), v(bce), v(bce / 10), "100", v(l0), v(dead),
                      v(0.05), v(l0 / 200), v(0.3), v(0.4), v(l0 / 1000), "runs/" + id});
  }
};

const setting_stats& find(const std::vector<setting_stats>& s, const std::string& setting) {
  for (const auto& x : s)
    if (x.setting == setting) return x;
  FAIL("no setting " << setting);
  return s.front();
}

}  // namespace

TEST_CASE("pareto_front keeps the non-dominated points, sorted by x", "[compare]") {
  const double nan = std::nan("");
  const std::vector<std::pair<double, double>> pts = {
      {1, 5}, {2, 3}, {3, 4}, {4, 1}, {4, 2}, {0.5, nan}, {2, 3}, {5, 1}};
  // (3,4) is dominated by (2,3); (4,2) by (4,1); (5,1) by (4,1); NaN never counts.
  CHECK(pareto_front(pts) == std::vector<std::size_t>{0, 1, 6, 3});
  CHECK(pareto_front({}).empty());
  CHECK(pareto_front({{1, 1}}) == std::vector<std::size_t>{0});
}

TEST_CASE("settings average their seeds; frontiers are per kind", "[compare]") {
  summary_builder b;
  b.kl(0.05, 0.001, 42, 0.09, 110);
  b.kl(0.05, 0.001, 43, 0.11, 90);  // the same setting, second seed
  b.kl(0.05, 0.01, 42, 0.12, 50);
  b.kl(0.05, 0.1, 42, 0.15, 60);  // dominated by beta 0.01
  b.kl(0.05, 0.3, 42, 0.5, 1, 0, "failed");  // not done: left out
  b.l1(1e-4, 42, 0.11, 90, 0.1);
  b.l1(1e-3, 42, 0.13, 30, 0.4);
  auto s = aggregate_settings(b.t, "hidden");
  REQUIRE(s.size() == 5);
  const auto& a = find(s, "rho=0.05 beta=0.001");
  CHECK(a.kind == "kl");
  CHECK(a.ids.size() == 2);
  CHECK_THAT(a.test_bce.mean, WithinAbs(0.10, 1e-12));
  CHECK_THAT(a.test_bce.sd, WithinAbs(std::sqrt(2 * 0.01 * 0.01), 1e-12));  // sample sd of 0.09 and 0.11
  CHECK_THAT(a.l0.mean, WithinAbs(100, 1e-12));
  CHECK(a.weight == 0.001);
  CHECK(a.rho == 0.05);
  CHECK(a.units == 100);
  CHECK(std::isnan(find(s, "rho=0.05 beta=0.01").test_bce.sd));  // one seed
  CHECK(find(s, "lambda=0.001").kind == "l1");

  mark_frontiers(s);
  CHECK(find(s, "rho=0.05 beta=0.001").on_l0_frontier);
  CHECK(find(s, "rho=0.05 beta=0.01").on_l0_frontier);
  CHECK_FALSE(find(s, "rho=0.05 beta=0.1").on_l0_frontier);
  // L1 settings do not compete with KL ones: both are on L1's frontier.
  CHECK(find(s, "lambda=0.0001").on_l0_frontier);
  CHECK(find(s, "lambda=0.001").on_l0_frontier);
  // Against dead units: KL's three are all at 0 dead, so only the best BCE stays.
  CHECK(find(s, "rho=0.05 beta=0.001").on_dead_frontier);
  CHECK_FALSE(find(s, "rho=0.05 beta=0.01").on_dead_frontier);

  CHECK_THROWS_WITH(aggregate_settings(b.t, "conv1"), Catch::Contains("no site 'conv1' (sites: hidden)"));
  CHECK(summary_sites(b.t) == std::vector<std::string>{"hidden"});
}

TEST_CASE("matched levels interpolate each frontier linearly in test BCE", "[compare]") {
  summary_builder b;
  b.kl(0.05, 1e-4, 42, 0.10, 100, 0.0);  // A
  b.kl(0.05, 1e-3, 42, 0.12, 50, 0.0);   // B
  b.kl(0.05, 1e-2, 42, 0.14, 20, 0.0);   // C
  b.kl(0.05, 1e-1, 42, 0.15, 60, 0.0);   // dominated
  b.l1(1e-4, 42, 0.11, 90, 0.1);         // D
  b.l1(1e-3, 42, 0.13, 30, 0.4);         // E
  b.l1(1e-2, 42, 0.16, 10, 0.8);         // F
  auto s = aggregate_settings(b.t, "hidden");
  mark_frontiers(s);
  // Shared BCE range: [max(0.10, 0.11), min(0.14, 0.16)] = [0.11, 0.14].
  const auto levels = match_levels(s, {"kl", "l1"}, 4);
  REQUIRE(levels.size() == 4);
  const double bce[] = {0.11, 0.12, 0.13, 0.14};
  const double kl_l0[] = {75, 50, 35, 20};
  const double l1_l0[] = {90, 60, 30, 30 - 20.0 / 3};
  const double l1_dead[] = {0.1, 0.25, 0.4, 0.4 + 0.4 / 3};
  for (int i = 0; i < 4; ++i) {
    INFO("level " << i);
    CHECK_THAT(levels[i].test_bce, WithinAbs(bce[i], 1e-12));
    CHECK(levels[i].method == "interpolated");
    REQUIRE(levels[i].by_kind.size() == 2);
    CHECK(levels[i].by_kind[0].kind == "kl");
    CHECK_THAT(levels[i].by_kind[0].values.l0, WithinAbs(kl_l0[i], 1e-9));
    CHECK_THAT(levels[i].by_kind[0].values.dead_fraction, WithinAbs(0, 1e-12));
    CHECK_THAT(levels[i].by_kind[1].values.l0, WithinAbs(l1_l0[i], 1e-9));
    CHECK_THAT(levels[i].by_kind[1].values.dead_fraction, WithinAbs(l1_dead[i], 1e-9));
    // Every metric goes along: population sparsity is l0 / 200 here.
    CHECK_THAT(levels[i].by_kind[1].values.population_sparsity, WithinAbs(l1_l0[i] / 200, 1e-9));
  }
  CHECK(levels[0].by_kind[0].from == "rho=0.05 beta=0.0001 .. rho=0.05 beta=0.001");
  CHECK(levels[1].by_kind[0].from == "rho=0.05 beta=0.001");

  // The matched pair: the smallest BCE gap relative to the BCE above the best
  // (0.10): C-E (0.14, 0.13) scores 0.01 / 0.035, better than A-D's 0.01 / 0.005.
  const auto pair = nearest_pair(s, "kl", "l1");
  REQUIRE(pair);
  CHECK(s[pair->first].setting == "rho=0.05 beta=0.01");
  CHECK(s[pair->second].setting == "lambda=0.001");

  // One kind alone: nothing to match.
  CHECK(match_levels(s, {"kl"}, 4).empty());
  CHECK(match_levels(s, {"kl", "none"}, 4).empty());
}

TEST_CASE("frontiers without a shared BCE range fall back to the nearest settings", "[compare]") {
  summary_builder b;
  b.kl(0.05, 1e-4, 42, 0.10, 100);
  b.kl(0.05, 1e-3, 42, 0.12, 50);
  b.l1(1e-3, 42, 0.20, 30, 0.4);
  b.l1(1e-2, 42, 0.30, 10, 0.8);
  auto s = aggregate_settings(b.t, "hidden");
  mark_frontiers(s);
  const auto levels = match_levels(s, {"kl", "l1"}, 5);
  REQUIRE(levels.size() == 1);
  CHECK(levels[0].method == "nearest");
  CHECK_THAT(levels[0].test_bce, WithinAbs(0.16, 1e-12));
  CHECK_THAT(levels[0].by_kind[0].values.l0, WithinAbs(50, 1e-12));
  CHECK_THAT(levels[0].by_kind[1].values.l0, WithinAbs(30, 1e-12));

  // The frontier pair closest in test BCE: KL 0.12 with L1 0.20.
  const auto pair = nearest_pair(s, "kl", "l1");
  REQUIRE(pair);
  CHECK(s[pair->first].setting == "rho=0.05 beta=0.001");
  CHECK(s[pair->second].setting == "lambda=0.001");
  CHECK_FALSE(nearest_pair(s, "kl", "seed_kl"));
}

TEST_CASE("write_comparison writes the report, tables and plot scripts", "[compare]") {
  temp_dir dir("compare_report");
  summary_builder b;
  b.kl(0.05, 1e-4, 42, 0.10, 100);
  b.kl(0.05, 1e-3, 42, 0.12, 50);
  b.kl(0.05, 1e-2, 42, 0.14, 20);
  b.l1(1e-4, 42, 0.11, 90, 0.1);
  b.l1(1e-3, 42, 0.13, 30, 0.4);
  std::ofstream(dir / "summary.csv") << to_csv(b.t);
  const auto out = write_comparison(dir.path, {});
  for (const char* f : {"comparison.md", "comparison.csv", "matched.csv", "figures/frontier_l0.dat",
                        "figures/frontier_l0.gp", "figures/frontier_dead.gp", "figures/activity_vs_weight.gp"})
    CHECK(fs::exists(dir / f));
  CHECK_FALSE(fs::exists(dir / "figures/rho_hat_matched.dat"));  // no run.h5 to read histograms from
  CHECK_THAT(out.text, Catch::Contains("Activity at matched test BCE"));
  CHECK_THAT(out.text, Catch::Contains("KL") && Catch::Contains("L1"));
  const std::string md = slurp(dir / "comparison.md");
  CHECK_THAT(md, Catch::Contains("## Activity at matched reconstruction loss"));
  CHECK_THAT(md, Catch::Contains("| L1 | lambda=0.001 | 1 | 0.13000 | 30.0 | 40.0% |"));
  const csv_table c = read_csv(dir / "comparison.csv");
  CHECK(c.rows.size() == 5);
  CHECK(c.rows[0][c.column("on_l0_frontier")] == "1");
  const csv_table m = read_csv(dir / "matched.csv");
  CHECK(m.rows.size() == 10);  // 5 levels, 2 kinds
  CHECK_THAT(slurp(dir / "figures/frontier_l0.gp"), Catch::Contains("'frontier_l0.dat' index 0"));

  // The matched pair's histograms need its runs' run.h5: said, not silently left out.
  REQUIRE(out.not_drawn.size() == 1);
  CHECK_THAT(out.not_drawn[0], Catch::Contains("rho_hat_matched.png: needs the run logs of") &&
                                   Catch::Contains("which are not here"));
  CHECK_THAT(out.text, Catch::Contains("Not drawn:"));
  CHECK(out.warnings.empty());

  // No summary: a clear error.
  temp_dir empty("compare_empty");
  CHECK_THROWS_WITH(write_comparison(empty.path, {}), Catch::Contains("no summary.csv"));
}

TEST_CASE("write_comparison does not silently rewrite a comparison.md with a figure it cannot draw now",
          "[compare]") {
  temp_dir dir("compare_committed");
  summary_builder b;
  b.kl(0.05, 1e-3, 42, 0.12, 50);
  b.l1(1e-3, 42, 0.13, 30, 0.4);
  std::ofstream(dir / "summary.csv") << to_csv(b.t);
  // As committed with a study: written when the runs were there.
  const std::string committed = "| rho_hat histograms of the matched pair | ![](figures/rho_hat_matched.png) |\n";
  std::ofstream(dir / "comparison.md") << committed;
  CHECK_THROWS_WITH(write_comparison(dir.path, {}),
                    Catch::Contains("comparison.md shows figures/rho_hat_matched.png, which cannot be drawn now") &&
                        Catch::Contains("nothing written"));
  CHECK(slurp(dir / "comparison.md") == committed);
  CHECK_FALSE(fs::exists(dir / "comparison.csv"));

  comparison_options force;
  force.force = true;
  const auto out = write_comparison(dir.path, force);
  REQUIRE(out.warnings.size() == 1);
  CHECK_THAT(out.warnings[0], Catch::Contains("rewritten without them"));
  CHECK_THAT(slurp(dir / "comparison.md"), !Catch::Contains("rho_hat_matched"));
  // Once rewritten, it shows nothing it would lose: no refusal, no warning.
  CHECK(write_comparison(dir.path, {}).warnings.empty());
}
