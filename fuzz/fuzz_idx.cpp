// libFuzzer target: the IDX reader (lib/data/idx.*), plain and gzip, as
// images and as labels. Seeds: fuzz/corpus/fuzz_idx/.

#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "data/idx.hpp"
#include "fuzz_input.hpp"

using namespace saelab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::fuzz_file file("input-idx-ubyte");
  const std::string path = file.write(data, size).string();
  try {
    const tensor<float> images = read_idx_images(path);
    // What the reader promises on success: [N, 1, rows, cols], pixels in [0, 1].
    if (images.dims().rank() != 4 || images.size(1) != 1) std::abort();
    for (std::int64_t i = 0; i < images.numel(); ++i)
      if (!(images[i] >= 0.0f && images[i] <= 1.0f)) std::abort();
  } catch (const data_error& e) {
    fuzz::expect_message(e);
  }
  try {
    (void)read_idx_labels(path);
  } catch (const data_error& e) {
    fuzz::expect_message(e);
  }
  return 0;
}
