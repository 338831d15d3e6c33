#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "gradcheck.hpp"
#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/max_pool2d.hpp"
#include "tensor/blas.hpp"

using namespace saelab;
using saelab::testing::check_layer_gradients;
using saelab::testing::random_tensor;

namespace {

// A layer with its own parameter storage, initialised, for tests.
template <class L>
struct bound {
  L l;
  std::vector<double> p, g;
  template <class... A>
  explicit bound(rng& r, A... args) : l(args...) {
    p.resize(static_cast<std::size_t>(l.param_count()));
    g.resize(p.size());
    l.bind(p.data(), g.data());
    l.init(r);
  }
  void set(std::vector<double> values) {
    REQUIRE(values.size() == p.size());
    p = std::move(values);
    l.bind(p.data(), g.data());
  }
};

tensor<double> make(const shape& s, const std::vector<double>& values) {
  tensor<double> t(s);
  REQUIRE(static_cast<std::int64_t>(values.size()) == t.numel());
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

template <class L>
tensor<double> run(L& l, const tensor<double>& x) {
  tensor<double> y(l.output_shape(x.dims().drop_batch()).batched(x.size(0)));
  l.forward(x, y);
  return y;
}

void check_values(const tensor<double>& y, const std::vector<double>& expected) {
  REQUIRE(static_cast<std::int64_t>(expected.size()) == y.numel());
  for (std::int64_t i = 0; i < y.numel(); ++i) {
    INFO("element " << i);
    CHECK(y[i] == Approx(expected[static_cast<std::size_t>(i)]));
  }
}

double dot(const tensor<double>& a, const tensor<double>& b) {
  double s = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) s += a[i] * b[i];
  return s;
}

// Distinct values 0.01 apart in random order: every pooling window has a
// clear maximum, far from the ties where max pooling has no derivative.
tensor<double> distinct_tensor(const shape& s, rng& r) {
  tensor<double> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = 0.01 * static_cast<double>(i);
  for (std::int64_t i = t.numel() - 1; i > 0; --i)
    std::swap(t[i], t[static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(i + 1)))]);
  return t;
}

}  // namespace

TEST_CASE("conv2d forward against hand-computed cases", "[conv]") {
  rng r(1);
  const auto x3 = make({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  SECTION("3x3 input, 2x2 kernel") {
    bound<conv2d<double>> c(r, 1, 1, 2);
    c.set({1, 2, 3, 4, 0.5});  // W = [[1, 2], [3, 4]], b = 0.5
    // e.g. top left: 1*1 + 2*2 + 4*3 + 5*4 = 37
    check_values(run(c.l, x3), {37.5, 47.5, 67.5, 77.5});
  }
  SECTION("stride 2 on a 4x4 input") {
    bound<conv2d<double>> c(r, 1, 1, 2, 2);
    c.set({1, 2, 3, 4, 0});
    const auto x = make({1, 1, 4, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
    // windows [1 2; 5 6], [3 4; 7 8], [9 10; 13 14], [11 12; 15 16]
    check_values(run(c.l, x), {44, 64, 124, 144});
  }
  SECTION("padding 1 on a 3x3 input") {
    bound<conv2d<double>> c(r, 1, 1, 2, 1, 1);
    c.set({1, 2, 3, 4, 0});
    // 4x4 output; the corners see one pixel each, e.g. top left 1*4, bottom right 9*1.
    check_values(run(c.l, x3), {4, 11, 18, 9,  //
                                18, 37, 47, 21,  //
                                36, 67, 77, 33,  //
                                14, 23, 26, 9});
  }
  SECTION("channels mix through a 1x1 kernel") {
    bound<conv2d<double>> c(r, 2, 3, 1);
    c.set({1, 0, 0, 1, 2, -1, 10, 20, 30});  // W [3, 2]: y0 = x0, y1 = x1, y2 = 2 x0 - x1; b = 10, 20, 30
    const auto x = make({1, 2, 1, 2}, {1, 2, 5, 7});  // x0 = [1, 2], x1 = [5, 7]
    check_values(run(c.l, x), {11, 12, 25, 27, 27, 27});
  }
}

TEST_CASE("conv_transpose2d forward against hand-computed cases", "[conv]") {
  rng r(2);
  const auto x = make({1, 1, 2, 2}, {1, 2, 3, 4});
  SECTION("stride 1: overlapping copies of the kernel add up") {
    bound<conv_transpose2d<double>> c(r, 1, 1, 2);
    c.set({1, 2, 3, 4, 0});
    // y = sum over inputs of x[i, j] * W placed at (i, j)
    check_values(run(c.l, x), {1, 4, 4, 6, 20, 16, 9, 24, 16});
  }
  SECTION("stride 2 with output_padding 1: disjoint blocks, then a bias-only border") {
    bound<conv_transpose2d<double>> c(r, 1, 1, 2, 2, 0, 1);
    c.set({1, 2, 3, 4, 0.5});
    check_values(run(c.l, x), {1.5, 2.5, 2.5, 4.5, 0.5,  //
                               3.5, 4.5, 6.5, 8.5, 0.5,  //
                               3.5, 6.5, 4.5, 8.5, 0.5,  //
                               9.5, 12.5, 12.5, 16.5, 0.5,  //
                               0.5, 0.5, 0.5, 0.5, 0.5});
  }
  SECTION("padding 1 crops the border of the stride-1 result") {
    bound<conv_transpose2d<double>> c(r, 1, 1, 2, 1, 1);
    c.set({1, 2, 3, 4, 0});
    check_values(run(c.l, x), {20});
  }
}

TEST_CASE("max_pool2d forward, argmax and backward", "[conv]") {
  max_pool2d<double> pool(2, 2);
  // A 5x5 plane: floor mode drops the last row and column.
  const auto x = make({1, 1, 5, 5}, {1, 9, 2, 3, 99,  //
                                     4, 5, 8, 8, 99,  //
                                     7, 6, 0, 1, 99,  //
                                     6, 7, 1, 0, 99,  //
                                     99, 99, 99, 99, 99});
  const auto y = run(pool, x);
  check_values(y, {9, 8, 7, 1});
  // Ties: 8 at (1,2) and (1,3), first wins; 7 at (2,0) and (3,1); 1 at (2,3) and (3,2).
  CHECK(pool.argmax() == std::vector<std::int32_t>{1, 7, 10, 13});
  tensor<double> dx(x.dims());
  dx.fill(42);  // must be overwritten
  pool.backward(x, y, make({1, 1, 2, 2}, {1, 2, 3, 4}), &dx);
  for (std::int64_t i = 0; i < dx.numel(); ++i) {
    const double expected = i == 1 ? 1 : i == 7 ? 2 : i == 10 ? 3 : i == 13 ? 4 : 0;
    CHECK(dx[i] == expected);
  }
}

TEST_CASE("the reference model's shapes", "[conv]") {
  // 1x28x28 -> 8x26x26 -> 16x22x22 -> 32x9x9 -> 32x4x4 -> 16x9x9 -> 8x21x21 -> 1x28x28
  shape s{1, 28, 28};
  s = conv2d<float>(1, 8, 3).output_shape(s);
  CHECK(s == shape{8, 26, 26});
  s = conv2d<float>(8, 16, 5).output_shape(s);
  CHECK(s == shape{16, 22, 22});
  s = conv2d<float>(16, 32, 5, 2).output_shape(s);
  CHECK(s == shape{32, 9, 9});
  s = max_pool2d<float>(2, 2).output_shape(s);
  CHECK(s == shape{32, 4, 4});
  s = conv_transpose2d<float>(32, 16, 3, 2).output_shape(s);
  CHECK(s == shape{16, 9, 9});
  s = conv_transpose2d<float>(16, 8, 5, 2).output_shape(s);
  CHECK(s == shape{8, 21, 21});
  s = conv_transpose2d<float>(8, 1, 8).output_shape(s);
  CHECK(s == shape{1, 28, 28});
}

TEST_CASE("invalid shapes and settings name the layer", "[conv]") {
  conv2d<float> c(1, 8, 3);
  CHECK_THROWS_WITH(c.output_shape(shape{2, 28, 28}),
                    Catch::Contains("conv2d(1 -> 8, k3, s1, p0)") && Catch::Contains("[2, 28, 28] has 2 channels"));
  CHECK_THROWS_WITH(c.output_shape(shape{1, 2, 28}), Catch::Contains("smaller than the kernel"));
  CHECK_THROWS_WITH(c.output_shape(shape{1, 28}), Catch::Contains("not [C, H, W]"));
  CHECK_NOTHROW(conv2d<float>(1, 8, 3, 1, 1).output_shape(shape{1, 1, 1}));  // padding makes room
  conv_transpose2d<float> t(32, 16, 3, 2);
  CHECK_THROWS_WITH(t.output_shape(shape{16, 4, 4}),
                    Catch::Contains("conv_transpose2d(32 -> 16, k3, s2, p0, op0)") && Catch::Contains("16 channels"));
  CHECK_THROWS_WITH(conv_transpose2d<float>(1, 1, 1, 1, 1).output_shape(shape{1, 2, 2}),
                    Catch::Contains("too small"));
  CHECK_THROWS_WITH(conv_transpose2d<float>(1, 1, 3, 2, 0, 2), Catch::Contains("output_padding"));
  CHECK_THROWS_WITH(max_pool2d<float>(2, 2).output_shape(shape{3, 1, 5}),
                    Catch::Contains("max_pool2d(k2, s2)") && Catch::Contains("[3, 1, 5]"));
  CHECK_THROWS(conv2d<float>(0, 8, 3));
  CHECK_THROWS(max_pool2d<float>(2, 0));
}

TEST_CASE("conv init is uniform within PyTorch's 1/sqrt(fan_in)", "[conv]") {
  rng r(3);
  auto range = [](const std::vector<double>& v) {
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return std::pair{*lo, *hi};
  };
  bound<conv2d<double>> c(r, 8, 16, 5);  // fan_in 8*25 = 200
  auto [lo, hi] = range(c.p);
  CHECK(lo >= -1 / std::sqrt(200.0));
  CHECK(hi <= 1 / std::sqrt(200.0));
  CHECK(hi - lo > 1.9 / std::sqrt(200.0));
  bound<conv_transpose2d<double>> t(r, 32, 16, 3, 2);  // fan_in = weight dim 1 * k*k = 16*9
  std::tie(lo, hi) = range(t.p);
  CHECK(lo >= -1 / std::sqrt(144.0));
  CHECK(hi <= 1 / std::sqrt(144.0));
  CHECK(hi - lo > 1.9 / std::sqrt(144.0));
}

TEST_CASE("gradients of conv2d", "[grad]") {
  rng r(4);
  struct conf {
    std::int64_t in, out, k, s, p, h, w;
  };
  // The reference's three layers on small inputs, then padding, strides that
  // leave rows unread, kernels larger than the stride, and 1x1.
  for (auto c : std::vector<conf>{{1, 8, 3, 1, 0, 6, 5},
                                  {8, 16, 5, 1, 0, 7, 7},
                                  {16, 32, 5, 2, 0, 8, 9},
                                  {2, 3, 3, 2, 1, 6, 7},
                                  {3, 2, 2, 1, 1, 4, 4},
                                  {2, 2, 4, 3, 2, 7, 8},
                                  {3, 2, 1, 1, 0, 3, 2}}) {
    bound<conv2d<double>> b(r, c.in, c.out, c.k, c.s, c.p);
    INFO(fmt::format("{} on [2, {}, {}, {}]", b.l.describe(), c.in, c.h, c.w));
    check_layer_gradients(b.l, random_tensor(shape{2, c.in, c.h, c.w}, r), b.p.data(), b.g.data(), r);
  }
}

TEST_CASE("gradients of conv_transpose2d", "[grad]") {
  rng r(5);
  struct conf {
    std::int64_t in, out, k, s, p, op, h, w;
  };
  for (auto c : std::vector<conf>{{32, 16, 3, 2, 0, 0, 2, 2},
                                  {16, 8, 5, 2, 0, 0, 3, 3},
                                  {8, 1, 8, 1, 0, 0, 3, 3},
                                  {2, 3, 3, 2, 1, 1, 3, 4},
                                  {3, 2, 4, 3, 1, 2, 2, 3},
                                  {2, 2, 2, 1, 0, 0, 3, 3},
                                  {1, 2, 3, 1, 1, 0, 4, 3}}) {
    bound<conv_transpose2d<double>> b(r, c.in, c.out, c.k, c.s, c.p, c.op);
    INFO(fmt::format("{} on [2, {}, {}, {}]", b.l.describe(), c.in, c.h, c.w));
    check_layer_gradients(b.l, random_tensor(shape{2, c.in, c.h, c.w}, r), b.p.data(), b.g.data(), r);
  }
}

TEST_CASE("gradients of max_pool2d away from ties", "[grad]") {
  rng r(6);
  struct conf {
    std::int64_t k, s, h, w;
  };
  // 9 -> 4 as in the reference, overlapping windows, floor mode dropping rows.
  for (auto c : std::vector<conf>{{2, 2, 9, 9}, {3, 2, 7, 7}, {2, 1, 5, 6}, {3, 3, 8, 8}}) {
    max_pool2d<double> pool(c.k, c.s);
    INFO(fmt::format("{} on [2, 3, {}, {}]", pool.describe(), c.h, c.w));
    check_layer_gradients(pool, distinct_tensor(shape{2, 3, c.h, c.w}, r), nullptr, nullptr, r);
  }
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d with the same weights", "[conv]") {
  rng r(7);
  struct conf {
    std::int64_t a, b, k, s, p, h, w;  // conv2d a -> b on [a, h, w]
  };
  for (auto c : std::vector<conf>{{1, 8, 3, 1, 0, 28, 28},
                                  {8, 16, 5, 1, 0, 26, 26},
                                  {16, 32, 5, 2, 0, 22, 22},
                                  {3, 2, 3, 2, 1, 8, 10},
                                  {2, 3, 4, 3, 2, 8, 11}}) {
    bound<conv2d<double>> conv(r, c.a, c.b, c.k, c.s, c.p);
    const shape y_shape = conv.l.output_shape(shape{c.a, c.h, c.w});
    // output_padding selects the input size the transposed layer returns to.
    const std::int64_t op = (c.h + 2 * c.p - c.k) % c.s;
    REQUIRE((c.w + 2 * c.p - c.k) % c.s == op);
    bound<conv_transpose2d<double>> tconv(r, c.b, c.a, c.k, c.s, c.p, op);
    // Both weights are [b, a, k, k]; biases zero.
    std::vector<double> w(conv.p.begin(), conv.p.end() - c.b);
    std::fill(conv.p.end() - c.b, conv.p.end(), 0.0);
    w.resize(w.size() + static_cast<std::size_t>(c.a), 0.0);
    tconv.set(w);
    const auto x = random_tensor(shape{3, c.a, c.h, c.w}, r);
    const auto y = random_tensor(y_shape.batched(3), r);
    const double lhs = dot(run(conv.l, x), y), rhs = dot(x, run(tconv.l, y));
    INFO(fmt::format("{} and {} on [3, {}, {}, {}]: {} vs {}", conv.l.describe(), tconv.l.describe(), c.a, c.h, c.w,
                     lhs, rhs));
    CHECK(std::abs(lhs - rhs) <= 1e-12 * std::max(1.0, std::abs(lhs)));
  }
}

TEST_CASE("a batch equals its samples one at a time", "[conv]") {
  // The batch is cut into slices run on several threads; every sample must
  // still come out as if it were alone, and gradients must sum over all.
  rng r(8);
  auto check_layer = [&](layer<double>& l, std::vector<double>& g, const tensor<double>& x) {
    INFO(l.describe());
    const std::int64_t n = x.size(0);
    const auto y = run(l, x);
    const auto dy = random_tensor(y.dims(), r);
    tensor<double> dx(x.dims());
    std::fill(g.begin(), g.end(), 0.0);
    l.backward(x, y, dy, &dx);
    const auto g_batch = g;
    std::fill(g.begin(), g.end(), 0.0);  // the per-sample calls accumulate here
    for (std::int64_t i = 0; i < n; ++i) {
      const auto xi = x.slice(i, i + 1), dyi = dy.slice(i, i + 1);
      const auto yi = run(l, xi);
      tensor<double> dxi(xi.dims());
      l.backward(xi, yi, dyi, &dxi);
      const std::int64_t ys = yi.numel(), xs = xi.numel();
      for (std::int64_t j = 0; j < ys; ++j) REQUIRE(yi[j] == Approx(y[i * ys + j]).epsilon(1e-12).margin(1e-12));
      for (std::int64_t j = 0; j < xs; ++j) REQUIRE(dxi[j] == Approx(dx[i * xs + j]).epsilon(1e-12).margin(1e-12));
    }
    for (std::size_t j = 0; j < g.size(); ++j) REQUIRE(g[j] == Approx(g_batch[j]).epsilon(1e-12).margin(1e-12));
  };
  // Large enough that the batch is worth two threads.
  bound<conv2d<double>> c(r, 8, 16, 5, 2, 1);
  check_layer(c.l, c.g, random_tensor(shape{23, 8, 21, 20}, r));
  bound<conv_transpose2d<double>> t(r, 16, 8, 5, 2, 1, 1);
  check_layer(t.l, t.g, random_tensor(shape{23, 16, 9, 8}, r));
  max_pool2d<double> pool(3, 2);
  std::vector<double> none;
  check_layer(pool, none, distinct_tensor(shape{23, 2, 7, 7}, r));
}

TEST_CASE("conv parameter gradients accumulate, input gradients are overwritten", "[conv]") {
  rng r(9);
  auto check_contract = [&](layer<double>& l, std::vector<double>& g, const tensor<double>& x) {
    INFO(l.describe());
    const auto y = run(l, x);
    const auto dy = random_tensor(y.dims(), r);
    tensor<double> dx(x.dims());
    std::fill(g.begin(), g.end(), 0.0);
    l.backward(x, y, dy, &dx);
    const auto g1 = g;
    const auto dx1 = dx.clone();
    l.backward(x, y, dy, &dx);
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(2 * g1[i]));
    for (std::int64_t i = 0; i < dx.numel(); ++i) CHECK(dx[i] == dx1[i]);
    l.backward(x, y, dy, nullptr);  // dx not wanted: parameters still accumulate
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(3 * g1[i]));
  };
  bound<conv2d<double>> c(r, 2, 3, 3, 2, 1);
  check_contract(c.l, c.g, random_tensor(shape{2, 2, 7, 6}, r));
  bound<conv_transpose2d<double>> t(r, 3, 2, 3, 2, 1, 1);
  check_contract(t.l, t.g, random_tensor(shape{2, 3, 4, 3}, r));
  max_pool2d<double> pool(2, 2);
  std::vector<double> none;
  check_contract(pool, none, distinct_tensor(shape{2, 2, 5, 4}, r));
}

TEST_CASE("conv results are bitwise the same on 1 and 2 threads", "[conv]") {
  // Samples are split into fixed slices whose partial gradients are summed
  // in slice order, so the thread count must not change a single bit.
  rng r(10);
  // Large enough that the batch is worth two threads.
  conv2d<float> c(8, 16, 5, 2, 1);
  conv_transpose2d<float> t(16, 8, 5, 2, 1, 1);
  std::vector<float> pc(static_cast<std::size_t>(c.param_count())), pt(static_cast<std::size_t>(t.param_count()));
  std::vector<float> gc(pc.size()), gt(pt.size());
  c.bind(pc.data(), gc.data());
  t.bind(pt.data(), gt.data());
  c.init(r);
  t.init(r);
  tensor<float> x({29, 8, 27, 26});
  for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r.uniform(-1, 1));
  const shape ys = c.output_shape(x.dims().drop_batch()), zs = t.output_shape(ys);
  auto run_all = [&](int threads) {
    blas::set_threads(threads);
    tensor<float> y(ys.batched(29)), z(zs.batched(29)), dy(y.dims()), dx(x.dims());
    c.forward(x, y);
    t.forward(y, z);
    const tensor<float>& dz = z;  // any fixed upstream gradient
    std::fill(gc.begin(), gc.end(), 0.0f);
    std::fill(gt.begin(), gt.end(), 0.0f);
    t.backward(y, z, dz, &dy);
    c.backward(x, y, dy, &dx);
    std::vector<float> all(z.data(), z.data() + z.numel());
    all.insert(all.end(), dx.data(), dx.data() + dx.numel());
    all.insert(all.end(), gc.begin(), gc.end());
    all.insert(all.end(), gt.begin(), gt.end());
    return all;
  };
  const int before = blas::threads();
  const auto one = run_all(1), two = run_all(2), again = run_all(2);
  blas::set_threads(before);
  CHECK(one == two);
  CHECK(two == again);
}

TEST_CASE("float layers agree with double", "[conv]") {
  // Production runs float, whose kernels tile by 8 lanes where double's
  // tile by 4: odd channel counts and sizes exercise every partial tile.
  rng r(11);
  auto compare = [&](layer<float>& lf, layer<double>& ld, const shape& in) {
    INFO(ld.describe() << " on " << in.str());
    const std::int64_t n = 3, p = ld.param_count();
    std::vector<double> pd(static_cast<std::size_t>(p)), gd(pd.size());
    std::vector<float> pf(pd.size()), gf(pd.size());
    ld.bind(pd.data(), gd.data());
    ld.init(r);
    for (std::size_t i = 0; i < pd.size(); ++i) pf[i] = static_cast<float>(pd[i]);
    lf.bind(pf.data(), gf.data());
    const auto xd = random_tensor(in.batched(n), r);
    tensor<float> xf(xd.dims());
    for (std::int64_t i = 0; i < xd.numel(); ++i) xf[i] = static_cast<float>(xd[i]);
    const shape out = ld.output_shape(in).batched(n);
    tensor<double> yd(out), dxd(xd.dims());
    tensor<float> yf(out), dxf(xf.dims()), dyf(out);
    const auto dyd = random_tensor(out, r);
    for (std::int64_t i = 0; i < dyd.numel(); ++i) dyf[i] = static_cast<float>(dyd[i]);
    ld.forward(xd, yd);
    lf.forward(xf, yf);
    ld.backward(xd, yd, dyd, &dxd);
    lf.backward(xf, yf, dyf, &dxf);
    for (std::int64_t i = 0; i < yd.numel(); ++i) REQUIRE(yf[i] == Approx(yd[i]).epsilon(1e-4).margin(1e-4));
    for (std::int64_t i = 0; i < dxd.numel(); ++i) REQUIRE(dxf[i] == Approx(dxd[i]).epsilon(1e-4).margin(1e-4));
    for (std::size_t i = 0; i < gd.size(); ++i) REQUIRE(gf[i] == Approx(gd[i]).epsilon(1e-4).margin(1e-4));
  };
  {
    conv2d<float> f(3, 5, 3, 2, 1);
    conv2d<double> d(3, 5, 3, 2, 1);
    compare(f, d, shape{3, 13, 10});
  }
  {
    conv2d<float> f(8, 16, 5);
    conv2d<double> d(8, 16, 5);
    compare(f, d, shape{8, 26, 26});
  }
  {
    // 13 channels: a full block of 8 (4 in double) and a partial one, for
    // the transposes into the weight-gradient layout and the bias sums.
    conv2d<float> f(4, 13, 3);
    conv2d<double> d(4, 13, 3);
    compare(f, d, shape{4, 11, 13});
  }
  {
    conv_transpose2d<float> f(5, 3, 4, 3, 1, 2);
    conv_transpose2d<double> d(5, 3, 4, 3, 1, 2);
    compare(f, d, shape{5, 4, 7});
  }
  {
    conv_transpose2d<float> f(8, 1, 8);
    conv_transpose2d<double> d(8, 1, 8);
    compare(f, d, shape{8, 21, 21});
  }
  {
    // Stride 2 on rows of 16 or more: the vectorised split and merge of
    // the phases, with odd widths (a tail) and padding 0 and 1 (which phase
    // takes the even columns).
    conv2d<float> f(2, 3, 5, 2, 1);
    conv2d<double> d(2, 3, 5, 2, 1);
    compare(f, d, shape{2, 19, 37});
    conv_transpose2d<float> tf(3, 2, 5, 2, 0, 1);
    conv_transpose2d<double> td(3, 2, 5, 2, 0, 1);
    compare(tf, td, shape{3, 9, 17});
  }
}
