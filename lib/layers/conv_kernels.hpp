#pragma once
// The register-tiled kernels under conv_plan (layers/conv_plan.hpp), and the
// shuffles around them. Internal to conv_plan.cpp; a header only so that
// file stays readable.
//
// Every kernel keeps each output's chain of multiply-adds in the order of
// its term list, starting from +0, whatever the tile shape: so tiles can be
// chosen for speed without changing a bit of the results.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace saelab::conv_kernels {

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
  // Lane indices for shuffle(): integers of T's width.
  using index = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  typedef index ivec __attribute__((vector_size(32)));
  static void store(T* p, vec v) { std::memcpy(p, &v, sizeof v); }
  // Written out element by element so GCC emits one broadcast.
  static vec splat(T x) {
    if constexpr (lanes == 8) return vec{x, x, x, x, x, x, x, x};
    else return vec{x, x, x, x};
  }
};

// Lanes of a and b picked by mask (index < lanes: a, else b). GCC's
// __builtin_shuffle; clang, which only the fuzz build uses, has no runtime-mask
// form, so there the lanes are copied one by one.
template <class V, class I>
V shuffle(V a, V b, I mask) {
#if defined(__clang__)
  constexpr int lanes = static_cast<int>(sizeof(V) / sizeof(a[0]));
  V out;
  for (int i = 0; i < lanes; ++i) out[i] = mask[i] < lanes ? a[mask[i]] : b[mask[i] - lanes];
  return out;
#else
  return __builtin_shuffle(a, b, mask);
#endif
}

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
    S::store(even + v, shuffle(a, b, evens));
    S::store(odd + v, shuffle(a, b, odds));
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
    S::store(dst + 2 * v, shuffle(e, o, low));
    S::store(dst + 2 * v + lanes, shuffle(e, o, high));
  }
  for (; 2 * v < n; ++v) {
    dst[2 * v] = even[v] + add;
    if (2 * v + 1 < n) dst[2 * v + 1] = odd[v] + add;
  }
}

// out[p * ldo + r] = src[r * lds + p] for r, p < lanes: one square block
// transposed through registers. For float, one half of the columns at a
// time: rows r and r + 4 share a register (one 128-bit half each), so two
// rounds of in-half shuffles finish a column, and at most 8 registers are
// live (all 8 rows at once spilled to the stack).
template <class T>
void transpose_block(const T* src, i64 lds, T* out, i64 ldo) {
  using S = simd<T>;
  using V = typename S::vec;
  using I = typename S::ivec;
  if constexpr (S::lanes == 8) {
    typedef T half __attribute__((vector_size(16)));
    for (int c = 0; c < 8; c += 4) {
      V a[4];
      for (int i = 0; i < 4; ++i) {
        half lo, hi;
        std::memcpy(&lo, src + i * lds + c, sizeof lo);
        std::memcpy(&hi, src + (i + 4) * lds + c, sizeof hi);
        a[i] = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
      }
      const V t0 = shuffle(a[0], a[1], I{0, 8, 1, 9, 4, 12, 5, 13});
      const V t1 = shuffle(a[0], a[1], I{2, 10, 3, 11, 6, 14, 7, 15});
      const V t2 = shuffle(a[2], a[3], I{0, 8, 1, 9, 4, 12, 5, 13});
      const V t3 = shuffle(a[2], a[3], I{2, 10, 3, 11, 6, 14, 7, 15});
      S::store(out + c * ldo, shuffle(t0, t2, I{0, 1, 8, 9, 4, 5, 12, 13}));
      S::store(out + (c + 1) * ldo, shuffle(t0, t2, I{2, 3, 10, 11, 6, 7, 14, 15}));
      S::store(out + (c + 2) * ldo, shuffle(t1, t3, I{0, 1, 8, 9, 4, 5, 12, 13}));
      S::store(out + (c + 3) * ldo, shuffle(t1, t3, I{2, 3, 10, 11, 6, 7, 14, 15}));
    }
  } else {
    V r[4];
    for (int i = 0; i < 4; ++i) r[i] = S::load(src + i * lds);
    const V t0 = shuffle(r[0], r[1], I{0, 4, 2, 6}), t1 = shuffle(r[0], r[1], I{1, 5, 3, 7});
    const V t2 = shuffle(r[2], r[3], I{0, 4, 2, 6}), t3 = shuffle(r[2], r[3], I{1, 5, 3, 7});
    S::store(out, shuffle(t0, t2, I{0, 1, 4, 5}));
    S::store(out + ldo, shuffle(t1, t3, I{0, 1, 4, 5}));
    S::store(out + 2 * ldo, shuffle(t0, t2, I{2, 3, 6, 7}));
    S::store(out + 3 * ldo, shuffle(t1, t3, I{2, 3, 6, 7}));
  }
}

// dst[i] = src[i] for i < n, and dst[i] = src[i] + add: whole vectors, then
// the tail. The rows moved here are a few dozen floats, too short for a
// call to memmove to pay.
template <class T>
void copy_row(const T* src, i64 n, T* dst) {
  using S = simd<T>;
  i64 i = 0;
  for (; i + S::lanes <= n; i += S::lanes) S::store(dst + i, S::load(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

template <class T>
void copy_row_add(const T* src, i64 n, T add, T* dst) {
  using S = simd<T>;
  const typename S::vec a = S::splat(add);
  i64 i = 0;
  for (; i + S::lanes <= n; i += S::lanes) S::store(dst + i, S::load(src + i) + a);
  for (; i < n; ++i) dst[i] = src[i] + add;
}

inline i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }
inline i64 round_up(i64 a, i64 b) { return ceil_div(a, b) * b; }

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

// Splits n into ceil(n / most) parts of near-equal size and calls
// part(first, size) for each in order: 13 vectors at most 3 at a time go as
// 3, 3, 3, 2, 2, never leaving one vector alone in a tile too narrow to keep
// both FMA pipes busy.
template <class F>
void for_each_part(i64 n, i64 most, F&& part) {
  if (n <= 0) return;
  const i64 parts = ceil_div(n, most), small = n / parts, larger = n % parts;
  for (i64 p = 0, first = 0; p < parts; ++p) {
    const i64 size = small + (p < larger ? 1 : 0);
    part(first, size);
    first += size;
  }
}

// Positions handled by the kernels: `count` runs of `length` positions, run
// r starting at r * stride. One run covers a whole plane; one run per grid
// row skips the dropped columns of wide rows.
struct position_runs {
  i64 count = 1, stride = 0, length = 0;
};

// The product above over rows x positions (run lengths whole vectors): a
// GEMM whose second operand is read through row offsets instead of a
// matrix. Groups of 4 rows take up to 3 vectors of positions at a time; 1 to
// 3 left-over rows take more vectors (up to 12 accumulators), so a single row
// (conv_transpose2d with one output channel) still keeps both FMA pipes fed.
// Vectors are dealt out evenly (for_each_part), never one alone.
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
  const i64 vectors = runs.length / lanes;
  for (i64 r = 0; r < runs.count; ++r) {
    const i64 base = r * runs.stride;
    for_each_part(vectors, 3, [&](i64 v, i64 nv) {
      for (i64 m = 0; m < full; m += 4)
        four[nv - 1](depth, a + m * lda, lda, b + base + v * lanes, off, out + m * ldo + base + v * lanes, ldo);
    });
    if (rest == 0) continue;
    for_each_part(vectors, rest_nv, [&](i64 v, i64 nv) {
      rest_tiles[nv - 1](depth, a + full * lda, lda, b + base + v * lanes, off, out + full * ldo + base + v * lanes,
                         ldo);
    });
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
    for_each_part(depth, mv == 1 ? 8 : 6, [&](i64 k, i64 n) {
      (mv == 1 ? one : two)[n - 1](runs, b, off + k, yt + m, m_pad, dwt + k * m_pad + m, m_pad);
    });
  }
}

// grid [M, Ho, Wo] transposed into wide [Ho * Ws, m_pad]: position (oh, ow)
// gets its M channels at row oh * Ws + ow, the other rows and the padding of
// M are left alone. Square blocks of channels x positions go through
// registers along the whole plane (element by element, the strided stores
// falsely alias the loads, same address bits below 4 KiB, and stall); only
// the last block of the grid, which would read past its end, and a block of
// fewer than `lanes` channels are staged through a zeroed square.
template <class T>
void transpose_to_wide(const T* grid, i64 m_n, i64 ho, i64 wo, i64 ws, i64 m_pad, T* wide) {
  using S = simd<T>;
  constexpr i64 lanes = S::lanes;
  const i64 plane = ho * wo;
  T in[lanes * lanes], block[lanes * lanes];
  for (i64 m = 0; m < m_n; m += lanes) {
    const i64 rows = std::min(lanes, m_n - m);
    for (i64 p = 0, oh = 0, ow = 0; p < plane; p += lanes) {
      const T* src = grid + m * plane + p;
      const i64 cols = std::min(lanes, plane - p);
      if (rows == lanes && (m + lanes - 1) * plane + p + lanes <= m_n * plane) {
        transpose_block(src, plane, block, lanes);
      } else {
        std::fill(in, in + lanes * lanes, T(0));
        for (i64 i = 0; i < rows; ++i) copy_row(src + i * plane, cols, in + i * lanes);
        transpose_block(in, lanes, block, lanes);
      }
      for (i64 j = 0; j < cols; ++j) {
        T* dst = wide + (oh * ws + ow) * m_pad + m;
        if (rows == lanes) S::store(dst, S::load(block + j * lanes));
        else copy_row(block + j * lanes, rows, dst);
        if (++ow == wo) ow = 0, ++oh;
      }
    }
  }
}

// sums[c] = g[c, 0] + g[c, 1] + ... + g[c, plane - 1], each one chain of adds
// in that order from +0 (a bias gradient). Blocks of channels are transposed
// so one vector add advances a whole block's chains: a chain alone waits on
// every add.
template <class T>
void channel_sums(const T* g, i64 channels, i64 plane, T* sums) {
  using S = simd<T>;
  using V = typename S::vec;
  constexpr i64 lanes = S::lanes;
  i64 c = 0;
  for (; c + lanes <= channels; c += lanes) {
    const T* block = g + c * plane;
    T t[lanes * lanes], last[lanes];
    V acc = S::splat(T(0));
    i64 q = 0;
    for (; q + lanes <= plane; q += lanes) {
      transpose_block(block + q, plane, t, lanes);
      for (i64 j = 0; j < lanes; ++j) acc += S::load(t + j * lanes);
    }
    S::store(last, acc);
    for (i64 i = 0; i < lanes; ++i)
      for (i64 p = q; p < plane; ++p) last[i] += block[i * plane + p];
    std::copy(last, last + lanes, sums + c);
  }
  for (; c < channels; ++c) {
    T sum = T(0);
    for (i64 p = 0; p < plane; ++p) sum += g[c * plane + p];
    sums[c] = sum;
  }
}

}  // namespace saelab::conv_kernels
