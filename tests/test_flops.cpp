// FLOP counts against hand-computed values: 2 per multiply-add, 1 per bias
// add, compare or select, 3 per sigmoid element each way.
#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "experiment/flops.hpp"
#include "experiment/model.hpp"
#include "layers/activation.hpp"
#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/linear.hpp"
#include "layers/max_pool2d.hpp"

using namespace saelab;

TEST_CASE("linear flops", "[flops]") {
  // 784 -> 1024: 802,816 multiply-adds.
  const layer_flops f = linear<float>(784, 1024).flops(shape{784});
  CHECK(f.forward == 2 * 802816 + 1024);
  CHECK(f.backward_input == 2 * 802816);
  CHECK(f.backward_weight == 2 * 802816 + 1024);
  CHECK(f.backward() == 4 * 802816 + 1024);
  // A [1, 28, 28] image is 784 features too.
  CHECK(linear<float>(784, 10).flops(shape{1, 28, 28}) == layer_flops{2 * 7840 + 10, 2 * 7840, 2 * 7840 + 10});
  CHECK_THROWS(linear<float>(784, 10).flops(shape{100}));
}

TEST_CASE("activation flops", "[flops]") {
  CHECK(relu<float>().flops(shape{8, 26, 26}) == layer_flops{5408, 5408, 0});
  CHECK(sigmoid<double>().flops(shape{1024}) == layer_flops{3072, 3072, 0});
}

TEST_CASE("conv2d flops", "[flops]") {
  // 8 -> 16, k5 on 8x26x26: 16x22x22 = 7,744 outputs, each 8*25 = 200
  // multiply-adds: 1,548,800.
  CHECK(conv2d<float>(8, 16, 5).flops(shape{8, 26, 26}) ==
        layer_flops{2 * 1548800 + 7744, 2 * 1548800, 2 * 1548800 + 7744});
  // Stride 2: 16 -> 32, k5 on 16x22x22 gives 32x9x9 = 2,592 outputs of 400.
  CHECK(conv2d<float>(16, 32, 5, 2).flops(shape{16, 22, 22}) ==
        layer_flops{2 * 1036800 + 2592, 2 * 1036800, 2 * 1036800 + 2592});
  // Padding 1 keeps 3x5x5 at 5x5: 2x5x5 = 50 outputs of 27, padded taps counted.
  CHECK(conv2d<float>(3, 2, 3, 1, 1).flops(shape{3, 5, 5}) == layer_flops{2 * 1350 + 50, 2 * 1350, 2 * 1350 + 50});
  CHECK_THROWS(conv2d<float>(3, 2, 3).flops(shape{2, 5, 5}));
}

TEST_CASE("conv_transpose2d flops", "[flops]") {
  // 32 -> 16, k3 s2 on 32x4x4: 512 inputs times 16*9 taps = 73,728
  // multiply-adds; 16x9x9 = 1,296 outputs.
  CHECK(conv_transpose2d<float>(32, 16, 3, 2).flops(shape{32, 4, 4}) ==
        layer_flops{2 * 73728 + 1296, 2 * 73728, 2 * 73728 + 1296});
  // 8 -> 1, k8 on 8x21x21: 3,528 inputs times 64 taps = 225,792; 784 outputs.
  CHECK(conv_transpose2d<float>(8, 1, 8).flops(shape{8, 21, 21}) ==
        layer_flops{2 * 225792 + 784, 2 * 225792, 2 * 225792 + 784});
  // Padding 1, output padding 1: 2x3x3 -> 1x6x6; 18 inputs x 9 taps = 162.
  CHECK(conv_transpose2d<float>(2, 1, 3, 2, 1, 1).flops(shape{2, 3, 3}) ==
        layer_flops{2 * 162 + 36, 2 * 162, 2 * 162 + 36});
}

TEST_CASE("max_pool2d flops", "[flops]") {
  // 32x9x9 -> 32x4x4 = 512 windows of 4: 3 compares each; one add back.
  CHECK(max_pool2d<float>(2, 2).flops(shape{32, 9, 9}) == layer_flops{1536, 512, 0});
  // Overlapping 3x3 windows, stride 1: 1x4x4 -> 1x2x2, 8 compares each.
  CHECK(max_pool2d<float>(3, 1).flops(shape{1, 4, 4}) == layer_flops{32, 4, 0});
}

TEST_CASE("the reference conv model's flops per training sample", "[flops]") {
  model_config spec;
  spec.arch = model_arch::seed_conv;
  spec.hidden_activation = activation_kind::relu;
  const auto net = build_model<float>(spec, shape{1, 28, 28});
  const network_flops f = count_flops(*net);
  REQUIRE(f.layers.size() == 12);
  // Multiply-adds of the six convolutions, one sample:
  //   conv1 8*26*26*1*9 = 48,672      deconv1 32*4*4*16*9 = 73,728
  //   conv2 16*22*22*8*25 = 1,548,800  deconv2 16*9*9*8*25 = 259,200
  //   conv3 32*9*9*16*25 = 1,036,800   deconv3 8*21*21*1*64 = 225,792
  // in total 3,192,992. Outputs (bias adds, db sums): 5,408 + 7,744 + 2,592
  // + 1,296 + 3,528 + 784 = 21,352. ReLU elements 5,408 + 7,744 + 2,592 +
  // 1,296 + 3,528 = 20,568; the pool has 512 windows of 4.
  CHECK(f.layers[0] == layer_flops{2 * 48672 + 5408, 0, 2 * 48672 + 5408});  // no dx for the input
  CHECK(f.layers[6] == layer_flops{1536, 512, 0});
  CHECK(f.total.forward == 2 * 3192992 + 21352 + 20568 + 1536);                 // 6,429,440
  CHECK(f.total.backward_input == 2 * (3192992 - 48672) + 20568 + 512);         // 6,309,720
  CHECK(f.total.backward_weight == 2 * 3192992 + 21352);                        // 6,407,336
  CHECK(f.training() == 19146496);
}

TEST_CASE("the fc model's flops per training sample", "[flops]") {
  model_config spec;  // fc, 1024 sigmoid hidden units
  const auto net = build_model<float>(spec, shape{1, 28, 28});
  const network_flops f = count_flops(*net);
  // 784 * 1024 = 802,816 multiply-adds per linear layer.
  CHECK(f.total.forward == 2 * 802816 + 1024 + 3 * 1024 + 2 * 802816 + 784);  // 3,216,144
  CHECK(f.total.backward_input == 3 * 1024 + 2 * 802816);                      // no dx for the input
  CHECK(f.total.backward_weight == 2 * 802816 + 1024 + 2 * 802816 + 784);
  CHECK(f.training() == 8037920);
}
