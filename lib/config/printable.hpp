#pragma once
// printable(text): input text as it may appear inside a one-line message.
// Control characters are escaped C-style ("a\nb" -> "a\\nb", ESC -> "\\x1b"),
// so a value holding a newline or a terminal escape sequence can neither
// split an error message (or a status line) nor drive the terminal. Every
// message that echoes a config value, key, file name or argument uses it.

#include <string>
#include <string_view>

namespace saelab {

std::string printable(std::string_view text);

}  // namespace saelab
