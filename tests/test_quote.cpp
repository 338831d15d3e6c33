// Text from inputs on its way into scripts and INI files (report/quote):
// hostile site, kind and setting names in a summary.csv never run a command
// through the gnuplot scripts sae-compare writes, and hostile values never
// add a key to an INI file saelab writes.

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "experiment/runner.hpp"
#include "report/figures.hpp"
#include "report/gnuplot.hpp"
#include "report/quote.hpp"
#include "sweep/compare_report.hpp"
#include "sweep/csv.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::slurp;
using saelab::testing::temp_dir;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Names that would run `touch MARKER` if pasted raw into a gnuplot string,
// by a line break, by string concatenation, or by backquotes.
std::vector<std::string> hostile_names(const fs::path& marker) {
  const std::string touch = "system(\"touch " + marker.string() + "\")";
  return {"a'\n" + touch + "\n#", "a'." + touch + ".'", "a\r" + touch + "\r", "a`touch " + marker.string() + "`",
          "a\"\n" + touch + "\n\"", "a'\\''\n" + touch + "\n'"};
}

// A two-kind summary.csv (site `site`, kinds kl and `kind`), whose swept
// beta column holds `setting` in one row.
csv_table hostile_summary(const std::string& site, const std::string& kind, const std::string& setting) {
  csv_table t{{"index", "id", "label", "seed", "sparsity.beta", "kind", "weight", "rho", "status", "epochs", "seconds",
               "test_bce", "test_mse"},
              {}};
  for (const char* m : {"units", "l0", "dead_fraction", "dense_fraction", "population_sparsity", "lifetime_sparsity",
                        "mean_when_active", "rho_hat_median"})
    t.header.push_back(site + "." + m);
  t.header.push_back("run_dir");
  const struct {
    bool kl;
    const char* beta;
    double weight, bce, l0;
  } rows[] = {{true, "0.001", 0.001, 0.10, 100}, {true, "0.01", 0.01, 0.12, 50}, {false, "0.1", 0.1, 0.11, 80},
              {false, "1", 1, 0.13, 30}};
  int i = 0;
  for (const auto& r : rows) {
    const std::string k = r.kl ? "kl" : kind;
    const std::string beta = i == 3 ? setting : r.beta;
    t.rows.push_back({std::to_string(i), fmt::format("{:03}", i), k, "42", beta, k, fmt::format("{}", r.weight),
                      r.kl ? "0.05" : "", "done", "10", "1.5", fmt::format("{}", r.bce), "0.01", "100",
                      fmt::format("{}", r.l0), "0.1", "0.05", "0.3", "0.4", "0.5", "0.02", fmt::format("runs/{:03}", i)});
    ++i;
  }
  return t;
}

int run_gnuplot_in(const fs::path& dir, const fs::path& script) {
  const std::string cmd = fmt::format("cd {} && gnuplot {} > /dev/null 2>&1", shell_quote(dir.string()),
                                      shell_quote(script.filename().string()));
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("quote: each language's form of hostile text", "[quote]") {
  CHECK(gnuplot_quote("it's") == R"('it'."'".'s')");
  CHECK(gnuplot_quote("''") == R"(''."'".''."'".'')");
  CHECK(gnuplot_quote("a\nb\r\x1b" "c") == "'a?b??c'");
  CHECK(gnuplot_data_string("a\"b\nc") == "\"a'b?c\"");
  CHECK(shell_quote("plain/path-1.ini") == "plain/path-1.ini");
  CHECK(shell_quote("it's here") == "'it'\\''s here'");
  CHECK(shell_quote("") == "''");
  CHECK(one_line("a\nb\tc\x7f") == "a?b?c?");
  CHECK(slurm_job_name("kl vs l1;\n$(x)") == "kl_vs_l1____x_");
  CHECK_NOTHROW(check_slurm_path("--out", "/scratch/u/sweeps/kl-vs-l1_2"));
  for (const char* bad : {"/a b", "/a\nb", "/a#b", "/a%b", "/a\"b", "/a'b", "/a\\b"})
    CHECK_THROWS_WITH(check_slurm_path("--out", bad), Catch::StartsWith("--out '"));
  CHECK_THROWS_WITH(check_script_line("the sweep file", "/a\nb.ini"),
                    Catch::Contains("the sweep file '/a?b.ini' holds a line break"));
  CHECK(ini_value_problem("a;b=c [d] \"e\"").empty());
  for (const char* bad : {"a#b", "a\nb", "a\rb", " a", "a ", "a\tb"}) CHECK_FALSE(ini_value_problem(bad).empty());
}

TEST_CASE("quote: the shell reads shell_quote back as the same single word", "[quote]") {
  temp_dir dir("quote_shell");
  for (const std::string word : {"plain", "two words", "it's", "a'\\''b", "$(touch X)", "`touch X`", "a\nb", "*", "-n",
                                 "\"q\"", "back\\slash", ""}) {
    INFO(word);
    const fs::path out = dir / "out";
    const std::string cmd = "printf '%s' " + shell_quote(word) + " > " + shell_quote(out.string());
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(slurp(out) == word);
    CHECK_FALSE(fs::exists(dir / "X"));
  }
}

TEST_CASE("sae-compare: hostile site, kind and setting names run nothing through gnuplot", "[quote][compare]") {
  const bool have_gnuplot = !find_program("gnuplot").empty();
  int cases = 0;
  for (int where = 0; where < 3; ++where) {
    temp_dir dir(fmt::format("quote_compare_{}", where));
    const fs::path marker = dir / "PWNED";
    for (const std::string& evil : hostile_names(marker)) {
      INFO("name " << (where == 0 ? "site" : where == 1 ? "kind" : "setting") << ": " << evil);
      fs::remove_all(dir / "figures");
      const csv_table t = hostile_summary(where == 0 ? evil : "hidden", where == 1 ? evil : "l1",
                                          where == 2 ? evil : "1");
      { std::ofstream(dir / "summary.csv") << to_csv(t); }
      comparison_options opt;
      opt.site = where == 0 ? evil : "";
      REQUIRE_NOTHROW(write_comparison(dir.path, opt));
      for (const char* stem : {"frontier_l0", "frontier_dead", "activity_vs_weight"}) {
        const fs::path gp = dir / "figures" / (std::string(stem) + ".gp");
        REQUIRE(fs::exists(gp));
        // Every line of the script is one of ours: no line starts with the payload.
        for (const auto& line : lines_of(slurp(gp))) CHECK(line.rfind("system", 0) == std::string::npos);
        // Every line of the data file is a comment, a blank or numbers (+ one string column).
        for (const auto& line : lines_of(slurp(dir / "figures" / (std::string(stem) + ".dat"))))
          CHECK((line.empty() || line[0] == '#' || line.find_first_of("0123456789-") == 0));
        if (have_gnuplot) {
          CHECK(run_gnuplot_in(dir / "figures", gp) == 0);
          CHECK(fs::exists(dir / "figures" / (std::string(stem) + ".png")));
        }
        CHECK_FALSE(fs::exists(marker));
        ++cases;
      }
    }
  }
  CHECK(cases == 3 * 6 * 3);
}

TEST_CASE("rho_hat histogram: a hostile site name stays in one comment line of the data", "[quote][figures]") {
  temp_dir dir("quote_rho_hat");
  const fs::path marker = dir / "PWNED";
  const std::vector<double> rho{0.0, 0.01, 0.1};
  for (const std::string& evil : hostile_names(marker)) {
    INFO(evil);
    const bool made = rho_hat_histogram(dir.path, evil, rho);
    if (!find_program("gnuplot").empty()) CHECK(made);  // the quoted title is valid gnuplot
    for (const auto& e : fs::directory_iterator(dir.path)) {
      if (e.path().extension() != ".dat") continue;
      for (const auto& line : lines_of(slurp(e.path())))
        CHECK((line.empty() || line[0] == '#' || line.find_first_of("0123456789-") == 0));
    }
    CHECK_FALSE(fs::exists(marker));
  }
}

TEST_CASE("INI: hostile values round-trip through to_ini or are refused with one clear line", "[quote][config]") {
  temp_dir dir("quote_ini");
  int round_trips = 0, refused = 0;
  for (const std::string value :
       {"a;b", "a=b", "[run]", "x = y", "a\"b'c", "semi;colon # hash", "a\nseed = 7", "a\r\n[train]\nepochs = 99",
        " lead", "trail ", "a#b", "tab\there", "\\n", "%(x)s", "${x}"}) {
    INFO(value);
    experiment_config c;
    try {
      c = load_config("", {"--data.dir=" + value});
    } catch (const config_error& e) {
      const std::string what = e.what();
      CHECK(what.find('\n') == std::string::npos);
      CHECK_THAT(what, Catch::Contains("data.dir") && Catch::Contains("cannot be written to an INI file"));
      ++refused;
      continue;
    }
    const fs::path ini = dir / "c.ini";
    { std::ofstream(ini) << to_ini(c); }
    const experiment_config back = load_config(ini.string(), {});
    CHECK(back.data.dir == value);
    CHECK(to_ini(back) == to_ini(c));
    ++round_trips;
  }
  CHECK(round_trips == 8);
  CHECK(refused == 7);
}

TEST_CASE("resolved.ini: a hostile run directory name stays inside its comment lines", "[quote][config]") {
  temp_dir dir("quote_resolved");
  experiment_config c;
  c.run.name = "tiny";
  for (const std::string d : {"runs/x\n[train]\nepochs = 99", "runs/x\r\nseed = 1", "runs/x\n#\n[run]\nname = evil"}) {
    INFO(d);
    const fs::path ini = dir / "resolved.ini";
    { std::ofstream(ini) << resolved_ini(c, d); }
    const experiment_config back = load_config(ini.string(), {});
    CHECK(to_ini(back) == to_ini(c));
  }
}

TEST_CASE("INI: a config file's hostile name becomes a run.name that round-trips", "[quote][config]") {
  temp_dir dir("quote_stem");
  for (const std::string stem : {"a#b", "x\ny = 1", " lead", "trail ", "tab\tname", "ok;=[x]"}) {
    INFO(stem);
    const fs::path file = dir / (stem + ".ini");
    { std::ofstream(file) << "[train]\nepochs = 1\n"; }
    experiment_config c = load_config(file.string(), {});
    CHECK(ini_value_problem(c.run.name).empty());
    CHECK(c.run.name.size() == stem.size());
    const fs::path ini = dir / "back.ini";
    { std::ofstream(ini) << to_ini(c); }
    CHECK(to_ini(load_config(ini.string(), {})) == to_ini(c));
  }
}
