// Checks and launches for fused_ops.h; the kernels are in cuda/fused_kernels.cu.
#include "model/fused_ops.h"

#include <initializer_list>
#include <stdexcept>
#include <string>

#if defined(HOURGLASS_WITH_CUDA_KERNELS)
#include <c10/cuda/CUDAStream.h>

#include "model/cuda/fused_kernels.h"
#endif

namespace hg {

bool fused_rotary(const torch::Tensor& x) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  return x.is_cuda() && x.dim() == 4 && x.stride(3) == 1 && x.size(3) % 2 == 0 &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16);
#else
  (void)x;
  return false;
#endif
}

torch::Tensor rotary_fused(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin, double sign) {
  if (!fused_rotary(x))
    throw std::logic_error("rotary_fused: no fused kernel for these tensors in this build");
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  const int64_t batch = x.size(0), heads = x.size(1), tokens = x.size(2), head_dim = x.size(3);
  TORCH_CHECK(cos.is_contiguous() && sin.is_contiguous() && cos.dim() == 2 &&
                  cos.size(0) == tokens && cos.size(1) == head_dim && sin.sizes() == cos.sizes(),
              "rotary_fused: tables must be contiguous (T, hd) = (", tokens, ", ", head_dim,
              "), got ", cos.sizes());
  TORCH_CHECK(cos.scalar_type() == x.scalar_type() && sin.scalar_type() == x.scalar_type() &&
                  cos.device() == x.device() && sin.device() == x.device(),
              "rotary_fused: tables in x's dtype on x's device");
  auto out = torch::empty({batch, tokens, heads, head_dim}, x.options());
  const auto stream = c10::cuda::getCurrentCUDAStream(x.device().index());
  const int error =
      x.scalar_type() == torch::kFloat
          ? cuda_kernels::rotary(x.data_ptr<float>(), x.stride(0), x.stride(1), x.stride(2),
                                 cos.data_ptr<float>(), sin.data_ptr<float>(),
                                 static_cast<float>(sign), out.data_ptr<float>(), batch, heads,
                                 tokens, static_cast<int>(head_dim), stream)
          : cuda_kernels::rotary_bf16(x.data_ptr(), x.stride(0), x.stride(1), x.stride(2),
                                      cos.data_ptr(), sin.data_ptr(), static_cast<float>(sign),
                                      out.data_ptr(), batch, heads, tokens,
                                      static_cast<int>(head_dim), stream);
  TORCH_CHECK(error == 0, "rotary_fused: kernel launch failed (cudaError ", error, ")");
  return out.transpose(1, 2);  // (B, H, T, hd)
#else
  (void)cos, (void)sin, (void)sign;
  return {};
#endif
}

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
