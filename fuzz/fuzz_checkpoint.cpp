// libFuzzer target: checkpoint loading (lib/experiment/checkpoint.*), as a
// resume does it: the metadata, the stored config, then the tensors into a
// model, optimiser and rng (checkpoint_fixture.hpp). HDF5 opens files by
// name, so each input is written to a file first. Seeds:
// fuzz/corpus/fuzz_checkpoint/ (fuzz/write_seed_checkpoint writes one).

#include <cstdint>
#include <cstdlib>

#include "checkpoint_fixture.hpp"
#include "fuzz_input.hpp"

using namespace saelab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::fuzz_file file("model.h5");
  static fuzz::checkpoint_fixture s;
  const auto& path = file.write(data, size);
  try {
    const checkpoint_info info = read_checkpoint_info(path);
    (void)stored_config(info, path);
    (void)load_checkpoint(path, *s.net, s.opt.get(), &s.r);
  } catch (const checkpoint_error& e) {
    fuzz::expect_message(e);
  }
  return 0;
}
