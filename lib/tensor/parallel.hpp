#pragma once
// Deterministic data parallelism over the first axis of a batch.
//
//   for_each_slice(n, threads, work, [&](int slice, int thread, std::int64_t begin, std::int64_t end) {...});
//
// [0, n) is cut into a FIXED number of contiguous slices (at most
// max_slices, whatever the thread count); each slice runs whole on one
// thread. Partial sums kept per slice and added in slice order therefore give
// bitwise the same result on 1 or 2 threads. `work` (rough operations per
// item) keeps small jobs on one thread, where starting another costs more
// than it saves. Threads are started per call: tens of microseconds, small
// beside the millisecond-scale layer calls this is for.

#include <cstdint>
#include <functional>

namespace saelab {

inline constexpr int max_slices = 12;

int slice_count(std::int64_t n);

void for_each_slice(std::int64_t n, int threads, std::int64_t work,
                    const std::function<void(int, int, std::int64_t, std::int64_t)>& body);

// The same on blas::threads() threads, for elementwise loops: body(begin, end).
void parallel_for(std::int64_t n, std::int64_t work, const std::function<void(std::int64_t, std::int64_t)>& body);

// Sum of body(begin, end) over the slices, added in slice order: the same
// bits on any thread count.
double parallel_sum(std::int64_t n, std::int64_t work, const std::function<double(std::int64_t, std::int64_t)>& body);

}  // namespace saelab
