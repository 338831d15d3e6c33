#pragma once
// Test helpers for files: a fresh directory per test case, removed
// afterwards, and reading a whole file.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

namespace saelab::testing {

struct temp_dir {
  std::filesystem::path path;
  // `tag` keeps concurrent test cases (and test programs) apart.
  explicit temp_dir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() / fmt::format("saelab_test_{}_{}", ::getpid(), tag);
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;  // a destructor must not throw
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace saelab::testing
