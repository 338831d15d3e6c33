#include <catch2/catch.hpp>

#include <cmath>

#include "gradcheck.hpp"
#include "layers/activation.hpp"
#include "loss/penalty.hpp"
#include "loss/reconstruction.hpp"

using namespace saelab;
using saelab::testing::check_gradient;
using saelab::testing::random_tensor;

namespace {
tensor<double> make(const shape& s, std::initializer_list<double> v) {
  tensor<double> t(s);
  std::copy(v.begin(), v.end(), t.data());
  return t;
}
}  // namespace

TEST_CASE("bce, bce_with_logits and mse against hand-computed values", "[loss]") {
  const auto p = make({1, 2}, {0.25, 0.9});
  const auto t = make({1, 2}, {0.0, 1.0});
  // -(log 0.75 + log 0.9) / 2
  const double expected = -(std::log(0.75) + std::log(0.9)) / 2;
  CHECK(bce(p, t, nullptr) == Approx(expected).epsilon(1e-12));
  auto z = make({1, 2}, {std::log(0.25 / 0.75), std::log(0.9 / 0.1)});  // logit(p)
  CHECK(bce_with_logits(z, t, nullptr) == Approx(expected).epsilon(1e-12));
  CHECK(mse(p, t, nullptr) == Approx((0.0625 + 0.01) / 2).epsilon(1e-12));
  // saturated probabilities give PyTorch's clamped log, not inf
  CHECK(bce(make({1, 1}, {0.0}), make({1, 1}, {1.0}), nullptr) == 100.0);
  // huge logits stay finite in the fused form
  CHECK(bce_with_logits(make({1, 1}, {-1000.0}), make({1, 1}, {1.0}), nullptr) == Approx(1000.0));
}

TEST_CASE("loss gradients", "[grad]") {
  rng r(11);
  auto t = random_tensor(shape{3, 5}, r, 0, 1);
  tensor<double> d({3, 5});
  SECTION("bce_with_logits") {
    auto z = random_tensor(shape{3, 5}, r, -3, 3);
    bce_with_logits(z, t, &d);
    check_gradient("bce_with_logits", [&] { return bce_with_logits(z, t, nullptr); }, z.data(), d.data(), z.numel());
  }
  SECTION("bce") {
    auto p = random_tensor(shape{3, 5}, r, 0.05, 0.95);
    bce(p, t, &d);
    check_gradient("bce", [&] { return bce(p, t, nullptr); }, p.data(), d.data(), p.numel());
  }
  SECTION("mse") {
    auto y = random_tensor(shape{3, 5}, r);
    mse(y, t, &d);
    check_gradient("mse", [&] { return mse(y, t, nullptr); }, y.data(), d.data(), y.numel());
  }
}

TEST_CASE("penalties against hand-computed values", "[loss]") {
  // two samples, two units: rho_hat = (0.2, 0.5)
  const auto a = make({2, 2}, {0.1, 0.4, 0.3, 0.6});
  SECTION("kl") {
    const double rho = 0.1, beta = 2;
    auto kl = [&](double q) { return rho * std::log(rho / q) + (1 - rho) * std::log((1 - rho) / (1 - q)); };
    CHECK(kl_penalty<double>(rho, beta).evaluate(a, nullptr) == Approx(beta * (kl(0.2) + kl(0.5))).epsilon(1e-12));
    // zero at the target
    CHECK(kl_penalty<double>(0.25, 1).evaluate(make({2, 1}, {0.2, 0.3}), nullptr) == Approx(0).margin(1e-15));
  }
  SECTION("l1 sum and mean") {
    const auto b = make({2, 2}, {0.5, -1.0, 0.0, 2.0});
    CHECK(l1_penalty<double>(0.1, l1_reduction::sum).evaluate(b, nullptr) == Approx(0.1 * 3.5 / 2));
    CHECK(l1_penalty<double>(0.1, l1_reduction::mean).evaluate(b, nullptr) == Approx(0.1 * 3.5 / 4));
  }
  SECTION("seed_kl is beta * rho * (mean activation - log rho)") {
    const double rho = 0.08, beta = 0.005;
    // kl_div(input = rho_hat, target = rho) = mean_j rho (log rho - rho_hat_j) = 0.08 (log 0.08 - 0.35)
    const double by_hand = beta * std::abs(rho * (std::log(rho) - 0.35));
    CHECK(seed_kl_penalty<double>(rho, beta).evaluate(a, nullptr) == Approx(by_hand).epsilon(1e-12));
    CHECK(by_hand == Approx(beta * rho * (0.35 - std::log(rho))));
  }
  SECTION("KL refuses rho outside (0, 1)") {
    CHECK_THROWS_WITH(kl_penalty<double>(1.0, 1), Catch::Contains("rho = 1 must lie in (0, 1)"));
  }
}

TEST_CASE("penalty gradients", "[grad]") {
  rng r(13);
  tensor<double> d({4, 3});
  SECTION("kl") {
    auto a = random_tensor(shape{4, 3}, r, 0.05, 0.95);
    kl_penalty<double> p(0.1, 3);
    p.evaluate(a, &d);
    check_gradient("kl", [&] { return p.evaluate(a, nullptr); }, a.data(), d.data(), a.numel());
  }
  SECTION("l1, away from zero") {
    for (auto red : {l1_reduction::sum, l1_reduction::mean}) {
      auto a = random_tensor(shape{4, 3}, r);
      for (std::int64_t i = 0; i < a.numel(); ++i) a[i] += a[i] > 0 ? 0.1 : -0.1;
      l1_penalty<double> p(0.3, red);
      p.evaluate(a, &d);
      check_gradient(p.describe(), [&] { return p.evaluate(a, nullptr); }, a.data(), d.data(), a.numel());
    }
  }
  SECTION("seed_kl") {
    auto a = random_tensor(shape{4, 3}, r, 0, 2);
    seed_kl_penalty<double> p(0.08, 0.005);
    p.evaluate(a, &d);
    check_gradient("seed_kl", [&] { return p.evaluate(a, nullptr); }, a.data(), d.data(), a.numel());
  }
}
