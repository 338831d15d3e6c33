#pragma once
// Shared by the fuzz targets: the readers under test take paths, so each
// input is written to a file in a private directory first; and the one rule
// for exceptions.
//
//   fuzz_file f("sweep.ini");             // once, in a static
//   const auto& path = f.write(data, size);
//   try { read_sweep_file(path); } catch (const sweep_error& e) { expect_message(e); }
//
// A documented error (the reader's own runtime_error subclass with a message)
// is a normal outcome; any other exception escapes, and libFuzzer reports it
// as a crash, like a signal, a sanitizer report or a leak.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

namespace saelab::fuzz {

class fuzz_file {
 public:
  explicit fuzz_file(const std::string& name) {
    dir_ = std::filesystem::temp_directory_path() / ("saelab_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = dir_ / name;
  }
  ~fuzz_file() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  fuzz_file(const fuzz_file&) = delete;
  fuzz_file& operator=(const fuzz_file&) = delete;

  const std::filesystem::path& write(const std::uint8_t* data, std::size_t size) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) {
      std::fprintf(stderr, "fuzz: cannot write %s\n", path_.c_str());
      std::abort();  // the harness, not the reader, failed: stop rather than report nonsense
    }
    return path_;
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_, path_;
};

// An error without a message breaks the "one readable line" promise.
inline void expect_message(const std::exception& e) {
  if (e.what() == nullptr || *e.what() == '\0') {
    std::fprintf(stderr, "fuzz: documented error thrown with an empty message\n");
    std::abort();
  }
}

}  // namespace saelab::fuzz
