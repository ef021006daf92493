// Attention of one new query over a decoding cache, in one fused CUDA kernel that reads only the
// rows written so far (model/nn/attention.cpp takes it when decoding on CUDA in fp32).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace hg {

// Whether decode_attention() has a kernel for the query q (B, H, 1, hd): can_fuse_decode(q) and hd
// 16, 32, 64 or 128.
bool can_fuse_decode_attention(const torch::Tensor& q);
// Softmax attention of q (B, H, 1, hd) over rows 0 .. slot of the caches (B, H, capacity, hd),
// scaled by 1/sqrt(hd): (B, H, 1, hd), in one kernel that reads only the rows written so far.
// counters: decode_attention_counters(B, H, ...), kept with the caches (the kernel's blocks count
// themselves there and leave it zero).
torch::Tensor decode_attention_counters(int64_t batch, int64_t heads,
                                        const torch::TensorOptions& options);
torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& k_cache,
                               const torch::Tensor& v_cache, const torch::Tensor& slot,
                               torch::Tensor& counters);

}  // namespace hg
