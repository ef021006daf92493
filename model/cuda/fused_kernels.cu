// Fused CUDA kernels (issue 8), plain CUDA without ATen so that nvcc compiles them in seconds;
// model/fused_ops.cpp checks the tensors and launches them on the current stream.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "model/cuda/fused_kernels.h"

namespace hg {
namespace cuda_kernels {
namespace {

// One thread per (sequence b, head h, channel j). qkv holds, per sequence, the new token's
// query, key and value (3 x H x hd). Query and key are rotated by the rotary tables' row `slot`
// (rotate half: x * cos + swap_halves(x) * sin, sin's first half negated); the query goes to q_out
// (B, H, hd), the rotated key and the value to row `slot` of the caches (B, H, capacity, hd).
__global__ void rotary_kv_step_kernel(const float* __restrict__ qkv, const float* __restrict__ cos,
                                      const float* __restrict__ sin,
                                      const int64_t* __restrict__ slot, float* __restrict__ q_out,
                                      float* __restrict__ k_cache, float* __restrict__ v_cache,
                                      int batch, int heads, int head_dim, int64_t capacity) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t total = static_cast<int64_t>(batch) * heads * head_dim;
  if (i >= total) return;
  const int j = static_cast<int>(i % head_dim);
  const int64_t bh = i / head_dim;  // b * heads + h
  const int64_t b = bh / heads, h = bh % heads;
  const int half = head_dim / 2;
  const int partner = j < half ? j + half : j - half;
  const int64_t row = *slot;
  const float c = cos[row * head_dim + j], s = sin[row * head_dim + j];
  const int64_t d = static_cast<int64_t>(heads) * head_dim;
  const float* q = qkv + b * 3 * d + h * head_dim;
  const float* k = q + d;
  const float* v = q + 2 * d;
  q_out[bh * head_dim + j] = q[j] * c + q[partner] * s;
  const int64_t at = (bh * capacity + row) * head_dim + j;
  k_cache[at] = k[j] * c + k[partner] * s;
  v_cache[at] = v[j];
}

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T>
__device__ inline T from_float(float x);
template <>
__device__ inline float from_float<float>(float x) {
  return x;
}
template <>
__device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}

// One thread per pair of channels (j, j + hd/2) of one (b, h, t): the "rotate half" rotation
// out = x * cos + swap_halves(x) * sign * sin, computed in fp32 and rounded once. x has any
// strides (the last dimension contiguous); out is contiguous as (B, T, H, hd).
template <typename T>
__global__ void rotary_kernel(const T* __restrict__ x, int64_t stride_b, int64_t stride_h,
                              int64_t stride_t, const T* __restrict__ cos,
                              const T* __restrict__ sin, float sign, T* __restrict__ out,
                              int64_t batch, int64_t heads, int64_t tokens, int head_dim) {
  const int half = head_dim / 2;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * tokens * heads * half) return;
  const int j = static_cast<int>(i % half);
  int64_t r = i / half;
  const int64_t h = r % heads;
  r /= heads;
  const int64_t t = r % tokens, b = r / tokens;
  const T* row = x + b * stride_b + h * stride_h + t * stride_t;
  const float a = to_float(row[j]), c = to_float(row[j + half]);
  const T* cos_row = cos + t * head_dim;
  const T* sin_row = sin + t * head_dim;
  T* o = out + ((b * tokens + t) * heads + h) * head_dim;
  o[j] = from_float<T>(a * to_float(cos_row[j]) + c * sign * to_float(sin_row[j]));
  o[j + half] =
      from_float<T>(c * to_float(cos_row[j + half]) + a * sign * to_float(sin_row[j + half]));
}

// The same with four pairs per thread, each half read and written as one 4-element pack (8 bytes
// in bf16, 16 in fp32): used when half the head dimension, the strides and the pointers allow.
template <typename T>
struct alignas(4 * sizeof(T)) Pack {
  T v[4];
};

template <typename T>
__global__ void rotary_kernel_packed(const T* __restrict__ x, int64_t stride_b, int64_t stride_h,
                                     int64_t stride_t, const T* __restrict__ cos,
                                     const T* __restrict__ sin, float sign, T* __restrict__ out,
                                     int64_t batch, int64_t heads, int64_t tokens, int head_dim) {
  const int half = head_dim / 2, packs = half / 4;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * tokens * heads * packs) return;
  const int j = static_cast<int>(i % packs) * 4;
  int64_t r = i / packs;
  const int64_t h = r % heads;
  r /= heads;
  const int64_t t = r % tokens, b = r / tokens;
  auto load = [](const T* p) { return *reinterpret_cast<const Pack<T>*>(p); };
  const T* row = x + b * stride_b + h * stride_h + t * stride_t;
  const Pack<T> a = load(row + j), c = load(row + j + half);
  const Pack<T> cos_lo = load(cos + t * head_dim + j), cos_hi = load(cos + t * head_dim + j + half);
  const Pack<T> sin_lo = load(sin + t * head_dim + j), sin_hi = load(sin + t * head_dim + j + half);
  Pack<T> lo, hi;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const float ak = to_float(a.v[k]), ck = to_float(c.v[k]);
    lo.v[k] = from_float<T>(ak * to_float(cos_lo.v[k]) + ck * sign * to_float(sin_lo.v[k]));
    hi.v[k] = from_float<T>(ck * to_float(cos_hi.v[k]) + ak * sign * to_float(sin_hi.v[k]));
  }
  T* o = out + ((b * tokens + t) * heads + h) * head_dim;
  *reinterpret_cast<Pack<T>*>(o + j) = lo;
  *reinterpret_cast<Pack<T>*>(o + j + half) = hi;
}

__device__ inline float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ inline float warp_max(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// The dtype of x + delta: bf16 only when both are.
template <typename TX, typename TD>
struct SumType {
  using type = float;
};
template <>
struct SumType<__nv_bfloat16, __nv_bfloat16> {
  using type = __nv_bfloat16;
};

// Four consecutive elements as floats, and back (8 bytes in bf16, 16 in fp32).
template <typename T>
__device__ inline void load4(const T* p, float out[4]) {
  const Pack<T> v = *reinterpret_cast<const Pack<T>*>(p);
#pragma unroll
  for (int e = 0; e < 4; ++e) out[e] = to_float(v.v[e]);
}

template <typename T>
__device__ inline void store4(T* p, const float in[4]) {
  Pack<T> v;
#pragma unroll
  for (int e = 0; e < 4; ++e) v.v[e] = from_float<T>(in[e]);
  *reinterpret_cast<Pack<T>*>(p) = v;
}

// LayerNorm over rows of d <= 128 * P features (d a multiple of 4), one warp per row, lane l
// holding the packs of four features starting at 4 * (l + 32 p) in registers: h = x + delta
// (rounded to TH, as the separate add would; skipped when delta is null), y = (h - mean) * rstd *
// gamma + beta in TY; mean and rstd saved for the backward pass when asked for.
template <typename TX, typename TD, typename TH, typename TY, int P>
__global__ void layer_norm_forward_kernel(const TX* __restrict__ x, const TD* __restrict__ delta,
                                          TH* __restrict__ h, const float* __restrict__ gamma,
                                          const float* __restrict__ beta, TY* __restrict__ y,
                                          float* __restrict__ mean_out,
                                          float* __restrict__ rstd_out, int64_t rows, int d,
                                          float eps) {
  const int lane = threadIdx.x & 31;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int64_t base = row * d;
  float v[P][4], w[P][4], b[P][4];  // the weight and bias are loaded with the row
  float sum = 0.0f;
#pragma unroll
  for (int p = 0; p < P; ++p) {
    const int col = 4 * (p * 32 + lane);
    if (col >= d) continue;
    load4(x + base + col, v[p]);
    load4(gamma + col, w[p]);
    load4(beta + col, b[p]);
    if (delta) {
      float add[4];
      load4(delta + base + col, add);
#pragma unroll
      for (int e = 0; e < 4; ++e) v[p][e] = to_float(from_float<TH>(v[p][e] + add[e]));
      store4(h + base + col, v[p]);
    }
#pragma unroll
    for (int e = 0; e < 4; ++e) sum += v[p][e];
  }
  const float mean = warp_sum(sum) / d;
  float var = 0.0f;
#pragma unroll
  for (int p = 0; p < P; ++p)
    if (4 * (p * 32 + lane) < d)
#pragma unroll
      for (int e = 0; e < 4; ++e) var += (v[p][e] - mean) * (v[p][e] - mean);
  const float rstd = rsqrtf(warp_sum(var) / d + eps);
#pragma unroll
  for (int p = 0; p < P; ++p) {
    const int col = 4 * (p * 32 + lane);
    if (col >= d) continue;
    float out[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) out[e] = (v[p][e] - mean) * rstd * w[p][e] + b[p][e];
    store4(y + base + col, out);
  }
  if (lane == 0 && mean_out) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

// Its backward, one warp per row in a grid-stride loop: with xhat = (src - mean) * rstd and
// g = dy * gamma, dsrc = rstd * (g - mean(g) - xhat * mean(g * xhat)) + dh (the gradient h got
// from elsewhere, when there is one), written as dx (TX) and, with a delta, ddelta (TD). Each warp
// sums dy * xhat and dy over its rows per feature into partial (2, warps, d): the weight and bias
// gradients once summed over warps.
template <typename TX, typename TD, typename TH, typename TY, int P>
__global__ void layer_norm_backward_kernel(const TY* __restrict__ dy, const TH* __restrict__ dh,
                                           const TH* __restrict__ src,
                                           const float* __restrict__ mean,
                                           const float* __restrict__ rstd,
                                           const float* __restrict__ gamma, TX* __restrict__ dx,
                                           TD* __restrict__ ddelta, float* __restrict__ partial,
                                           int64_t rows, int d) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  float dgamma[P][4], dbeta[P][4], w[P][4];
#pragma unroll
  for (int p = 0; p < P; ++p) {
    const int col = 4 * (p * 32 + lane);
#pragma unroll
    for (int e = 0; e < 4; ++e) dgamma[p][e] = dbeta[p][e] = w[p][e] = 0.0f;
    if (col < d) load4(gamma + col, w[p]);
  }
  for (int64_t row = warp; row < rows; row += warps) {
    const int64_t base = row * d;
    const float mu = mean[row], rs = rstd[row];
    float xhat[P][4], g[P][4];
    float sum_g = 0.0f, sum_gx = 0.0f;
#pragma unroll
    for (int p = 0; p < P; ++p) {
      const int col = 4 * (p * 32 + lane);
      if (col >= d) continue;
      float grad[4];
      load4(dy + base + col, grad);
      load4(src + base + col, xhat[p]);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        xhat[p][e] = (xhat[p][e] - mu) * rs;
        g[p][e] = grad[e] * w[p][e];
        sum_g += g[p][e];
        sum_gx += g[p][e] * xhat[p][e];
        dgamma[p][e] += grad[e] * xhat[p][e];
        dbeta[p][e] += grad[e];
      }
    }
    sum_g = warp_sum(sum_g) / d;
    sum_gx = warp_sum(sum_gx) / d;
#pragma unroll
    for (int p = 0; p < P; ++p) {
      const int col = 4 * (p * 32 + lane);
      if (col >= d) continue;
      float out[4], other[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (dh) load4(dh + base + col, other);
#pragma unroll
      for (int e = 0; e < 4; ++e) out[e] = rs * (g[p][e] - sum_g - xhat[p][e] * sum_gx) + other[e];
      store4(dx + base + col, out);
      if (ddelta) store4(ddelta + base + col, out);
    }
  }
#pragma unroll
  for (int p = 0; p < P; ++p) {
    const int col = 4 * (p * 32 + lane);
    if (col >= d) continue;
    store4(partial + warp * d + col, dgamma[p]);
    store4(partial + (warps + warp) * d + col, dbeta[p]);
  }
}

// y (m, n) = x (m, k) W^T for a few fp32 rows m <= M, W (n, k) row-major, k a multiple of 4 and
// both 16-byte aligned. A block of KW warps makes R output features, each warp over a KW-th of
// k, B loads per lane and row issued before they are used; each W element is read once and used
// for every row of x. On the decoding shapes this reads W at 1.5-2x cuBLAS's rate (which leaves
// such products latency-bound).
template <int M, int R, int B, int KW>
__global__ void rows_linear_kernel(const float* __restrict__ x, const float* __restrict__ w,
                                   const float* __restrict__ residual, bool gelu,
                                   float* __restrict__ y, int m, int n, int k) {
  __shared__ float partial[KW][R][M];
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
  const int first = blockIdx.x * R;
  const int k4 = k / 4, per_warp = (k4 + KW - 1) / KW;
  const int begin = warp * per_warp, end = begin + per_warp < k4 ? begin + per_warp : k4;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  const float4* w4 = reinterpret_cast<const float4*>(w);
  float acc[R][M];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int b = 0; b < M; ++b) acc[r][b] = 0.0f;
  for (int base = begin; base < end; base += 32 * B) {
    float4 wv[B][R];
#pragma unroll
    for (int s = 0; s < B; ++s) {
      const int i = base + s * 32 + lane;
#pragma unroll
      for (int r = 0; r < R; ++r)
        wv[s][r] = i < end && first + r < n ? __ldg(w4 + static_cast<int64_t>(first + r) * k4 + i)
                                            : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
#pragma unroll
    for (int s = 0; s < B; ++s) {
      const int i = base + s * 32 + lane;
      if (i >= end) continue;
#pragma unroll
      for (int b = 0; b < M; ++b) {
        if (b >= m) continue;
        const float4 xv = __ldg(x4 + static_cast<int64_t>(b) * k4 + i);
#pragma unroll
        for (int r = 0; r < R; ++r)
          acc[r][b] +=
              wv[s][r].x * xv.x + wv[s][r].y * xv.y + wv[s][r].z * xv.z + wv[s][r].w * xv.w;
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int b = 0; b < M; ++b) {
      const float v = warp_sum(acc[r][b]);
      if (lane == 0) partial[warp][r][b] = v;
    }
  __syncthreads();
  for (int t = threadIdx.x; t < R * M; t += blockDim.x) {
    const int r = t / M, b = t % M;
    if (first + r >= n || b >= m) continue;
    float v = 0.0f;
#pragma unroll
    for (int q = 0; q < KW; ++q) v += partial[q][r][b];
    const int64_t at = static_cast<int64_t>(b) * n + first + r;
    if (gelu) v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));  // exact GELU, as torch's
    if (residual) v = residual[at] + v;
    y[at] = v;
  }
}

// Decoding attention for one query per (sequence, head) over cache rows 0 .. *slot, in splits of
// keys: each block writes its split's highest score, its sum of exponentials and its
// exponential-weighted sum of values; the last block to finish merges the splits. Splits past *slot
// only mark themselves empty, so a step reads the rows written so far and not the whole buffer.
template <bool kMax>
__device__ float block_reduce(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = kMax ? warp_max(v) : warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float r = scratch[0];
  for (int i = 1; i < warps; ++i) r = kMax ? fmaxf(r, scratch[i]) : r + scratch[i];
  return r;
}

// A block of 128 threads takes 16 passes of 128 / HD4 keys, HD4 = hd / 4 lanes per key reading
// one float4 of it each (coalesced); every key and value load of the split is issued up front.
constexpr int kAttentionThreads = 128, kAttentionPasses = 16;

// Keys per block (split) for heads of 4 * hd4 features.
__host__ __device__ constexpr int keys_per_split(int hd4) {
  return kAttentionPasses * (kAttentionThreads / hd4);
}

template <int HD4>
__global__ void decode_attention_kernel(const float* __restrict__ q,
                                        const float* __restrict__ k_cache,
                                        const float* __restrict__ v_cache,
                                        const int64_t* __restrict__ slot, float* part_out,
                                        float* part_stats, int* counters, float* __restrict__ out,
                                        int64_t capacity, int splits, float scale) {
  constexpr int kParallel = kAttentionThreads / HD4, kKeys = keys_per_split(HD4);
  constexpr int kHeadDim = 4 * HD4;
  __shared__ float4 sums[kParallel][HD4];
  __shared__ float scratch[32];
  __shared__ bool last_block;
  const int bh = blockIdx.x, split = blockIdx.y, t = threadIdx.x;
  const int64_t valid = *slot + 1;
  const int64_t start = static_cast<int64_t>(split) * kKeys;
  float* split_out = part_out + (static_cast<int64_t>(bh) * splits + split) * kHeadDim;
  float* split_stats = part_stats + (static_cast<int64_t>(bh) * splits + split) * 2;
  if (start >= valid) {  // past the rows written so far: an empty split
    for (int j = t; j < kHeadDim; j += kAttentionThreads) split_out[j] = 0.0f;
    if (t == 0) split_stats[0] = -INFINITY, split_stats[1] = 0.0f;
  } else {
    const int c = t % HD4, g = t / HD4;  // this thread's float4 of the head, its key in a pass
    const int count = static_cast<int>(valid - start < kKeys ? valid - start : kKeys);
    const float4 qv = reinterpret_cast<const float4*>(q + static_cast<int64_t>(bh) * kHeadDim)[c];
    const int64_t rows = (static_cast<int64_t>(bh) * capacity + start) * HD4;
    const float4* keys = reinterpret_cast<const float4*>(k_cache) + rows;
    const float4* values = reinterpret_cast<const float4*>(v_cache) + rows;
    float4 kv[kAttentionPasses], vv[kAttentionPasses];
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int s = 0; s < kAttentionPasses; ++s) {
      const int i = s * kParallel + g;
      kv[s] = i < count ? __ldg(keys + static_cast<int64_t>(i) * HD4 + c) : zero;
      vv[s] = i < count ? __ldg(values + static_cast<int64_t>(i) * HD4 + c) : zero;
    }
    float score[kAttentionPasses];
    float high = -INFINITY;
#pragma unroll
    for (int s = 0; s < kAttentionPasses; ++s) {
      float dot = kv[s].x * qv.x + kv[s].y * qv.y + kv[s].z * qv.z + kv[s].w * qv.w;
#pragma unroll
      for (int offset = 1; offset < HD4; offset <<= 1)  // over the lanes of this key
        dot += __shfl_xor_sync(0xffffffffu, dot, offset);
      score[s] = s * kParallel + g < count ? dot * scale : -INFINITY;
      high = fmaxf(high, score[s]);
    }
    high = block_reduce<true>(high, scratch);
    float total = 0.0f;
    float4 acc = zero;
#pragma unroll
    for (int s = 0; s < kAttentionPasses; ++s) {
      const float p = s * kParallel + g < count ? __expf(score[s] - high) : 0.0f;
      if (c == 0) total += p;  // each key once
      acc.x += p * vv[s].x, acc.y += p * vv[s].y, acc.z += p * vv[s].z, acc.w += p * vv[s].w;
    }
    total = block_reduce<false>(total, scratch);
    sums[g][c] = acc;
    __syncthreads();
    for (int j = t; j < kHeadDim; j += kAttentionThreads) {
      float v = 0.0f;
      for (int r = 0; r < kParallel; ++r) v += reinterpret_cast<const float*>(sums[r])[j];
      split_out[j] = v;
    }
    if (t == 0) split_stats[0] = high, split_stats[1] = total;
  }
  // The last block of this (sequence, head) to finish merges the splits and resets the counter
  // for the next launch; the others' results are read from L2 (__ldcg), past this SM's L1.
  __threadfence();
  __syncthreads();
  if (t == 0) last_block = atomicAdd(counters + bh, 1) == splits - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  const float* stats = part_stats + static_cast<int64_t>(bh) * splits * 2;
  const float* outs = part_out + static_cast<int64_t>(bh) * splits * kHeadDim;
  for (int j = t; j < kHeadDim; j += kAttentionThreads) {
    float high = -INFINITY;
    for (int s = 0; s < splits; ++s) high = fmaxf(high, __ldcg(stats + 2 * s));
    float total = 0.0f, acc = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float split_high = __ldcg(stats + 2 * s);
      if (split_high == -INFINITY) continue;
      const float w = __expf(split_high - high);
      total += w * __ldcg(stats + 2 * s + 1);
      acc += w * __ldcg(outs + static_cast<int64_t>(s) * kHeadDim + j);
    }
    out[static_cast<int64_t>(bh) * kHeadDim + j] = acc / total;
  }
  if (t == 0) counters[bh] = 0;
}

template <typename T>
bool aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % sizeof(Pack<T>) == 0;
}

template <typename T>
int launch_rotary(const T* x, int64_t stride_b, int64_t stride_h, int64_t stride_t, const T* cos,
                  const T* sin, float sign, T* out, int64_t batch, int64_t heads, int64_t tokens,
                  int head_dim, cudaStream_t stream) {
  const int half = head_dim / 2;
  const bool packed = half % 4 == 0 && stride_b % 4 == 0 && stride_h % 4 == 0 &&
                      stride_t % 4 == 0 && aligned<T>(x) && aligned<T>(cos) && aligned<T>(sin) &&
                      aligned<T>(out);
  const int64_t total = batch * tokens * heads * (packed ? half / 4 : half);
  if (total == 0) return 0;
  const int threads = 256;
  const auto blocks = static_cast<unsigned>((total + threads - 1) / threads);
  if (packed)
    rotary_kernel_packed<T><<<blocks, threads, 0, stream>>>(
        x, stride_b, stride_h, stride_t, cos, sin, sign, out, batch, heads, tokens, head_dim);
  else
    rotary_kernel<T><<<blocks, threads, 0, stream>>>(x, stride_b, stride_h, stride_t, cos, sin,
                                                     sign, out, batch, heads, tokens, head_dim);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int rotary(const float* x, int64_t stride_b, int64_t stride_h, int64_t stride_t, const float* cos,
           const float* sin, float sign, float* out, int64_t batch, int64_t heads, int64_t tokens,
           int head_dim, cudaStream_t stream) {
  return launch_rotary(x, stride_b, stride_h, stride_t, cos, sin, sign, out, batch, heads, tokens,
                       head_dim, stream);
}

int rotary_bf16(const void* x, int64_t stride_b, int64_t stride_h, int64_t stride_t,
                const void* cos, const void* sin, float sign, void* out, int64_t batch,
                int64_t heads, int64_t tokens, int head_dim, cudaStream_t stream) {
  using bf16 = __nv_bfloat16;
  return launch_rotary(static_cast<const bf16*>(x), stride_b, stride_h, stride_t,
                       static_cast<const bf16*>(cos), static_cast<const bf16*>(sin), sign,
                       static_cast<bf16*>(out), batch, heads, tokens, head_dim, stream);
}

int rotary_kv_step(const float* qkv, const float* cos, const float* sin, const int64_t* slot,
                   float* q_out, float* k_cache, float* v_cache, int batch, int heads, int head_dim,
                   int64_t capacity, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(batch) * heads * head_dim;
  const int threads = 128;
  const int blocks = static_cast<int>((total + threads - 1) / threads);
  rotary_kv_step_kernel<<<blocks, threads, 0, stream>>>(qkv, cos, sin, slot, q_out, k_cache,
                                                        v_cache, batch, heads, head_dim, capacity);
  return static_cast<int>(cudaGetLastError());
}

namespace {

template <typename TX, typename TD, typename TY>
int layer_norm_forward_typed(const NormForward& a, cudaStream_t stream) {
  using TH = typename SumType<TX, TD>::type;
  const int threads = 256, per_block = threads / 32;
  const auto blocks = static_cast<unsigned>((a.rows + per_block - 1) / per_block);
  const auto* x = static_cast<const TX*>(a.x);
  const auto* delta = static_cast<const TD*>(a.delta);
  auto* h = static_cast<TH*>(a.h);
  auto* y = static_cast<TY*>(a.y);
  if (a.d <= 16 * 32)
    layer_norm_forward_kernel<TX, TD, TH, TY, 4><<<blocks, threads, 0, stream>>>(
        x, delta, h, a.gamma, a.beta, y, a.mean, a.rstd, a.rows, a.d, a.eps);
  else
    layer_norm_forward_kernel<TX, TD, TH, TY, 8><<<blocks, threads, 0, stream>>>(
        x, delta, h, a.gamma, a.beta, y, a.mean, a.rstd, a.rows, a.d, a.eps);
  return static_cast<int>(cudaGetLastError());
}

template <typename TX, typename TD, typename TY>
int layer_norm_backward_typed(const NormBackward& a, cudaStream_t stream) {
  using TH = typename SumType<TX, TD>::type;
  const int threads = 256, per_block = threads / 32;
  const auto blocks = static_cast<unsigned>(a.warps / per_block);
  const auto* dy = static_cast<const TY*>(a.dy);
  const auto* dh = static_cast<const TH*>(a.dh);
  const auto* src = static_cast<const TH*>(a.src);
  auto* dx = static_cast<TX*>(a.dx);
  auto* ddelta = static_cast<TD*>(a.ddelta);
  if (a.d <= 16 * 32)
    layer_norm_backward_kernel<TX, TD, TH, TY, 4><<<blocks, threads, 0, stream>>>(
        dy, dh, src, a.mean, a.rstd, a.gamma, dx, ddelta, a.partial, a.rows, a.d);
  else
    layer_norm_backward_kernel<TX, TD, TH, TY, 8><<<blocks, threads, 0, stream>>>(
        dy, dh, src, a.mean, a.rstd, a.gamma, dx, ddelta, a.partial, a.rows, a.d);
  return static_cast<int>(cudaGetLastError());
}

// Picks the instantiation for the dtypes the arguments name (bf16 or fp32 each).
template <typename Args, template <typename, typename, typename> class Launch>
int dispatch_norm(const Args& a, cudaStream_t stream) {
  using bf16 = __nv_bfloat16;
  const int code = (a.x_bf16 ? 4 : 0) + (a.delta_bf16 ? 2 : 0) + (a.y_bf16 ? 1 : 0);
  switch (code) {
    case 0:
      return Launch<float, float, float>::run(a, stream);
    case 1:
      return Launch<float, float, bf16>::run(a, stream);
    case 2:
      return Launch<float, bf16, float>::run(a, stream);
    case 3:
      return Launch<float, bf16, bf16>::run(a, stream);
    case 4:
      return Launch<bf16, float, float>::run(a, stream);
    case 5:
      return Launch<bf16, float, bf16>::run(a, stream);
    case 6:
      return Launch<bf16, bf16, float>::run(a, stream);
    default:
      return Launch<bf16, bf16, bf16>::run(a, stream);
  }
}

template <typename TX, typename TD, typename TY>
struct ForwardLaunch {
  static int run(const NormForward& a, cudaStream_t s) {
    return layer_norm_forward_typed<TX, TD, TY>(a, s);
  }
};
template <typename TX, typename TD, typename TY>
struct BackwardLaunch {
  static int run(const NormBackward& a, cudaStream_t s) {
    return layer_norm_backward_typed<TX, TD, TY>(a, s);
  }
};

template <int M, int R, int kLoads = 4, int kSplitK = 4>
int launch_rows_linear(const float* x, const float* w, const float* residual, bool gelu, float* y,
                       int m, int n, int k, cudaStream_t stream) {
  rows_linear_kernel<M, R, kLoads, kSplitK>
      <<<(n + R - 1) / R, 32 * kSplitK, 0, stream>>>(x, w, residual, gelu, y, m, n, k);
  return static_cast<int>(cudaGetLastError());
}

template <int HD4>
int launch_decode_attention(const float* q, const float* k_cache, const float* v_cache,
                            const int64_t* slot, float* part_out, float* part_stats, int* counters,
                            float* out, int batch_heads, int64_t capacity, float scale,
                            cudaStream_t stream) {
  const int splits = decode_attention_splits(capacity, 4 * HD4);
  decode_attention_kernel<HD4><<<dim3(batch_heads, splits), kAttentionThreads, 0, stream>>>(
      q, k_cache, v_cache, slot, part_out, part_stats, counters, out, capacity, splits, scale);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int layer_norm_forward(const NormForward& args, cudaStream_t stream) {
  if (args.rows == 0) return 0;
  if (args.d > 32 * 32 || args.d % 4 != 0) return static_cast<int>(cudaErrorInvalidValue);
  return dispatch_norm<NormForward, ForwardLaunch>(args, stream);
}

int layer_norm_backward(const NormBackward& args, cudaStream_t stream) {
  if (args.rows == 0) return 0;
  if (args.d > 32 * 32 || args.d % 4 != 0 || args.warps % 8 != 0)
    return static_cast<int>(cudaErrorInvalidValue);
  return dispatch_norm<NormBackward, BackwardLaunch>(args, stream);
}

int layer_norm_backward_warps(int64_t rows) {
  const int64_t per_warp = 8, most = 4096;
  int64_t warps = (rows + per_warp - 1) / per_warp;
  warps = warps < most ? warps : most;
  return static_cast<int>((warps + 7) / 8 * 8);  // whole blocks of 8 warps
}

int rows_linear(const float* x, const float* w, const float* residual, bool gelu, float* y, int m,
                int n, int k, cudaStream_t stream) {
  if (m == 0 || n == 0) return 0;
  if (m == 1) return launch_rows_linear<1, 1>(x, w, residual, gelu, y, m, n, k, stream);
  if (m == 2) return launch_rows_linear<2, 2>(x, w, residual, gelu, y, m, n, k, stream);
  if (m <= 4) return launch_rows_linear<4, 2>(x, w, residual, gelu, y, m, n, k, stream);
  if (m <= 8) return launch_rows_linear<8, 2>(x, w, residual, gelu, y, m, n, k, stream);
  if (m > kRowsLinearMax) return static_cast<int>(cudaErrorInvalidValue);
  if (k >= 2048)
    return launch_rows_linear<16, 2, 2, 8>(x, w, residual, gelu, y, m, n, k, stream);  // long rows
  return launch_rows_linear<16, 2>(x, w, residual, gelu, y, m, n, k, stream);
}

bool decode_attention_head_dim(int head_dim) {
  return head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128;
}

int decode_attention_splits(int64_t capacity, int head_dim) {
  const int keys = keys_per_split(head_dim / 4);
  return static_cast<int>((capacity + keys - 1) / keys);
}

int decode_attention(const float* q, const float* k_cache, const float* v_cache,
                     const int64_t* slot, float* part_out, float* part_stats, int* counters,
                     float* out, int batch_heads, int head_dim, int64_t capacity, float scale,
                     cudaStream_t stream) {
  switch (head_dim) {
    case 16:
      return launch_decode_attention<4>(q, k_cache, v_cache, slot, part_out, part_stats, counters,
                                        out, batch_heads, capacity, scale, stream);
    case 32:
      return launch_decode_attention<8>(q, k_cache, v_cache, slot, part_out, part_stats, counters,
                                        out, batch_heads, capacity, scale, stream);
    case 64:
      return launch_decode_attention<16>(q, k_cache, v_cache, slot, part_out, part_stats, counters,
                                         out, batch_heads, capacity, scale, stream);
    case 128:
      return launch_decode_attention<32>(q, k_cache, v_cache, slot, part_out, part_stats, counters,
                                         out, batch_heads, capacity, scale, stream);
    default:
      return static_cast<int>(cudaErrorInvalidValue);
  }
}

}  // namespace cuda_kernels
}  // namespace hg
