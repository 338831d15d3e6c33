#include "experiment/runner.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "data/idx.hpp"
#include "experiment/model.hpp"
#include "experiment/progress.hpp"
#include "experiment/trainer.hpp"
#include "tensor/blas.hpp"

namespace saelab {

namespace fs = std::filesystem;

namespace {
std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Writes through a temporary file and a rename, so a reader never sees half
// a file and a crash never leaves one under the final name.
void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write", tmp.string()));
  }
  fs::rename(tmp, path);
}

// Creates the run directory; refuses one that already holds a run.
void prepare_directory(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "resolved.ini"))
    throw std::runtime_error(fmt::format(
        "{}: already holds a run (resolved.ini exists); choose another run.out or remove the directory", dir.string()));
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create the run directory: {}", dir.string(), ec.message()));
  // Probe writability now rather than after an hour of training.
  const fs::path probe = dir / ".write-test";
  std::ofstream(probe) << "x";
  if (!fs::exists(probe)) throw std::runtime_error(fmt::format("{}: run directory is not writable", dir.string()));
  fs::remove(probe);
}

// Epoch table as CSV, rewritten whole each epoch (small).
class csv_log final : public training_observer {
 public:
  explicit csv_log(fs::path path) : path_(std::move(path)) {
    text_ = "epoch,loss,reconstruction,penalty,test_bce,test_bce_first1200,test_mse,train_seconds\n";
  }
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record& e) override {
    text_ += fmt::format("{},{:.8g},{:.8g},{:.8g},{:.8g},{:.8g},{:.8g},{:.3f}\n", e.epoch + 1, e.loss,
                         e.reconstruction, e.penalty, e.test.bce, e.test.bce_reference, e.test.mse, e.train_seconds);
    write_atomically(path_, text_);
  }

 private:
  fs::path path_;
  std::string text_;
};

// Prints one line per epoch on stdout.
class epoch_printer final : public training_observer {
 public:
  explicit epoch_printer(int epochs) : epochs_(epochs) {}
  void on_step(const step_record&) override {}
  void on_epoch(const epoch_record& e) override {
    fmt::print("epoch {:>3}/{}  train {:.5f} = bce {:.5f} + penalty {:.5f}  test bce {:.5f} (first 1200: {:.5f}) "
               "mse {:.5f}  {:.1f} s\n",
               e.epoch + 1, epochs_, e.loss, e.reconstruction, e.penalty, e.test.bce, e.test.bce_reference,
               e.test.mse, e.train_seconds);
    std::fflush(stdout);
  }

 private:
  int epochs_;
};

class fan_out final : public training_observer {
 public:
  explicit fan_out(std::vector<training_observer*> all) : all_(std::move(all)) {}
  void on_step(const step_record& s) override {
    for (auto* o : all_) o->on_step(s);
  }
  void on_epoch(const epoch_record& e) override {
    for (auto* o : all_) o->on_epoch(e);
  }

 private:
  std::vector<training_observer*> all_;
};
}  // namespace

std::string run_directory(const experiment_config& cfg) {
  if (!cfg.run.out.empty()) return cfg.run.out;
  return fmt::format("experiments/runs/{}-{:08x}", cfg.run.name.empty() ? "run" : cfg.run.name,
                     fnv1a(to_ini(cfg)) & 0xffffffffull);
}

run_status run_experiment(const experiment_config& cfg, const run_options& opt) {
  blas::set_threads(cfg.run.threads);
  const fs::path dir = run_directory(cfg);
  // Everything that can fail on bad input fails before the directory exists.
  const auto data = load_mnist(cfg.data.dir, cfg.train.train_limit, cfg.train.test_limit);
  auto net = build_model<float>(cfg.model, shape{1, 28, 28});
  rng r(cfg.run.seed);
  net->init(r);
  trainer t(cfg, *net, data, r);
  prepare_directory(dir);
  write_atomically(dir / "resolved.ini", to_ini(cfg));

  fmt::print("saelab: {} -> {}\n{}objective: {}; optimiser: {}; {} train / {} test images, batch {}, {} threads\n",
             cfg.run.name, dir.string(), net->summary(), t.objective_terms().describe(), t.optim().describe(),
             data.train.images.size(0), data.test.images.size(0), cfg.train.batch_size, cfg.run.threads);
  std::fflush(stdout);

  progress bar(cfg.train.epochs, data.train.images.size(0), opt.quiet);
  csv_log csv(dir / "epochs.csv");
  epoch_printer printer(cfg.train.epochs);
  fan_out observers({&bar, &csv, &printer});
  t.run(observers, opt.stop);
  return t.stopped() ? run_status::run_status_interrupted : run_status::run_status_done;
}

}  // namespace saelab
