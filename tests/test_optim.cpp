#include <catch2/catch.hpp>

#include <cmath>

#include "optim/optimizer.hpp"

using namespace saelab;

TEST_CASE("adam's first steps match the closed form", "[optim]") {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  adam<double> opt(2, lr, b1, b2, eps);
  tensor<double> p({2}), g({2});
  p[0] = 1.0, p[1] = -2.0;
  // Step 1: m = (1-b1) g, v = (1-b2) g^2, corrected m/v = g, g^2: the update
  // is lr * g / (|g| + eps), i.e. lr * sign(g) almost.
  g[0] = 0.5, g[1] = -3.0;
  opt.step(p, g);
  CHECK(p[0] == Approx(1.0 - lr * 0.5 / (0.5 + eps)).epsilon(1e-14));
  CHECK(p[1] == Approx(-2.0 + lr * 3.0 / (3.0 + eps)).epsilon(1e-14));
  // Step 2 with g = (0.1, 0.1): m = b1 (1-b1) g1 + (1-b1) g2, etc.
  const double g1 = 0.5, g2 = 0.1;
  const double m = b1 * (1 - b1) * g1 + (1 - b1) * g2;
  const double v = b2 * (1 - b2) * g1 * g1 + (1 - b2) * g2 * g2;
  const double update = lr / (1 - b1 * b1) * m / (std::sqrt(v) / std::sqrt(1 - b2 * b2) + eps);
  const double before = p[0];
  g[0] = g2, g[1] = g2;
  opt.step(p, g);
  CHECK(p[0] == Approx(before - update).epsilon(1e-14));
  CHECK(opt.steps() == 2);
}

TEST_CASE("adam in float rounds 1 - beta as PyTorch does", "[optim]") {
  // PyTorch passes 1 - beta2 = 0.0010000000000000009 (a double) to the
  // float op, which rounds it to 0.001f; 1 - 0.999f would be 0.00099998713f,
  // 1.3e-5 lower.
  adam<float> opt(2, 1e-3, 0.9, 0.999, 1e-8);
  tensor<float> p({2}), g({2});
  g[0] = 0.75f, g[1] = -3.0f;
  opt.step(p, g);
  const float w1 = static_cast<float>(1.0 - 0.9), w2 = static_cast<float>(1.0 - 0.999);
  REQUIRE(w2 != 1.0f - 0.999f);
  const auto& m = *opt.state()[0];
  const auto& v = *opt.state()[1];
  CHECK(m[0] == w1 * g[0]);
  CHECK(v[0] == w2 * g[0] * g[0]);
  CHECK(v[1] == w2 * g[1] * g[1]);
  // Second step, to a relative 1e-7 (the compiler may fuse the multiply-adds):
  // the float 1 - 0.999f would be 1e-5 off.
  const float m1 = m[0], v1 = v[0];
  g[0] = 0.25f;
  opt.step(p, g);
  CHECK(m[0] == Approx(0.9f * m1 + w1 * g[0]).epsilon(1e-7));
  CHECK(v[0] == Approx(0.999f * v1 + w2 * g[0] * g[0]).epsilon(1e-7));
}

TEST_CASE("sgd with momentum", "[optim]") {
  sgd<double> opt(1, 0.1, 0.5);
  tensor<double> p({1}), g({1});
  p[0] = 1;
  g[0] = 2;
  opt.step(p, g);  // v = 2, p = 1 - 0.2
  CHECK(p[0] == Approx(0.8));
  opt.step(p, g);  // v = 0.5*2 + 2 = 3, p = 0.8 - 0.3
  CHECK(p[0] == Approx(0.5));
}
