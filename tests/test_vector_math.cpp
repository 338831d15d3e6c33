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
}  // namespace

TEST_CASE("exp_into gives std::exp(float)'s bits", "[vector_math]") {
  const auto x = spread();
  std::vector<float> y(x.size());
  exp_into(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  std::size_t bad = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!same(y[i], std::exp(x[i])) && bad++ < 5)
      WARN(fmt::format("exp({:a}) = {:a}, scalar {:a}", x[i], y[i], std::exp(x[i])));
  CHECK(bad == 0);
}

TEST_CASE("logistic_into gives the scalar logistic's bits", "[vector_math]") {
  const auto x = spread();
  std::vector<float> y(x.size());
  logistic_into(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  std::size_t bad = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!same(y[i], logistic(x[i])) && bad++ < 5)
      WARN(fmt::format("logistic({:a}) = {:a}, scalar {:a}", x[i], y[i], logistic(x[i])));
  CHECK(bad == 0);
}

TEST_CASE("exp_into on every negative float", "[.exhaustive]") {
  constexpr std::int64_t chunk = 1 << 16;
  std::vector<float> x(chunk), y(chunk);
  std::uint64_t bad = 0;
  for (std::uint64_t start = 0x80000000u; start < (std::uint64_t{1} << 32); start += chunk) {
    for (std::int64_t j = 0; j < chunk; ++j) x[j] = std::bit_cast<float>(static_cast<std::uint32_t>(start + j));
    exp_into(x.data(), y.data(), chunk);
    for (std::int64_t j = 0; j < chunk; ++j)
      if (!std::isnan(x[j]) && !same(y[j], std::exp(x[j])) && bad++ < 5)
        WARN(fmt::format("exp({:a}) = {:a}, scalar {:a}", x[j], y[j], std::exp(x[j])));
  }
  CHECK(bad == 0);
}
