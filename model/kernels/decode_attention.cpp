// The decoding attention family's libtorch side (decode_attention.h): checks the query and the
// caches and launches cuda/decode_attention.cu. Built only with the CUDA kernels;
// no_cuda_kernels.cpp stands in for it elsewhere.
#include "model/kernels/decode_attention.h"

#include <cmath>
#include <stdexcept>

#include "model/kernels/cuda_tensors.h"
#include "model/kernels/rotary.h"  // can_fuse_decode

namespace hg {

bool can_fuse_decode_attention(const torch::Tensor& q) {
  return can_fuse_decode(q) && q.dim() == 4 && q.size(2) == 1 &&
         cuda_kernels::decode_attention_head_dim(static_cast<int>(q.size(3)));
}

torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& k_cache,
                               const torch::Tensor& v_cache, const torch::Tensor& slot,
                               torch::Tensor& counters) {
  if (!can_fuse_decode_attention(q))
    throw std::logic_error("decode_attention: no fused kernel for these tensors in this build");
  const int64_t batch = q.size(0), heads = q.size(1), head_dim = q.size(3),
                capacity = k_cache.size(2);
  TORCH_CHECK(k_cache.dim() == 4 && k_cache.size(0) == batch && k_cache.size(1) == heads &&
                  k_cache.size(3) == head_dim && k_cache.is_contiguous() &&
                  v_cache.sizes() == k_cache.sizes() && v_cache.is_contiguous(),
              "decode_attention: the caches must be contiguous (B, H, capacity, hd) like q ",
              q.sizes(), ", got ", k_cache.sizes(), " and ", v_cache.sizes());
  TORCH_CHECK(k_cache.scalar_type() == torch::kFloat && v_cache.scalar_type() == torch::kFloat &&
                  k_cache.device() == q.device() && v_cache.device() == q.device(),
              "decode_attention: the caches must be fp32 on ", q.device());
  TORCH_CHECK(
      slot.scalar_type() == torch::kLong && slot.numel() == 1 && slot.device() == q.device(),
      "decode_attention: slot must be one int64 on ", q.device());
  const auto query = q.contiguous();
  const int splits = cuda_kernels::decode_attention_splits(capacity, static_cast<int>(head_dim),
                                                           static_cast<int>(batch * heads));
  auto part_out = torch::empty({batch * heads, splits, head_dim}, q.options());
  auto part_stats = torch::empty({batch * heads, splits, 2}, q.options());
  auto out = torch::empty({batch, heads, 1, head_dim}, q.options());
  const int error = cuda_kernels::decode_attention(
      query.data_ptr<float>(), k_cache.data_ptr<float>(), v_cache.data_ptr<float>(),
      slot.data_ptr<int64_t>(), part_out.data_ptr<float>(), part_stats.data_ptr<float>(),
      counters.data_ptr<int>(), out.data_ptr<float>(), static_cast<int>(batch * heads),
      static_cast<int>(head_dim), capacity,
      static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim))), stream_of(q));
  TORCH_CHECK(error == 0, "decode_attention: kernel launch failed (cudaError ", error, ")");
  return out;  // (B, H, 1, hd)
}

}  // namespace hg
