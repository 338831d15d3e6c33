#pragma once
// FNV-1a, 64 bits: the checksum of checkpoint tensors and payloads and the
// short hash in run directory names. Not cryptographic: it catches damage
// and accidental edits, not a forger.

#include <cstddef>
#include <cstdint>

namespace saelab {

inline constexpr std::uint64_t fnv1a_basis = 0xcbf29ce484222325ull;

// h continued over `bytes` bytes at p; start from fnv1a_basis.
inline std::uint64_t fnv1a(const void* p, std::size_t bytes, std::uint64_t h = fnv1a_basis) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace saelab
