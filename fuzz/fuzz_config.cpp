// libFuzzer target: the config parser (lib/config/config.*). The input is an
// INI file, optionally followed by a NUL byte and command-line override
// tokens, one per line. A config that loads must survive to_ini and load
// back equal, as config.hpp promises. Seeds: fuzz/corpus/fuzz_config/.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "fuzz_input.hpp"

using namespace saelab;

namespace {

std::vector<std::string> tokens_of(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto nl = s.find('\n');
    out.emplace_back(s.substr(0, nl));
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::fuzz_file file("fuzz.ini"), again("again.ini");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view ini = input.substr(0, nul);
  const std::vector<std::string> overrides =
      nul == std::string_view::npos ? std::vector<std::string>() : tokens_of(input.substr(nul + 1));
  const std::string path = file.write(data, ini.size()).string();
  experiment_config c;
  try {
    c = load_config(path, overrides);
  } catch (const config_error& e) {
    fuzz::expect_message(e);
    return 0;
  }
  // Every loaded config is writable, and reads back as itself.
  const std::string text = to_ini(c);
  const auto& written = again.write(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  if (!(load_config(written.string(), {}) == c)) std::abort();
  return 0;
}
