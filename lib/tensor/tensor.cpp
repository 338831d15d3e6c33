#include "tensor/tensor.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace saelab {

shape::shape(std::initializer_list<std::int64_t> dims) {
  if (dims.size() < 1 || dims.size() > 4) throw std::invalid_argument("shape: rank must be 1 to 4");
  for (auto d : dims) {
    if (d < 0) throw std::invalid_argument("shape: negative axis length");
    dims_[static_cast<std::size_t>(rank_++)] = d;
  }
}

std::int64_t shape::inner() const { return rank_ <= 1 ? 1 : numel() / std::max<std::int64_t>(dims_[0], 1); }

shape shape::with_batch(std::int64_t n) const {
  shape s = *this;
  s.dims_[0] = n;
  return s;
}

shape shape::batched(std::int64_t n) const {
  if (rank_ >= 4) throw std::invalid_argument("shape: cannot add a batch axis to a rank-4 shape");
  shape s;
  s.rank_ = rank_ + 1;
  s.dims_[0] = n;
  for (int i = 0; i < rank_; ++i) s.dims_[static_cast<std::size_t>(i + 1)] = dims_[static_cast<std::size_t>(i)];
  return s;
}

shape shape::drop_batch() const {
  if (rank_ <= 1) throw std::invalid_argument("shape: cannot drop the only axis");
  shape s;
  s.rank_ = rank_ - 1;
  for (int i = 1; i < rank_; ++i) s.dims_[static_cast<std::size_t>(i - 1)] = dims_[static_cast<std::size_t>(i)];
  return s;
}

bool shape::operator==(const shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[static_cast<std::size_t>(i)] != o.dims_[static_cast<std::size_t>(i)]) return false;
  return true;
}

std::string shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[static_cast<std::size_t>(i)]);
  return s + "]";
}

void check_same_shape(const shape& a, const shape& b, const char* what) {
  if (a != b) throw std::invalid_argument(fmt::format("{}: shape {} does not match {}", what, a.str(), b.str()));
}

namespace {
template <class T>
std::shared_ptr<T> allocate(std::int64_t n) {
  constexpr std::size_t align = 64;
  std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(n, 1)) * sizeof(T);
  bytes = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return std::shared_ptr<T>(static_cast<T*>(p), [](T* q) { std::free(q); });
}
}  // namespace

template <class T>
tensor<T>::tensor(const shape& s) : shape_(s), capacity_(s.numel()), owner_(allocate<T>(s.numel())) {
  data_ = owner_.get();
}

template <class T>
tensor<T>::tensor(const shape& s, T* data, std::shared_ptr<T> owner)
    : shape_(s), capacity_(s.numel()), owner_(std::move(owner)), data_(data) {}

template <class T>
tensor<T> tensor<T>::slice(std::int64_t begin, std::int64_t end) const {
  if (begin < 0 || end < begin || end > shape_[0])
    throw std::out_of_range(fmt::format("tensor::slice: [{}, {}) outside first axis of {}", begin, end, shape_.str()));
  return tensor(shape_.with_batch(end - begin), data_ + begin * shape_.inner(), owner_);
}

template <class T>
tensor<T> tensor<T>::reshaped(const shape& s) const {
  if (s.numel() != numel())
    throw std::invalid_argument(fmt::format("tensor::reshaped: {} has {} elements, {} has {}", shape_.str(), numel(), s.str(), s.numel()));
  return tensor(s, data_, owner_);
}

template <class T>
tensor<T> tensor<T>::clone() const {
  tensor t(shape_);
  if (numel()) std::memcpy(t.data_, data_, static_cast<std::size_t>(numel()) * sizeof(T));
  return t;
}

template <class T>
void tensor<T>::resize(const shape& s) {
  if (data_ != nullptr && s.numel() <= capacity_) {
    shape_ = s;
    return;
  }
  *this = tensor(s);
}

template <class T>
void tensor<T>::fill(T value) {
  std::fill(data_, data_ + numel(), value);
}

template <class T>
void tensor<T>::copy_from(const tensor& src) {
  if (src.numel() != numel())
    throw std::invalid_argument(fmt::format("tensor::copy_from: {} into {}", src.dims().str(), shape_.str()));
  if (numel()) std::memcpy(data_, src.data_, static_cast<std::size_t>(numel()) * sizeof(T));
}

template class tensor<float>;
template class tensor<double>;

}  // namespace saelab
