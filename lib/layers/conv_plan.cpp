#include "layers/conv_plan.hpp"

#include <algorithm>

#include "layers/conv_kernels.hpp"

namespace saelab {

using namespace conv_kernels;

conv_geometry conv_geometry_for(std::int64_t channels, std::int64_t height, std::int64_t width, std::int64_t kernel,
                                std::int64_t stride, std::int64_t padding) {
  conv_geometry g;
  g.channels = channels;
  g.height = height;
  g.width = width;
  g.kernel = kernel;
  g.stride = stride;
  g.padding = padding;
  g.out_height = (height + 2 * padding - kernel) / stride + 1;
  g.out_width = (width + 2 * padding - kernel) / stride + 1;
  return g;
}

template <class T>
conv_plan<T>::conv_plan(const conv_geometry& g, std::int64_t grid_channels) : g_(g), m_(grid_channels) {
  const i64 lanes = simd<T>::lanes, s = g.stride, k = g.kernel;
  m_pad_ = round_up(m_, lanes);
  phase_h_ = ceil_div(g.height + 2 * g.padding, s);
  phase_w_ = ceil_div(g.width + 2 * g.padding, s);
  phase_size_ = round_up(phase_h_ * phase_w_, lanes);
  wide_ = g.out_height * phase_w_;
  wide_pad_ = round_up(wide_, lanes);

  // Padded pixel (h + p, w + p) lies in phase ((h + p) % s, (w + p) % s) at
  // ((h + p) / s, (w + p) / s).
  for (i64 h = 0; h < g.height; ++h)
    row_start_.push_back(((h + g.padding) % s) * s * phase_size_ + ((h + g.padding) / s) * phase_w_);
  for (i64 b = 0; b < s; ++b) {
    const i64 w0 = ((b - g.padding) % s + s) % s;
    col_first_.push_back(w0);
    col_start_.push_back(b * phase_size_ + (w0 + g.padding) / s);
  }

  // Row (c, i, j) of im2col: phase (i % s, j % s) of channel c, shifted by
  // (i / s, j / s) within it.
  i64 max_off = 0;
  for (i64 c = 0; c < g.channels; ++c)
    for (i64 i = 0; i < k; ++i)
      for (i64 j = 0; j < k; ++j) {
        off_.push_back(((c * s + i % s) * s + j % s) * phase_size_ + (i / s) * phase_w_ + j / s);
        max_off = std::max(max_off, off_.back());
      }
  // The kernel reads whole vectors past the last wide position.
  image_len_ = std::max(g.channels * s * s * phase_size_, max_off + wide_pad_);

  plan_adjoint();
}

template <class T>
void conv_plan<T>::plan_adjoint() {
  // Phase (a, b) of the image gathers grid[m, u - i', v - j'] times
  // W[m, c, i'*s + a, j'*s + b]. A zero border of (taps - 1) rows and
  // columns in front of the wide grid stands for the grid's outside; the wide
  // rows' dropped columns, zero too, catch reads that wrap to the row before.
  const i64 s = g_.stride, k = g_.kernel, lanes = simd<T>::lanes, ho = g_.out_height;
  const i64 taps = ceil_div(k, s);
  // Shortest segment: 3 vectors for 4-channel tiles, and for 1 to 3 channels
  // enough vectors for 8 accumulators.
  const i64 shortest = (g_.channels >= 4 ? 3 : ceil_div(8, g_.channels)) * lanes;
  border_ = (taps - 1) * phase_w_ + (taps - 1);
  grid_in_row_ = border_ + phase_size_;
  // Phase row u only reads grid rows u - i' for i' in [u - Ho + 1, u]: the
  // rows of the top and bottom bands each get a segment (from the vector
  // holding their first position) whose terms leave out the i' that only
  // read the zero border, the middle rows one with every term: 13 % fewer
  // multiply-adds in conv2's input gradient, 16 % in the last transposed
  // convolution. A left-out term only ever added +0 to a chain that is never
  // -0, so the results keep every bit. A segment's tiles must still keep 8
  // or more accumulators busy, so short segments are merged with the one
  // before (stride-2 phases, whose rows are short, stay whole).
  for (i64 a = 0; a < s; ++a)
    for (i64 b = 0; b < s; ++b) {
      const i64 taps_i = a < k ? ceil_div(k - a, s) : 0, taps_j = b < k ? ceil_div(k - b, s) : 0;
      std::vector<i64> rows;  // first rows of the segments after the first
      for (i64 u = 1; u < std::min(taps_i, phase_h_); ++u) rows.push_back(u);
      for (i64 u = std::max(ho, taps_i); u < phase_h_; ++u) rows.push_back(u);
      std::vector<i64> cuts{0};
      for (i64 u : rows) {
        const i64 cut = u * phase_w_ / lanes * lanes;
        if (cut - cuts.back() >= shortest && phase_size_ - cut >= shortest) cuts.push_back(cut);
      }
      cuts.push_back(phase_size_);
      for (std::size_t n = 0; n + 1 < cuts.size(); ++n) {
        adjoint_segment seg{a * s + b, cuts[n], cuts[n + 1] - cuts[n], static_cast<i64>(adj_off_.size()), 0};
        const i64 u_first = seg.first / phase_w_, u_last = std::min(phase_h_ - 1, (cuts[n + 1] - 1) / phase_w_);
        const i64 i_lo = std::max<i64>(0, u_first - ho + 1), i_hi = std::min(taps_i - 1, u_last);
        for (i64 m = 0; m < m_; ++m)
          for (i64 i = i_lo; i <= i_hi; ++i)
            for (i64 j = 0; j < taps_j; ++j) {
              adj_off_.push_back(m * grid_in_row_ + border_ - i * phase_w_ - j);
              adj_w_.push_back(((m * g_.channels) * k + i * s + a) * k + j * s + b);
            }
        seg.terms = static_cast<i64>(adj_off_.size()) - seg.term_start;
        adj_segments_.push_back(seg);
      }
    }
}

template <class T>
typename conv_plan<T>::workspace conv_plan<T>::make_workspace() const {
  const i64 s = g_.stride;
  workspace ws;
  ws.image_in.assign(static_cast<std::size_t>(image_len_), T(0));
  ws.image_out.assign(static_cast<std::size_t>(g_.channels * s * s * phase_size_), T(0));
  ws.grid_out.assign(static_cast<std::size_t>(m_ * wide_pad_), T(0));
  ws.grid_in.assign(static_cast<std::size_t>(m_ * grid_in_row_), T(0));
  ws.grid_t.assign(static_cast<std::size_t>(std::max<i64>(wide_, 1) * m_pad_), T(0));
  return ws;
}

template <class T>
void conv_plan<T>::split(const T* image, T* out) const {
  // Only pixels are written: padding and the rounding tail stay zero.
  const i64 s = g_.stride, w_n = g_.width, channel = s * s * phase_size_;
  for (i64 c = 0; c < g_.channels; ++c)
    for (i64 h = 0; h < g_.height; ++h) {
      const T* src = image + (c * g_.height + h) * w_n;
      T* row = out + c * channel + row_start_[static_cast<std::size_t>(h)];
      if (s == 1) {
        copy_row(src, w_n, row + col_start_[0]);
        continue;
      }
      if (s == 2) {  // the common case, vectorised: columns alternate between the two phases
        const int e = col_first_[0] == 0 ? 0 : 1;
        deinterleave(src, w_n, row + col_start_[static_cast<std::size_t>(e)],
                     row + col_start_[static_cast<std::size_t>(1 - e)]);
        continue;
      }
      for (i64 b = 0; b < s; ++b) {
        T* dst = row + col_start_[static_cast<std::size_t>(b)];
        for (i64 w = col_first_[static_cast<std::size_t>(b)], v = 0; w < w_n; w += s, ++v) dst[v] = src[w];
      }
    }
}

template <class T>
void conv_plan<T>::merge(const T* split_image, const T* bias, T* image) const {
  const i64 s = g_.stride, w_n = g_.width, channel = s * s * phase_size_;
  for (i64 c = 0; c < g_.channels; ++c) {
    const T add = bias ? bias[c] : T(0);
    for (i64 h = 0; h < g_.height; ++h) {
      T* dst = image + (c * g_.height + h) * w_n;
      const T* row = split_image + c * channel + row_start_[static_cast<std::size_t>(h)];
      if (s == 1) {
        copy_row_add(row + col_start_[0], w_n, add, dst);
        continue;
      }
      if (s == 2) {
        const int e = col_first_[0] == 0 ? 0 : 1;
        interleave(row + col_start_[static_cast<std::size_t>(e)], row + col_start_[static_cast<std::size_t>(1 - e)],
                   add, w_n, dst);
        continue;
      }
      for (i64 b = 0; b < s; ++b) {
        const T* src = row + col_start_[static_cast<std::size_t>(b)];
        for (i64 w = col_first_[static_cast<std::size_t>(b)], v = 0; w < w_n; w += s, ++v) dst[w] = src[v] + add;
      }
    }
  }
}

template <class T>
void conv_plan<T>::apply(const T* w, const T* bias, const T* image, T* grid, workspace& ws) const {
  split(image, ws.image_in.data());
  // When Wo rounded up to whole vectors is still shorter than a wide row, the
  // grid is computed row by row, skipping the dropped columns (conv2 of the
  // reference model: 24 of 26); otherwise the wide plane in one run.
  const i64 lanes = simd<T>::lanes, row = round_up(g_.out_width, lanes);
  const position_runs runs = row < phase_w_ ? position_runs{g_.out_height, phase_w_, row}
                                            : position_runs{1, 0, wide_pad_};
  gemm_offsets(m_, runs, depth(), w, depth(), ws.image_in.data(), off_.data(), ws.grid_out.data(), wide_pad_);
  // Keep the first Wo of every wide row.
  const i64 ho = g_.out_height, wo = g_.out_width;
  for (i64 m = 0; m < m_; ++m) {
    const T add = bias ? bias[m] : T(0);
    for (i64 oh = 0; oh < ho; ++oh) {
      const T* src = ws.grid_out.data() + m * wide_pad_ + oh * phase_w_;
      T* dst = grid + (m * ho + oh) * wo;
      copy_row_add(src, wo, add, dst);
    }
  }
}

template <class T>
void conv_plan<T>::pack_adjoint(const T* w, T* packed) const {
  // Segment by segment, [C, terms] with the terms in adj_off_'s order.
  const i64 c_n = g_.channels, kk = g_.kernel * g_.kernel;
  for (const adjoint_segment& seg : adj_segments_)
    for (i64 c = 0; c < c_n; ++c)
      for (i64 t = seg.term_start; t < seg.term_start + seg.terms; ++t) *packed++ = w[adj_w_[t] + c * kk];
}

template <class T>
void conv_plan<T>::apply_adjoint(const T* packed, const T* bias, const T* grid, T* image, workspace& ws) const {
  // The grid into its wide, zero-bordered rows (the zeros are never written).
  const i64 ho = g_.out_height, wo = g_.out_width, s = g_.stride, c_n = g_.channels;
  for (i64 m = 0; m < m_; ++m)
    for (i64 oh = 0; oh < ho; ++oh) {
      const T* src = grid + (m * ho + oh) * wo;
      copy_row(src, wo, ws.grid_in.data() + m * grid_in_row_ + border_ + oh * phase_w_);
    }
  for (const adjoint_segment& seg : adj_segments_)
    gemm_offsets(c_n, position_runs{1, 0, seg.length}, seg.terms, packed + c_n * seg.term_start, seg.terms,
                 ws.grid_in.data() + seg.first, adj_off_.data() + seg.term_start,
                 ws.image_out.data() + seg.phase * phase_size_ + seg.first, s * s * phase_size_);
  merge(ws.image_out.data(), bias, image);
}

template <class T>
void conv_plan<T>::weight_grad(const T* grid, const T* image, T* dwt, workspace& ws) const {
  split(image, ws.image_in.data());
  // grid_t [wide, M padded]: the dropped columns and the padding of M stay
  // zero, so they add nothing.
  transpose_to_wide(grid, m_, g_.out_height, g_.out_width, phase_w_, m_pad_, ws.grid_t.data());
  // Where wide rows drop more than an eighth, only the kept columns of each
  // row are visited. The dropped ones are zero in grid_t, and adding a zero
  // product leaves a chain as it was (a chain of FMAs started at +0 is never
  // -0), so skipping them changes no bit.
  const bool by_row = (phase_w_ - g_.out_width) * 8 > phase_w_;
  grad_offsets(depth(), by_row ? position_runs{g_.out_height, phase_w_, g_.out_width} : position_runs{1, 0, wide_},
               m_pad_, ws.image_in.data(), off_.data(), ws.grid_t.data(), dwt);
}

template <class T>
void conv_plan<T>::add_weight_grad(const T* dwt, T* dw) const {
  const i64 d = depth();
  for (i64 m = 0; m < m_; ++m)
    for (i64 k = 0; k < d; ++k) dw[m * d + k] += dwt[k * m_pad_ + m];
}

template class conv_plan<float>;
template class conv_plan<double>;

}  // namespace saelab
