#pragma once
// saelab tensors: dense, row-major, contiguous arrays of float or double.
//
//   tensor<float> x({1200, 1, 28, 28});   // [N, C, H, W], zero-filled, 64-byte aligned
//   x.at(n, c, h, w) = 0.5f;             // element n*C*H*W + c*H*W + h*W + w
//   tensor<float> b = x.slice(0, 100);   // [100, 1, 28, 28]: a view, no copy
//   float* p = x.data();                 // raw pointer for BLAS and plain loops
//
// Layout: the last axis is contiguous; strides are implied by the shape, so a
// tensor is always one contiguous block. A view shares the block of the tensor
// it came from (reference counted), so it stays valid after that tensor goes.
// Copying a tensor copies the handle, not the data: use clone() for a copy.
// Shapes have 1 to 4 axes; the first axis is the batch axis wherever a batch
// is meant.

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

namespace saelab {

// Up to four axis lengths; rank() of them are used.
class shape {
 public:
  shape() = default;
  shape(std::initializer_list<std::int64_t> dims);

  int rank() const { return rank_; }
  std::int64_t operator[](int axis) const { return dims_[static_cast<std::size_t>(axis)]; }
  std::int64_t numel() const {
    std::int64_t n = rank_ ? 1 : 0;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }
  // Elements per item of the first axis (numel / dims[0]); 1 for rank 1.
  std::int64_t inner() const;
  // The same shape with the first axis set to n.
  shape with_batch(std::int64_t n) const;
  // [n, this...]: a per-sample shape with a batch axis in front.
  shape batched(std::int64_t n) const;
  // The shape without its first axis.
  shape drop_batch() const;
  bool operator==(const shape& o) const;
  bool operator!=(const shape& o) const { return !(*this == o); }
  std::string str() const;  // "[1200, 1, 28, 28]"

 private:
  std::array<std::int64_t, 4> dims_{};
  int rank_ = 0;
};

template <class T>
class tensor {
 public:
  tensor() = default;
  explicit tensor(const shape& s);                  // zero-filled
  tensor(const shape& s, T* data, std::shared_ptr<T> owner);  // view constructor

  const shape& dims() const { return shape_; }
  std::int64_t numel() const { return shape_.numel(); }
  std::int64_t size(int axis) const { return shape_[axis]; }
  bool empty() const { return data_ == nullptr; }

  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](std::int64_t i) { return data_[i]; }
  const T& operator[](std::int64_t i) const { return data_[i]; }
  T& at(std::int64_t a, std::int64_t b) { return data_[a * shape_[1] + b]; }
  T at(std::int64_t a, std::int64_t b) const { return data_[a * shape_[1] + b]; }
  T& at(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
    return data_[((n * shape_[1] + c) * shape_[2] + h) * shape_[3] + w];
  }
  T at(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) const {
    return data_[((n * shape_[1] + c) * shape_[2] + h) * shape_[3] + w];
  }

  // Rows [begin, end) of the first axis, sharing storage.
  tensor slice(std::int64_t begin, std::int64_t end) const;
  // The same storage seen with another shape of equal numel.
  tensor reshaped(const shape& s) const;
  // A deep copy.
  tensor clone() const;
  // Reallocate only when the element count grows; keeps storage otherwise.
  // Used for per-batch buffers whose last batch is smaller.
  void resize(const shape& s);

  void fill(T value);
  void zero() { fill(T(0)); }
  void copy_from(const tensor& src);  // shapes must match in numel

 private:
  shape shape_;
  std::int64_t capacity_ = 0;
  std::shared_ptr<T> owner_;
  T* data_ = nullptr;
};

// Throws std::invalid_argument naming `what` when the shapes differ.
void check_same_shape(const shape& a, const shape& b, const char* what);

extern template class tensor<float>;
extern template class tensor<double>;

}  // namespace saelab
