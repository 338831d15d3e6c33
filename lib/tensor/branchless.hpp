#pragma once
// select(c, a, b) == (c ? a : b), bit for bit, computed with masks instead
// of a branch. GCC often compiles a ?: between two values into a branch,
// and a branch on the sign of random data (ReLU outputs, logits) mispredicts
// about half the time; masks also let loops vectorise.

#include <bit>
#include <cstdint>
#include <type_traits>

namespace saelab {

template <class T>
inline T select(bool c, T a, T b) {
  static_assert(std::is_floating_point_v<T> && (sizeof(T) == 4 || sizeof(T) == 8));
  using bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const bits take_a = bits(0) - bits(c);
  return std::bit_cast<T>((std::bit_cast<bits>(a) & take_a) | (std::bit_cast<bits>(b) & ~take_a));
}

}  // namespace saelab
