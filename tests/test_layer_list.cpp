// model.layers: the text a researcher writes, parsed and checked before any
// model is built.

#include <catch2/catch.hpp>

#include "config/layer_list.hpp"

using namespace saelab;
using Catch::Matchers::Contains;

namespace {
std::string error_of(const std::string& text) {
  try {
    (void)parse_layer_list(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("layer list: arguments, options, defaults and sites", "[layer_list]") {
  const auto l = parse_layer_list("conv(8, 3) relu@conv1, conv(32, 5, stride=2), maxpool(2)@pool,convT(1, 8, outpad=1)");
  REQUIRE(l.size() == 5);
  CHECK(l[0].kind == "conv");
  CHECK(l[0].args == std::vector<std::int64_t>{8, 3, 1, 0});  // out, k, stride, pad
  CHECK(l[1].kind == "relu");
  CHECK(l[1].site == "conv1");
  CHECK(l[2].arg("stride") == 2);
  CHECK(l[3].arg("k") == 2);
  CHECK(l[3].arg("stride") == 2);  // maxpool's stride defaults to its kernel
  CHECK(l[3].site == "pool");
  CHECK(l[4].args == std::vector<std::int64_t>{1, 8, 1, 0, 1});
  CHECK(parse_layer_list("maxpool(3, 1)")[0].arg("stride") == 1);
  CHECK(parse_layer_list("conv(4, k=3, pad=1)")[0].args == std::vector<std::int64_t>{4, 3, 1, 1});
}

TEST_CASE("layer list: the canonical text reads back to the same list", "[layer_list]") {
  for (const std::string text : {"linear(1024) sigmoid@hidden, linear(784)",
                                 "conv(8, 3) relu@conv1, conv(32, 5, stride=2) relu@conv3, maxpool(2)@pool, convT(1, 8)",
                                 "maxpool(3, stride=1) convT(2, 4, stride=2, pad=1, outpad=1)"}) {
    const auto l = parse_layer_list(text);
    CHECK(layer_list_text(l) == text);
    const auto again = parse_layer_list(layer_list_text(l));
    REQUIRE(again.size() == l.size());
    for (std::size_t i = 0; i < l.size(); ++i) {
      CHECK(again[i].kind == l[i].kind);
      CHECK(again[i].args == l[i].args);
      CHECK(again[i].site == l[i].site);
    }
  }
  // Spelled-out defaults are dropped, blanks and commas normalised.
  CHECK(layer_list_text(parse_layer_list(" conv( 8 ,3, stride = 1 )  ,  relu ")) == "conv(8, 3) relu");
}

TEST_CASE("layer list: every malformed layer is named with what was expected", "[layer_list]") {
  CHECK_THAT(error_of("linear(10) tanh"), Contains("layer 2 'tanh'") && Contains("unknown layer 'tanh'") &&
                                              Contains("linear, conv, convT, maxpool, relu, sigmoid"));
  CHECK_THAT(error_of("conv(8)"), Contains("layer 1 'conv(8)'") && Contains("k is missing") &&
                                      Contains("conv(out, k, stride=.., pad=..)"));
  CHECK(parse_layer_list("conv(8, 3, pad=0)")[0].arg("pad") == 0);
  // Each text with a part of its message.
  const std::pair<const char*, const char*> cases[] = {
      {"", "no layers"},
      {"linear(10, 3)", "too many arguments"},
      {"conv(8, 3, strid=2)", "no argument 'strid'"},
      {"conv(8, 3, stride=2, 1)", "positional argument after a named one"},
      {"conv(8, 3, k=3)", "k given twice"},
      {"linear(0)", "out = '0': expected an integer in [1, 1048576]"},
      {"linear(2000000)", "expected an integer in [1, 1048576]"},
      {"linear(ten)", "out = 'ten'"},
      {"conv(8, 3, stride=0)", "stride = '0': expected an integer in [1, 1048576]"},
      {"conv(8, 3, pad=-1)", "pad = '-1'"},
      {"conv(8, 3", "unbalanced parentheses"},
      {"relu)", "unbalanced parentheses"},
      {"relu@", "site name '' is not a name"},
      {"relu@all", "not 'all'"},
      {"relu@1st", "site name '1st'"},
      {"relu@a, relu@a", "layer 2 'relu@a': site 'a' is named twice"},
      {"relu(3)", "too many arguments"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    CHECK_THAT(error_of(text), Contains(message));
  }
  CHECK_THAT(error_of("linear(1\n0)"), Contains("'linear(1\\n0)'"));  // control characters shown escaped
}
