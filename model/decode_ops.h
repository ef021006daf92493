// Fused operations for token-by-token decoding on CUDA (issue 8): one kernel where the op-by-op
// path launches several, so that a decoding step (a CUDA graph of small kernels) has fewer of
// them. Built when nvcc is found (model/CMakeLists.txt); elsewhere fused_decode() is false and
// AttentionImpl::step takes the op-by-op path, which the tests hold these to.
#pragma once

#include <torch/torch.h>

namespace hg {

// Whether this build has the fused kernels and they apply to tensors like `x` (CUDA, fp32).
bool fused_decode(const torch::Tensor& x);

// qkv (B, 1, 3D) = the new token's query, key and value of H heads; cos, sin (capacity, hd): the
// level's rotary tables (rotary_tables()); slot (1) int64: the row to write. Rotates query and key,
// writes key and value into row slot of k_cache and v_cache (B, H, capacity, hd) and returns the
// rotated query (B, H, 1, hd).
torch::Tensor rotary_kv_step(const torch::Tensor& qkv, const torch::Tensor& cos,
                             const torch::Tensor& sin, const torch::Tensor& slot,
                             torch::Tensor& k_cache, torch::Tensor& v_cache);

}  // namespace hg
