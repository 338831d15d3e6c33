#include "tensor/parallel.hpp"

#include <algorithm>
#include <thread>
#include <vector>

#include "tensor/blas.hpp"

namespace saelab {

int slice_count(std::int64_t n) { return static_cast<int>(std::clamp<std::int64_t>(n, 1, max_slices)); }

void for_each_slice(std::int64_t n, int threads, std::int64_t work,
                    const std::function<void(int, int, std::int64_t, std::int64_t)>& body) {
  // Worth a thread from about a million operations on.
  constexpr std::int64_t work_per_thread = std::int64_t{1} << 20;
  const int slices = slice_count(n);
  const std::int64_t affordable = std::max<std::int64_t>(1, n * std::max<std::int64_t>(work, 1) / work_per_thread);
  const int workers = static_cast<int>(std::min<std::int64_t>({std::max(threads, 1), slices, affordable}));
  auto run = [&](int t) {
    for (int s = t; s < slices; s += workers) body(s, t, n * s / slices, n * (s + 1) / slices);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t) pool.emplace_back(run, t);
  run(0);
  for (auto& th : pool) th.join();
}

void parallel_for(std::int64_t n, std::int64_t work, const std::function<void(std::int64_t, std::int64_t)>& body) {
  for_each_slice(n, blas::threads(), work, [&](int, int, std::int64_t begin, std::int64_t end) { body(begin, end); });
}

double parallel_sum(std::int64_t n, std::int64_t work, const std::function<double(std::int64_t, std::int64_t)>& body) {
  double partial[max_slices] = {};
  for_each_slice(n, blas::threads(), work,
                 [&](int s, int, std::int64_t begin, std::int64_t end) { partial[s] = body(begin, end); });
  double total = 0;
  for (int s = 0; s < slice_count(n); ++s) total += partial[s];
  return total;
}

}  // namespace saelab
