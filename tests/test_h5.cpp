#include <catch2/catch.hpp>
#include <fmt/core.h>
#include <hdf5_hl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "log/h5.hpp"
#include "log/h5_repair.hpp"

#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace saelab;
using saelab::testing::temp_dir;
using saelab::testing::slurp;

namespace {

template <class T>
std::vector<T> iota_vec(std::size_t n, T first) {
  std::vector<T> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

// Runs one hidden test case of this same binary in a separate process. A
// second process is the real SWMR situation: within one process HDF5 shares
// the open file between handles, so a same-process reader does not prove that
// the data reached the disk.
int run_child(const std::string& test_name, const fs::path& file, const std::string& extra,
              const fs::path& log) {
  ::setenv("SAELAB_H5_CHILD_FILE", file.c_str(), 1);
  ::setenv("SAELAB_H5_CHILD_EXPECT", extra.c_str(), 1);
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string cmd = fmt::format("'{}' '{}' -w NoTests > '{}' 2>&1", exe, test_name, log.string());
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

TEST_CASE("attributes of each kind on the root, a group and a dataset", "[h5]") {
  temp_dir dir("attrs");
  auto path = dir / "attrs.h5";
  {
    auto f = h5::file::create(path);
    auto g = h5::create_group(f, "/a/b/c");  // intermediate groups come too
    CHECK(h5::exists(f, "/a/b"));
    CHECK(h5::exists(f, "a/b/c"));
    CHECK_FALSE(h5::exists(f, "/a/x/c"));
    CHECK_FALSE(h5::exists(g, "nothing"));
    auto ds = h5::write_array<double>(g, "d", {2}, std::vector<double>{1.0, 2.0});
    CHECK_FALSE(h5::exists(f, "/a/b/c/d/deeper"));  // a dataset in the middle
    std::vector<h5::object*> objs{&f, &g, &ds};
    for (h5::object* o : objs) {
      h5::write_attr_string(*o, "name", "sparse autoencoder, \xce\xbb = 0.005");  // UTF-8
      h5::write_attr_int(*o, "epochs", 20);
      h5::write_attr_double(*o, "lr", 9e-3);
      h5::write_attr_ints(*o, "sizes", std::vector<std::int64_t>{8, 16, 32});
      h5::write_attr_doubles(*o, "betas", std::vector<double>{0.9, 0.999});
      h5::write_attr_doubles(*o, "none", std::vector<double>{});
    }
  }
  auto f = h5::file::open_read(path);
  auto g = h5::open_group(f, "/a/b/c");
  auto ds = h5::open_dataset(f, "/a/b/c/d");
  std::vector<h5::object*> objs{&f, &g, &ds};
  for (h5::object* o : objs) {
    INFO(o->where());
    CHECK(h5::read_attr_string(*o, "name") == "sparse autoencoder, \xce\xbb = 0.005");
    CHECK(h5::read_attr_int(*o, "epochs") == 20);
    CHECK(h5::read_attr_double(*o, "lr") == 9e-3);
    CHECK(h5::read_attr_ints(*o, "sizes") == std::vector<std::int64_t>{8, 16, 32});
    CHECK(h5::read_attr_doubles(*o, "betas") == std::vector<double>{0.9, 0.999});
    CHECK(h5::read_attr_doubles(*o, "none").empty());
    CHECK(h5::read_attr_double(*o, "epochs") == 20.0);  // integers read as doubles
    CHECK(h5::has_attr(*o, "lr"));
    CHECK_FALSE(h5::has_attr(*o, "missing"));
    CHECK_THROWS_WITH(h5::read_attr_int(*o, "lr"), Catch::Contains("not an integer"));
    CHECK_THROWS_WITH(h5::read_attr_double(*o, "sizes"), Catch::Contains("holds 3 values"));
  }
}

TEST_CASE("attributes are overwritten in place or replaced", "[h5]") {
  temp_dir dir("attr_overwrite");
  auto path = dir / "a.h5";
  auto f = h5::file::create(path);
  h5::write_attr_string(f, "status", "starting", 32);
  h5::write_attr_string(f, "status", "ok");  // shorter: the padding clears the rest
  CHECK(h5::read_attr_string(f, "status") == "ok");
  h5::write_attr_string(f, "status", std::string(40, 'x'));  // too long: replaced
  CHECK(h5::read_attr_string(f, "status") == std::string(40, 'x'));
  h5::write_attr_int(f, "status", 7);  // another type: replaced
  CHECK(h5::read_attr_int(f, "status") == 7);
  h5::write_attr_doubles(f, "v", std::vector<double>{1, 2});
  h5::write_attr_doubles(f, "v", std::vector<double>{3, 4, 5});
  CHECK(h5::read_attr_doubles(f, "v") == std::vector<double>{3, 4, 5});
  h5::write_attr_string(f, "empty", "");
  CHECK(h5::read_attr_string(f, "empty").empty());

  // A variable-length string, as other tools (h5py) write by default, still reads.
  hid_t vl = H5Tcopy(H5T_C_S1);
  H5Tset_size(vl, H5T_VARIABLE);
  hid_t scalar = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f.id(), "vl", vl, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const char* text = "from another tool";
  H5Awrite(a, vl, &text);
  H5Aclose(a);
  H5Sclose(scalar);
  H5Tclose(vl);
  CHECK(h5::read_attr_string(f, "vl") == "from another tool");
  h5::write_attr_string(f, "vl", "replaced by a fixed-length one");
  CHECK(h5::read_attr_string(f, "vl") == "replaced by a fixed-length one");
}

TEST_CASE("a series appended in three calls", "[h5]") {
  temp_dir dir("series");
  auto path = dir / "series.h5";
  // Rows of rank 0, 1 and 3; compressed and not.
  auto f = h5::file::create(path);
  auto loss = h5::create_series<double>(f, "/epoch/loss", {}, 4, false);
  auto hist = h5::create_series<std::int64_t>(f, "/epoch/hist", {5}, 2, true);
  auto act = h5::create_series<float>(f, "/act/conv1", {2, 3, 4}, 3, true);
  CHECK(h5::dims(loss) == h5::extent{0});
  CHECK(h5::dims(act) == h5::extent{0, 2, 3, 4});
  std::vector<float> all = iota_vec<float>(6 * 24, 0.5f);
  const hsize_t parts[3] = {1, 3, 2};
  hsize_t done = 0;
  for (hsize_t n : parts) {
    h5::append(act, all.data() + done * 24, n);
    std::vector<double> l(n, 0.1 * static_cast<double>(done));
    h5::append(loss, l.data(), n);
    std::vector<std::int64_t> h = iota_vec<std::int64_t>(n * 5, static_cast<std::int64_t>(done * 5));
    h5::append(hist, h.data(), n);
    done += n;
  }
  h5::append<float>(act, nullptr, 0);  // no rows: nothing happens
  CHECK(h5::dims(act) == h5::extent{6, 2, 3, 4});
  CHECK(h5::dims(hist) == h5::extent{6, 5});
  CHECK(h5::read<float>(act) == all);
  CHECK(h5::read<std::int64_t>(hist) == iota_vec<std::int64_t>(30, 0));
  CHECK(h5::read<double>(loss) == std::vector<double>{0, 0.1, 0.1, 0.1, 0.4, 0.4});
  CHECK(h5::read<double>(f, "/act/conv1")[1] == 1.5);  // converted on reading

  double d = 1.5;
  CHECK_THROWS_WITH(h5::append(hist, &d, 1), Catch::Contains("series.h5:/epoch/hist: cannot append rows") &&
                                                 Catch::Contains("holds integers"));
  auto fixed = h5::write_array<double>(f, "fixed", {2}, std::vector<double>{1, 2});
  CHECK_THROWS_WITH(h5::append(fixed, &d, 1), Catch::Contains("not a series"));
  CHECK_THROWS_WITH(h5::create_series<float>(f, "/x", {1, 2, 3, 4}, 1, false),
                    Catch::Contains("series.h5:/x: cannot create series"));
  CHECK_THROWS_WITH(h5::create_series<float>(f, "/epoch/loss", {}, 1, false),
                    Catch::Contains("series.h5:/epoch/loss: cannot create dataset"));
}

TEST_CASE("fixed arrays of every element type, overwritten in place", "[h5]") {
  temp_dir dir("arrays");
  auto f = h5::file::create(dir / "arrays.h5");
  auto w = h5::write_array<float>(f, "/weights/conv1", {8, 1, 3, 3}, iota_vec<float>(72, 0), true);
  CHECK(h5::dims(w) == h5::extent{8, 1, 3, 3});
  h5::overwrite<float>(w, iota_vec<float>(72, 100));
  CHECK(h5::read<float>(w) == iota_vec<float>(72, 100));
  h5::write_array<double>(f, "d", {2, 3}, iota_vec<double>(6, -3));
  h5::write_array<std::int32_t>(f, "i32", {4}, iota_vec<std::int32_t>(4, -2));
  h5::write_array<std::uint8_t>(f, "u8", {3}, std::vector<std::uint8_t>{0, 128, 255});
  h5::write_array<std::int64_t>(f, "scalar", {}, std::vector<std::int64_t>{42});
  CHECK(h5::read<double>(f, "d") == iota_vec<double>(6, -3));
  CHECK(h5::read<std::int32_t>(f, "i32") == std::vector<std::int32_t>{-2, -1, 0, 1});
  CHECK(h5::read<std::uint8_t>(f, "u8") == std::vector<std::uint8_t>{0, 128, 255});
  CHECK(h5::read<float>(f, "u8") == std::vector<float>{0, 128, 255});
  CHECK(h5::dims(h5::open_dataset(f, "scalar")).empty());
  CHECK(h5::read<std::int64_t>(f, "scalar") == std::vector<std::int64_t>{42});
  CHECK_THROWS_WITH(h5::overwrite<float>(w, iota_vec<float>(5, 0)),
                    Catch::Contains("arrays.h5:/weights/conv1: cannot overwrite: 5 values given for 72"));
  CHECK_THROWS_WITH(h5::write_array<float>(f, "bad", {2, 2}, iota_vec<float>(3, 0)),
                    Catch::Contains("arrays.h5:/bad: cannot write array"));
}

TEST_CASE("a string dataset longer than 64 KiB", "[h5]") {
  temp_dir dir("string");
  auto path = dir / "s.h5";
  std::string text;
  for (int i = 0; text.size() < 100'000; ++i) text += fmt::format("[layer{}]\nrho = 0.08  # \xcf\x81\n", i);
  {
    auto f = h5::file::create(path);
    auto ds = h5::write_string(f, "/config", text);
    h5::write_string(f, "/status", "running", 32);
    h5::overwrite_string(h5::open_dataset(f, "/status"), "done");
    CHECK_THROWS_WITH(h5::overwrite_string(ds, text + "x"), Catch::Contains("do not fit"));
  }
  auto f = h5::file::open_read(path);
  CHECK(h5::read_string(f, "/config") == text);
  CHECK(h5::read_string(f, "/status") == "done");
  CHECK_THROWS_WITH(h5::read<float>(f, "/config"), Catch::Contains("s.h5:/config: cannot read"));
}

TEST_CASE("an image-marked dataset and a description", "[h5]") {
  temp_dir dir("image");
  auto f = h5::file::create(dir / "img.h5");
  std::vector<std::uint8_t> pixels(28 * 28);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i % 256);
  auto img = h5::write_array<std::uint8_t>(f, "/images/digit", {28, 28}, pixels);
  h5::mark_image(img);
  h5::set_description(img, "pixel", "first training digit");
  CHECK(h5::read_attr_string(img, "CLASS") == "IMAGE");
  CHECK(h5::read_attr_string(img, "IMAGE_VERSION") == "1.2");
  CHECK(h5::read_attr_string(img, "IMAGE_SUBCLASS") == "IMAGE_GRAYSCALE");
  CHECK(h5::read_attr_int(img, "IMAGE_WHITE_IS_ZERO") == 0);
  CHECK(h5::read_attr_doubles(img, "IMAGE_MINMAXRANGE") == std::vector<double>{0, 255});
  CHECK(h5::read_attr_string(img, "units") == "pixel");
  CHECK(h5::read_attr_string(img, "description") == "first training digit");
  CHECK(H5IMis_image(f.id(), "/images/digit") == 1);  // hdf5_hl's own check agrees
  hsize_t w = 0, h = 0, planes = 0;
  char interlace[32] = {};
  hssize_t npals = 0;
  CHECK(H5IMget_image_info(f.id(), "/images/digit", &w, &h, &planes, interlace, &npals) >= 0);
  CHECK(w == 28);
  CHECK(h == 28);

  auto filters = h5::write_array<float>(f, "/images/filters", {8, 3, 3}, iota_vec<float>(72, 0));
  h5::mark_image(filters, 0.0, 71.0);  // marking twice replaces the attributes
  h5::mark_image(filters, -1.0, 1.0);
  CHECK(h5::read_attr_doubles(filters, "IMAGE_MINMAXRANGE") == std::vector<double>{-1, 1});
  auto line = h5::write_array<float>(f, "/line", {4}, iota_vec<float>(4, 0));
  CHECK_THROWS_WITH(h5::mark_image(line), Catch::Contains("img.h5:/line: cannot mark as image"));
}

TEST_CASE("SWMR: a reader sees appended rows and the status while the writer is open", "[h5][swmr]") {
  temp_dir dir("swmr");
  auto path = dir / "run.h5";
  auto w = h5::file::create(path);
  h5::write_attr_string(w, "status", "starting", 32);
  auto loss = h5::create_series<double>(w, "/epoch/loss", {}, 4, false);
  auto act = h5::create_series<float>(w, "/act/code", {3}, 2, true);
  w.start_swmr();
  CHECK(w.swmr_writing());

  std::vector<double> l{0.5, 0.4};
  h5::append(loss, l.data(), 2);
  std::vector<float> a = iota_vec<float>(6, 0);
  h5::append(act, a.data(), 2);
  h5::write_attr_string(w, "status", "epoch 1");
  w.flush();

  // A second handle in this process, while the writer is open.
  auto r = h5::file::open_read(path, true);
  auto rloss = h5::open_dataset(r, "/epoch/loss");
  CHECK(h5::read<double>(rloss) == l);
  CHECK(h5::read<float>(r, "/act/code") == a);
  CHECK(h5::read_attr_string(r, "status") == "epoch 1");

  // More rows: a long-lived reader refreshes to see them.
  h5::append(loss, l.data(), 2);
  h5::write_attr_string(w, "status", "epoch 2");
  w.flush();
  h5::refresh(rloss);
  h5::refresh(r);
  CHECK(h5::dims(rloss) == h5::extent{4});
  CHECK(h5::read_attr_string(r, "status") == "epoch 2");

  // Another process, reading from disk what the flush wrote.
  auto log = dir / "child.log";
  int rc = run_child("h5 swmr child reader", path, "4|epoch 2", log);
  INFO(slurp(log));
  CHECK(rc == 0);

  // Status overwritten in place again, then read by a fresh process.
  h5::write_attr_string(w, "status", "finished");
  w.flush();
  rc = run_child("h5 swmr child reader", path, "4|finished", log);
  INFO(slurp(log));
  CHECK(rc == 0);

  // What SWMR forbids is refused with a plain message.
  CHECK_THROWS_WITH(h5::write_attr_string(w, "status", std::string(40, 'x')),
                    Catch::Contains("cannot be replaced while SWMR writing"));
  CHECK_THROWS_WITH(h5::write_attr_int(w, "new_attr", 1),
                    Catch::Contains("run.h5:/: cannot write attribute 'new_attr'") &&
                        Catch::Contains("while SWMR writing"));
  CHECK_THROWS_WITH(h5::create_group(w, "/late"), Catch::Contains("run.h5:/late: cannot create group"));
  CHECK_THROWS_WITH(h5::create_series<float>(w, "/late", {}, 1, false),
                    Catch::Contains("while SWMR writing"));
  rloss = {};  // the same file underneath: w closes for real only when this has gone too
  r.close();
  loss = {};
  act = {};
  w.close();

  auto f = h5::file::open_read(path);
  CHECK(h5::read<double>(f, "/epoch/loss") == std::vector<double>{0.5, 0.4, 0.5, 0.4});
  CHECK(h5::read_attr_string(f, "status") == "finished");
}

// Run by the test above in a separate process: SAELAB_H5_CHILD_EXPECT is
// "<rows of /epoch/loss>|<status>".
TEST_CASE("h5 swmr child reader", "[.]") {
  std::string expect = env("SAELAB_H5_CHILD_EXPECT");
  auto bar = expect.find('|');
  REQUIRE(bar != std::string::npos);
  auto r = h5::file::open_read(env("SAELAB_H5_CHILD_FILE"), true);
  auto loss = h5::read<double>(r, "/epoch/loss");
  CHECK(loss.size() == std::stoul(expect.substr(0, bar)));
  CHECK(loss[0] == 0.5);
  CHECK(h5::read<float>(r, "/act/code") == iota_vec<float>(6, 0));
  CHECK(h5::read_attr_string(r, "status") == expect.substr(bar + 1));
}

TEST_CASE("resume: appending to a closed log, and a log whose writer was killed", "[h5][swmr]") {
  temp_dir dir("resume");
  auto path = dir / "run.h5";
  {
    auto f = h5::file::create(path);
    auto s = h5::create_series<std::int32_t>(f, "/step", {}, 8, false);
    std::vector<std::int32_t> v{1, 2, 3};
    h5::append(s, v.data(), 3);
  }
  {
    auto f = h5::file::open_rw(path);
    auto s = h5::open_dataset(f, "/step");
    f.start_swmr();
    std::vector<std::int32_t> v{4, 5};
    h5::append(s, v.data(), 2);
  }
  CHECK(h5::read<std::int32_t>(h5::file::open_read(path), "/step") ==
        std::vector<std::int32_t>{1, 2, 3, 4, 5});

  auto crashed = dir / "crashed.h5";
  auto log = dir / "child.log";
  run_child("h5 swmr child killed writer", crashed, "", log);
  INFO(slurp(log));
  REQUIRE(fs::exists(crashed));
  CHECK(h5::read<std::int32_t>(h5::file::open_read(crashed, true), "/step").size() == 3);
  CHECK_THROWS_WITH(h5::file::open_read(crashed), Catch::Contains("h5clear -s --increment=0"));
  CHECK_THROWS_WITH(h5::file::open_rw(crashed),
                    Catch::Contains(crashed.string() + ": cannot open file for writing") &&
                        Catch::Contains("h5clear -s --increment=0"));
  if (!fs::exists("/usr/bin/h5clear")) {
    WARN("h5clear not installed: repair of a killed writer's file not checked");
    return;
  }
  REQUIRE(std::system(fmt::format("/usr/bin/h5clear -s --increment=0 '{}'", crashed.string()).c_str()) == 0);
  auto f = h5::file::open_rw(crashed);
  auto s = h5::open_dataset(f, "/step");
  CHECK(h5::read<std::int32_t>(s) == std::vector<std::int32_t>{7, 8, 9});  // the flushed rows
}

// What the run's resume relies on: the two repairable states come as a typed
// error, not as text to search, and h5::repair makes the file open again.
TEST_CASE("a killed writer's file and a short file throw needs_repair, and repair fixes them", "[h5][swmr]") {
  temp_dir dir("repair");
  const auto kind_of = [](const fs::path& p) -> std::optional<h5::needs_repair> {
    try {
      h5::file::open_rw(p);
    } catch (const h5::needs_repair& e) {
      return e;
    }
    return std::nullopt;
  };

  auto crashed = dir / "crashed.h5";
  run_child("h5 swmr child killed writer", crashed, "", dir / "child.log");
  REQUIRE(fs::exists(crashed));
  const auto killed = kind_of(crashed);
  REQUIRE(killed);
  CHECK(killed->kind() == h5::damage::killed_writer);
  CHECK_THAT(killed->what(), Catch::Contains("h5clear -s --increment=0"));
  CHECK(h5::repair(crashed, *killed));
  CHECK(h5::read<std::int32_t>(h5::open_dataset(h5::file::open_rw(crashed), "/step")) ==
        std::vector<std::int32_t>{7, 8, 9});

  // A write that failed for lack of space: the tail of the file is missing.
  auto short_file = dir / "short.h5";
  {
    auto f = h5::file::create(short_file);
    std::vector<std::int32_t> rows(4096, 7);
    auto s = h5::create_series<std::int32_t>(f, "/step", {}, 4096, false);
    h5::append(s, rows.data(), rows.size());
  }
  const auto full = fs::file_size(short_file);
  fs::resize_file(short_file, full - 1000);
  const auto cut = kind_of(short_file);
  REQUIRE(cut);
  CHECK(cut->kind() == h5::damage::short_file);
  CHECK(cut->stored_eof() == full);
  // Implausible ends change nothing.
  CHECK_FALSE(h5::repair(short_file, h5::needs_repair("x", h5::damage::short_file, full - 2000)));
  CHECK_FALSE(h5::repair(short_file, h5::needs_repair("x", h5::damage::short_file, full + (std::uintmax_t{1} << 31))));
  CHECK(fs::file_size(short_file) == full - 1000);
  CHECK(h5::repair(short_file, *cut));
  CHECK(fs::file_size(short_file) == full);
  CHECK_FALSE(kind_of(short_file));

  // Any other refusal is a plain h5::error.
  std::ofstream(dir / "text.h5") << "not HDF5";
  bool plain = false;
  try {
    h5::file::open_rw(dir / "text.h5");
  } catch (const h5::needs_repair&) {
  } catch (const h5::error&) {
    plain = true;
  }
  CHECK(plain);
}

// Run by the test above: writes, flushes and dies without closing anything.
TEST_CASE("h5 swmr child killed writer", "[.]") {
  auto f = h5::file::create(env("SAELAB_H5_CHILD_FILE"));
  auto s = h5::create_series<std::int32_t>(f, "/step", {}, 8, false);
  f.start_swmr();
  std::vector<std::int32_t> v{7, 8, 9};
  h5::append(s, v.data(), 3);
  f.flush();
  std::_Exit(0);
}

TEST_CASE("a file is closed only when nothing of it is open, so its last writes can fail visibly", "[h5]") {
  temp_dir dir("close_order");
  auto f = h5::file::create(dir / "a.h5");
  {
    auto g = h5::create_group(f, "/g");
    auto ds = h5::write_array<float>(g, "w", {2}, std::vector<float>{1, 2});
    // HDF5 would close the file for real at ds's or g's destructor, where a
    // failed final write (a full disk) cannot be reported.
    CHECK_THROWS_WITH(f.close(), Catch::Contains("a.h5: cannot close file: 2 of its groups, datasets or "
                                                 "attributes are still open"));
  }
  CHECK_NOTHROW(f.close());
  CHECK(h5::read<float>(h5::file::open_read(dir / "a.h5"), "/g/w") == std::vector<float>{1, 2});
}

TEST_CASE("errors name the file, the object and the operation", "[h5]") {
  temp_dir dir("errors");
  auto missing = dir / "missing.h5";
  CHECK_THROWS_AS(h5::file::open_read(missing), h5::error);
  CHECK_THROWS_WITH(h5::file::open_read(missing),
                    Catch::Contains(missing.string()) && Catch::Contains("no such file"));
  CHECK_THROWS_WITH(h5::file::open_rw(missing), Catch::Contains(missing.string()));

  auto text = dir / "not_hdf5.h5";
  std::ofstream(text) << "this is not an HDF5 file\n";
  CHECK_THROWS_WITH(h5::file::open_read(text),
                    Catch::Contains(text.string() + ": cannot open file for reading") &&
                        Catch::Contains("signature"));
  CHECK_THROWS_WITH(h5::file::create(dir / "no_dir" / "x.h5"), Catch::Contains("cannot create file"));

  auto path = dir / "run.h5";
  auto f = h5::file::create(path);
  auto g = h5::create_group(f, "/epoch");
  CHECK_THROWS_WITH(h5::read<float>(f, "/epoch/loss"),
                    Catch::Contains(path.string() + ":/epoch/loss: cannot open dataset") &&
                        Catch::Contains("doesn't exist"));
  CHECK_THROWS_WITH(h5::open_dataset(g, "loss"), Catch::Contains("run.h5:/epoch/loss"));
  CHECK_THROWS_WITH(h5::open_group(f, "/nope"), Catch::Contains("run.h5:/nope: cannot open group"));
  CHECK_THROWS_WITH(h5::read_attr_string(g, "units"),
                    Catch::Contains("run.h5:/epoch: cannot read attribute 'units'"));
  CHECK_THROWS_WITH(h5::create_group(f, "/epoch"), Catch::Contains("run.h5:/epoch: cannot create group"));
  auto ds = h5::write_array<float>(g, "w", {1}, std::vector<float>{1});
  CHECK_THROWS_WITH(h5::write_array<float>(ds, "x", {1}, std::vector<float>{1}),
                    Catch::Contains("run.h5:/epoch/w/x: cannot create dataset: only a file or a group"));
}

TEST_CASE("h5dump reads a closed file written here", "[h5]") {
  if (!fs::exists("/usr/bin/h5dump")) {
    WARN("/usr/bin/h5dump not installed (package hdf5-tools): check skipped");
    return;
  }
  temp_dir dir("h5dump");
  auto path = dir / "dump.h5";
  {
    auto f = h5::file::create(path);
    h5::write_attr_string(f, "status", "finished", 32);
    auto s = h5::create_series<float>(f, "/epoch/loss", {}, 4, true);
    std::vector<float> v{0.25f, 0.125f};
    h5::append(s, v.data(), 2);
    h5::write_string(f, "/config", "[sparsity]\nrho = 0.08\n");
    auto img = h5::write_array<std::uint8_t>(f, "/img", {2, 2}, std::vector<std::uint8_t>{0, 1, 2, 3});
    h5::mark_image(img);
    f.start_swmr();  // a log is closed from SWMR mode; h5dump must still read it
  }
  // Every handle above closed its identifier: nothing of any file is still open.
  CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == 0);
  auto out = dir / "dump.txt";
  int rc = std::system(fmt::format("/usr/bin/h5dump '{}' > '{}' 2>&1", path.string(), out.string()).c_str());
  std::string dump = slurp(out);
  INFO(dump);
  CHECK(rc == 0);
  CHECK(dump.find("0.25, 0.125") != std::string::npos);
  CHECK(dump.find("IMAGE_GRAYSCALE") != std::string::npos);
  CHECK(dump.find("rho = 0.08") != std::string::npos);
}
