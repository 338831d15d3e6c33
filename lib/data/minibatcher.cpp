#include "data/minibatcher.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

namespace saelab {

minibatcher::minibatcher(std::int64_t count, std::int64_t batch_size, bool shuffle)
    : batch_size_(batch_size), shuffle_(shuffle) {
  if (count < 0) throw std::invalid_argument(fmt::format("minibatcher: count is {}, must be >= 0", count));
  if (batch_size <= 0) throw std::invalid_argument(fmt::format("minibatcher: batch_size is {}, must be > 0", batch_size));
  order_.resize(static_cast<std::size_t>(count));
  std::iota(order_.begin(), order_.end(), std::int64_t{0});
}

void minibatcher::start_epoch(rng& r) {
  // Restart from the identity so the order is a function of r alone, not of
  // the previous epochs.
  std::iota(order_.begin(), order_.end(), std::int64_t{0});
  if (!shuffle_) return;
  // Fisher-Yates, written out: std::shuffle's algorithm is unspecified, so it
  // would give another order with another standard library.
  for (std::size_t i = order_.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(r.below(i));
    std::swap(order_[i - 1], order_[j]);
  }
}

std::span<const std::int64_t> minibatcher::batch(std::int64_t b) const {
  if (b < 0 || b >= batches())
    throw std::out_of_range(fmt::format("minibatcher::batch: batch {} outside [0, {})", b, batches()));
  const std::int64_t begin = b * batch_size_;
  const std::int64_t end = std::min(begin + batch_size_, count());
  return std::span<const std::int64_t>(order_).subspan(static_cast<std::size_t>(begin),
                                                        static_cast<std::size_t>(end - begin));
}

template <class T>
void gather_rows(const tensor<T>& src, std::span<const std::int64_t> rows, tensor<T>& dst) {
  if (src.empty()) throw std::invalid_argument("gather_rows: empty source tensor");
  if (dst.data() == src.data()) throw std::invalid_argument("gather_rows: dst shares storage with src");
  const std::int64_t n = src.size(0);
  const std::int64_t inner = src.dims().inner();  // elements per row
  dst.resize(src.dims().with_batch(static_cast<std::int64_t>(rows.size())));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::int64_t row = rows[i];
    if (row < 0 || row >= n)
      throw std::out_of_range(fmt::format("gather_rows: row {} outside the {} rows of {}", row, n, src.dims().str()));
    std::memcpy(dst.data() + static_cast<std::int64_t>(i) * inner, src.data() + row * inner,
                static_cast<std::size_t>(inner) * sizeof(T));
  }
}

template void gather_rows<float>(const tensor<float>&, std::span<const std::int64_t>, tensor<float>&);
template void gather_rows<double>(const tensor<double>&, std::span<const std::int64_t>, tensor<double>&);

}  // namespace saelab
