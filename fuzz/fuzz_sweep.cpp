// libFuzzer target: the sweep-file parser (lib/sweep/spec.*), through the
// file reader. A base config named in the input is looked up relative to
// the current directory and to the input's directory, as for a real sweep
// file. Seeds: fuzz/corpus/fuzz_sweep/.

#include <cstdint>
#include <cstdlib>

#include "fuzz_input.hpp"
#include "sweep/spec.hpp"

using namespace saelab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::fuzz_file file("sweep.ini");
  const auto& path = file.write(data, size);
  try {
    const sweep_spec spec = read_sweep_file(path);
    // What a parsed spec promises its users (plan.cpp).
    if (spec.sections.empty() || spec.seeds < 1 || spec.name.empty() || spec.base.empty()) std::abort();
    for (const sweep_axis& a : spec.fixed)
      if (a.values.size() != 1) std::abort();
    for (const sweep_section& s : spec.sections)
      for (const sweep_axis& a : s.axes)
        if (a.values.empty()) std::abort();
  } catch (const sweep_error& e) {
    fuzz::expect_message(e);
  }
  return 0;
}
