// CUDA kernels for token-by-token decoding (issue 8), plain CUDA without ATen so that nvcc compiles
// them in seconds; model/decode_ops.cpp checks the tensors and launches them on the current stream.
#include <cuda_runtime.h>

#include <cstdint>

#include "model/cuda/decode_kernels.h"

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

}  // namespace

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

}  // namespace cuda_kernels
}  // namespace hg
