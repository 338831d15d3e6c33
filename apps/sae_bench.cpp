// sae-bench: how fast a config trains, and how close that is to the machine.
//
//   sae-bench configs/seed_l1.ini --run.threads=2 --steps 20 --warmup 3
//   sae-bench configs/fc_kl.ini --train.batch_size=128 --model.hidden=4096
//
// Builds the config's model, objective and optimiser and trains it with the
// trainer itself (the steps sae-train takes, on real shuffled MNIST batches),
// stopping after warm-up + timed steps. Prints a per-layer table (FLOPs per
// image from layer::flops, milliseconds per step forward and backward, and
// GFLOP/s), images/s, seconds per 60,000-image epoch, achieved GFLOP/s, the
// fraction of peak (peak = a large OpenBLAS sgemm timed in the same process
// on the same thread count), peak resident memory (getrusage, taken before
// the sgemm), and a hash of the parameters after the timed steps, so a
// change to the code can be checked to leave results bitwise the same.
// The last line, `result key=value ...`, is what bench/side-by-side and
// bench/scaling read.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <fmt/format.h>

#include "cli/cli.hpp"
#include "config/config.hpp"
#include "data/idx.hpp"
#include "experiment/flops.hpp"
#include "experiment/model.hpp"
#include "experiment/session.hpp"
#include "tensor/blas.hpp"
#include "tensor/rng.hpp"

using namespace saelab;

namespace {

using bench_clock = std::chrono::steady_clock;

double seconds_since(bench_clock::time_point t0) {
  return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

constexpr const char* usage = R"(usage: sae-bench CONFIG.ini [--section.key=value ...] [--steps N] [--warmup N]
                 [--peak-size N] [--no-peak]

Trains CONFIG's model for N timed steps (default 20) after warm-up steps
(default 3) and prints a per-layer time and FLOP table, images/s, seconds per
60,000-image epoch, achieved GFLOP/s, the fraction of the sgemm peak (an
N x N x N sgemm, default 3072, on run.threads OpenBLAS threads; --no-peak
skips it), peak resident memory and a hash of the parameters after training.
Warm-up plus timed steps must fit in one epoch. Set OPENBLAS_CORETYPE=Haswell
(it is set and the program re-executed when missing).

  --section.key=VALUE  a config override, as for sae-train (also --section.key VALUE)
  --steps N            timed steps (default 20)
  --warmup N           steps before the clock starts (default 3)
  --peak-size N        the sgemm size of the peak (default 3072)
  --no-peak            skip the sgemm peak
  --help, -h           this text
  --version            the program's version and git revision
Exit status: 0 success, 2 usage or config error, 1 anything else.
)";

struct bench_options {
  std::string config;
  std::vector<std::string> overrides;
  int steps = 20, warmup = 3;
  std::int64_t peak_size = 3072;
  bool peak = true;
};

// Starts the clock and the per-layer timing after the warm-up steps and asks
// the trainer to stop after the timed ones.
class step_clock final : public training_observer {
 public:
  step_clock(network<float>& net, int warmup, int steps) : net_(net), warmup_(warmup), steps_(steps) {
    if (warmup_ == 0) start();
  }
  void on_step(const step_record& s) override {
    if (s.step == warmup_) start();
    if (s.step == warmup_ + steps_) {
      seconds_ = seconds_since(t0_);
      net_.set_timing(nullptr);
      stop_ = true;
    }
  }
  void on_epoch(const epoch_record&) override {}

  const std::atomic<bool>* stop_flag() const { return &stop_; }
  double seconds() const { return seconds_; }
  const network<float>::timing& layers() const { return timing_; }

 private:
  void start() {
    net_.set_timing(&timing_);
    t0_ = bench_clock::now();
  }
  network<float>& net_;
  int warmup_, steps_;
  network<float>::timing timing_;
  bench_clock::time_point t0_;
  double seconds_ = 0;
  std::atomic<bool> stop_{false};
};

// Best of `reps` n x n x n sgemms on the current OpenBLAS threads, GFLOP/s.
double sgemm_peak(std::int64_t n, int reps) {
  tensor<float> a(shape{n, n}), b(shape{n, n}), c(shape{n, n});
  rng r(1);
  for (std::int64_t i = 0; i < n * n; ++i) {
    a[i] = static_cast<float>(r.uniform(-1, 1));
    b[i] = static_cast<float>(r.uniform(-1, 1));
  }
  double best = 1e30;
  for (int i = 0; i <= reps; ++i) {  // the first call warms up
    const auto t0 = bench_clock::now();
    blas::gemm<float>(blas::trans::no, blas::trans::no, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    if (i > 0) best = std::min(best, seconds_since(t0));
  }
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / best / 1e9;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

// FNV-1a over the bytes of the parameters.
std::uint64_t hash_params(const tensor<float>& p) {
  std::uint64_t h = 1469598103934665603ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(p.data());
  for (std::size_t i = 0; i < static_cast<std::size_t>(p.numel()) * sizeof(float); ++i) {
    h ^= bytes[i];
    h *= 1099511628211ULL;
  }
  return h;
}

const cli::program command_line{.name = "sae-bench",
                                 .usage = usage,
                                 .options = {{{"--steps"}, "N"}, {{"--warmup"}, "N"}, {{"--peak-size"}, "N"},
                                             {{"--no-peak"}, ""}},
                                 .overrides = true,
                                 .positional = "config file"};

bench_options parse_args(const cli::arguments& c) {
  bench_options o;
  if (!c.positionals.empty()) o.config = c.positionals.front();
  o.overrides = c.overrides;
  if (c.has("--steps")) o.steps = cli::to_int("--steps", c.values.at("--steps"), 0);
  if (c.has("--warmup")) o.warmup = cli::to_int("--warmup", c.values.at("--warmup"), 0);
  if (c.has("--peak-size")) o.peak_size = cli::to_int("--peak-size", c.values.at("--peak-size"), 0);
  o.peak = !c.has("--no-peak");
  if (o.config.empty()) throw config_error("command line: no config file given");
  if (o.steps < 1) throw config_error("command line: --steps must be at least 1");
  if (o.peak && o.peak_size < 256) throw config_error("command line: --peak-size must be at least 256");
  return o;
}

std::string mflop(std::int64_t flops) { return fmt::format("{:.3f}", static_cast<double>(flops) / 1e6); }

std::string gflops(double flops, double seconds) {
  return seconds > 0 ? fmt::format("{:.1f}", flops / seconds / 1e9) : "-";
}

int run(const bench_options& o) {
  experiment_config cfg = load_config(o.config, o.overrides);
  cfg.train.epochs = 1;
  // Only training batches are used; keep the test set out of the memory figure.
  cfg.train.test_limit = 1;
  blas::set_threads(cfg.run.threads);
  training_session s(cfg);
  const mnist_data& data = s.data;
  network<float>& net = *s.net;
  trainer& t = s.t;

  const std::int64_t train_images = data.train.images.size(0), batch = cfg.train.batch_size;
  const std::int64_t batches = (train_images + batch - 1) / batch;
  if (o.warmup + o.steps >= batches)
    throw config_error(fmt::format("command line: --warmup {} plus --steps {} must stay below the {} batches of an "
                                   "epoch at batch size {}",
                                   o.warmup, o.steps, batches, batch));

  fmt::print("sae-bench {} ({}), batch {}, {} threads, float\n{}objective: {}; optimiser: {}\n", o.config,
             to_string(cfg.model.arch), batch, cfg.run.threads, net.summary(), t.objective_terms().describe(),
             t.optim().describe());
  fmt::print("training {} warm-up + {} timed steps on shuffled MNIST batches...\n", o.warmup, o.steps);
  std::fflush(stdout);

  step_clock clock(net, o.warmup, o.steps);
  t.run(clock, clock.stop_flag());
  const double step_s = clock.seconds() / o.steps;
  const std::uint64_t hash = hash_params(net.params());

  // What the rest of a step is made of, timed apart on the last batch's tape.
  const tensor<float> x = data.train.images.slice(0, batch);
  objective<float> obj(net, cfg.train.loss, cfg.sparsity);
  net.forward(x);
  const int reps = 5;
  obj.evaluate(x, true);  // its first call allocates
  auto t0 = bench_clock::now();
  for (int i = 0; i < reps; ++i) obj.evaluate(x, true);
  const double evaluate_s = seconds_since(t0) / reps;
  t0 = bench_clock::now();
  for (int i = 0; i < reps; ++i) t.optim().step(net.params(), net.grads());
  const double optim_s = seconds_since(t0) / reps;
  const double rss = peak_rss_mib();

  // The table.
  const network_flops f = count_flops(net);
  const auto& lt = clock.layers();
  const double nb = static_cast<double>(batch);
  fmt::print("\nper layer, per step of {} images (FLOPs per image; ms and GFLOP/s per step, forward / backward):\n",
             batch);
  fmt::print("{:>2} {:<44} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>6}\n", "#", "layer", "MFLOP fwd", "MFLOP bwd",
             "ms fwd", "ms bwd", "GF/s fwd", "GF/s bwd", "% step");
  double layer_s = 0;
  for (int i = 0; i < net.size(); ++i) {
    const auto& lf = f.layers[static_cast<std::size_t>(i)];
    const double sf = lt.forward[static_cast<std::size_t>(i)] / o.steps, sb = lt.backward[static_cast<std::size_t>(i)] / o.steps;
    layer_s += sf + sb;
    fmt::print("{:>2} {:<44} {:>10} {:>10} {:>8.2f} {:>8.2f} {:>8} {:>8} {:>6.1f}\n", i, net.at(i).describe(),
               mflop(lf.forward), mflop(lf.backward()), 1e3 * sf, 1e3 * sb,
               gflops(static_cast<double>(lf.forward) * nb, sf), gflops(static_cast<double>(lf.backward()) * nb, sb),
               100 * (sf + sb) / step_s);
  }
  const double hook_s = lt.hooks / o.steps;
  const double other_s = step_s - layer_s - hook_s - evaluate_s - optim_s;
  auto row = [&](const char* what, double s) {
    fmt::print("   {:<44} {:>10} {:>10} {:>17.2f} {:>17} {:>6.1f}\n", what, "", "", 1e3 * s, "", 100 * s / step_s);
  };
  fmt::print("   {:<44} {:>10} {:>10} {:>8.2f} {:>8.2f}\n", "layers", mflop(f.total.forward), mflop(f.total.backward()),
             1e3 * [&] { double s = 0; for (double v : lt.forward) s += v; return s / o.steps; }(),
             1e3 * [&] { double s = 0; for (double v : lt.backward) s += v; return s / o.steps; }());
  row("penalty gradients into the tape (backward hook)", hook_s);
  row("loss and penalties (objective::evaluate)", evaluate_s);
  row("optimiser step", optim_s);
  row("rest (batch gather, zeroing gradients, ...)", other_s);
  row("step", step_s);

  const double images_per_s = nb / step_s;
  const double s_per_epoch = 60000.0 / images_per_s;
  const double achieved = static_cast<double>(f.training()) * images_per_s / 1e9;
  fmt::print("\nmodel: {} MFLOP per training image (forward {}, input gradients {}, weight gradients {})\n",
             mflop(f.training()), mflop(f.total.forward), mflop(f.total.backward_input),
             mflop(f.total.backward_weight));
  fmt::print("images/s {:.0f}; {:.2f} s per 60,000-image epoch; {:.1f} GFLOP/s achieved\n", images_per_s, s_per_epoch,
             achieved);
  fmt::print("peak resident memory {:.0f} MiB (training set as float: {:.0f} MiB)\n", rss,
             static_cast<double>(data.train.images.numel()) * 4 / 1048576);
  fmt::print("parameter hash after {} steps: {:016x}\n", o.warmup + o.steps, hash);

  double peak = 0;
  if (o.peak) {
    peak = sgemm_peak(o.peak_size, 5);
    fmt::print("sgemm peak {:.1f} GFLOP/s ({}^3, {} OpenBLAS threads, best of 5): this run is at {:.0f}% of it\n", peak,
               o.peak_size, blas::threads(), 100 * achieved / peak);
  }
  fmt::print(
      "result impl=saelab model={} hidden={} batch={} threads={} images_per_s={:.0f} s_per_epoch={:.3f} "
      "gflops={:.2f} peak_gflops={:.2f} frac_peak={:.3f} peak_rss_mib={:.0f} params_hash={:016x}\n",
      to_string(cfg.model.arch), cfg.model.arch == model_arch::fc ? cfg.model.hidden : 0, batch,
      cfg.run.threads, images_per_s, s_per_epoch, achieved, peak, peak > 0 ? achieved / peak : 0.0, rss, hash);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cli::arguments args;
  if (const auto code = cli::parse_or_exit(command_line, argc, argv, args)) return *code;
  blas::pin_core_type(argv);
  try {
    return run(parse_args(args));
  } catch (const cli::usage_error& e) {
    fmt::print(stderr, "sae-bench: {}\n", e.what());
    return 2;
  } catch (const config_error& e) {
    fmt::print(stderr, "sae-bench: {}\n{}", e.what(), usage);
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sae-bench: {}\n", e.what());
    return 1;
  }
}
