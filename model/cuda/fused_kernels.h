// Launchers of the kernels in fused_kernels.cu (CUDA builds with nvcc only). Raw pointers; each
// returns the cudaError_t of its launch (0: success).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hg {
namespace cuda_kernels {

// Rotary rotation of x (B, H, T, hd) with strides (b, h, t) in elements and unit stride along hd,
// by tables cos, sin (T, hd) (rotary_tables(): sin's first half negated) times `sign` (-1: the
// inverse rotation, the backward pass). out: contiguous as (B, T, H, hd). bf16: __nv_bfloat16.
int rotary(const float* x, int64_t stride_b, int64_t stride_h, int64_t stride_t, const float* cos,
           const float* sin, float sign, float* out, int64_t batch, int64_t heads, int64_t tokens,
           int head_dim, cudaStream_t stream);
int rotary_bf16(const void* x, int64_t stride_b, int64_t stride_h, int64_t stride_t,
                const void* cos, const void* sin, float sign, void* out, int64_t batch,
                int64_t heads, int64_t tokens, int head_dim, cudaStream_t stream);

// Decoding, fp32 contiguous: the new token's rotated query into q_out, its key and value into
// row *slot of the caches.
int rotary_kv_step(const float* qkv, const float* cos, const float* sin, const int64_t* slot,
                   float* q_out, float* k_cache, float* v_cache, int batch, int heads, int head_dim,
                   int64_t capacity, cudaStream_t stream);

}  // namespace cuda_kernels
}  // namespace hg
