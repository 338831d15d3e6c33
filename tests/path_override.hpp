#pragma once
// Test helper: sets PATH for one scope and puts the old value back, even
// when a check throws (a fake gnuplot first in PATH).

#include <cstdlib>
#include <optional>
#include <string>

namespace saelab::testing {

struct path_override {
  std::optional<std::string> old;
  explicit path_override(const std::string& value) {
    if (const char* p = std::getenv("PATH")) old = p;
    ::setenv("PATH", value.c_str(), 1);
  }
  ~path_override() {
    if (old) ::setenv("PATH", old->c_str(), 1);
    else ::unsetenv("PATH");
  }
};

}  // namespace saelab::testing
