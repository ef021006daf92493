// Fused CUDA operations (issue 8): one kernel where the op-by-op path launches several and moves
// the data several times: the rotary rotation (training and the chunked passes) and a decoding
// step's rotary and cache writes. Built when nvcc is found (model/CMakeLists.txt); elsewhere
// fused_rotary() and fused_decode() are false and the callers take the op-by-op path, which the
// tests hold these to.
#pragma once

#include <torch/torch.h>

namespace hg {

// Whether this build has the fused rotation for x (B, H, T, hd): CUDA, fp32 or bf16, the last
// dimension contiguous and even.
bool fused_rotary(const torch::Tensor& x);
// rotate(x, cos, sign * sin) (attention.h) for x as fused_rotary() accepts, tables (T, hd)
// contiguous in x's dtype. The result is (B, H, T, hd), laid out as (B, T, H, hd) in memory.
torch::Tensor rotary_fused(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin, double sign);

// Whether this build has the fused decoding kernels and they apply to tensors like `x` (CUDA,
// fp32).
bool fused_decode(const torch::Tensor& x);

// qkv (B, 1, 3D) = the new token's query, key and value of H heads; cos, sin (capacity, hd): the
// level's rotary tables (rotary_tables()); slot (1) int64: the row to write. Rotates query and key,
// writes key and value into row slot of k_cache and v_cache (B, H, capacity, hd) and returns the
// rotated query (B, H, 1, hd).
torch::Tensor rotary_kv_step(const torch::Tensor& qkv, const torch::Tensor& cos,
                             const torch::Tensor& sin, const torch::Tensor& slot,
                             torch::Tensor& k_cache, torch::Tensor& v_cache);

}  // namespace hg
