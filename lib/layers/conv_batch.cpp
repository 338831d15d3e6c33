#include "layers/conv_batch.hpp"

#include <algorithm>

#include "layers/conv_kernels.hpp"
#include "tensor/blas.hpp"
#include "tensor/parallel.hpp"

namespace saelab {

template <class T>
void conv_batch<T>::prepare(const conv_geometry& g, std::int64_t grid_channels) {
  // A default plan has an empty geometry, so the first call builds one too.
  if (!(plan_.geometry() == g) || plan_.grid_channels() != grid_channels) {
    plan_ = conv_plan<T>(g, grid_channels);
    workspaces_.clear();
  }
  threads_ = std::max(1, blas::threads());
  while (static_cast<int>(workspaces_.size()) < threads_) workspaces_.push_back(plan_.make_workspace());
}

template <class T>
const T* conv_batch<T>::pack_adjoint(const T* w) {
  packed_.resize(static_cast<std::size_t>(plan_.packed_size()));
  plan_.pack_adjoint(w, packed_.data());
  return packed_.data();
}

template <class T>
void conv_batch<T>::for_each_sample(std::int64_t n, const std::function<void(std::int64_t, workspace&)>& body) {
  for_each_slice(n, threads_, plan_.work(), [&](int, int t, std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) body(i, workspaces_[static_cast<std::size_t>(t)]);
  });
}

template <class T>
void conv_batch<T>::backward(std::int64_t n, const T* dy, std::int64_t dy_size, std::int64_t channels, T* dw, T* db,
                             const std::function<void(std::int64_t, T*, workspace&)>& body) {
  const std::int64_t plane = dy_size / channels, grad_size = plan_.weight_grad_size();
  const int slices = slice_count(n);
  slice_dw_.assign(static_cast<std::size_t>(slices * grad_size), T(0));
  slice_db_.assign(static_cast<std::size_t>(slices * channels), T(0));
  for_each_slice(n, threads_, plan_.work(), [&](int s, int t, std::int64_t begin, std::int64_t end) {
    auto& ws = workspaces_[static_cast<std::size_t>(t)];
    T* dwt = slice_dw_.data() + s * grad_size;
    T* dbs = slice_db_.data() + s * channels;
    std::vector<T> sum(static_cast<std::size_t>(channels));
    for (std::int64_t i = begin; i < end; ++i) {
      body(i, dwt, ws);
      conv_kernels::channel_sums(dy + i * dy_size, channels, plane, sum.data());
      for (std::int64_t c = 0; c < channels; ++c) dbs[c] += sum[static_cast<std::size_t>(c)];
    }
  });
  // Slices in order, whatever thread ran them: reproducible sums.
  for (int s = 0; s < slices; ++s) {
    plan_.add_weight_grad(slice_dw_.data() + s * grad_size, dw);
    for (std::int64_t c = 0; c < channels; ++c) db[c] += slice_db_[static_cast<std::size_t>(s * channels + c)];
  }
}

template class conv_batch<float>;
template class conv_batch<double>;

}  // namespace saelab
