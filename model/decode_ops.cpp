// Checks and launches for decode_ops.h; the kernels are in cuda/decode_kernels.cu.
#include "model/decode_ops.h"

#include <initializer_list>
#include <stdexcept>
#include <string>

#if defined(HOURGLASS_WITH_CUDA_KERNELS)
#include <c10/cuda/CUDAStream.h>

#include "model/cuda/decode_kernels.h"
#endif

namespace hg {

bool fused_decode(const torch::Tensor& x) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  return x.is_cuda() && x.scalar_type() == torch::kFloat;
#else
  (void)x;
  return false;
#endif
}

torch::Tensor rotary_kv_step(const torch::Tensor& qkv, const torch::Tensor& cos,
                             const torch::Tensor& sin, const torch::Tensor& slot,
                             torch::Tensor& k_cache, torch::Tensor& v_cache) {
  if (!fused_decode(qkv))
    throw std::logic_error("rotary_kv_step: no fused kernel for these tensors in this build");
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  const int64_t batch = k_cache.size(0), heads = k_cache.size(1), capacity = k_cache.size(2),
                head_dim = k_cache.size(3);
  TORCH_CHECK(qkv.is_contiguous() && qkv.numel() == batch * 3 * heads * head_dim,
              "rotary_kv_step: qkv must be contiguous (B, 1, 3D), got ", qkv.sizes());
  TORCH_CHECK(
      k_cache.is_contiguous() && v_cache.is_contiguous() && v_cache.sizes() == k_cache.sizes(),
      "rotary_kv_step: the caches must be contiguous and alike");
  TORCH_CHECK(cos.is_contiguous() && sin.is_contiguous() && cos.size(0) == capacity &&
                  cos.size(1) == head_dim && sin.sizes() == cos.sizes(),
              "rotary_kv_step: the tables must be (capacity, hd)");
  TORCH_CHECK(slot.scalar_type() == torch::kLong && slot.numel() == 1 && slot.is_cuda(),
              "rotary_kv_step: slot must be one int64 on the GPU");
  for (const torch::Tensor* t :
       std::initializer_list<const torch::Tensor*>{&cos, &sin, &k_cache, &v_cache})
    TORCH_CHECK(t->scalar_type() == torch::kFloat && t->device() == qkv.device(),
                "rotary_kv_step: every tensor fp32 on ", qkv.device());
  auto q = torch::empty({batch, heads, 1, head_dim}, qkv.options());
  const int error = cuda_kernels::rotary_kv_step(
      qkv.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(), slot.data_ptr<int64_t>(),
      q.data_ptr<float>(), k_cache.data_ptr<float>(), v_cache.data_ptr<float>(),
      static_cast<int>(batch), static_cast<int>(heads), static_cast<int>(head_dim), capacity,
      c10::cuda::getCurrentCUDAStream(qkv.device().index()));
  TORCH_CHECK(error == 0, "rotary_kv_step: kernel launch failed (cudaError ", error, ")");
  return q;  // (B, H, 1, hd)
#else
  (void)cos, (void)sin, (void)slot, (void)k_cache, (void)v_cache;
  return {};
#endif
}

}  // namespace hg
