// The vectorised transcendental loops must give the scalar <cmath> bits, so
// that the sigmoid layer and the BCE gradient are exactly what they were
// before vectorisation. The default cases check a spread of float bit
// patterns (every sign and exponent, many mantissas); the hidden one checks
// every negative float (what logistic passes to exp) and takes a minute or two:
//
//   build/tests/test_vector_math "[exhaustive]"
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "tensor/vector_math.hpp"

using namespace saelab;

namespace {
// Every 4093rd bit pattern (about a million), plus edges.
std::vector<float> spread() {
  std::vector<float> v;
  for (std::uint64_t u = 977; u < (std::uint64_t{1} << 32); u += 4093) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(u));
    if (!std::isnan(x)) v.push_back(x);
  }
  for (float x : {0.0f, -0.0f, 1e-45f, -1e-45f, 87.0f, -87.0f, 88.0f, -88.0f, 88.7f, -88.7f, 103.9f, -103.9f,
                  1e30f, -1e30f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()})
    v.push_back(x);
  v.push_back(0.5f);  // length not a multiple of 8: the scalar tail runs too
  return v;
}

bool same(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

// How many y[i] differ in any bit from scalar(x[i]) (NaN inputs skipped);
// the first few are printed.
template <class F>
std::uint64_t mismatches(const char* name, const std::vector<float>& x, const std::vector<float>& y, F scalar) {
  std::uint64_t bad = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(x[i]) && !same(y[i], scalar(x[i])) && bad++ < 5)
      WARN(fmt::format("{}({:a}) = {:a}, scalar {:a}", name, x[i], y[i], scalar(x[i])));
  return bad;
}
float exp_scalar(float x) { return std::exp(x); }
}  // namespace

TEST_CASE("exp_into gives std::exp(float)'s bits", "[vector_math]") {
  const auto x = spread();
  std::vector<float> y(x.size());
  exp_into(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  CHECK(mismatches("exp", x, y, exp_scalar) == 0);
}

TEST_CASE("logistic_into gives the scalar logistic's bits", "[vector_math]") {
  const auto x = spread();
  std::vector<float> y(x.size());
  logistic_into(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  CHECK(mismatches("logistic", x, y, [](float v) { return logistic(v); }) == 0);
}

TEST_CASE("exp_into on every negative float", "[.exhaustive]") {
  constexpr std::int64_t chunk = 1 << 16;
  std::vector<float> x(chunk), y(chunk);
  std::uint64_t bad = 0;
  for (std::uint64_t start = 0x80000000u; start < (std::uint64_t{1} << 32); start += chunk) {
    for (std::int64_t j = 0; j < chunk; ++j) x[j] = std::bit_cast<float>(static_cast<std::uint32_t>(start + j));
    exp_into(x.data(), y.data(), chunk);
    bad += mismatches("exp", x, y, exp_scalar);
  }
  CHECK(bad == 0);
}

namespace {
// Random floats in [lo, hi), deterministic.
std::vector<float> uniform_floats(std::size_t n, float lo, float hi, std::uint32_t seed) {
  std::vector<float> v(n);
  std::uint32_t s = seed;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / static_cast<float>(1u << 24);
  }
  return v;
}
}  // namespace

TEST_CASE("the vectorised sums agree with in-order long double sums", "[vector_math]") {
  // Lengths around the 16-lane blocks, so the scalar tail runs with 0-15 left.
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 31u, 1000u, 100003u}) {
    const auto x = uniform_floats(n, -3.0f, 2.0f, static_cast<std::uint32_t>(n) + 5);
    long double s = 0, a = 0;
    for (float v : x) {
      s += v;
      a += std::abs(v);
    }
    const auto len = static_cast<std::int64_t>(n);
    CHECK(sum(x.data(), len) == Approx(static_cast<double>(s)).epsilon(1e-12).margin(1e-12));
    CHECK(sum_abs(x.data(), len) == Approx(static_cast<double>(a)).epsilon(1e-12).margin(1e-12));
    // the same bits on every call
    CHECK(std::bit_cast<std::uint64_t>(sum(x.data(), len)) == std::bit_cast<std::uint64_t>(sum(x.data(), len)));
  }
}

TEST_CASE("bce_logits_sum agrees with the scalar formula and propagates NaN", "[vector_math]") {
  for (std::size_t n : {1u, 16u, 23u, 4099u}) {
    // logits far into both tails, where a naive log(1 + exp(z)) overflows
    const auto z = uniform_floats(n, -120.0f, 120.0f, static_cast<std::uint32_t>(n));
    const auto t = uniform_floats(n, 0.0f, 1.0f, static_cast<std::uint32_t>(n) + 1);
    long double ref = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const long double x = z[i];
      ref += std::max(x, 0.0L) - x * t[i] + std::log1p(std::exp(-std::abs(x)));
    }
    CHECK(bce_logits_sum(z.data(), t.data(), static_cast<std::int64_t>(n)) ==
          Approx(static_cast<double>(ref)).epsilon(1e-12));
  }
  // hand values: z = 0 gives ln 2 whatever t; z = 2, t = 1 gives log1p(e^-2)
  const std::vector<float> z = {0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, -1};
  const std::vector<float> t = {1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0};
  const double expect = 8 * std::log(2.0) + 8 * std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0));
  CHECK(bce_logits_sum(z.data(), t.data(), 17) == Approx(expect).epsilon(1e-14));
  auto bad = z;
  bad[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(bce_logits_sum(bad.data(), t.data(), 17)));
}
