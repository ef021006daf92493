// The rotary family's libtorch side (rotary.h): checks the tensors, launches cuda/rotary.cu on the
// current stream, and the autograd function of the query's and key's rotation. Built only with
// the CUDA kernels; no_cuda_kernels.cpp stands in for it elsewhere.
#include "model/kernels/rotary.h"

#include <tuple>
#include <vector>

#include "model/kernels/cuda_tensors.h"

namespace hg {
namespace {

// Rotary tables cos and sin as the kernels read them: contiguous (tokens, head_dim) in like's
// dtype on its device.
void check_tables(const torch::Tensor& cos, const torch::Tensor& sin, int64_t tokens,
                  int64_t head_dim, const torch::Tensor& like, const char* what) {
  TORCH_CHECK(cos.is_contiguous() && sin.is_contiguous() && cos.dim() == 2 &&
                  cos.size(0) == tokens && cos.size(1) == head_dim && sin.sizes() == cos.sizes(),
              what, ": tables must be contiguous (T, hd) = (", tokens, ", ", head_dim, "), got ",
              cos.sizes());
  TORCH_CHECK(cos.scalar_type() == like.scalar_type() && sin.scalar_type() == like.scalar_type() &&
                  cos.device() == like.device() && sin.device() == like.device(),
              what, ": tables in the rotated tensor's dtype on its device");
}

// The query's and key's rotation in one launch, the value a view of qkv; backward: one kernel
// writes the projection's whole gradient (no concatenation of three).
class QkvRotaryFunction : public torch::autograd::Function<QkvRotaryFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& qkv, const torch::Tensor& cos,
                                                const torch::Tensor& sin, int64_t heads) {
    const int64_t b = qkv.size(0), t = qkv.size(1), d = qkv.size(2) / 3, hd = d / heads;
    auto rotated = torch::empty({2, b, t, heads, hd}, qkv.options());  // query, key
    const auto stream = c10::cuda::getCurrentCUDAStream(qkv.device().index());
    const int error =
        qkv.scalar_type() == torch::kFloat
            ? cuda_kernels::rotary(qkv.data_ptr<float>(), qkv.stride(0), hd, qkv.stride(1),
                                   cos.data_ptr<float>(), sin.data_ptr<float>(), 1.0f,
                                   rotated.data_ptr<float>(), b, heads, t, static_cast<int>(hd),
                                   stream, 2, d, b * t * d)
            : cuda_kernels::rotary_bf16(qkv.data_ptr(), qkv.stride(0), hd, qkv.stride(1),
                                        cos.data_ptr(), sin.data_ptr(), 1.0f, rotated.data_ptr(), b,
                                        heads, t, static_cast<int>(hd), stream, 2, d, b * t * d);
    TORCH_CHECK(error == 0, "qkv_rotary: kernel launch failed (cudaError ", error, ")");
    ctx->save_for_backward({cos, sin});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["sizes"] = qkv.sizes().vec();
    auto v = qkv.narrow(2, 2 * d, d).view({b, t, heads, hd}).transpose(1, 2);
    return {rotated[0].transpose(1, 2), rotated[1].transpose(1, 2), v};  // (B, H, T, hd) each
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& cos = saved[0];
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const int64_t heads = ctx->saved_data["heads"].toInt();
    auto dqkv = torch::empty(sizes, cos.options());
    cuda_kernels::RotaryGrads g;
    g.batch = sizes[0], g.tokens = sizes[1], g.heads = heads;
    g.head_dim = static_cast<int>(sizes[2] / 3 / heads);
    std::vector<torch::Tensor> held;  // the gradients in the layout the kernel reads
    for (int part = 0; part < 3; ++part) {
      if (!grads[part].defined()) continue;
      auto grad = grads[part].to(cos.scalar_type());
      const bool packable = grad.stride(3) == 1 && grad.stride(0) % 4 == 0 &&
                            grad.stride(1) % 4 == 0 && grad.stride(2) % 4 == 0 && aligned16(grad);
      if (!packable) {  // as (B, T, H, hd), 16-byte aligned (a copy when even that is not)
        grad = packed(grad.transpose(1, 2), grad.scalar_type()).transpose(1, 2);
      }
      held.push_back(grad);
      g.grad[part] = grad.data_ptr();
      for (int dim = 0; dim < 3; ++dim) g.stride[part][dim] = grad.stride(dim);
    }
    const int error =
        cuda_kernels::rotary_qkv_backward(g, cos.data_ptr(), saved[1].data_ptr(), dqkv.data_ptr(),
                                          cos.scalar_type() == torch::kBFloat16,
                                          c10::cuda::getCurrentCUDAStream(cos.device().index()));
    TORCH_CHECK(error == 0, "qkv_rotary: backward kernel launch failed (cudaError ", error, ")");
    return {dqkv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool can_fuse_rotary(const torch::Tensor& x) {
  return x.is_cuda() && x.dim() == 4 && x.stride(3) == 1 && x.size(3) % 2 == 0 &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16);
}

torch::Tensor rotary_fused(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin, double sign) {
  if (!can_fuse_rotary(x))
    throw std::logic_error("rotary_fused: no fused kernel for these tensors in this build");
  const int64_t batch = x.size(0), heads = x.size(1), tokens = x.size(2), head_dim = x.size(3);
  check_tables(cos, sin, tokens, head_dim, x, "rotary_fused");
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
}

bool can_fuse_qkv_rotary(const torch::Tensor& qkv, int64_t heads) {
  if (!qkv.is_cuda() || qkv.dim() != 3 || heads < 1 || qkv.size(2) % (3 * heads) != 0 ||
      (qkv.scalar_type() != torch::kFloat && qkv.scalar_type() != torch::kBFloat16))
    return false;
  const int64_t head_dim = qkv.size(2) / 3 / heads;
  return head_dim % 8 == 0 && qkv.stride(2) == 1 && qkv.stride(1) % 4 == 0 &&
         qkv.stride(0) % 4 == 0 && aligned16(qkv);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv_rotary(const torch::Tensor& qkv,
                                                                   const torch::Tensor& cos,
                                                                   const torch::Tensor& sin,
                                                                   int64_t heads) {
  if (!can_fuse_qkv_rotary(qkv, heads))
    throw std::logic_error("qkv_rotary: no fused kernel for these tensors in this build");
  const int64_t head_dim = qkv.size(2) / 3 / heads;
  check_tables(cos, sin, qkv.size(1), head_dim, qkv, "qkv_rotary");
  TORCH_CHECK(aligned16(cos) && aligned16(sin), "qkv_rotary: tables must be 16-byte aligned");
  auto outs = QkvRotaryFunction::apply(qkv, cos, sin, heads);
  return {outs[0], outs[1], outs[2]};
}

bool can_fuse_decode(const torch::Tensor& x) {
  return x.is_cuda() && x.scalar_type() == torch::kFloat;
}

torch::Tensor rotary_kv_step(const torch::Tensor& qkv, const torch::Tensor& cos,
                             const torch::Tensor& sin, const torch::Tensor& slot,
                             torch::Tensor& k_cache, torch::Tensor& v_cache) {
  if (!can_fuse_decode(qkv))
    throw std::logic_error("rotary_kv_step: no fused kernel for these tensors in this build");
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
}

}  // namespace hg
