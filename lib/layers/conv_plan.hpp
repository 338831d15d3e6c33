#pragma once
// The three products every convolution layer is made of, for one sample.
//
// A convolution reads an image [C, H, W], zero padded by p, through k x k
// windows moved by s, and gives a grid [M, Ho, Wo]; its weights are
// W [M, C, k, k] (conv2d's layout, and conv_transpose2d's with M = in, C = out):
//
//   apply           grid  = W * image     conv2d forward,  conv_transpose2d dx
//   apply_adjoint   image = W^T * grid    conv2d dx,       conv_transpose2d forward
//   weight_grad     dW   += grid (x) image                 both
//
// so conv_transpose2d is conv2d with forward and backward swapped (Caffe's
// deconvolution), sharing this code.
//
// How: im2col without the matrix. The image is first split into its s*s
// stride phases (phase (a, b) holds padded pixels (u*s + a, v*s + b)), each an
// Hs x Ws plane. If a grid row is stored "wide", Ws entries long instead of
// Wo, then row (c, i, j) of the im2col matrix is one contiguous run of the
// split image, starting at off[(c*k + i)*k + j]. A register-tiled kernel reads
// those runs in place, so nothing is copied k*k times; the Ws - Wo extra
// entries per grid row are computed and dropped, or skipped row by row where
// that saves enough (apply, weight_grad). The adjoint is gathered the
// same way, phase by phase, from a zero-bordered wide grid: each image pixel
// sums its own contributions, so no two writes collide; the rows near the
// grid's top and bottom edges skip the terms that would only read the
// border. The kernels themselves are in layers/conv_kernels.hpp.
//
// A plan is built once per geometry; a workspace is one thread's scratch.

#include <cstdint>
#include <functional>
#include <vector>

#include "tensor/parallel.hpp"

namespace saelab {

struct conv_geometry {
  std::int64_t channels = 0, height = 0, width = 0;  // the image [C, H, W]
  std::int64_t kernel = 1, stride = 1, padding = 0;
  std::int64_t out_height = 0, out_width = 0;  // the grid's Ho x Wo

  std::int64_t image_size() const { return channels * height * width; }
  bool operator==(const conv_geometry&) const = default;
};

// The geometry of a convolution over [channels, height, width], with the
// grid size computed as PyTorch does (floor division).
conv_geometry conv_geometry_for(std::int64_t channels, std::int64_t height, std::int64_t width, std::int64_t kernel,
                                std::int64_t stride, std::int64_t padding);

template <class T>
class conv_plan {
 public:
  // One thread's scratch. Buffers that are only partly written per sample
  // rely on the rest staying zero, so a workspace belongs to one plan.
  struct workspace {
    std::vector<T> image_in;   // split image, read by apply / weight_grad
    std::vector<T> image_out;  // split image, written by apply_adjoint
    std::vector<T> grid_out;   // [M, wide positions], written by apply
    std::vector<T> grid_in;    // [M, border + wide positions], read by apply_adjoint
    std::vector<T> grid_t;     // [wide positions, M padded], read by weight_grad
  };

  conv_plan() = default;
  conv_plan(const conv_geometry& g, std::int64_t grid_channels);

  const conv_geometry& geometry() const { return g_; }
  std::int64_t grid_channels() const { return m_; }
  std::int64_t grid_size() const { return m_ * g_.out_height * g_.out_width; }
  // Multiply-adds of one product for one sample.
  std::int64_t work() const { return m_ * depth() * g_.out_height * g_.out_width; }
  workspace make_workspace() const;

  // grid [M, Ho, Wo] = W [M, C*k*k] image [C, H, W] + bias [M] (bias may be null)
  void apply(const T* w, const T* bias, const T* image, T* grid, workspace& ws) const;

  // apply_adjoint reads W rearranged per segment; pack once per batch.
  std::int64_t packed_size() const { return g_.channels * static_cast<std::int64_t>(adj_off_.size()); }
  void pack_adjoint(const T* w, T* packed) const;
  // image [C, H, W] = W^T grid [M, Ho, Wo] + bias [C] (bias may be null)
  void apply_adjoint(const T* packed, const T* bias, const T* grid, T* image, workspace& ws) const;

  // dwt [C*k*k, M padded] += grid [M, Ho, Wo] (x) image [C, H, W]: dW
  // transposed, the layout the kernel fills fastest. add_weight_grad then
  // adds it onto dW [M, C*k*k].
  std::int64_t weight_grad_size() const { return depth() * m_pad_; }
  void weight_grad(const T* grid, const T* image, T* dwt, workspace& ws) const;
  void add_weight_grad(const T* dwt, T* dw) const;

 private:
  std::int64_t depth() const { return g_.channels * g_.kernel * g_.kernel; }  // im2col rows
  void plan_adjoint();
  void split(const T* image, T* out) const;
  void merge(const T* split_image, const T* bias, T* image) const;

  conv_geometry g_;
  std::int64_t m_ = 0, m_pad_ = 0;
  std::int64_t phase_h_ = 0, phase_w_ = 0;  // Hs, Ws
  std::int64_t phase_size_ = 0;             // Hs*Ws rounded up to whole vectors
  std::int64_t image_len_ = 0;              // split image plus the kernel's overrun
  std::int64_t wide_ = 0, wide_pad_ = 0;    // Ho*Ws wide grid positions, rounded up
  std::int64_t border_ = 0, grid_in_row_ = 0;
  // Where split puts image row h and, within it, the columns of phase b:
  // precomputed because the divisions cost more than the copying.
  std::vector<std::int64_t> row_start_;     // [H] offset of row h within its channel
  std::vector<std::int64_t> col_first_;     // [s] first image column of phase b
  std::vector<std::int64_t> col_start_;     // [s] offset of that column within the row
  std::vector<std::int64_t> off_;           // [C*k*k] im2col row starts in the split image
  // The adjoint runs over segments of a phase's positions, each with the
  // terms (m, i', j') that can reach it: where each term starts in grid_in,
  // and where its weight W[m, c, i'*s + a, j'*s + b] is for c = 0.
  struct adjoint_segment {
    std::int64_t phase = 0, first = 0, length = 0;  // positions [first, first + length)
    std::int64_t term_start = 0, terms = 0;         // into adj_off_ / adj_w_
  };
  std::vector<adjoint_segment> adj_segments_;
  std::vector<std::int64_t> adj_off_, adj_w_;
};


extern template class conv_plan<float>;
extern template class conv_plan<double>;

}  // namespace saelab
