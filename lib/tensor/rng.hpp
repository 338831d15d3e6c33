#pragma once
// The one random source of a run. std::mt19937_64 is fully specified by the
// standard; the distributions are written here because the standard library's
// are not, so a seed gives the same numbers with any compiler.

#include <cstdint>
#include <random>
#include <string>

namespace saelab {

class rng {
 public:
  explicit rng(std::uint64_t seed) : engine_(seed) {}

  std::uint64_t next_u64() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), without modulo bias.
  std::uint64_t below(std::uint64_t n);

  // The full engine state as text, for checkpoints.
  std::string state() const;
  void set_state(const std::string& s);

 private:
  std::mt19937_64 engine_;
};

}  // namespace saelab
