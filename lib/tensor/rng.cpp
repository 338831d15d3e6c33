#include "tensor/rng.hpp"

#include <sstream>
#include <stdexcept>

namespace saelab {

std::uint64_t rng::below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("rng::below: n must be positive");
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t v;
  do v = engine_(); while (v >= limit);
  return v % n;
}

std::string rng::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void rng::set_state(const std::string& s) {
  std::istringstream in(s);
  in >> engine_;
  if (!in) throw std::invalid_argument("rng::set_state: not a valid mt19937_64 state");
}

}  // namespace saelab
