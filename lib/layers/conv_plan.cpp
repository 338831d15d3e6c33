#include "layers/conv_plan.hpp"

#include <algorithm>
#include <cstring>
#include <thread>
#include <type_traits>

namespace saelab {

namespace {

using i64 = std::int64_t;

// 256-bit vectors through GCC's vector extensions, so one kernel source
// serves float (8 lanes) and double (4); -march=haswell makes them AVX2 FMAs.
template <class T>
struct simd {
  typedef T vec __attribute__((vector_size(32)));
  static constexpr i64 lanes = 32 / sizeof(T);
  static vec load(const T* p) {
    vec v;
    std::memcpy(&v, p, sizeof v);  // unaligned load
    return v;
  }
  // Lane indices for __builtin_shuffle: integers of T's width.
  using index = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  typedef index ivec __attribute__((vector_size(32)));
  static void store(T* p, vec v) { std::memcpy(p, &v, sizeof v); }
  // Written out element by element so GCC emits one broadcast.
  static vec splat(T x) {
    if constexpr (lanes == 8) return vec{x, x, x, x, x, x, x, x};
    else return vec{x, x, x, x};
  }
};

// even[v] = src[2v], odd[v] = src[2v + 1] for 2v < n (odd gets one fewer
// when n is odd): one image row into its two stride-2 phases.
template <class T>
void deinterleave(const T* src, i64 n, T* even, T* odd) {
  using S = simd<T>;
  using V = typename S::vec;
  using index = typename S::index;
  constexpr i64 lanes = S::lanes;
  typename S::ivec evens, odds;
  for (i64 j = 0; j < lanes; ++j) evens[j] = static_cast<index>(2 * j), odds[j] = static_cast<index>(2 * j + 1);
  i64 v = 0;
  for (; 2 * (v + lanes) <= n; v += lanes) {
    const V a = S::load(src + 2 * v), b = S::load(src + 2 * v + lanes);
    S::store(even + v, __builtin_shuffle(a, b, evens));
    S::store(odd + v, __builtin_shuffle(a, b, odds));
  }
  for (; 2 * v < n; ++v) {
    even[v] = src[2 * v];
    if (2 * v + 1 < n) odd[v] = src[2 * v + 1];
  }
}

// dst[2v] = even[v] + add, dst[2v + 1] = odd[v] + add for 2v (+ 1) < n:
// the inverse of deinterleave, with the bias added.
template <class T>
void interleave(const T* even, const T* odd, T add, i64 n, T* dst) {
  using S = simd<T>;
  using V = typename S::vec;
  using index = typename S::index;
  constexpr i64 lanes = S::lanes;
  typename S::ivec low, high;
  for (i64 j = 0; j < lanes; ++j) {
    low[j] = static_cast<index>(j / 2 + (j % 2) * lanes);
    high[j] = static_cast<index>(lanes / 2 + j / 2 + (j % 2) * lanes);
  }
  const V a = S::splat(add);
  i64 v = 0;
  for (; 2 * (v + lanes) <= n; v += lanes) {
    const V e = S::load(even + v) + a, o = S::load(odd + v) + a;
    S::store(dst + 2 * v, __builtin_shuffle(e, o, low));
    S::store(dst + 2 * v + lanes, __builtin_shuffle(e, o, high));
  }
  for (; 2 * v < n; ++v) {
    dst[2 * v] = even[v] + add;
    if (2 * v + 1 < n) dst[2 * v + 1] = odd[v] + add;
  }
}

i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }
i64 round_up(i64 a, i64 b) { return ceil_div(a, b) * b; }

// out[m, q] = sum_k a[m, k] * b[off[k] + q] for MR rows and NV vectors of
// positions q, all accumulators in registers (MR*NV + NV + 1 of the 16).
template <class T, int MR, int NV>
void gemm_tile(i64 depth, const T* a, i64 lda, const T* b, const i64* off, T* out, i64 ldo) {
  using S = simd<T>;
  using V = typename S::vec;
  // Zeroed one by one: `= {}` compiles to a rep stos on the stack, which
  // costs about as much as a short tile's loop.
  V acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = S::splat(T(0));
  for (i64 k = 0; k < depth; ++k) {
    const T* bk = b + off[k];
    V bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = S::load(bk + v * S::lanes);
    for (int m = 0; m < MR; ++m) {
      const V am = S::splat(a[m * lda + k]);
      for (int v = 0; v < NV; ++v) acc[m][v] += am * bv[v];
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) S::store(out + m * ldo + v * S::lanes, acc[m][v]);
}

// Positions handled by the kernels: `count` runs of `length` positions, run
// r starting at r * stride. One run covers a whole plane; one run per grid
// row skips the dropped columns of wide rows.
struct position_runs {
  i64 count = 1, stride = 0, length = 0;
};

// The product above over rows x positions (run lengths whole vectors): a
// GEMM whose second operand is read through row offsets instead of a
// matrix. Groups of 4 rows take 3 vectors of positions at a time; 1 to 3
// left-over rows take more vectors (up to 12 accumulators), so a single row
// (conv_transpose2d with one output channel) still keeps both FMA pipes fed.
// Each output is one chain over k = 0..depth-1 whatever the tile, so the
// tiling never changes a result.
template <class T>
void gemm_offsets(i64 rows, position_runs runs, i64 depth, const T* a, i64 lda, const T* b, const i64* off, T* out,
                  i64 ldo) {
  using tile_fn = void (*)(i64, const T*, i64, const T*, const i64*, T*, i64);
  static constexpr tile_fn four[3] = {gemm_tile<T, 4, 1>, gemm_tile<T, 4, 2>, gemm_tile<T, 4, 3>};
  static constexpr tile_fn three[3] = {gemm_tile<T, 3, 1>, gemm_tile<T, 3, 2>, gemm_tile<T, 3, 3>};
  static constexpr tile_fn two[6] = {gemm_tile<T, 2, 1>, gemm_tile<T, 2, 2>, gemm_tile<T, 2, 3>,
                                     gemm_tile<T, 2, 4>, gemm_tile<T, 2, 5>, gemm_tile<T, 2, 6>};
  static constexpr tile_fn one[12] = {gemm_tile<T, 1, 1>, gemm_tile<T, 1, 2>,  gemm_tile<T, 1, 3>,
                                      gemm_tile<T, 1, 4>, gemm_tile<T, 1, 5>,  gemm_tile<T, 1, 6>,
                                      gemm_tile<T, 1, 7>, gemm_tile<T, 1, 8>,  gemm_tile<T, 1, 9>,
                                      gemm_tile<T, 1, 10>, gemm_tile<T, 1, 11>, gemm_tile<T, 1, 12>};
  constexpr i64 lanes = simd<T>::lanes;
  const i64 full = rows - rows % 4, rest = rows % 4;
  const tile_fn* rest_tiles = rest == 1 ? one : rest == 2 ? two : three;
  const i64 rest_nv = rest == 1 ? 12 : rest == 2 ? 6 : 3;
  for (i64 r = 0; r < runs.count; ++r) {
    const i64 base = r * runs.stride;
    for (i64 q = 0; q < runs.length; q += 3 * lanes) {
      const i64 nv = std::min<i64>(3, (runs.length - q) / lanes);
      for (i64 m = 0; m < full; m += 4)
        four[nv - 1](depth, a + m * lda, lda, b + base + q, off, out + m * ldo + base + q, ldo);
    }
    if (rest == 0) continue;
    for (i64 q = 0; q < runs.length; q += rest_nv * lanes) {
      const i64 nv = std::min<i64>(rest_nv, (runs.length - q) / lanes);
      rest_tiles[nv - 1](depth, a + full * lda, lda, b + base + q, off, out + full * ldo + base + q, ldo);
    }
  }
}

// dwt[k, m] += sum_q b[off[k] + q] * yt[q, m] for KB rows k and MV vectors of
// m: a long reduction over the positions q of `runs`, in order, with every
// operand a plain load or broadcast.
template <class T, int KB, int MV>
void grad_tile(position_runs runs, const T* b, const i64* off, const T* yt, i64 ldy, T* dwt, i64 ldw) {
  using S = simd<T>;
  using V = typename S::vec;
  V acc[KB][MV];  // zeroed one by one, as in gemm_tile
  for (int a = 0; a < KB; ++a)
    for (int v = 0; v < MV; ++v) acc[a][v] = S::splat(T(0));
  const T* bk[KB];
  for (int a = 0; a < KB; ++a) bk[a] = b + off[a];
  for (i64 r = 0; r < runs.count; ++r)
    for (i64 q = r * runs.stride, end = q + runs.length; q < end; ++q) {
      V yv[MV];
      for (int v = 0; v < MV; ++v) yv[v] = S::load(yt + q * ldy + v * S::lanes);
      for (int a = 0; a < KB; ++a) {
        const V xb = S::splat(bk[a][q]);
        for (int v = 0; v < MV; ++v) acc[a][v] += xb * yv[v];
      }
    }
  for (int a = 0; a < KB; ++a)
    for (int v = 0; v < MV; ++v) {
      T* p = dwt + a * ldw + v * S::lanes;
      S::store(p, S::load(p) + acc[a][v]);
    }
}

// With two vectors of m, 6 rows k at a time keep 12 chains in flight; with
// one (8 grid channels in float), 8 rows (more would run out of registers
// for the row pointers). Rows are split into tiles of near-equal size, so no
// tile is left with one or two chains.
template <class T>
void grad_offsets(i64 depth, position_runs runs, i64 m_pad, const T* b, const i64* off, const T* yt, T* dwt) {
  using tile_fn = void (*)(position_runs, const T*, const i64*, const T*, i64, T*, i64);
  static constexpr tile_fn one[8] = {grad_tile<T, 1, 1>, grad_tile<T, 2, 1>, grad_tile<T, 3, 1>, grad_tile<T, 4, 1>,
                                     grad_tile<T, 5, 1>, grad_tile<T, 6, 1>, grad_tile<T, 7, 1>, grad_tile<T, 8, 1>};
  static constexpr tile_fn two[6] = {grad_tile<T, 1, 2>, grad_tile<T, 2, 2>, grad_tile<T, 3, 2>,
                                     grad_tile<T, 4, 2>, grad_tile<T, 5, 2>, grad_tile<T, 6, 2>};
  constexpr i64 lanes = simd<T>::lanes;
  for (i64 m = 0; m < m_pad; m += 2 * lanes) {
    const i64 mv = std::min<i64>(2, (m_pad - m) / lanes);
    const i64 tiles = ceil_div(depth, mv == 1 ? 8 : 6), small = depth / tiles, larger = depth % tiles;
    for (i64 t = 0, k = 0; t < tiles; ++t) {
      const i64 n = small + (t < larger ? 1 : 0);
      (mv == 1 ? one : two)[n - 1](runs, b, off + k, yt + m, m_pad, dwt + k * m_pad + m, m_pad);
      k += n;
    }
  }
}

}  // namespace

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

  // The adjoint: phase (a, b) of the image gathers grid[m, u - i', v - j']
  // times W[m, c, i'*s + a, j'*s + b]. A zero border of (taps - 1) rows and
  // columns in front of the wide grid stands for the grid's outside; the wide
  // rows' dropped columns, zero too, catch reads that wrap to the row before.
  const i64 taps = ceil_div(k, s);
  border_ = (taps - 1) * phase_w_ + (taps - 1);
  grid_in_row_ = border_ + phase_size_;
  adj_start_.push_back(0);
  for (i64 a = 0; a < s; ++a)
    for (i64 b = 0; b < s; ++b) {
      for (i64 m = 0; m < m_; ++m)
        for (i64 i = 0; i * s + a < k; ++i)
          for (i64 j = 0; j * s + b < k; ++j) adj_off_.push_back(m * grid_in_row_ + border_ - i * phase_w_ - j);
      adj_start_.push_back(static_cast<i64>(adj_off_.size()));
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
        std::copy(src, src + w_n, row + col_start_[0]);
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
      for (i64 ow = 0; ow < wo; ++ow) dst[ow] = src[ow] + add;
    }
  }
}

template <class T>
void conv_plan<T>::pack_adjoint(const T* w, T* packed) const {
  // Phase by phase, [C, terms] with terms (m, i', j') in adj_off_'s order.
  const i64 s = g_.stride, k = g_.kernel, c_n = g_.channels;
  for (i64 a = 0; a < s; ++a)
    for (i64 b = 0; b < s; ++b)
      for (i64 c = 0; c < c_n; ++c)
        for (i64 m = 0; m < m_; ++m)
          for (i64 i = a; i < k; i += s)
            for (i64 j = b; j < k; j += s) *packed++ = w[((m * c_n + c) * k + i) * k + j];
}

template <class T>
void conv_plan<T>::apply_adjoint(const T* packed, const T* bias, const T* grid, T* image, workspace& ws) const {
  // The grid into its wide, zero-bordered rows (the zeros are never written).
  const i64 ho = g_.out_height, wo = g_.out_width, s = g_.stride;
  for (i64 m = 0; m < m_; ++m)
    for (i64 oh = 0; oh < ho; ++oh) {
      const T* src = grid + (m * ho + oh) * wo;
      std::copy(src, src + wo, ws.grid_in.data() + m * grid_in_row_ + border_ + oh * phase_w_);
    }
  for (i64 ph = 0; ph < s * s; ++ph) {
    const i64 terms = adj_start_[ph + 1] - adj_start_[ph];
    gemm_offsets(g_.channels, position_runs{1, 0, phase_size_}, terms, packed + g_.channels * adj_start_[ph], terms,
                 ws.grid_in.data(), adj_off_.data() + adj_start_[ph], ws.image_out.data() + ph * phase_size_,
                 s * s * phase_size_);
  }
  merge(ws.image_out.data(), bias, image);
}

template <class T>
void conv_plan<T>::weight_grad(const T* grid, const T* image, T* dwt, workspace& ws) const {
  split(image, ws.image_in.data());
  // grid_t [wide, M padded]: the dropped columns and the padding of M stay
  // zero, so they add nothing.
  const i64 ho = g_.out_height, wo = g_.out_width;
  for (i64 m = 0; m < m_; ++m)
    for (i64 oh = 0; oh < ho; ++oh) {
      const T* src = grid + (m * ho + oh) * wo;
      T* dst = ws.grid_t.data() + oh * phase_w_ * m_pad_ + m;
      for (i64 ow = 0; ow < wo; ++ow) dst[ow * m_pad_] = src[ow];
    }
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
