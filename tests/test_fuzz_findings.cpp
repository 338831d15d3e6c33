// Inputs the fuzzers in fuzz/ found (docs/fuzzing.md), kept as bytes so each
// finding stays fixed. Some only fail under the sanitizer build (build-asan):
// their bug is undefined behaviour that a release build happens to survive.

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "data/idx.hpp"
#include "temp_dir.hpp"

using namespace saelab;
using saelab::testing::temp_dir;
using Catch::Matchers::Contains;

namespace {

void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

}  // namespace

// fuzz_config: boost matched the empty key against every option's empty short
// name and threw ambiguous_option, which is no config_error.
TEST_CASE("fuzz_config: an override with an empty key is an unknown key", "[fuzz][config]") {
  for (const std::vector<std::string>& tokens : {std::vector<std::string>{"= bce"}, {"--=5"}, {"--", "5"}}) {
    INFO(tokens.front());
    try {
      (void)load_config("", tokens);
      FAIL("accepted");
    } catch (const config_error& e) {
      CHECK_THAT(e.what(), Contains("command line: unknown key ''"));
    }
  }
}

// fuzz_idx: the dimension product overflowed int64 before the side check
// refused the header (UBSan: signed integer overflow).
TEST_CASE("fuzz_idx: a header of 2^32-1 in every dimension is refused without overflow", "[fuzz][idx]") {
  temp_dir tmp("fuzz_idx_overflow");
  write_bytes(tmp / "images", {0x00, 0x00, 0x08, 0x03, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK_THROWS_WITH(read_idx_images((tmp / "images").string()), Contains("rows and cols must be at most"));
  write_bytes(tmp / "labels", {0x00, 0x00, 0x08, 0x01, 0xff, 0xff, 0xff, 0xff});
  CHECK_THROWS_WITH(read_idx_labels((tmp / "labels").string()), Contains("more than the limit"));
}
