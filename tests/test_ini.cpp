#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "config/ini.hpp"
#include <fstream>

#include "temp_dir.hpp"

using namespace saelab;
using saelab::testing::temp_dir;

TEST_CASE("read_ini: sections, entries with their lines, comments, repeats and malformed lines", "[ini]") {
  const ini_text t = read_ini(
      "# header\n"
      "top = 1\n"
      "[model]   # a comment after a header\n"
      "  hidden =  12  # trailing comment\n"
      "empty =\n"
      "[ sparsity ]\n"
      "rho = 0.1\r\n"
      "rho = 0.2\n"
      "[model]\n"
      "hidden = 13\n"
      "no equals sign\n"
      "= 5\n"
      "[broken\n"
      "after = x");  // no final newline
  REQUIRE(t.sections.size() == 4);
  CHECK(t.sections[1].name == "sparsity");
  CHECK(t.sections[1].line == 6);
  CHECK_FALSE(t.sections[3].well_formed);

  REQUIRE(t.entries.size() == 7);
  CHECK(t.entries[0].dotted() == "top");
  CHECK(t.entries[0].section == -1);
  CHECK(t.entries[1].dotted() == "model.hidden");
  CHECK(t.entries[1].value == "12");
  CHECK(t.entries[1].line == 4);
  CHECK(t.entries[2].value.empty());
  CHECK(t.entries[3].value == "0.1");  // the '\r' of a CRLF line is a blank
  CHECK(t.entries[3].first_line == 0);
  CHECK(t.entries[4].first_line == 7);  // rho again, in the same section
  CHECK(t.entries[5].dotted() == "model.hidden");
  CHECK(t.entries[5].first_line == 4);  // in a repeated section
  CHECK(t.entries[5].section == 2);
  CHECK(t.entries[6].line == 14);

  REQUIRE(t.problems.size() == 3);
  CHECK(t.problems[0].line == 11);
  CHECK(t.problems[0].text == "no equals sign");
  CHECK(t.problems[0].message == "expected 'key = value'");
  CHECK(t.problems[1].message == "no key before '='");
  CHECK(t.problems[2].line == 13);
  CHECK(t.problems[2].message == "expected a section header like [name]");
}

TEST_CASE("ini_values reads back what to_ini writes; a repeated key keeps its last value", "[ini]") {
  experiment_config c;
  c.sparsity.rho = 0.25;
  c.run.name = "abc";
  const auto v = ini_values(to_ini(c));
  CHECK(v.at("sparsity.rho") == "0.25");
  CHECK(v.at("run.name") == "abc");
  CHECK(v.at("run.out").empty());
  CHECK(v.size() == config_keys().size());
  CHECK(ini_values("[a]\nb = 1\nb = 2\n").at("a.b") == "2");
}

TEST_CASE("a config file's malformed line is reported with its line number", "[ini][config]") {
  const temp_dir dir("ini_line");
  const std::string path = (dir / "x.ini").string();
  std::ofstream(path) << "[model]\nhidden = 12\n[train]\nepochs 3\n";
  CHECK_THROWS_WITH(load_config(path, {}), Catch::Contains(path + ": invalid line 'epochs 3' (line 4)"));
}
