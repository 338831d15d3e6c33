#pragma once
// Minibatches of item indices, reshuffled every epoch from the run's rng.
//
//   minibatcher mb(60000, 1200, true);
//   for (int epoch = 0; epoch < 20; ++epoch) {
//     mb.start_epoch(r);
//     for (std::int64_t b = 0; b < mb.batches(); ++b)
//       gather_rows(images, mb.batch(b), x);   // x: [<=1200, 1, 28, 28]
//   }
//
// Like PyTorch's DataLoader with drop_last=false, the last batch may be smaller.

#include <cstdint>
#include <span>
#include <vector>

#include "tensor/rng.hpp"
#include "tensor/tensor.hpp"

namespace saelab {

class minibatcher {
 public:
  minibatcher(std::int64_t count, std::int64_t batch_size, bool shuffle);

  // A fresh order for the next epoch: a Fisher-Yates shuffle of 0..count-1
  // drawn from r (identity, drawing nothing, when shuffle is off). The order
  // depends only on r's state, so a run resumed from a checkpoint repeats it.
  void start_epoch(rng& r);

  std::int64_t count() const { return static_cast<std::int64_t>(order_.size()); }
  std::int64_t batch_size() const { return batch_size_; }
  std::int64_t batches() const { return (count() + batch_size_ - 1) / batch_size_; }
  // The item indices of batch b of this epoch; valid until the next start_epoch.
  std::span<const std::int64_t> batch(std::int64_t b) const;

 private:
  std::int64_t batch_size_;
  bool shuffle_;
  std::vector<std::int64_t> order_;  // [count], a permutation of 0..count-1
};

// dst[i] = src[rows[i]] along the first axis. src: [N, ...], dst resized to
// [rows.size(), ...]. dst must not share storage with src.
template <class T>
void gather_rows(const tensor<T>& src, std::span<const std::int64_t> rows, tensor<T>& dst);

extern template void gather_rows<float>(const tensor<float>&, std::span<const std::int64_t>, tensor<float>&);
extern template void gather_rows<double>(const tensor<double>&, std::span<const std::int64_t>, tensor<double>&);

}  // namespace saelab
