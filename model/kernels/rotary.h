// Rotary embeddings in fused CUDA kernels: the rotation of a tensor, the query's and key's rotation
// in one launch (with a backward that writes the projection's gradient in one kernel), and a
// decoding step's rotation with its cache writes. Each can_fuse_*() says whether a kernel applies;
// where none does, the caller takes the op-by-op path (model/nn/attention.cpp).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <tuple>

namespace hg {

// Whether this build has the fused rotation for x (B, H, T, hd): CUDA, fp32 or bf16, the last
// dimension contiguous and even.
bool can_fuse_rotary(const torch::Tensor& x);
// rotate(x, cos, sign * sin) (attention.h) for x as can_fuse_rotary() accepts, tables (T, hd)
// contiguous in x's dtype. The result is (B, H, T, hd), laid out as (B, T, H, hd) in memory.
torch::Tensor rotary_fused(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin, double sign);

// Whether qkv_rotary() applies to qkv (B, T, 3D) of `heads` heads: CUDA, fp32 or bf16, the head
// dimension a multiple of 8, the last dimension contiguous, the data 16-byte aligned and the
// strides multiples of 4 elements.
bool can_fuse_qkv_rotary(const torch::Tensor& qkv, int64_t heads);
// {q, k, v} (B, H, T, hd) from a fused projection's output qkv: q and k rotated by the tables (T,
// hd) in qkv's dtype (rotary_tables()), in one launch; v a view of qkv. The backward writes qkv's
// gradient in one kernel (q's and k's rotated back, v's beside them), where the op-by-op path
// rotates each back and concatenates the three.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv_rotary(const torch::Tensor& qkv,
                                                                   const torch::Tensor& cos,
                                                                   const torch::Tensor& sin,
                                                                   int64_t heads);

// Whether this build has the fused decoding kernels and they apply to tensors like `x` (CUDA,
// fp32).
bool can_fuse_decode(const torch::Tensor& x);

// qkv (B, 1, 3D) = the new token's query, key and value of H heads; cos, sin (capacity, hd): the
// level's rotary tables (rotary_tables()); slot (1) int64: the row to write. Rotates query and key,
// writes key and value into row slot of k_cache and v_cache (B, H, capacity, hd) and returns the
// rotated query (B, H, 1, hd).
torch::Tensor rotary_kv_step(const torch::Tensor& qkv, const torch::Tensor& cos,
                             const torch::Tensor& sin, const torch::Tensor& slot,
                             torch::Tensor& k_cache, torch::Tensor& v_cache);

}  // namespace hg
