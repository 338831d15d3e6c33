#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <vector>

#include "gradcheck.hpp"
#include "layers/activation.hpp"
#include "layers/linear.hpp"
#include "layers/network.hpp"

using namespace saelab;
using saelab::testing::check_layer_gradients;
using saelab::testing::random_tensor;

namespace {
// A linear layer with its own parameter storage, for tests.
struct bound_linear {
  linear<double> l;
  std::vector<double> p, g;
  bound_linear(std::int64_t in, std::int64_t out, rng& r) : l(in, out) {
    p.resize(static_cast<std::size_t>(l.param_count()));
    g.resize(p.size());
    l.bind(p.data(), g.data());
    l.init(r);
  }
};
}  // namespace

TEST_CASE("linear forward against a hand-computed case", "[layers]") {
  linear<double> l(3, 2);
  // W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -0.5]
  std::vector<double> p = {1, 2, 3, -1, 0, 1, 0.5, -0.5}, g(8, 0.0);
  l.bind(p.data(), g.data());
  tensor<double> x({2, 3});
  const double xs[] = {1, 1, 1, 2, 0, -1};
  std::copy(xs, xs + 6, x.data());
  tensor<double> y({2, 2});
  l.forward(x, y);
  CHECK(y[0] == 6.5);   // 1+2+3+0.5
  CHECK(y[1] == -0.5);  // -1+0+1-0.5
  CHECK(y[2] == -0.5);  // 2-3+0.5
  CHECK(y[3] == -3.5);  // -2-1-0.5
  CHECK(l.output_shape(shape{3}) == shape{2});
  CHECK_THROWS_WITH(l.output_shape(shape{4}), Catch::Contains("expected 3"));
}

TEST_CASE("linear init is uniform within 1/sqrt(fan_in) and seeded", "[layers]") {
  rng r1(7), r2(7);
  bound_linear a(100, 50, r1), b(100, 50, r2);
  CHECK(a.p == b.p);
  double lo = 1, hi = -1;
  for (double v : a.p) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo >= -0.1);
  CHECK(hi <= 0.1);
  CHECK(hi - lo > 0.19);  // fills the range
}

TEST_CASE("activation forward values", "[layers]") {
  tensor<double> x({1, 4});
  const double xs[] = {-1000, -1, 0, 2};
  std::copy(xs, xs + 4, x.data());
  tensor<double> y({1, 4});
  sigmoid<double>().forward(x, y);
  CHECK(y[0] == Approx(0.0).margin(1e-300));
  CHECK(y[1] == Approx(1 / (1 + std::exp(1.0))));
  CHECK(y[2] == 0.5);
  CHECK(y[3] == Approx(1 / (1 + std::exp(-2.0))));
  relu<double>().forward(x, y);
  CHECK(y[0] == 0);
  CHECK(y[1] == 0);
  CHECK(y[2] == 0);
  CHECK(y[3] == 2);
}

TEST_CASE("gradients of linear, sigmoid and relu", "[grad]") {
  rng r(1);
  SECTION("linear") {
    for (auto [in, out, n] : std::vector<std::array<std::int64_t, 3>>{{5, 3, 4}, {1, 7, 2}, {8, 1, 3}}) {
      bound_linear b(in, out, r);
      check_layer_gradients(b.l, random_tensor(shape{n, in}, r), b.p.data(), b.g.data(), r);
    }
  }
  SECTION("sigmoid") {
    sigmoid<double> s;
    check_layer_gradients(s, random_tensor(shape{3, 2, 2, 2}, r, -4, 4), nullptr, nullptr, r);
  }
  SECTION("relu, inputs kept away from the kink") {
    relu<double> s;
    auto x = random_tensor(shape{4, 6}, r);
    for (std::int64_t i = 0; i < x.numel(); ++i) x[i] += x[i] > 0 ? 0.1 : -0.1;
    check_layer_gradients(s, x, nullptr, nullptr, r);
  }
}

TEST_CASE("parameter gradients accumulate, input gradients are overwritten", "[layers]") {
  rng r(3);
  bound_linear b(4, 3, r);
  const auto x = random_tensor(shape{2, 4}, r);
  const auto dy = random_tensor(shape{2, 3}, r);
  tensor<double> y({2, 3}), dx({2, 4});
  b.l.forward(x, y);
  b.l.backward(x, y, dy, &dx);
  const auto g1 = b.g;
  const auto dx1 = dx.clone();
  b.l.backward(x, y, dy, &dx);
  for (std::size_t i = 0; i < g1.size(); ++i) CHECK(b.g[i] == Approx(2 * g1[i]));
  for (std::int64_t i = 0; i < dx.numel(); ++i) CHECK(dx[i] == dx1[i]);
}

TEST_CASE("network: flat parameters, sites, and a whole-network gradient check", "[grad]") {
  rng r(5);
  network<double> net(shape{6});
  net.add(std::make_unique<linear<double>>(6, 4));
  net.add(std::make_unique<sigmoid<double>>(), "hidden");
  net.add(std::make_unique<linear<double>>(4, 6));
  net.finalize();
  net.init(r);
  CHECK(net.params().numel() == 6 * 4 + 4 + 4 * 6 + 6);
  CHECK(net.param_offset(2) == 28);
  CHECK(net.find_site("hidden").activation == 2);
  CHECK_THROWS_WITH(net.find_site("code"), Catch::Contains("this model has hidden"));

  const auto x = random_tensor(shape{3, 6}, r);
  const auto w = random_tensor(shape{3, 6}, r);
  const auto hw = random_tensor(shape{3, 4}, r);
  // objective = sum(out * w) + sum(hidden * hw): the hook adds hw at the site
  auto objective = [&] {
    const auto& y = net.forward(x);
    double s = 0;
    for (std::int64_t i = 0; i < y.numel(); ++i) s += y[i] * w[i];
    const auto& h = net.activation(2);
    for (std::int64_t i = 0; i < h.numel(); ++i) s += h[i] * hw[i];
    return s;
  };
  objective();
  net.grads().zero();
  auto dy = w.clone();
  int hooked = 0;
  net.backward(dy, [&](int i, tensor<double>& da) {
    if (i != 2) return;
    ++hooked;
    for (std::int64_t k = 0; k < da.numel(); ++k) da[k] += hw[k];
  });
  CHECK(hooked == 1);
  const auto analytic = net.grads().clone();
  saelab::testing::check_gradient("network parameters", objective, net.params().data(), analytic.data(),
                                  analytic.numel());
}
