// The matrix-product family's libtorch side (gemm.h): the MLP through cuBLASLt (cuda/gemm_lt.cu)
// with its autograd function, products of a few rows for decoding and the bf16 weight copies
// (cuda/gemm_rows.cu). Built only with the CUDA kernels; no_cuda_kernels.cpp stands in elsewhere.
#include "model/kernels/gemm.h"

#include <ATen/autocast_mode.h>

#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/kernels/cuda_tensors.h"
#include "model/kernels/layer_norm.h"

namespace hg {
namespace {

// cuBLASLt products for the MLP (gemm_lt.cu): bf16 row-major tensors, read as the column-major
// transposes cuBLASLt sees. Each returns false where no algorithm takes the product (the caller
// then computes it with torch's ops) and throws on any other failure.
constexpr int kLtNotSupported = 15;  // CUBLAS_STATUS_NOT_SUPPORTED
constexpr int64_t kLtWorkspaceBytes = int64_t{32} << 20;

bool lt(cuda_kernels::LtGemm g, const torch::Tensor& like) {
  // From the caching allocator, stream-ordered: free for reuse once the product has run.
  const auto workspace = torch::empty({kLtWorkspaceBytes}, like.options().dtype(torch::kByte));
  g.workspace = workspace.data_ptr();
  g.workspace_bytes = static_cast<size_t>(kLtWorkspaceBytes);
  const int status = cuda_kernels::lt_gemm(g, stream_of(like));
  if (status == kLtNotSupported) return false;
  TORCH_CHECK(status == 0, "mlp_fused: a cuBLASLt product failed (cublasStatus_t ", status, ")");
  return true;
}

// out (M, N) = x (M, K) w^T for w (N, K) when `transposed`, else x w for w (K, N); kGelu: GELU of
// that, kGeluAux: also the product itself into aux (M, N); kDGelu: times GELU'(aux).
bool lt_product(const torch::Tensor& x, const torch::Tensor& w, bool transposed, torch::Tensor& out,
                cuda_kernels::LtEpilogue epilogue, torch::Tensor* aux) {
  cuda_kernels::LtGemm g;
  g.trans_a = transposed;
  g.m = out.size(1), g.n = x.size(0), g.k = x.size(1);
  g.a = w.data_ptr(), g.lda = transposed ? g.k : g.m;
  g.b = x.data_ptr(), g.ldb = g.k;
  g.d = out.data_ptr(), g.ldd = g.m;
  g.epilogue = epilogue;
  if (aux) g.aux = aux->data_ptr(), g.ld_aux = g.m;
  return lt(g, x);
}

// dw (N, K) fp32 = dy (M, N)^T x (M, K): a weight's gradient, summed in fp32 and kept so.
bool lt_weight_grad(const torch::Tensor& dy, const torch::Tensor& x, torch::Tensor& dw) {
  cuda_kernels::LtGemm g;
  g.trans_b = true;
  g.m = x.size(1), g.n = dy.size(1), g.k = x.size(0);
  g.a = x.data_ptr(), g.lda = g.m;
  g.b = dy.data_ptr(), g.ldb = g.n;
  g.d = dw.data_ptr(), g.ldd = g.m;
  g.d_fp32 = true;
  return lt(g, x);
}

// The weight's copy in the live Bf16Weights scope, else a cast of it.
torch::Tensor bf16_or_cast(const torch::Tensor& w) {
  auto copy = bf16_weight(w);
  return copy.defined() ? copy : w.to(torch::kBFloat16);
}

// x W^T in bf16 from the weight's bf16 copy w16 (Bf16Weights), the weight's gradient in fp32 out
// of its product: what autocast's linear computes, less the weight's cast each way.
class LinearFunction : public torch::autograd::Function<LinearFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& w16) {
    const auto rows = x.reshape({-1, x.size(-1)}).to(torch::kBFloat16).contiguous();  // (M, K)
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    ctx->save_for_backward({rows, w16});
    ctx->saved_data["x"] = dtype_code(x.scalar_type());
    ctx->saved_data["sizes"] = x.sizes().vec();
    return torch::mm(rows, w16.t()).view(sizes);  // (..., N)
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto &rows = s[0], &w16 = s[1];
    const auto dy =
        grads[0].reshape({-1, w16.size(0)}).to(torch::kBFloat16).contiguous();  // (M, N)
    torch::Tensor dx;
    if (ctx->needs_input_grad(0))
      dx = torch::mm(dy, w16)
               .view(ctx->saved_data["sizes"].toIntVector())
               .to(code_dtype(ctx->saved_data["x"]));
    auto dw = torch::empty(w16.sizes(), dy.options().dtype(torch::kFloat));
    if (!lt_weight_grad(dy, rows, dw)) dw = torch::mm(dy.t(), rows).to(torch::kFloat);
    return {dx, dw, torch::Tensor()};
  }
};

// proj(GELU(fc(x))) in bf16 with fp32 weights, the GELU inside the first product: (..., D_out).
// With `saved`, what the backward needs goes there, as autograd's op-by-op graph would keep it
// ({x's rows, both weights in bf16, the hidden activations before and after the GELU}); without
// it the pre-activations are not written at all.
torch::Tensor mlp_forward(const torch::Tensor& x, const torch::Tensor& fc,
                          const torch::Tensor& proj, std::vector<torch::Tensor>* saved) {
  using cuda_kernels::LtEpilogue;
  const auto rows = x.reshape({-1, x.size(-1)}).to(torch::kBFloat16).contiguous();  // (M, D)
  const auto w1 = bf16_or_cast(fc), w2 = bf16_or_cast(proj);
  auto act = torch::empty({rows.size(0), fc.size(0)}, rows.options());  // (M, H)
  torch::Tensor pre;
  if (saved) pre = torch::empty_like(act);
  if (!lt_product(rows, w1, /*transposed=*/true, act,
                  saved ? LtEpilogue::kGeluAux : LtEpilogue::kGelu, saved ? &pre : nullptr)) {
    pre = torch::mm(rows, w1.t());
    act = torch::gelu(pre);
  }
  const auto out = torch::mm(act, w2.t());  // (M, D_out)
  if (saved) *saved = {rows, w1, w2, pre, act};
  auto sizes = x.sizes().vec();
  sizes.back() = proj.size(0);
  return out.view(sizes);
}

// mlp_forward with its backward: the GELU's gradient inside the product that makes the hidden
// gradient, the weight gradients out of their products in fp32.
class MlpFunction : public torch::autograd::Function<MlpFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& fc, const torch::Tensor& proj) {
    std::vector<torch::Tensor> saved;
    auto out = mlp_forward(x, fc, proj, &saved);
    ctx->save_for_backward(saved);
    ctx->saved_data["x"] = dtype_code(x.scalar_type());
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    using cuda_kernels::LtEpilogue;
    const auto s = ctx->get_saved_variables();
    const auto &rows = s[0], &w1 = s[1], &w2 = s[2], &act = s[4];
    auto pre = s[3];
    const auto dout =
        grads[0].reshape({-1, w2.size(0)}).to(torch::kBFloat16).contiguous();  // (M, D_out)
    auto dw2 = torch::empty(w2.sizes(), dout.options().dtype(torch::kFloat));
    if (!lt_weight_grad(dout, act, dw2)) dw2 = torch::mm(dout.t(), act).to(torch::kFloat);
    auto dpre = torch::empty_like(pre);  // (M, H)
    if (!lt_product(dout, w2, /*transposed=*/false, dpre, LtEpilogue::kDGelu, &pre))
      dpre = torch::gelu_backward(torch::mm(dout, w2), pre);
    auto dw1 = torch::empty(w1.sizes(), dout.options().dtype(torch::kFloat));
    if (!lt_weight_grad(dpre, rows, dw1)) dw1 = torch::mm(dpre.t(), rows).to(torch::kFloat);
    auto sizes = grads[0].sizes().vec();
    sizes.back() = rows.size(1);
    const auto dx = torch::mm(dpre, w1).view(sizes).to(code_dtype(ctx->saved_data["x"]));
    return {dx, dw1, dw2};
  }
};

}  // namespace

bool can_fuse_mlp(const torch::Tensor& x, const torch::Tensor& fc, const torch::Tensor& proj) {
  static const bool enabled = [] {
    const char* env = std::getenv("HOURGLASS_FUSED_MLP");
    return env == nullptr || std::string(env) != "0";
  }();
  if (!enabled || !x.is_cuda() || !at::autocast::is_autocast_enabled(at::kCUDA) ||
      at::autocast::get_autocast_dtype(at::kCUDA) != at::kBFloat16 || !bf16_or_fp32(x) ||
      x.dim() < 2 || x.numel() == 0)
    return false;
  for (const torch::Tensor* w : {&fc, &proj})
    if (w->dim() != 2 || w->scalar_type() != torch::kFloat || w->device() != x.device() ||
        w->size(0) % 8 != 0 || w->size(1) % 8 != 0)
      return false;
  return x.size(-1) == fc.size(1) && proj.size(1) == fc.size(0);
}

torch::Tensor mlp_fused(const torch::Tensor& x, const torch::Tensor& fc,
                        const torch::Tensor& proj) {
  if (!can_fuse_mlp(x, fc, proj))
    throw std::logic_error("mlp_fused: no fused MLP for these tensors in this build");
  const bool grad = torch::GradMode::is_enabled() &&
                    (x.requires_grad() || fc.requires_grad() || proj.requires_grad());
  if (!grad) return mlp_forward(x, fc, proj, nullptr);  // evaluation: nothing kept
  return MlpFunction::apply(x, fc, proj);
}

Bf16Weights::Bf16Weights(const std::vector<torch::Tensor>& weights) {
  if (weights.empty() || !at::autocast::is_autocast_enabled(at::kCUDA) ||
      at::autocast::get_autocast_dtype(at::kCUDA) != at::kBFloat16)
    return;
  std::vector<const torch::Tensor*> taken;
  int64_t total = 0;
  for (const auto& w : weights) {
    if (!w.defined() || !w.is_cuda() || w.scalar_type() != torch::kFloat || !w.is_contiguous() ||
        !aligned16(w) || w.device() != weights.front().device())
      continue;
    taken.push_back(&w);
    total += (w.numel() + 7) / 8 * 8;  // each copy 16-byte aligned
  }
  if (taken.empty()) return;
  torch::NoGradGuard no_grad;
  const auto flat = torch::empty({total}, taken.front()->options().dtype(torch::kBFloat16));
  std::vector<const float*> src;
  std::vector<void*> dst;
  std::vector<int64_t> sizes;
  int64_t at = 0;
  for (const torch::Tensor* w : taken) {
    auto copy = flat.narrow(0, at, w->numel()).view(w->sizes());
    at += (w->numel() + 7) / 8 * 8;
    src.push_back(w->data_ptr<float>());
    dst.push_back(copy.data_ptr());
    sizes.push_back(w->numel());
    copies_.emplace_back(w->unsafeGetTensorImpl(), copy);
  }
  const int error = cuda_kernels::cast_bf16(src.data(), dst.data(), sizes.data(),
                                            static_cast<int>(src.size()), stream_of(flat));
  TORCH_CHECK(error == 0, "Bf16Weights: kernel launch failed (cudaError ", error, ")");
  previous_ = innermost_;
  innermost_ = this;
  active_ = true;
}

bool Bf16Weights::wanted(const torch::Tensor& like) {
  return like.is_cuda() && at::autocast::is_autocast_enabled(at::kCUDA) &&
         at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16;
}

bool can_fuse_linear_rows(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& residual) {
  const int64_t k = weight.dim() == 2 ? weight.size(1) : 0;
  const bool fits = k > 0 && k % 4 == 0 && x.dim() >= 1 && x.size(-1) == k && x.is_cuda() &&
                    x.device() == weight.device() && x.scalar_type() == torch::kFloat &&
                    weight.scalar_type() == torch::kFloat && x.is_contiguous() &&
                    weight.is_contiguous() && x.numel() / k <= cuda_kernels::kRowsLinearMax &&
                    aligned16(x) && aligned16(weight) && !torch::GradMode::is_enabled() &&
                    !at::autocast::is_autocast_enabled(at::kCUDA);
  if (!fits) return false;
  auto sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  return !residual.defined() || (residual.sizes() == torch::IntArrayRef(sizes) &&
                                 residual.scalar_type() == torch::kFloat &&
                                 residual.is_contiguous() && residual.device() == x.device());
}

torch::Tensor linear_rows_fused(const torch::Tensor& x, const torch::Tensor& weight, bool gelu,
                                const torch::Tensor& residual, const RowNorm& norm) {
  if (!can_fuse_linear_rows(x, weight, residual))
    throw std::logic_error("linear_rows_fused: no fused kernel for these tensors in this build");
  const int64_t k = weight.size(1), m = x.numel() / k;
  auto norm_param_fits = [&](const torch::Tensor& t) {
    return t.numel() == k && t.scalar_type() == torch::kFloat && t.is_contiguous() &&
           t.device() == x.device() && aligned16(t);
  };
  const bool norm_inside = norm.weight.defined() && m <= cuda_kernels::kRowsLinearNormRows &&
                           k <= cuda_kernels::kRowsLinearNormWidth &&
                           norm_param_fits(norm.weight) && norm_param_fits(norm.bias);
  // A norm that cannot go inside the product (more rows: each warp would take every row's
  // statistics; wider rows) runs first, in its own kernel where there is one.
  const auto input = norm.weight.defined() && !norm_inside ? apply_layer_norm(x, norm) : x;
  auto sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  auto y = torch::empty(sizes, x.options());  // (..., n)
  cuda_kernels::RowsLinear args;
  args.x = input.data_ptr<float>();
  args.w = weight.data_ptr<float>();
  if (norm_inside) {
    args.gamma = norm.weight.data_ptr<float>();
    args.beta = norm.bias.data_ptr<float>();
    args.eps = static_cast<float>(norm.eps);
  }
  args.gelu = gelu;
  if (residual.defined()) args.residual = residual.data_ptr<float>();
  args.y = y.data_ptr<float>();
  args.m = static_cast<int>(m);
  args.n = static_cast<int>(weight.size(0));
  args.k = static_cast<int>(k);
  const int error = cuda_kernels::rows_linear(args, stream_of(x));
  TORCH_CHECK(error == 0, "linear_rows: kernel launch failed (cudaError ", error, ")");
  return y;
}

bool can_use_bf16_copy(const torch::Tensor& x, const torch::Tensor& w16) {
  return w16.defined() && x.is_cuda() && at::autocast::is_autocast_enabled(at::kCUDA);
}

torch::Tensor linear_bf16_copy(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& w16, bool gelu, const torch::Tensor& residual,
                               const RowNorm& norm) {
  const auto input = norm.weight.defined() ? apply_layer_norm(x, norm) : x;
  const bool grad =
      torch::GradMode::is_enabled() && (input.requires_grad() || weight.requires_grad());
  auto y = grad ? LinearFunction::apply(input, weight, w16)
                : torch::matmul(input.to(torch::kBFloat16), w16.t());
  if (gelu) y = torch::gelu(y);
  return residual.defined() ? residual + y : y;
}

}  // namespace hg
