// Every file saelab reads from the user refuses what is not a regular file
// (FIFO, directory, device) at once, with one line naming it; and images are
// checked by shape, not by pixel count.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "data/idx.hpp"
#include "experiment/checkpoint.hpp"
#include "experiment/session.hpp"
#include "io/input_file.hpp"
#include "fake_mnist.hpp"
#include "in_child.hpp"
#include "log/h5.hpp"
#include "sweep/csv.hpp"
#include "sweep/spec.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::run_in_child;
using saelab::testing::temp_dir;

namespace {

// Each reader of a user-named file, given `path`.
struct reader {
  const char* what;
  std::function<void(const fs::path&)> read;
};

std::vector<reader> readers(const fs::path& scratch) {
  return {
      {"IDX images", [](const fs::path& p) { read_idx_images(p.string()); }},
      {"IDX labels", [](const fs::path& p) { read_idx_labels(p.string()); }},
      {"config", [](const fs::path& p) { load_config(p.string(), {}); }},
      {"sweep file", [](const fs::path& p) { read_sweep_file(p); }},
      {"sweep base",
       [scratch](const fs::path& p) {
         const fs::path sweep = scratch / "sweep.ini";
         std::ofstream(sweep) << "[sweep]\nbase = " << p.string() << "\n[grid]\nsparsity.rho = 0.1, 0.2\n";
         read_sweep_file(sweep);
       }},
      {"summary.csv", [](const fs::path& p) { read_csv(p); }},
      {"checkpoint", [](const fs::path& p) { read_checkpoint_info(p); }},
      {"HDF5 file", [](const fs::path& p) { h5::file::open_read(p); }},
  };
}

}  // namespace

TEST_CASE("a FIFO, a directory or a device given as any input is refused at once", "[inputs]") {
  temp_dir dir("inputs_1");
  const fs::path fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::create_directories(dir / "a_dir");
  const struct {
    fs::path path;
    const char* kind;
  } cases[] = {{fifo, "not a regular file (a FIFO)"},
               {dir / "a_dir", "not a regular file (a directory)"},
               {"/dev/null", "not a regular file (a character device)"}};
  for (const auto& c : cases)
    for (const reader& r : readers(dir.path)) {
      INFO(r.what << " given " << c.path);
      // In a child: before the fix, reading a FIFO blocked forever.
      const std::string message = run_in_child([&] { r.read(c.path); }).message;
      CHECK_THAT(message, Catch::Contains(c.path.string()) && Catch::Contains(c.kind));
    }
}

TEST_CASE("a FIFO among the MNIST files is refused, not waited on", "[inputs]") {
  temp_dir dir("inputs_2");
  saelab::testing::write_fake_mnist(dir.path, 4, 2);
  fs::remove(dir / "t10k-labels-idx1-ubyte");
  REQUIRE(::mkfifo((dir / "t10k-labels-idx1-ubyte").c_str(), 0600) == 0);
  CHECK_THAT(run_in_child([&] { load_mnist(dir.path.string()); }).message,
             Catch::Contains("t10k-labels-idx1-ubyte: not a regular file (a FIFO): expected an IDX file"));
}

TEST_CASE("a regular file behind a symbolic link is read", "[inputs]") {
  temp_dir dir("inputs_3");
  std::ofstream(dir / "real.ini") << "[model]\nhidden = 7\n";
  fs::create_symlink(dir / "real.ini", dir / "link.ini");
  CHECK(load_config((dir / "link.ini").string(), {}).model.hidden == 7);
}

TEST_CASE("the input shape is the data's: a model that does not fit it is refused", "[inputs]") {
  temp_dir dir("inputs_4");
  // 14 x 56 = 784 = 28 x 28: fc takes them (its layers follow the data's
  // shape); seed_conv's layers do not reconstruct a 14 x 56 image.
  fs::create_directories(dir / "mnist");
  saelab::testing::write_idx_images(dir / "mnist" / "train-images-idx3-ubyte", 4, 14, 56, 1);
  saelab::testing::write_idx_labels(dir / "mnist" / "train-labels-idx1-ubyte", 4);
  saelab::testing::write_idx_images(dir / "mnist" / "t10k-images-idx3-ubyte", 2, 14, 56, 2);
  saelab::testing::write_idx_labels(dir / "mnist" / "t10k-labels-idx1-ubyte", 2);
  const auto config = [&](const char* arch) {
    return load_config("", {"data.dir=" + (dir / "mnist").string(), std::string("model.arch=") + arch,
                            "model.hidden=8", "sparsity.kind=none"});
  };
  const experiment_config fc = config("fc");
  training_session s(fc);
  CHECK(s.net->activation_shape(0) == shape{1, 14, 56});
  const experiment_config conv = config("seed_conv");
  CHECK_THROWS_WITH(training_session(conv),
                    Catch::Contains("the last layer's output [1, 16, 56] has 896 values, the input [1, 14, 56] has 784"));
}

TEST_CASE("text inputs are read whole, up to a size limit", "[inputs]") {
  temp_dir dir("inputs_5");
  std::ofstream(dir / "fifty") << std::string(50, 'x');
  CHECK(read_input_text(dir / "fifty", "a test file", 50) == std::string(50, 'x'));
  CHECK_THROWS_WITH(read_input_text(dir / "fifty", "a test file", 49),
                    Catch::Contains("fifty: 50 bytes or more: expected a test file of at most 49 bytes"));
  std::ofstream(dir / "empty").flush();
  CHECK(read_input_text(dir / "empty", "a test file").empty());
  // A regular file whose size says 0 but which holds text: read until its end,
  // and still no further than the limit.
  const std::string status = read_input_text("/proc/self/status", "a test file");
  CHECK_THAT(status, Catch::Contains("Pid:"));
  CHECK_THROWS_WITH(read_input_text("/proc/self/status", "a test file", 10), Catch::Contains("bytes or more"));
  CHECK_THROWS_WITH(read_input_text(dir / "absent", "a test file"),
                    Catch::Contains("absent: no such file: expected a test file"));
}
