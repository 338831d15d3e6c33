#pragma once
// model.layers: a model written as a list of layers, each shape inferred
// from the layer before (after Darknet's cfg), e.g. the seed_conv preset:
//
//   layers = conv(8, 3) relu@conv1, conv(16, 5) relu@conv2, conv(32, 5, stride=2) relu@conv3,
//            maxpool(2)@pool, convT(16, 3, stride=2) relu@deconv1, convT(8, 5, stride=2) relu@deconv2,
//            convT(1, 8)
//   (one line in the file: INI values do not continue onto the next line)
//
// Layers, with their arguments in parentheses (none for the activations):
//   linear(OUT)                              fully connected; flattens its input
//   conv(OUT, K, stride=1, pad=0)            2-D convolution, K x K kernel
//   convT(OUT, K, stride=1, pad=0, outpad=0) transposed 2-D convolution
//   maxpool(K, stride=K)                     2-D max pooling
//   relu, sigmoid
// "@NAME" right after a layer names its output as a site: where a sparsity
// penalty attaches and what run.h5 logs. Commas and blanks both separate
// layers; commas are for the reader (one stage per comma reads well).
//
// Parsing checks the text alone (names, arguments, ranges, sites); whether
// the layers fit their inputs is checked when the model is built.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace saelab {

struct layer_spec {
  std::string kind;                 // "conv"
  std::vector<std::int64_t> args;   // positional, then the options in their declared order, defaults filled in
  std::string site;                 // "" when the output is not named
  std::string text() const;         // canonical: "conv(32, 5, stride=2)@conv3" (defaults left out)
  // Argument by name ("out", "k", "stride", ...), as declared for the kind.
  std::int64_t arg(std::string_view name) const;
};

// Largest value any argument may take: a typo such as conv(80000000, 3) is
// refused here; the model's total size is checked when it is built.
inline constexpr std::int64_t layer_arg_max = 1 << 20;

// Throws std::invalid_argument with a message that names the layer (its
// position and text) and what was expected.
std::vector<layer_spec> parse_layer_list(std::string_view text);

// The canonical text of a list, which parse_layer_list reads back to the same list.
std::string layer_list_text(const std::vector<layer_spec>& layers);

}  // namespace saelab
