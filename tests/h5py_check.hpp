#pragma once
// Checks an HDF5 file as a viewer sees it, with h5py: tests/check_viewer_h5.py
// (units, descriptions, axis labels and scales, the @default plot).
// python3 and h5py are optional (Debian: python3-h5py): without them the check
// warns and checks nothing.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "temp_dir.hpp"

namespace saelab::testing {

inline void check_with_h5py(const std::filesystem::path& path) {
  const std::filesystem::path script = "tests/check_viewer_h5.py";
  INFO("run the tests from the source root (meson test does), where " << script << " is");
  REQUIRE(std::filesystem::exists(script));
  const std::filesystem::path out = path.string() + ".h5py.txt";
  int code = 127;  // a python3 on PATH (pyenv, a venv) may lack the Debian h5py that /usr/bin/python3 has
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    const int rc = std::system(
        fmt::format("{} '{}' '{}' > '{}' 2>&1", python, script.string(), path.string(), out.string()).c_str());
    code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (code != 127 && code != 77) break;
  }
  if (code == 127 || code == 77) {
    WARN("python3 or h5py is not installed (Debian: python3-h5py): " << path.filename() << " not checked with h5py");
    return;
  }
  INFO(slurp(out));
  CHECK(code == 0);
}

}  // namespace saelab::testing
