#pragma once
// A conv_plan run over a batch: what conv2d and conv_transpose2d share. It
// keeps the plan of the last geometry, a workspace per thread, the packed
// adjoint weights and the per-slice gradient partials.
//
//   batch.prepare(geometry, grid_channels);                   // every call
//   batch.for_each_sample(n, [&](std::int64_t i, auto& ws) { plan.apply(...); });
//   batch.backward(n, dy, dy_size, channels, dw, db, [&](std::int64_t i, T* dwt, auto& ws) {
//     plan.weight_grad(..., dwt, ws);                         // and the input gradient
//   });
//
// Samples run on blas::threads() threads in for_each_slice's fixed slices,
// and backward adds the slices' partial gradients in slice order, so the
// sums over samples do not depend on the thread count.

#include <cstdint>
#include <functional>
#include <vector>

#include "layers/conv_plan.hpp"

namespace saelab {

template <class T>
class conv_batch {
 public:
  using workspace = typename conv_plan<T>::workspace;

  // (Re)builds the plan when the geometry changed, and a workspace per thread.
  void prepare(const conv_geometry& g, std::int64_t grid_channels);
  const conv_plan<T>& plan() const { return plan_; }

  // W rearranged for apply_adjoint, valid until the next call.
  const T* pack_adjoint(const T* w);

  void for_each_sample(std::int64_t n, const std::function<void(std::int64_t, workspace&)>& body);

  // body(i, dwt, ws) adds sample i's weight gradient into dwt (the plan's
  // transposed layout) and may write its input gradient. db gets the sum of
  // dy [n, channels, plane] over samples and positions, with
  // plane = dy_size / channels. Both accumulate onto dw and db.
  void backward(std::int64_t n, const T* dy, std::int64_t dy_size, std::int64_t channels, T* dw, T* db,
                const std::function<void(std::int64_t, T*, workspace&)>& body);

 private:
  conv_plan<T> plan_;
  int threads_ = 1;
  std::vector<workspace> workspaces_;    // one per thread
  std::vector<T> packed_;                // W for apply_adjoint
  std::vector<T> slice_dw_, slice_db_;  // per-slice partial gradients
};

extern template class conv_batch<float>;
extern template class conv_batch<double>;

}  // namespace saelab
