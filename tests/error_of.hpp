#pragma once
// error_of<E>(f): the message of the E that f() throws, "" when it throws
// none (any other exception propagates and fails the test).

#include <string>

namespace saelab::testing {

template <class E, class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace saelab::testing
