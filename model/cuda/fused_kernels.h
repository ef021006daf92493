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

// LayerNorm over the last dimension (d <= 1024, a multiple of 4; every pointer 16-byte aligned)
// with fp32 weight and bias: h = x + delta when delta is given (else h is x and not written), y =
// LayerNorm(h); mean and rstd (rows) fp32, saved for the backward pass (may be null). Each tensor
// fp32 or bf16 as its flag says (delta's flag equal to x's when there is no delta); h is bf16 when
// x and delta both are. Contiguous.
struct NormForward {
  const void* x = nullptr;
  const void* delta = nullptr;
  void* h = nullptr;
  void* y = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float* mean = nullptr;
  float* rstd = nullptr;
  int64_t rows = 0;
  int d = 0;
  float eps = 1e-5f;
  bool x_bf16 = false, delta_bf16 = false, y_bf16 = false;
};
int layer_norm_forward(const NormForward& args, cudaStream_t stream);

// Its gradient: dy (TY) the gradient of y, dh that of h from its other uses (may be null), src
// the forward's h (or x); writes dx and, with a delta, ddelta (the gradient of h plus what flows
// back through the norm, in x's and delta's dtypes), and partial (2, warps, d) fp32, whose sum
// over warps is the weight's and the bias's gradient. warps: layer_norm_backward_warps(rows).
struct NormBackward {
  const void* dy = nullptr;
  const void* dh = nullptr;
  const void* src = nullptr;
  const float* mean = nullptr;
  const float* rstd = nullptr;
  const float* gamma = nullptr;
  void* dx = nullptr;
  void* ddelta = nullptr;
  float* partial = nullptr;
  int64_t rows = 0;
  int d = 0;
  int warps = 0;
  bool x_bf16 = false, delta_bf16 = false, y_bf16 = false;
};
int layer_norm_backward(const NormBackward& args, cudaStream_t stream);
int layer_norm_backward_warps(int64_t rows);

// y (m, n) = x (m, k) W^T in fp32 for m <= kRowsLinearMax rows, W (n, k) row-major; k a multiple
// of 4, x and W 16-byte aligned, all contiguous.
constexpr int kRowsLinearMax = 16;
// Then GELU (exact, erf) when `gelu`, then + residual (m, n) when it is not null.
int rows_linear(const float* x, const float* w, const float* residual, bool gelu, float* y, int m,
                int n, int k, cudaStream_t stream);

// Attention of one query per (sequence, head) q (BH, hd), scaled by `scale`, over rows 0 .. *slot
// of k_cache and v_cache (BH, capacity, hd), fp32, hd one of 16, 32, 64, 128
// (decode_attention_head_dim), into out (BH, hd). One launch: blocks over splits of the keys,
// the last of each (sequence, head) merging them. part_out (BH, splits, hd) and part_stats
// (BH, splits, 2) are scratch of decode_attention_splits(capacity, hd) splits; counters (BH)
// int32 must be zero before the first launch, and are zero again after each.
bool decode_attention_head_dim(int head_dim);
int decode_attention_splits(int64_t capacity, int head_dim);
int decode_attention(const float* q, const float* k_cache, const float* v_cache,
                     const int64_t* slot, float* part_out, float* part_stats, int* counters,
                     float* out, int batch_heads, int head_dim, int64_t capacity, float scale,
                     cudaStream_t stream);

}  // namespace cuda_kernels
}  // namespace hg
