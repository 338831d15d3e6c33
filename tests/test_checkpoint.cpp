// Checkpoints and run directories under bad input: every failure is one clear
// error naming the file, and nothing is overwritten.

#include <catch2/catch.hpp>

#include <hdf5.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>

#include "experiment/checkpoint.hpp"
#include "experiment/model.hpp"
#include "experiment/runner.hpp"
#include "error_of.hpp"
#include "fake_mnist.hpp"
#include "log/h5.hpp"
#include "report/atomic_write.hpp"

using namespace saelab;
using namespace saelab::testing;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct model_and_state {
  std::unique_ptr<network<float>> net;
  std::unique_ptr<optimizer<float>> opt;
  rng r{0};
};

model_and_state make(int hidden, std::uint64_t seed, optim_kind kind = optim_kind::adam,
                     activation_kind act = activation_kind::sigmoid) {
  model_config m;
  m.hidden = hidden;
  m.hidden_activation = act;
  model_and_state s;
  s.net = build_model<float>(m, shape{1, 28, 28});
  s.r = rng(seed);
  s.net->init(s.r);
  const auto n = s.net->params().numel();
  if (kind == optim_kind::adam)
    s.opt = std::make_unique<adam<float>>(n, 1e-3, 0.9, 0.999, 1e-8);
  else
    s.opt = std::make_unique<sgd<float>>(n, 1e-2, 0.9);
  // Distinct, non-zero optimiser state and step count.
  for (auto* t : s.opt->state())
    for (std::int64_t i = 0; i < t->numel(); ++i) (*t)[i] = static_cast<float>(s.r.uniform(-1, 1));
  s.opt->set_steps(37);
  return s;
}

std::vector<float> copy_of(const tensor<float>& t) { return {t.data(), t.data() + t.numel()}; }

bool same_bits(const tensor<float>& t, const std::vector<float>& v) {
  return t.numel() == static_cast<std::int64_t>(v.size()) &&
         std::memcmp(t.data(), v.data(), v.size() * sizeof(float)) == 0;
}

checkpoint_meta meta_for(int epoch, optim_kind kind = optim_kind::adam) {
  experiment_config c;
  c.model.hidden = 12;
  c.optim.kind = kind;
  return {to_ini(c), kind, epoch};
}

// The error message of f(), or "" when it did not throw checkpoint_error.
template <class F>
std::string checkpoint_error_of(F f) {
  return saelab::testing::error_of<checkpoint_error>(f);
}

// A checkpoint of one model in a fresh directory, and a second model of the
// same shape to load it into, with what it held before.
struct saved_checkpoint {
  temp_dir tmp;
  fs::path file;
  model_and_state b;
  std::vector<float> before;
  std::string rng_before;

  explicit saved_checkpoint(const std::string& tag) : tmp(tag), file(tmp / "model.h5") {
    auto a = make(12, 1);
    save_checkpoint(file, *a.net, *a.opt, a.r, meta_for(2));
    b = make(12, 2);
    before = copy_of(b.net->params());
    rng_before = b.r.state();
  }
  // The error of loading `p` into b with its optimiser and rng, "" if it loaded.
  std::string load_b(const fs::path& p) {
    return checkpoint_error_of([&] { load_checkpoint(p, *b.net, b.opt.get(), &b.r); });
  }
  bool b_unchanged() const { return same_bits(b.net->params(), before) && b.r.state() == rng_before; }
};

}  // namespace

TEST_CASE("checkpoint round trip restores weights, optimiser, rng and epoch bitwise", "[checkpoint]") {
  temp_dir tmp("ckpt_roundtrip");
  const fs::path file = tmp / "model.h5";
  for (optim_kind kind : {optim_kind::adam, optim_kind::sgd}) {
    INFO("optimiser " << to_string(kind));
    auto a = make(12, 1, kind);
    save_checkpoint(file, *a.net, *a.opt, a.r, meta_for(3, kind));
    for (const auto& e : fs::directory_iterator(tmp.path))
      CHECK(e.path().filename().string().find(".tmp") == std::string::npos);  // no temporary left

    auto b = make(12, 2, kind);  // other weights, state and rng
    const checkpoint_info info = load_checkpoint(file, *b.net, b.opt.get(), &b.r);
    CHECK(info.next_epoch == 3);
    CHECK(info.optimizer == to_string(kind));
    CHECK(info.optimizer_steps == 37);
    CHECK(info.param_count == a.net->params().numel());
    CHECK(info.model_summary == a.net->summary());
    CHECK(info.program_version == program_version());
    CHECK(stored_config(info, file).model.hidden == 12);
    CHECK(same_bits(b.net->params(), copy_of(a.net->params())));
    for (std::size_t i = 0; i < a.opt->state().size(); ++i)
      CHECK(same_bits(*b.opt->state()[i], copy_of(*a.opt->state()[i])));
    CHECK(b.opt->steps() == 37);
    CHECK(b.r.next_u64() == a.r.next_u64());
  }
}

TEST_CASE("checkpoint per-layer datasets have PyTorch shapes", "[checkpoint]") {
  temp_dir tmp("ckpt_layers");
  auto a = make(12, 1);
  save_checkpoint(tmp / "model.h5", *a.net, *a.opt, a.r, meta_for(1));
  auto f = h5::file::open_read(tmp / "model.h5");
  CHECK(h5::dims(h5::open_dataset(f, "/layers/00_linear/weight")) == h5::extent{12, 784});
  CHECK(h5::dims(h5::open_dataset(f, "/layers/00_linear/bias")) == h5::extent{12});
  CHECK(h5::dims(h5::open_dataset(f, "/layers/02_linear/weight")) == h5::extent{784, 12});
  // The encoder weight is the first 12 * 784 values of the flat buffer.
  const auto w = h5::read<float>(f, "/layers/00_linear/weight");
  CHECK(std::memcmp(w.data(), a.net->params().data(), 12 * 784 * sizeof(float)) == 0);
  CHECK(h5::read_attr_string(h5::open_dataset(f, "/layers/02_linear/weight"), "axes") == "out, in");
  CHECK(h5::read_string(f, "/layer_list") == "linear(12) sigmoid@hidden, linear(784)");
  CHECK(!h5::exists(f, "/params"));
  CHECK(h5::read_attr_string(f, "format") == checkpoint_format);
}

TEST_CASE("checkpoint of another model is refused and nothing changes", "[checkpoint]") {
  temp_dir tmp("ckpt_mismatch");
  const fs::path file = tmp / "model.h5";
  auto a = make(12, 1);
  save_checkpoint(file, *a.net, *a.opt, a.r, meta_for(2));

  SECTION("another width") {
    auto b = make(16, 2);
    const auto before = copy_of(b.net->params());
    const std::string msg = checkpoint_error_of([&] { load_checkpoint(file, *b.net, b.opt.get(), &b.r); });
    CHECK_THAT(msg, Contains(file.string()) && Contains("another model") && Contains("19612 parameters") &&
                        Contains("25888") && Contains("linear(784 -> 12)") && Contains("linear(784 -> 16)"));
    CHECK(same_bits(b.net->params(), before));
  }
  SECTION("same parameter count, other layers") {
    auto b = make(12, 2, optim_kind::adam, activation_kind::relu);
    const auto before = copy_of(b.net->params());
    const std::string msg = checkpoint_error_of([&] { load_checkpoint(file, *b.net, b.opt.get(), &b.r); });
    CHECK_THAT(msg, Contains("another model") && Contains("sigmoid") && Contains("relu"));
    CHECK(same_bits(b.net->params(), before));
  }
  SECTION("another optimiser") {
    auto b = make(12, 2, optim_kind::sgd);
    const auto before = copy_of(b.net->params());
    const std::string msg = checkpoint_error_of([&] { load_checkpoint(file, *b.net, b.opt.get(), &b.r); });
    CHECK_THAT(msg, Contains(file.string()) && Contains("adam") && Contains("sgd"));
    CHECK(same_bits(b.net->params(), before));
  }
}

TEST_CASE("truncated, corrupt and foreign files are refused with the file named", "[checkpoint]") {
  saved_checkpoint s("ckpt_corrupt");
  const temp_dir& tmp = s.tmp;
  const fs::path good = s.file;
  const auto load_b = [&](const fs::path& p) { return s.load_b(p); };

  SECTION("truncated") {
    const fs::path cut = tmp / "cut.h5";
    fs::copy_file(good, cut);
    fs::resize_file(cut, fs::file_size(good) / 2);
    CHECK_THAT(load_b(cut), Contains(cut.string()) && Contains("truncated or corrupt"));
  }
  SECTION("a flipped byte in the weights") {
    const fs::path bad = tmp / "bad.h5";
    fs::copy_file(good, bad);
    haddr_t at = HADDR_UNDEF;
    {
      auto f = h5::file::open_read(bad);
      at = H5Dget_offset(h5::open_dataset(f, "/layers/00_linear/weight").id());
    }
    REQUIRE(at != HADDR_UNDEF);
    std::fstream io(bad, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(at + 1000));
    io.put('\x5a');
    io.close();
    CHECK_THAT(load_b(bad), Contains(bad.string()) && Contains("/layers/00_linear/weight does not match its checksum"));
  }
  SECTION("not HDF5 at all") {
    const fs::path text = tmp / "notes.txt";
    std::ofstream(text) << "hello\n";
    CHECK_THAT(load_b(text), Contains(text.string()) && Contains("not a readable HDF5 file"));
  }
  SECTION("HDF5, but not a checkpoint") {
    const fs::path other = tmp / "other.h5";
    { auto f = h5::file::create(other); }
    CHECK_THAT(load_b(other), Contains(other.string()) && Contains("not a saelab checkpoint"));
  }
  SECTION("missing") {
    CHECK_THAT(load_b(tmp / "nope.h5"), Contains("nope.h5") && Contains("no such checkpoint file"));
  }
  CHECK(s.b_unchanged());
}

namespace {

// Replaces `name` in `file` by a dataset of type `type` and extent `dims`
// (empty: scalar) with nothing written: HDF5 allocates storage late, so the
// file stays small whatever it declares.
void replace_unwritten(const fs::path& file, const char* name, hid_t type, const std::vector<hsize_t>& dims) {
  auto f = h5::file::open_rw(file);
  REQUIRE(H5Ldelete(f.id(), name, H5P_DEFAULT) >= 0);
  h5::handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                                : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  h5::handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  if (!dims.empty()) {
    std::vector<hsize_t> chunk(dims.size(), 1);
    chunk.back() = 1024;
    REQUIRE(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) >= 0);
  }
  h5::handle ds(H5Dcreate2(f.id(), name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
  REQUIRE(ds);
}

}  // namespace

TEST_CASE("sizes a checkpoint declares are checked before anything is allocated for them", "[checkpoint]") {
  saved_checkpoint s("ckpt_sizes");
  const fs::path file = s.file;
  auto& b = s.b;

  SECTION("a huge param_count") {
    { auto f = h5::file::open_rw(file); h5::write_attr_int(f, "param_count", std::int64_t{1} << 40); }
    CHECK_THAT(checkpoint_error_of([&] { read_checkpoint_info(file); }),
               Contains(file.string()) && Contains("param_count 1099511627776 is above the limit of 268435456"));
  }
  SECTION("a next_epoch beyond an int") {
    { auto f = h5::file::open_rw(file); h5::write_attr_int(f, "next_epoch", std::int64_t{1} << 33); }
    CHECK_THAT(checkpoint_error_of([&] { read_checkpoint_info(file); }),
               Contains(file.string()) && Contains("next_epoch 8589934592 is above the limit"));
  }
  SECTION("a weight declaring 2^46 values (256 TiB) in a file of kilobytes") {
    replace_unwritten(file, "/layers/00_linear/weight", H5T_IEEE_F32LE, {hsize_t{1} << 23, hsize_t{1} << 23});
    CHECK(fs::file_size(file) < 1'000'000);
    CHECK_THAT(checkpoint_error_of([&] { load_checkpoint(file, *b.net, nullptr, nullptr); }),
               Contains(file.string()) && Contains("/layers/00_linear/weight has shape [8388608, 8388608], layer 00_linear needs [12, 784]"));
  }
  SECTION("optimiser state of another extent") {
    replace_unwritten(file, "/optimizer/m", H5T_IEEE_F32LE, {hsize_t{1} << 46});
    CHECK_THAT(checkpoint_error_of([&] { load_checkpoint(file, *b.net, b.opt.get(), nullptr); }),
               Contains("/optimizer/m has extent [70368744177664], expected [19612]"));
  }
  SECTION("/config declared as a 1 GiB string") {
    h5::handle type(H5Tcopy(H5T_C_S1));
    REQUIRE(H5Tset_size(type.get(), std::size_t{1} << 30) >= 0);
    replace_unwritten(file, "/config", type.get(), {});
    CHECK_THAT(checkpoint_error_of([&] { read_checkpoint_info(file); }),
               Contains(file.string()) && Contains("/config") &&
                   Contains("its 1073741824 bytes are above the limit of 67108864"));
  }
  SECTION("a stored config asking for 2e9 hidden units") {
    {
      auto f = h5::file::open_rw(file);
      REQUIRE(H5Ldelete(f.id(), "/config", H5P_DEFAULT) >= 0);
      h5::write_string(f, "/config", "[model]\nhidden = 2000000000\n");
    }
    const checkpoint_info info = read_checkpoint_info(file);
    CHECK_THAT(checkpoint_error_of([&] { stored_config(info, file); }),
               Contains(file.string()) && Contains("model.hidden = 2000000000 is out of range") &&
                   Contains("[1, 65536]"));
  }
  CHECK(s.b_unchanged());
}

TEST_CASE("an edited rng state, counter or re-checksummed tensor is refused by payload_checksum", "[checkpoint]") {
  saved_checkpoint s("ckpt_payload");
  const fs::path file = s.file;
  const auto resume_b = [&] { return s.load_b(file); };

  SECTION("another valid rng state") {
    rng other(99);
    {
      auto f = h5::file::open_rw(file);
      REQUIRE(H5Ldelete(f.id(), "/rng", H5P_DEFAULT) >= 0);
      h5::write_string(f, "/rng", other.state());
    }
    CHECK_THAT(resume_b(), Contains(file.string()) && Contains("do not match payload_checksum"));
  }
  SECTION("the step counter") {
    { auto f = h5::file::open_rw(file); h5::write_attr_int(f, "optimizer_steps", 38); }
    CHECK_THAT(resume_b(), Contains("do not match payload_checksum"));
  }
  SECTION("the next epoch") {
    { auto f = h5::file::open_rw(file); h5::write_attr_int(f, "next_epoch", 1); }
    CHECK_THAT(resume_b(), Contains("do not match payload_checksum"));
  }
  SECTION("an optimiser buffer rewritten with its own checksum updated") {
    {
      auto f = h5::file::open_rw(file);
      auto ds = h5::open_dataset(f, "/optimizer/v");
      auto v = h5::read<float>(ds);
      v[0] += 1;
      h5::overwrite<float>(ds, v);
      h5::write_attr_string(ds, "checksum", [&] {
        std::uint64_t h = 0xcbf29ce484222325ull;  // the per-tensor FNV-1a, recomputed as the writer does
        const auto* p = reinterpret_cast<const unsigned char*>(v.data());
        for (std::size_t i = 0; i < v.size() * sizeof(float); ++i) h = (h ^ p[i]) * 0x100000001b3ull;
        return fmt::format("fnv1a64:{:016x}", h);
      }());
    }
    CHECK_THAT(resume_b(), Contains("do not match payload_checksum"));
  }
  SECTION("as saved, it loads") {
    CHECK(resume_b().empty());
    return;  // b holds the checkpoint now
  }
  CHECK(s.b_unchanged());
}

TEST_CASE("format 1 checkpoints load for evaluation only", "[checkpoint]") {
  // data/pretrained/conv_kl.h5 as shipped before format 2; tests run from the source root.
  const fs::path pretrained = "tests/data/checkpoint_format1.h5";
  REQUIRE(fs::exists(pretrained));
  const checkpoint_info info = read_checkpoint_info(pretrained);
  CHECK(info.format_version == 1);
  const experiment_config cfg = stored_config(info, pretrained);
  auto net = build_model<float>(cfg.model, shape{1, 28, 28});
  CHECK_NOTHROW(load_checkpoint(pretrained, *net, nullptr, nullptr));
  CHECK(non_finite_parameter(*net).empty());
  rng r(0);
  CHECK_THAT(checkpoint_error_of([&] { load_checkpoint(pretrained, *net, nullptr, &r); }),
             Contains(pretrained.string()) && Contains("format version 1") && Contains("not resumed"));
}

TEST_CASE("a failed save leaves the previous checkpoint intact", "[checkpoint]") {
  temp_dir tmp("ckpt_failsave");
  const fs::path file = tmp / "model.h5";
  auto a = make(12, 1);
  save_checkpoint(file, *a.net, *a.opt, a.r, meta_for(1));
  const std::string before = slurp(file);
  // No file descriptor left to open the temporary with: the save fails (the
  // temporary's name is fresh each time, so nothing can be planted to block it).
  auto b = make(12, 2);
  std::string msg;
  {
    rlimit old_limit{};
    ::getrlimit(RLIMIT_NOFILE, &old_limit);
    rlimit none = old_limit;
    none.rlim_cur = 0;
    ::setrlimit(RLIMIT_NOFILE, &none);
    msg = checkpoint_error_of([&] { save_checkpoint(file, *b.net, *b.opt, b.r, meta_for(2)); });
    ::setrlimit(RLIMIT_NOFILE, &old_limit);
  }
  CHECK_THAT(msg, Contains(file.string()) && Contains("cannot write checkpoint"));
  CHECK(slurp(file) == before);
  // A temporary left by a save killed part way is removed by the next save.
  { std::ofstream(temporary_path(file)) << "half a checkpoint"; }
  save_checkpoint(file, *b.net, *b.opt, b.r, meta_for(2));
  for (const auto& e : fs::directory_iterator(tmp.path)) CHECK(e.path().filename() == "model.h5");
  CHECK_THAT(checkpoint_error_of([&] { save_checkpoint(tmp / "no" / "such" / "dir.h5", *b.net, *b.opt, b.r, meta_for(2)); }),
             Contains("cannot write checkpoint"));
  CHECK_FALSE(fs::exists(tmp / "no"));
}

// ---- run directories ----

namespace {

experiment_config tiny_run(const temp_dir& tmp, const std::string& out) {
  experiment_config c;
  c.model.hidden = 8;
  c.train.epochs = 1;
  c.train.batch_size = 50;
  c.data.dir = (tmp / "mnist").string();
  c.run.out = (tmp / out).string();
  c.run.name = "tiny";
  c.run.threads = 1;
  return c;
}

class thrower final : public training_observer {
 public:
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record&) override { throw std::runtime_error("disk on fire"); }
};

}  // namespace

TEST_CASE("run directories are never overwritten", "[checkpoint][rundir]") {
  temp_dir tmp("rundir");
  write_fake_mnist(tmp / "mnist", 100, 20);
  run_options quiet;
  quiet.quiet = true;
  const experiment_config cfg = tiny_run(tmp, "run");
  REQUIRE(run_experiment(cfg, quiet) == run_status::done);
  const fs::path dir = tmp / "run";
  for (const char* f : {"status", "resolved.ini", "model.h5", "epochs.csv"}) CHECK(fs::exists(dir / f));
  const std::string model_before = slurp(dir / "model.h5"), status_before = slurp(dir / "status");

  SECTION("a new run into a finished run's directory") {
    CHECK_THAT(error_of<run_dir_error>([&] { run_experiment(cfg, quiet); }),
               Contains(dir.string()) && Contains("already holds a finished run"));
  }
  SECTION("resume of a finished run") {
    CHECK_THAT(error_of<run_dir_error>([&] { resume_experiment(dir, {}, quiet); }),
               Contains(dir.string()) && Contains("already done") && Contains("--train.epochs"));
  }
  SECTION("resume may not change the experiment") {
    CHECK_THAT(error_of<config_error>([&] { resume_experiment(dir, {"--model.hidden=9", "--train.epochs=2"}, quiet); }),
               Contains("model.hidden cannot change on --resume"));
  }
  SECTION("resume with a corrupt checkpoint") {
    fs::resize_file(dir / "model.h5", 1000);
    write_run_state(dir, {run_status::interrupted, 1, 1, "", 0, "", ""});
    const std::string status = slurp(dir / "status"), csv = slurp(dir / "epochs.csv");
    CHECK_THAT(error_of<checkpoint_error>([&] { resume_experiment(dir, {"--train.epochs=2"}, quiet); }),
               Contains((dir / "model.h5").string()));
    CHECK(slurp(dir / "status") == status);
    CHECK(slurp(dir / "epochs.csv") == csv);
    return;
  }
  SECTION("an interrupted run's directory points at --resume") {
    write_run_state(dir, {run_status::interrupted, 1, 2, "stopped", 0, "", ""});
    CHECK_THAT(error_of<run_dir_error>([&] { run_experiment(cfg, quiet); }),
               Contains("unfinished run") && Contains("sae-train --resume " + dir.string()));
    return;
  }
  SECTION("resolved.ini edited behind the checkpoint's back") {
    std::string ini = slurp(dir / "resolved.ini");
    ini.replace(ini.find("seed = 42"), 9, "seed = 43");
    std::ofstream(dir / "resolved.ini") << ini;
    CHECK_THAT(error_of<run_dir_error>([&] { resume_experiment(dir, {"--train.epochs=2"}, quiet); }),
               Contains("disagree on run.seed"));
  }
  CHECK(slurp(dir / "model.h5") == model_before);
  CHECK(slurp(dir / "status") == status_before);
}

TEST_CASE("resolved.ini reruns the config without touching the run", "[checkpoint][rundir]") {
  temp_dir tmp("rundir_rerun");
  write_fake_mnist(tmp / "mnist", 100, 20);
  const experiment_config cfg = tiny_run(tmp, "run");
  run_options quiet;
  quiet.quiet = true;
  REQUIRE(run_experiment(cfg, quiet) == run_status::done);
  const experiment_config again = load_config((tmp / "run" / "resolved.ini").string(), {});
  CHECK(again.run.out.empty());
  CHECK(again.run.name == "tiny");
  experiment_config expected = cfg;
  expected.run.out.clear();
  CHECK(again == expected);
  // Its default directory is named by the hash of exactly this text.
  CHECK_THAT(run_directory(again), Contains("experiments/runs/tiny-"));
}

TEST_CASE("unwritable output directory: clear error, nothing created", "[checkpoint][rundir]") {
  temp_dir tmp("rundir_unwritable");
  write_fake_mnist(tmp / "mnist", 100, 20);
  run_options quiet;
  quiet.quiet = true;
  std::ofstream(tmp / "plain-file") << "x";
  experiment_config cfg = tiny_run(tmp, "plain-file/run");
  CHECK_THAT(error_of<std::runtime_error>([&] { run_experiment(cfg, quiet); }),
             Contains("plain-file/run") && Contains("cannot create the run directory") &&
                 Contains("is not a directory"));
  CHECK(fs::is_regular_file(tmp / "plain-file"));

  cfg = tiny_run(tmp, "not-empty");
  fs::create_directories(tmp / "not-empty");
  std::ofstream(tmp / "not-empty" / "thesis.tex") << "x";
  CHECK_THAT(error_of<run_dir_error>([&] { run_experiment(cfg, quiet); }), Contains("holds other files"));
  CHECK(fs::directory_iterator(tmp / "not-empty")->path().filename() == "thesis.tex");

  if (::geteuid() != 0) {  // root writes anywhere: permission bits prove nothing then
    fs::create_directories(tmp / "locked");
    fs::permissions(tmp / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    cfg = tiny_run(tmp, "locked/run");
    CHECK_THAT(error_of<std::runtime_error>([&] { run_experiment(cfg, quiet); }), Contains("is not writable"));
    CHECK(fs::is_empty(tmp / "locked"));
    fs::permissions(tmp / "locked", fs::perms::owner_all);
  }
}

TEST_CASE("a failed run records failed and the message before the error propagates", "[checkpoint][rundir]") {
  temp_dir tmp("rundir_failed");
  write_fake_mnist(tmp / "mnist", 100, 20);
  thrower boom;
  run_options o;
  o.quiet = true;
  o.observer = &boom;
  const experiment_config cfg = tiny_run(tmp, "run");
  CHECK_THAT(error_of<std::runtime_error>([&] { run_experiment(cfg, o); }), Contains("disk on fire"));
  const auto st = read_run_state(tmp / "run");
  REQUIRE(st);
  CHECK(st->status == run_status::failed);
  CHECK(st->message == "disk on fire");
  // The epoch's checkpoint came before the failing observer, so it is resumable.
  CHECK(st->epochs_done == 1);
  CHECK_THAT(error_of<run_dir_error>([&] { run_experiment(cfg, o); }), Contains("--resume"));
}

TEST_CASE("a run directory written by a live process is refused", "[checkpoint][rundir]") {
  temp_dir tmp("rundir_live");
  fs::create_directories(tmp / "run");
  write_run_state(tmp / "run", {run_status::running, 0, 2, "", 0, "", ""});
  auto held = run_lock::acquire(tmp / "run");  // this process plays the live writer
  // flock belongs to an open file description, so a second open, as another
  // process would make, sees the lock even from this process.
  CHECK(run_lock::held_elsewhere(tmp / "run"));
  CHECK_THAT(error_of<run_dir_error>([&] { run_experiment(tiny_run(tmp, "run"), run_options{}); }),
             Contains("in progress"));
  CHECK_THAT(error_of<run_dir_error>([&] { run_lock::acquire(tmp / "run"); }), Contains("another sae-train"));
}

TEST_CASE("a weights-only file evaluates and starts runs, and refuses to resume", "[checkpoint]") {
  temp_dir tmp("ckpt_weights");
  auto a = make(12, 1);
  const fs::path file = tmp / "weights.h5";
  save_weights(file, *a.net, to_ini(experiment_config{}), 20);
  {
    auto f = h5::file::open_read(file);
    CHECK_FALSE(h5::exists(f, "/optimizer"));
    CHECK(h5::read_attr_string(f, "optimizer") == "none");
  }
  auto b = make(12, 2);
  const checkpoint_info info = load_checkpoint(file, *b.net, nullptr, nullptr);
  CHECK(info.next_epoch == 20);
  CHECK(same_bits(b.net->params(), copy_of(a.net->params())));
  auto c = make(12, 3);
  init_from_file(file, *c.net);
  CHECK(same_bits(c.net->params(), copy_of(a.net->params())));
  CHECK_THAT(checkpoint_error_of([&] { load_checkpoint(file, *c.net, c.opt.get(), &c.r); }),
             Contains(file.string()) && Contains("holds weights only, no optimiser state"));
}

TEST_CASE("the shipped pretrained models are weights-only format 3 files of their configs", "[checkpoint]") {
  for (const char* name : {"fc_kl", "fc_l1", "seed_kl", "seed_l1", "conv_kl"}) {
    INFO(name);
    const fs::path file = fs::path("data/pretrained") / (std::string(name) + ".h5");
    const checkpoint_info info = read_checkpoint_info(file);
    CHECK(info.format_version == checkpoint_format_version);
    CHECK(info.optimizer == "none");
    CHECK(info.next_epoch == 20);
    const experiment_config cfg = stored_config(info, file);
    CHECK(cfg.model == load_config("configs/" + std::string(name) + ".ini", {}).model);
    auto net = build_model<float>(cfg.model, shape{1, 28, 28});
    CHECK_NOTHROW(load_checkpoint(file, *net, nullptr, nullptr));
    CHECK(non_finite_parameter(*net).empty());
  }
}
