#include <catch2/catch.hpp>

#include "experiment/progress.hpp"

using saelab::fit_to_width;
using saelab::format_duration;

TEST_CASE("a progress line is cut to the terminal's width minus one column", "[progress]") {
  const std::string line(70, 'x');
  CHECK(fit_to_width(line, 60).size() == 59);  // 60 columns: a 60th character would wrap on some terminals
  CHECK(fit_to_width(line, 71) == line);
  CHECK(fit_to_width(line, 70).size() == 69);
  CHECK(fit_to_width(line, 0) == line);        // width unknown: unchanged
  CHECK(fit_to_width("", 1).empty());
}

TEST_CASE("durations print as m:ss or h:mm:ss", "[progress]") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(59.4) == "0:59");
  CHECK(format_duration(59.6) == "1:00");
  CHECK(format_duration(3725) == "1:02:05");
}

TEST_CASE("wrap_items keeps lines within the width", "[progress]") {
  CHECK(saelab::wrap_items({}, 4, 20).empty());
  CHECK(saelab::wrap_items({"aaa", "bbb"}, 2, 20) == "  aaa  bbb\n");
  // 2 + 5 + 2 + 5 = 14 fits 14; a third item goes on the next line.
  CHECK(saelab::wrap_items({"aaaaa", "bbbbb", "ccccc"}, 2, 14) == "  aaaaa  bbbbb\n  ccccc\n");
  CHECK(saelab::wrap_items({"aaaaa", "bbbbb"}, 2, 13) == "  aaaaa\n  bbbbb\n");
  // Too long for any line: alone on its own.
  CHECK(saelab::wrap_items({"x", "a-very-long-item", "y"}, 1, 8) == " x\n a-very-long-item\n y\n");
}
