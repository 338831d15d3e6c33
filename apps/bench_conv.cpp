// bench-conv: times forward and backward of the reference conv autoencoder's
// layer stack (float, batch 1200) and prints milliseconds per layer and the
// seconds a 50-batch epoch of 60,000 images would spend in them.
//
//   bench-conv [threads=2] [batches=5]

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "layers/activation.hpp"
#include "layers/conv2d.hpp"
#include "layers/conv_transpose2d.hpp"
#include "layers/max_pool2d.hpp"
#include "tensor/blas.hpp"
#include "tensor/rng.hpp"

using namespace saelab;
using clock_type = std::chrono::steady_clock;

namespace {
// CPU seconds of all threads: with other jobs on the machine, wall time
// overstates; CPU time / threads is what an idle machine would show.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int batches = argc > 2 ? std::atoi(argv[2]) : 5;
  blas::pin_core_type(argv);
  const std::int64_t n = 1200;
  blas::set_threads(threads);

  std::vector<std::unique_ptr<layer<float>>> layers;
  layers.push_back(std::make_unique<conv2d<float>>(1, 8, 3));
  layers.push_back(std::make_unique<relu<float>>());
  layers.push_back(std::make_unique<conv2d<float>>(8, 16, 5));
  layers.push_back(std::make_unique<relu<float>>());
  layers.push_back(std::make_unique<conv2d<float>>(16, 32, 5, 2));
  layers.push_back(std::make_unique<relu<float>>());
  layers.push_back(std::make_unique<max_pool2d<float>>(2, 2));
  layers.push_back(std::make_unique<conv_transpose2d<float>>(32, 16, 3, 2));
  layers.push_back(std::make_unique<relu<float>>());
  layers.push_back(std::make_unique<conv_transpose2d<float>>(16, 8, 5, 2));
  layers.push_back(std::make_unique<relu<float>>());
  layers.push_back(std::make_unique<conv_transpose2d<float>>(8, 1, 8));
  layers.push_back(std::make_unique<sigmoid<float>>());
  const std::size_t count = layers.size();

  // One flat parameter buffer, as the network keeps it.
  std::int64_t total = 0;
  for (auto& l : layers) total += l->param_count();
  tensor<float> params(shape{total}), grads(shape{total});
  rng r(42);
  std::int64_t offset = 0;
  for (auto& l : layers) {
    l->bind(params.data() + offset, grads.data() + offset);
    l->init(r);
    offset += l->param_count();
  }

  // acts[i] is layer i's input [N, C, H, W]; grads_of[i] its gradient.
  std::vector<tensor<float>> acts(count + 1), grads_of(count + 1);
  acts[0] = tensor<float>(shape{n, 1, 28, 28});
  for (std::int64_t i = 0; i < acts[0].numel(); ++i) acts[0][i] = static_cast<float>(r.uniform());
  shape s{1, 28, 28};
  for (std::size_t i = 0; i < count; ++i) {
    s = layers[i]->output_shape(s);
    acts[i + 1] = tensor<float>(s.batched(n));
    grads_of[i + 1] = tensor<float>(s.batched(n));
  }
  for (std::int64_t i = 0; i < grads_of[count].numel(); ++i) grads_of[count][i] = static_cast<float>(r.uniform(-1, 1));
  for (std::size_t i = 1; i < count; ++i) grads_of[i] = tensor<float>(acts[i].dims());

  std::vector<double> fwd(count, 0), bwd(count, 0), fwd_cpu(count, 0), bwd_cpu(count, 0);
  auto seconds_since = [](clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
  };
  for (int b = -1; b < batches; ++b) {  // b = -1 warms up (allocations, BLAS threads)
    for (std::size_t i = 0; i < count; ++i) {
      const auto t = clock_type::now();
      const double c = cpu_seconds();
      layers[i]->forward(acts[i], acts[i + 1]);
      if (b >= 0) fwd[i] += seconds_since(t), fwd_cpu[i] += cpu_seconds() - c;
    }
    grads.zero();
    for (std::size_t i = count; i-- > 0;) {
      const auto t = clock_type::now();
      const double c = cpu_seconds();
      layers[i]->backward(acts[i], acts[i + 1], grads_of[i + 1], i == 0 ? nullptr : &grads_of[i]);
      if (b >= 0) bwd[i] += seconds_since(t), bwd_cpu[i] += cpu_seconds() - c;
    }
  }

  std::printf("batch %lld, float, %d BLAS threads, mean of %d batches\n", static_cast<long long>(n), threads, batches);
  std::printf("%-44s %10s %10s %12s %12s\n", "layer", "fwd ms", "bwd ms", "fwd cpu ms", "bwd cpu ms");
  double sum_f = 0, sum_b = 0, cpu = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double f = 1e3 * fwd[i] / batches, bk = 1e3 * bwd[i] / batches;
    const double fc = 1e3 * fwd_cpu[i] / batches, bc = 1e3 * bwd_cpu[i] / batches;
    sum_f += f;
    sum_b += bk;
    cpu += fc + bc;
    std::printf("%-44s %10.2f %10.2f %12.2f %12.2f\n", layers[i]->describe().c_str(), f, bk, fc, bc);
  }
  std::printf("%-44s %10.2f %10.2f %25.2f\n", "total", sum_f, sum_b, cpu);
  std::printf("per batch %.1f ms wall, %.1f ms CPU; 50-batch epoch (60,000 images) %.2f s wall, %.2f s CPU / %d threads\n",
              sum_f + sum_b, cpu, 50 * (sum_f + sum_b) / 1e3, 50 * cpu / 1e3 / threads, threads);
  return 0;
}
