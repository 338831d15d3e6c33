// Fault injection on the real sae-train binary: writes that fail part-way
// through a run (a full disk) end in one readable line and exit 1, never a
// crash; the run directory keeps every finished epoch, says failed, and
// --resume, once there is room again, ends with the bits of a run that never
// failed.
//
// A full disk is simulated without root by a file-size limit (RLIMIT_FSIZE
// with SIGXFSZ ignored: write() then fails with EFBIG) in the child, stepped
// so that the failure lands at different write sites (run.h5 creation, its
// per-epoch appends, the checkpoint of epoch 1 and of later epochs). As root,
// a small tmpfs (a real ENOSPC) is tried too, and skipped when mounting fails.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fcntl.h>
#include <limits>
#include <set>
#include <thread>

#include "experiment/checkpoint.hpp"
#include "experiment/model.hpp"
#include "experiment/run_dir.hpp"
#include "fake_mnist.hpp"
#include "log/h5.hpp"
#include "tensor/blas.hpp"

using namespace saelab;
using namespace saelab::testing;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

fs::path build_dir() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path(); }

struct outcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string err;     // everything written to stderr
};

// Runs build/apps/`app` with `args` in a child whose `resource` is limited
// to `limit` (0: no limit; RLIMIT_FSIZE: files may not grow past it). stdout
// is dropped, stderr captured.
outcome run_app(const std::string& app, const std::vector<std::string>& args, int resource, rlim_t limit,
                const fs::path& err_file) {
  const fs::path exe = build_dir() / "apps" / app;
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child == 0) {
    const int out = ::open("/dev/null", O_WRONLY);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(120);
    if (limit > 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // stays ignored across exec: write() fails with EFBIG instead
      const rlimit lim{limit, limit};
      if (::setrlimit(resource, &lim) != 0) ::_exit(121);
    }
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(122);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  outcome o;
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) o.signal = WTERMSIG(status);
  o.err = slurp(err_file);
  return o;
}

outcome run_trainer(const std::vector<std::string>& args, rlim_t fsize, const fs::path& err_file) {
  return run_app("sae-train", args, RLIMIT_FSIZE, fsize, err_file);
}

// Every parameter of a checkpoint, in the flat buffer's order.
std::vector<float> params_of(const fs::path& model) {
  auto f = h5::file::open_read(model);
  std::vector<float> out;
  for (const std::string& layer : h5::members(h5::open_group(f, "/layers")))
    for (const char* name : {"weight", "bias"}) {
      const auto v = h5::read<float>(f, "/layers/" + layer + "/" + name);
      out.insert(out.end(), v.begin(), v.end());
    }
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

struct fixture {
  temp_dir tmp{"faults"};
  fs::path config = tmp / "tiny.ini";
  fixture() {
    write_fake_mnist(tmp / "mnist", 200, 40);
    // 4 epochs: run.h5 grows at every epoch (weights and probe snapshots),
    // so a size limit can land after any of them.
    std::ofstream(config) << "[model]\nhidden = 16\n[sparsity]\nkind = kl\n[train]\nepochs = 4\nbatch_size = 48\n"
                             "[run]\nthreads = 1\nseed = 7\nname = tiny\n[data]\ndir = "
                          << (tmp / "mnist").string() << "\n";
  }
};

// What must hold after a run that failed to write in `dir`, whatever the site;
// returns the epochs its status says are finished.
int check_failed_run(const outcome& o, const fs::path& dir, const std::string& reason) {
  INFO("stderr: " << o.err);
  CHECK(o.signal == 0);
  CHECK(o.exit_code == 1);
  CHECK(count_lines(o.err) == 1);
  CHECK_THAT(o.err, Contains("sae-train: " + dir.string() + "/") && Contains(reason));
  const auto st = read_run_state(dir);
  REQUIRE(st);
  CHECK(st->status == run_status::failed);
  CHECK_THAT(st->message, Contains(reason));
  CHECK_FALSE(fs::exists(dir / "model.h5.tmp"));
  CHECK(load_config((dir / "resolved.ini").string(), {}).train.epochs == 4);
  if (fs::exists(dir / "model.h5")) {  // the last finished epoch, complete and loadable
    CHECK(read_checkpoint_info(dir / "model.h5").next_epoch == st->epochs_done);
    CHECK(params_of(dir / "model.h5").size() == 784 * 16 + 16 + 16 * 784 + 784);
  } else {
    CHECK(st->epochs_done == 0);
  }
  return st->epochs_done;
}

// mount(2) a tmpfs of `kib` KiB on `dir` as long as this lives.
struct tmpfs_mount {
  fs::path dir;
  bool ok = false;
  tmpfs_mount(const fs::path& d, int kib) : dir(d) {
    fs::create_directories(dir);
    ok = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, fmt::format("size={}k", kib).c_str()) == 0;
  }
  bool grow(int kib) {
    return ::mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT, fmt::format("size={}k", kib).c_str()) == 0;
  }
  ~tmpfs_mount() {
    if (ok) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

}  // namespace

TEST_CASE("a write that fails at any site exits 1 with one line, status failed, and resume is exact",
          "[faults][slow]") {
  fixture f;
  const fs::path ref = f.tmp / "ref";
  REQUIRE(run_trainer({f.config.string(), "--run.out=" + ref.string(), "--quiet"}, 0, f.tmp / "ref.err").exit_code ==
          0);
  const auto reference = params_of(ref / "model.h5");
  const auto model_size = fs::file_size(ref / "model.h5");
  const auto log_size = fs::file_size(ref / "run.h5");
  REQUIRE(log_size > model_size);  // else the steps below could not reach the later epochs

  // From "run.h5 cannot even be created" to "only the last epoch's append fails".
  // model.h5's size rounded up to a page: its data fits, but HDF5's final
  // extension of the file at close does not (found hidden behind a group
  // handle that outlived the file's close).
  std::vector<rlim_t> limits{1024, 16 * 1024, 64 * 1024, model_size / 2, (model_size + 4095) / 4096 * 4096};
  for (int i = 0; i < 10; ++i) limits.push_back(model_size + (log_size - model_size) * static_cast<rlim_t>(i) / 10);
  std::set<std::string> sites;
  std::set<int> epochs_kept;
  for (std::size_t i = 0; i < limits.size(); ++i) {
    const fs::path dir = f.tmp / fmt::format("run{}", i);
    INFO("file size limit " << limits[i] << " bytes");
    const outcome o =
        run_trainer({f.config.string(), "--run.out=" + dir.string(), "--quiet"}, limits[i], f.tmp / "err");
    if (o.exit_code == 0) continue;  // the limit was not reached
    if (!fs::exists(dir / "resolved.ini")) {
      // Failed before the config was written: nothing to resume, and resume says so.
      CHECK(o.exit_code == 1);
      CHECK(count_lines(o.err) == 1);
      CHECK(read_run_state(dir)->status == run_status::failed);
      const outcome resumed = run_trainer({"--resume", dir.string(), "--quiet"}, 0, f.tmp / "err");
      CHECK(resumed.exit_code == 2);
      CHECK_THAT(resumed.err, Contains("nothing to resume: remove the directory"));
      continue;
    }
    epochs_kept.insert(check_failed_run(o, dir, "File too large"));
    for (const char* site : {"model.h5", "run.h5"})
      if (o.err.find(dir.string() + "/" + site) != std::string::npos) sites.insert(site);
    if (o.err.find("cannot close file") != std::string::npos) sites.insert("close");

    const outcome resumed = run_trainer({"--resume", dir.string(), "--quiet"}, 0, f.tmp / "err");
    INFO("resume stderr: " << resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK(read_run_state(dir)->status == run_status::done);
    CHECK(same_bits(params_of(dir / "model.h5"), reference));
  }
  CHECK(sites == std::set<std::string>{"close", "model.h5", "run.h5"});
  // Failures before any epoch finished and after some did.
  CHECK(epochs_kept.count(0) == 1);
  CHECK(*epochs_kept.rbegin() >= 2);
}

TEST_CASE("a full tmpfs: the same guarantees with a real ENOSPC (root only)", "[faults][slow]") {
  if (::geteuid() != 0) {
    WARN("not root: the tmpfs case is skipped (the file-size limit case covers the same sites)");
    return;
  }
  fixture f;
  const fs::path ref = f.tmp / "ref";
  REQUIRE(run_trainer({f.config.string(), "--run.out=" + ref.string(), "--quiet"}, 0, f.tmp / "ref.err").exit_code ==
          0);
  const auto reference = params_of(ref / "model.h5");
  int failures = 0;
  std::set<int> kept;
  for (int kib = 400; kib <= 1600; kib += 100) {
    tmpfs_mount m(f.tmp / fmt::format("mnt{}", kib), kib);
    if (!m.ok) {
      WARN("cannot mount a tmpfs here (" << std::strerror(errno) << "): skipped");
      return;
    }
    const fs::path dir = m.dir / "run";
    INFO("tmpfs of " << kib << " KiB");
    const outcome o = run_trainer({f.config.string(), "--run.out=" + dir.string(), "--quiet"}, 0, f.tmp / "err");
    if (o.exit_code == 0) {
      CHECK(read_run_state(dir)->status == run_status::done);
      continue;
    }
    ++failures;
    kept.insert(check_failed_run(o, dir, "No space left on device"));
    REQUIRE(m.grow(8192));  // space freed
    const outcome resumed = run_trainer({"--resume", dir.string(), "--quiet"}, 0, f.tmp / "err");
    INFO("resume stderr: " << resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK(same_bits(params_of(dir / "model.h5"), reference));
  }
  CHECK(failures >= 3);
  CHECK(kept.count(0) == 1);
  CHECK(*kept.rbegin() >= 1);
}

TEST_CASE("out of memory is one line naming what was being done", "[faults]") {
#ifdef __SANITIZE_ADDRESS__
  // ASan reserves terabytes of shadow address space at start-up, so no
  // RLIMIT_AS leaves it room to run: this case is for the ordinary build.
  WARN("skipped under AddressSanitizer: it cannot start under an address-space limit");
  return;
#endif
  fixture f;
  // 784-65536-784 with Adam needs about 2 GiB; allow the process 600 MiB of address space.
  const outcome o = run_app("sae-train", {f.config.string(), "--model.hidden=65536", "--run.out=" +
                                              (f.tmp / "oom").string(), "--quiet"},
                            RLIMIT_AS, rlim_t{600} << 20, f.tmp / "err");
  INFO("stderr: " << o.err);
  CHECK(o.exit_code == 1);
  CHECK(count_lines(o.err) == 1);
  CHECK_THAT(o.err, Contains("sae-train: out of memory while loading the data and building the model "
                             "(model.hidden = 65536"));
  CHECK_FALSE(fs::exists(f.tmp / "oom"));  // it failed before the run directory was made
}

TEST_CASE("sae-eval refuses a checkpoint with a non-finite weight, naming it", "[faults]") {
  fixture f;
  const fs::path run = f.tmp / "run";
  REQUIRE(run_trainer({f.config.string(), "--train.epochs=1", "--run.out=" + run.string(), "--quiet"}, 0,
                      f.tmp / "err")
              .exit_code == 0);
  const outcome good = run_app("sae-eval", {run.string(), "--out", (f.tmp / "eval").string()}, 0, 0, f.tmp / "err");
  INFO("stderr: " << good.err);
  CHECK(good.exit_code == 0);

  // A NaN in the decoder bias, saved as a checkpoint like any other: a
  // diverged run's weights, not a damaged file.
  const fs::path model = run / "model.h5";
  {
    const checkpoint_info info = read_checkpoint_info(model);
    const experiment_config cfg = stored_config(info, model);
    auto net = build_model<float>(cfg.model, shape{1, 28, 28});
    adam<float> opt(net->params().numel(), cfg.optim.lr, cfg.optim.beta1, cfg.optim.beta2, cfg.optim.eps);
    rng r(0);
    load_checkpoint(model, *net, &opt, &r);
    net->params()[784 * 16 + 16 + 16 * 784 + 5] = std::numeric_limits<float>::quiet_NaN();
    save_checkpoint(model, *net, opt, r, {info.config, optim_kind::adam, info.next_epoch});
  }
  const outcome bad = run_app("sae-eval", {run.string(), "--out", (f.tmp / "eval2").string()}, 0, 0, f.tmp / "err");
  INFO("stderr: " << bad.err);
  CHECK(bad.exit_code == 1);
  CHECK(count_lines(bad.err) == 1);
  CHECK_THAT(bad.err, Contains(model.string()) && Contains("non-finite parameter") &&
                          Contains("/layers/02_linear/bias[5] = nan"));
  CHECK_FALSE(fs::exists(f.tmp / "eval2" / "eval.txt"));
}

TEST_CASE("run.threads far above the cores is refused before anything is written", "[faults]") {
  const int cap = blas::max_threads();
  CHECK(cap >= 4);  // 4 per core, at least one core
  CHECK(cap <= 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const int before = blas::threads();
  CHECK_THROWS_WITH(blas::set_threads(cap + 1),
                    Contains(fmt::format("run.threads = {} is above the limit of {} on this machine", cap + 1, cap)));
  CHECK(blas::threads() == before);
  fixture f;
  const outcome o = run_trainer({f.config.string(), "--run.threads=256", "--run.out=" + (f.tmp / "r").string()}, 0,
                                f.tmp / "err");
  if (cap < 256) {
    CHECK(o.exit_code == 2);
    CHECK_THAT(o.err, Contains("run.threads = 256 is above the limit"));
    CHECK_FALSE(fs::exists(f.tmp / "r"));
  }
}
