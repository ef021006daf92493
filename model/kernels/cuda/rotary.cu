// Rotary kernels: the rotation of a query or key tensor (training and the chunked passes), the
// query's and key's rotation in one launch with its backward, and a decoding step's rotation with
// its cache writes. Launched by model/kernels/rotary.cpp.
#include "model/kernels/cuda/common.cuh"

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
  let_next_kernel_start();
  wait_for_inputs();
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

// One thread per pair of channels (j, j + hd/2) of one (b, h, t): the "rotate half" rotation
// out = x * cos + swap_halves(x) * sign * sin, computed in fp32 and rounded once. x has any
// strides (the last dimension contiguous); out is contiguous as (B, T, H, hd).
template <typename T>
__global__ void rotary_kernel(const T* __restrict__ x, int64_t stride_b, int64_t stride_h,
                              int64_t stride_t, const T* __restrict__ cos,
                              const T* __restrict__ sin, float sign, T* __restrict__ out,
                              int64_t batch, int64_t heads, int64_t tokens, int head_dim,
                              int64_t x_pair, int64_t out_pair) {
  x += blockIdx.y * x_pair;
  out += blockIdx.y * out_pair;
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
__global__ void rotary_kernel_packed(const T* __restrict__ x, int64_t stride_b, int64_t stride_h,
                                     int64_t stride_t, const T* __restrict__ cos,
                                     const T* __restrict__ sin, float sign, T* __restrict__ out,
                                     int64_t batch, int64_t heads, int64_t tokens, int head_dim,
                                     int64_t x_pair, int64_t out_pair) {
  x += blockIdx.y * x_pair;  // the second tensor of a pair (query and key): gridDim.y 2
  out += blockIdx.y * out_pair;
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

// The backward of the query's and key's rotation with the value beside them
// (rotary_qkv_backward in fused_kernels.h): dq and dk rotated back, dv copied, all into one (B, T,
// 3, H, hd) gradient of the projection that made them. One thread per four pairs of channels of one
// (b, t, h).
template <typename T>
__global__ void rotary_qkv_backward_kernel(RotaryGrads g, const T* __restrict__ cos,
                                           const T* __restrict__ sin, T* __restrict__ dqkv) {
  const int half = g.head_dim / 2, packs = half / 4;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= g.batch * g.tokens * g.heads * packs) return;
  const int j = static_cast<int>(i % packs) * 4;
  int64_t r = i / packs;
  const int64_t h = r % g.heads;
  r /= g.heads;
  const int64_t t = r % g.tokens, b = r / g.tokens;
  auto load = [](const void* p) { return *reinterpret_cast<const Pack<T>*>(p); };
  const int64_t d = g.heads * g.head_dim;
  T* out = dqkv + (b * g.tokens + t) * 3 * d + h * g.head_dim;
  const Pack<T> cos_lo = load(cos + t * g.head_dim + j),
                cos_hi = load(cos + t * g.head_dim + j + half);
  const Pack<T> sin_lo = load(sin + t * g.head_dim + j),
                sin_hi = load(sin + t * g.head_dim + j + half);
#pragma unroll
  for (int part = 0; part < 3; ++part) {
    Pack<T> lo, hi;
    if (g.grad[part] == nullptr) {
#pragma unroll
      for (int e = 0; e < 4; ++e) lo.v[e] = hi.v[e] = from_float<T>(0.0f);
    } else {
      const T* row = static_cast<const T*>(g.grad[part]) + b * g.stride[part][0] +
                     h * g.stride[part][1] + t * g.stride[part][2];
      lo = load(row + j);
      hi = load(row + j + half);
      if (part < 2) {  // the inverse rotation: sin negated
        const Pack<T> a = lo, c = hi;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float ae = to_float(a.v[e]), ce = to_float(c.v[e]);
          lo.v[e] = from_float<T>(ae * to_float(cos_lo.v[e]) - ce * to_float(sin_lo.v[e]));
          hi.v[e] = from_float<T>(ce * to_float(cos_hi.v[e]) - ae * to_float(sin_hi.v[e]));
        }
      }
    }
    *reinterpret_cast<Pack<T>*>(out + part * d + j) = lo;
    *reinterpret_cast<Pack<T>*>(out + part * d + j + half) = hi;
  }
}

template <typename T>
bool aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % sizeof(Pack<T>) == 0;
}

template <typename T>
int launch_rotary(const T* x, int64_t stride_b, int64_t stride_h, int64_t stride_t, const T* cos,
                  const T* sin, float sign, T* out, int64_t batch, int64_t heads, int64_t tokens,
                  int head_dim, cudaStream_t stream, int pairs, int64_t x_pair, int64_t out_pair) {
  const int half = head_dim / 2;
  const bool packed = half % 4 == 0 && stride_b % 4 == 0 && stride_h % 4 == 0 &&
                      stride_t % 4 == 0 && x_pair % 4 == 0 && out_pair % 4 == 0 && aligned<T>(x) &&
                      aligned<T>(cos) && aligned<T>(sin) && aligned<T>(out);
  const int64_t total = batch * tokens * heads * (packed ? half / 4 : half);
  if (total == 0) return 0;
  const int threads = 256;
  const dim3 blocks(static_cast<unsigned>((total + threads - 1) / threads), pairs);
  if (packed)
    rotary_kernel_packed<T><<<blocks, threads, 0, stream>>>(x, stride_b, stride_h, stride_t, cos,
                                                            sin, sign, out, batch, heads, tokens,
                                                            head_dim, x_pair, out_pair);
  else
    rotary_kernel<T><<<blocks, threads, 0, stream>>>(x, stride_b, stride_h, stride_t, cos, sin,
                                                     sign, out, batch, heads, tokens, head_dim,
                                                     x_pair, out_pair);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int rotary(const float* x, int64_t stride_b, int64_t stride_h, int64_t stride_t, const float* cos,
           const float* sin, float sign, float* out, int64_t batch, int64_t heads, int64_t tokens,
           int head_dim, cudaStream_t stream, int pairs, int64_t x_pair, int64_t out_pair) {
  return launch_rotary(x, stride_b, stride_h, stride_t, cos, sin, sign, out, batch, heads, tokens,
                       head_dim, stream, pairs, x_pair, out_pair);
}

int rotary_bf16(const void* x, int64_t stride_b, int64_t stride_h, int64_t stride_t,
                const void* cos, const void* sin, float sign, void* out, int64_t batch,
                int64_t heads, int64_t tokens, int head_dim, cudaStream_t stream, int pairs,
                int64_t x_pair, int64_t out_pair) {
  using bf16 = __nv_bfloat16;
  return launch_rotary(static_cast<const bf16*>(x), stride_b, stride_h, stride_t,
                       static_cast<const bf16*>(cos), static_cast<const bf16*>(sin), sign,
                       static_cast<bf16*>(out), batch, heads, tokens, head_dim, stream, pairs,
                       x_pair, out_pair);
}

int rotary_qkv_backward(const RotaryGrads& g, const void* cos, const void* sin, void* dqkv,
                        bool bf16, cudaStream_t stream) {
  if (g.head_dim % 8 != 0) return static_cast<int>(cudaErrorInvalidValue);
  const int64_t total = g.batch * g.tokens * g.heads * (g.head_dim / 8);
  if (total == 0) return 0;
  const int threads = 256;
  const auto blocks = static_cast<unsigned>((total + threads - 1) / threads);
  if (bf16)
    rotary_qkv_backward_kernel<__nv_bfloat16><<<blocks, threads, 0, stream>>>(
        g, static_cast<const __nv_bfloat16*>(cos), static_cast<const __nv_bfloat16*>(sin),
        static_cast<__nv_bfloat16*>(dqkv));
  else
    rotary_qkv_backward_kernel<float>
        <<<blocks, threads, 0, stream>>>(g, static_cast<const float*>(cos),
                                         static_cast<const float*>(sin), static_cast<float*>(dqkv));
  return static_cast<int>(cudaGetLastError());
}

int rotary_kv_step(const float* qkv, const float* cos, const float* sin, const int64_t* slot,
                   float* q_out, float* k_cache, float* v_cache, int batch, int heads, int head_dim,
                   int64_t capacity, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(batch) * heads * head_dim;
  const int threads = 128;
  const int blocks = static_cast<int>((total + threads - 1) / threads);
  return launch_overlapped(rotary_kv_step_kernel, blocks, threads, stream, qkv, cos, sin, slot,
                           q_out, k_cache, v_cache, batch, heads, head_dim, capacity);
}

}  // namespace cuda_kernels
}  // namespace hg
