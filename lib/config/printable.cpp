#include "config/printable.hpp"

#include <fmt/format.h>

namespace saelab {

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\x{:02x}", c);
        else
          out += ch;  // UTF-8 bytes pass: names may be non-ASCII
    }
  }
  return out;
}

}  // namespace saelab
