// Checks and launches for fused_ops.h; the kernels are in cuda/fused_kernels.cu.
#include "model/kernels/fused_ops.h"

#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#if defined(HOURGLASS_WITH_CUDA_KERNELS)
#include <ATen/autocast_mode.h>

#include "model/kernels/cuda/fused_kernels.h"
#endif
#if defined(HOURGLASS_WITH_CUDA) || defined(HOURGLASS_WITH_CUDA_KERNELS)  // a CUDA libtorch
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#endif

#include "model/core/config.h"

namespace hg {

#if defined(HOURGLASS_WITH_CUDA_KERNELS)
namespace {

bool bf16_or_fp32(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kBFloat16;
}

bool aligned16(const torch::Tensor& t) {
  return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
}

cudaStream_t stream_of(const torch::Tensor& t) {
  return c10::cuda::getCurrentCUDAStream(t.device().index());
}

// t in `dtype`, contiguous and 16-byte aligned (a view may start anywhere), as the kernels that
// read packs of elements need it; undefined stays undefined.
torch::Tensor packed(const torch::Tensor& t, torch::ScalarType dtype) {
  if (!t.defined()) return t;
  auto out = t.to(dtype).contiguous();
  return aligned16(out) ? out : out.clone();
}

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

}  // namespace
#endif

bool capturing_graph(const torch::Device& device) {
#if defined(HOURGLASS_WITH_CUDA)
  if (!device.is_cuda()) return false;
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device.index());
  return cudaStreamIsCapturing(stream, &status) == cudaSuccess &&
         status != cudaStreamCaptureStatusNone;
#else
  (void)device;
  return false;
#endif
}

void used_on_current_stream(const torch::Tensor& t) {
#if defined(HOURGLASS_WITH_CUDA)
  if (t.defined() && t.is_cuda() && !capturing_graph(t.device()))
    t.record_stream(c10::cuda::getCurrentCUDAStream(t.device().index()).unwrap());
#else
  (void)t;
#endif
}

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
#else
  (void)cos, (void)sin, (void)sign;
  return {};
#endif
}

bool fused_qkv_rotary(const torch::Tensor& qkv, int64_t heads) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  if (!qkv.is_cuda() || qkv.dim() != 3 || heads < 1 || qkv.size(2) % (3 * heads) != 0 ||
      (qkv.scalar_type() != torch::kFloat && qkv.scalar_type() != torch::kBFloat16))
    return false;
  const int64_t head_dim = qkv.size(2) / 3 / heads;
  return head_dim % 8 == 0 && qkv.stride(2) == 1 && qkv.stride(1) % 4 == 0 &&
         qkv.stride(0) % 4 == 0 && aligned16(qkv);
#else
  (void)qkv, (void)heads;
  return false;
#endif
}

#if defined(HOURGLASS_WITH_CUDA_KERNELS)
namespace {

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
#endif

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv_rotary(const torch::Tensor& qkv,
                                                                   const torch::Tensor& cos,
                                                                   const torch::Tensor& sin,
                                                                   int64_t heads) {
  if (!fused_qkv_rotary(qkv, heads))
    throw std::logic_error("qkv_rotary: no fused kernel for these tensors in this build");
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  const int64_t head_dim = qkv.size(2) / 3 / heads;
  check_tables(cos, sin, qkv.size(1), head_dim, qkv, "qkv_rotary");
  TORCH_CHECK(aligned16(cos) && aligned16(sin), "qkv_rotary: tables must be 16-byte aligned");
  auto outs = QkvRotaryFunction::apply(qkv, cos, sin, heads);
  return {outs[0], outs[1], outs[2]};
#else
  (void)cos, (void)sin;
  return {};
#endif
}

#if defined(HOURGLASS_WITH_CUDA_KERNELS)
namespace {

class TokenLossFunction : public torch::autograd::Function<TokenLossFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits,
                               const torch::Tensor& targets) {
    const int64_t rows = logits.size(0), blocks = cuda_kernels::token_loss_blocks(rows);
    const auto f32 = logits.options().dtype(torch::kFloat);
    auto lse = torch::empty({rows}, f32);
    auto sums = torch::empty({2, blocks}, f32);
    auto totals = torch::empty({2}, f32);
    cuda_kernels::TokenLoss a;
    a.bf16 = logits.scalar_type() == torch::kBFloat16;
    a.logits = logits.data_ptr();
    a.targets = targets.data_ptr<int64_t>();
    a.rows = rows;
    a.lse = lse.data_ptr<float>();
    a.block_loss = sums[0].data_ptr<float>();
    a.block_count = sums[1].data_ptr<float>();
    a.totals = totals.data_ptr<float>();
    const int error =
        cuda_kernels::token_loss(a, c10::cuda::getCurrentCUDAStream(logits.device().index()));
    TORCH_CHECK(error == 0, "token_loss: kernel launch failed (cudaError ", error, ")");
    ctx->save_for_backward({logits, targets, lse, totals});
    return totals[0];  // ()
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto& logits = s[0];
    const auto grad = grads[0].to(torch::kFloat).contiguous();
    auto dlogits = torch::empty_like(logits);
    cuda_kernels::TokenLoss a;
    a.backward = true;
    a.bf16 = logits.scalar_type() == torch::kBFloat16;
    a.logits = logits.data_ptr();
    a.targets = s[1].data_ptr<int64_t>();
    a.rows = logits.size(0);
    a.lse = s[2].data_ptr<float>();
    a.totals = s[3].data_ptr<float>();
    a.grad = grad.data_ptr<float>();
    a.dlogits = dlogits.data_ptr();
    const int error =
        cuda_kernels::token_loss(a, c10::cuda::getCurrentCUDAStream(logits.device().index()));
    TORCH_CHECK(error == 0, "token_loss: backward kernel launch failed (cudaError ", error, ")");
    return {dlogits, torch::Tensor()};
  }
};

}  // namespace
#endif

torch::Tensor token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  const auto rows = logits.reshape({-1, logits.size(-1)});
  const auto flat = targets.reshape(-1);
  if (logits.is_cuda() && logits.size(-1) == kVocabSize && rows.size(0) > 0 &&
      (logits.scalar_type() == torch::kFloat || logits.scalar_type() == torch::kBFloat16) &&
      rows.is_contiguous() && aligned16(rows) && flat.scalar_type() == torch::kLong &&
      flat.numel() == rows.size(0) && flat.device() == logits.device())
    return TokenLossFunction::apply(rows, flat.contiguous());
#endif
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat),
                                   targets.reshape(-1));
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

#if defined(HOURGLASS_WITH_CUDA_KERNELS)
namespace {

// delta (B, Td, D) contiguous with Td > T for x (B, T, D): its first T rows of each sequence are
// added (layer_norm_fused in fused_ops.h).
bool longer_delta(const torch::Tensor& x, const torch::Tensor& delta) {
  return x.dim() == 3 && delta.dim() == 3 && delta.size(0) == x.size(0) &&
         delta.size(2) == x.size(2) && delta.size(1) > x.size(1) && delta.is_contiguous();
}

struct NormOutputs {
  torch::Tensor h, y, mean, rstd;  // h: with a delta only; mean, rstd: when saved
};

NormOutputs norm_forward(const torch::Tensor& x_in, const torch::Tensor& delta_in,
                         const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                         bool save) {
  const auto x = x_in.contiguous();
  const auto delta = delta_in.defined() ? delta_in.contiguous() : delta_in;
  const int64_t d = x.size(-1), rows = x.numel() / d;
  const auto h_dtype =
      delta.defined() ? at::promote_types(x.scalar_type(), delta.scalar_type()) : x.scalar_type();
  const auto y_dtype = at::autocast::is_autocast_enabled(at::kCUDA)
                           ? at::autocast::get_autocast_dtype(at::kCUDA)
                           : h_dtype;
  NormOutputs out;
  out.y = torch::empty(x.sizes(), x.options().dtype(y_dtype));
  if (delta.defined()) out.h = torch::empty(x.sizes(), x.options().dtype(h_dtype));
  if (save) {
    out.mean = torch::empty({rows}, x.options().dtype(torch::kFloat));
    out.rstd = torch::empty({rows}, x.options().dtype(torch::kFloat));
  }
  cuda_kernels::NormForward args;
  args.x = x.data_ptr();
  args.delta = delta.defined() ? delta.data_ptr() : nullptr;
  args.h = out.h.defined() ? out.h.data_ptr() : nullptr;
  args.y = out.y.data_ptr();
  args.gamma = weight.data_ptr<float>();
  args.beta = bias.data_ptr<float>();
  args.mean = save ? out.mean.data_ptr<float>() : nullptr;
  args.rstd = save ? out.rstd.data_ptr<float>() : nullptr;
  args.rows = rows;
  args.d = static_cast<int>(d);
  args.eps = static_cast<float>(eps);
  args.x_bf16 = x.scalar_type() == torch::kBFloat16;
  args.delta_bf16 = delta.defined() ? delta.scalar_type() == torch::kBFloat16 : args.x_bf16;
  args.y_bf16 = y_dtype == torch::kBFloat16;
  if (delta.defined() && longer_delta(x, delta)) {
    args.x_per_batch = x.size(1);
    args.delta_per_batch = delta.size(1);
  }
  const int error = cuda_kernels::layer_norm_forward(args, stream_of(x));
  TORCH_CHECK(error == 0, "layer_norm_fused: kernel launch failed (cudaError ", error, ")");
  return out;
}

// {dx, ddelta (with a delta), dweight, dbias} from the gradients of y and h (either may be
// undefined) and what the forward saved; src is h with a delta, else x.
std::vector<torch::Tensor> norm_backward(const torch::Tensor& dy_in, const torch::Tensor& dh_in,
                                         const torch::Tensor& src, const torch::Tensor& mean,
                                         const torch::Tensor& rstd, const torch::Tensor& weight,
                                         torch::ScalarType x_dtype, torch::ScalarType delta_dtype,
                                         torch::ScalarType y_dtype, bool has_delta,
                                         int64_t delta_per_batch = 0) {
  const int64_t d = src.size(-1), rows = src.numel() / d;
  const auto dy = dy_in.defined() ? packed(dy_in, y_dtype)
                                  : torch::zeros(src.sizes(), src.options().dtype(y_dtype));
  const auto dh = packed(dh_in, src.scalar_type());
  auto dx = torch::empty(src.sizes(), src.options().dtype(x_dtype));
  torch::Tensor ddelta;
  const bool longer = has_delta && src.dim() == 3 && delta_per_batch > src.size(1);
  if (longer) {  // the rows past the first T of each sequence had no part in the sum
    ddelta = torch::empty({src.size(0), delta_per_batch, d}, src.options().dtype(delta_dtype));
    ddelta.narrow(1, src.size(1), delta_per_batch - src.size(1)).zero_();
  } else if (has_delta) {
    ddelta = torch::empty(src.sizes(), src.options().dtype(delta_dtype));
  }
  const int groups = cuda_kernels::layer_norm_backward_groups(rows, static_cast<int>(d));
  auto partial = torch::empty({2, groups, d}, src.options().dtype(torch::kFloat));
  cuda_kernels::NormBackward args;
  args.dy = dy.data_ptr();
  args.dh = dh.defined() ? dh.data_ptr() : nullptr;
  args.src = src.data_ptr();
  args.mean = mean.data_ptr<float>();
  args.rstd = rstd.data_ptr<float>();
  args.gamma = weight.data_ptr<float>();
  args.dx = dx.data_ptr();
  args.ddelta = has_delta ? ddelta.data_ptr() : nullptr;
  args.partial = partial.data_ptr<float>();
  args.rows = rows;
  args.d = static_cast<int>(d);
  args.groups = groups;
  args.x_bf16 = x_dtype == torch::kBFloat16;
  args.delta_bf16 = has_delta ? delta_dtype == torch::kBFloat16 : args.x_bf16;
  args.y_bf16 = y_dtype == torch::kBFloat16;
  if (longer) {
    args.x_per_batch = src.size(1);
    args.delta_per_batch = delta_per_batch;
  }
  int error = cuda_kernels::layer_norm_backward(args, stream_of(src));
  TORCH_CHECK(error == 0, "layer_norm_fused: backward kernel launch failed (cudaError ", error,
              ")");
  auto sums = torch::empty({2, d}, partial.options());
  error = cuda_kernels::column_sums(partial.data_ptr<float>(), groups, static_cast<int>(d), 2,
                                    sums.data_ptr<float>(), stream_of(src));
  TORCH_CHECK(error == 0, "layer_norm_fused: sum kernel launch failed (cudaError ", error, ")");
  return {dx, ddelta, sums[0], sums[1]};
}

int64_t dtype_code(torch::ScalarType t) { return static_cast<int64_t>(t); }
torch::ScalarType code_dtype(const c10::IValue& v) {
  return static_cast<torch::ScalarType>(v.toInt());
}

class NormFunction : public torch::autograd::Function<NormFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
    auto out = norm_forward(x, torch::Tensor(), weight, bias, eps, /*save=*/true);
    ctx->save_for_backward({x, out.mean, out.rstd, weight});
    ctx->saved_data["y"] = dtype_code(out.y.scalar_type());
    return out.y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto x_dtype = s[0].scalar_type();
    auto g = norm_backward(grads[0], torch::Tensor(), s[0], s[1], s[2], s[3], x_dtype, x_dtype,
                           code_dtype(ctx->saved_data["y"]), /*has_delta=*/false);
    return {g[0], g[2], g[3], torch::Tensor()};
  }
};

class AddNormFunction : public torch::autograd::Function<AddNormFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& x, const torch::Tensor& delta,
                                                const torch::Tensor& weight,
                                                const torch::Tensor& bias, double eps) {
    auto out = norm_forward(x, delta, weight, bias, eps, /*save=*/true);
    ctx->save_for_backward({out.h, out.mean, out.rstd, weight});
    ctx->saved_data["x"] = dtype_code(x.scalar_type());
    ctx->saved_data["delta"] = dtype_code(delta.scalar_type());
    ctx->saved_data["y"] = dtype_code(out.y.scalar_type());
    ctx->saved_data["delta_rows"] = delta.dim() == 3 ? delta.size(1) : int64_t{0};
    return {out.h, out.y};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    auto g =
        norm_backward(grads[1], grads[0], s[0], s[1], s[2], s[3], code_dtype(ctx->saved_data["x"]),
                      code_dtype(ctx->saved_data["delta"]), code_dtype(ctx->saved_data["y"]),
                      /*has_delta=*/true, ctx->saved_data["delta_rows"].toInt());
    return {g[0], g[1], g[2], g[3], torch::Tensor()};
  }
};

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
#endif

bool fused_mlp(const torch::Tensor& x, const torch::Tensor& fc, const torch::Tensor& proj) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
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
#else
  (void)x, (void)fc, (void)proj;
  return false;
#endif
}

torch::Tensor mlp_fused(const torch::Tensor& x, const torch::Tensor& fc,
                        const torch::Tensor& proj) {
  if (!fused_mlp(x, fc, proj))
    throw std::logic_error("mlp_fused: no fused MLP for these tensors in this build");
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  const bool grad = torch::GradMode::is_enabled() &&
                    (x.requires_grad() || fc.requires_grad() || proj.requires_grad());
  if (!grad) return mlp_forward(x, fc, proj, nullptr);  // evaluation: nothing kept
  return MlpFunction::apply(x, fc, proj);
#else
  return {};
#endif
}

bool fused_layer_norm(const torch::Tensor& x, const torch::Tensor& delta,
                      const torch::Tensor& weight, const torch::Tensor& bias) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  if (!x.is_cuda() || x.dim() < 1 || !bf16_or_fp32(x)) return false;
  const int64_t d = x.size(-1);
  if (d < 4 || d > 1024 || d % 4 != 0) return false;  // the kernels move packs of 4 features
  if (x.is_contiguous() && !aligned16(x)) return false;
  for (const torch::Tensor* p : {&weight, &bias})
    if (!p->defined() || p->scalar_type() != torch::kFloat || p->dim() != 1 || p->numel() != d ||
        !p->is_contiguous() || p->device() != x.device())
      return false;
  if (delta.defined() &&
      (!(delta.sizes() == x.sizes() || longer_delta(x, delta)) || !bf16_or_fp32(delta) ||
       delta.device() != x.device() || (delta.is_contiguous() && !aligned16(delta))))
    return false;
  return !at::autocast::is_autocast_enabled(at::kCUDA) ||
         at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16;
#else
  (void)x, (void)delta, (void)weight, (void)bias;
  return false;
#endif
}

std::pair<torch::Tensor, torch::Tensor> layer_norm_fused(const torch::Tensor& x,
                                                         const torch::Tensor& delta,
                                                         const torch::Tensor& weight,
                                                         const torch::Tensor& bias, double eps) {
  if (!fused_layer_norm(x, delta, weight, bias))
    throw std::logic_error("layer_norm_fused: no fused kernel for these tensors in this build");
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  const bool grad = torch::GradMode::is_enabled() &&
                    (x.requires_grad() || weight.requires_grad() || bias.requires_grad() ||
                     (delta.defined() && delta.requires_grad()));
  if (!grad) {
    auto out = norm_forward(x, delta, weight, bias, eps, /*save=*/false);
    return {out.h, out.y};
  }
  if (!delta.defined()) return {torch::Tensor(), NormFunction::apply(x, weight, bias, eps)};
  auto outs = AddNormFunction::apply(x, delta, weight, bias, eps);
  return {outs[0], outs[1]};
#else
  (void)eps;
  return {};
#endif
}

#if defined(HOURGLASS_WITH_CUDA_KERNELS)
namespace {

// ShortenInput's launch: forward (h, g from first, second) or backward (dfirst, dsecond from dh,
// dg); the tensors' dtypes name the kernel's.
void launch_shorten_input(cuda_kernels::ShortenInput& a, const torch::Tensor& like,
                          torch::ScalarType first, torch::ScalarType second, int64_t group_rows,
                          int64_t shift) {
  a.batch = like.size(0);
  a.tokens = like.size(1);
  a.d = static_cast<int>(like.size(2));
  a.group_rows = group_rows;
  a.shift = static_cast<int>(shift);
  a.first_bf16 = first == torch::kBFloat16;
  a.second_bf16 = second == torch::kBFloat16;
  const int error = cuda_kernels::shorten_input(a, stream_of(like));
  TORCH_CHECK(error == 0, "shorten_input: kernel launch failed (cudaError ", error, ")");
}

class ShortenInputFunction : public torch::autograd::Function<ShortenInputFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& first,
                                                const torch::Tensor& second, int64_t shift,
                                                int64_t group_rows) {
    const auto h_dtype = at::promote_types(first.scalar_type(), second.scalar_type());
    auto h = torch::empty(first.sizes(), first.options().dtype(h_dtype));
    auto g = torch::empty({first.size(0), group_rows, first.size(2)},
                          first.options().dtype(torch::kBFloat16));
    cuda_kernels::ShortenInput a;
    a.first = first.data_ptr();
    a.second = second.data_ptr();
    a.h = h.data_ptr();
    a.g = g.data_ptr();
    launch_shorten_input(a, first, first.scalar_type(), second.scalar_type(), group_rows, shift);
    ctx->saved_data["first"] = dtype_code(first.scalar_type());
    ctx->saved_data["second"] = dtype_code(second.scalar_type());
    ctx->saved_data["shift"] = shift;
    ctx->saved_data["sizes"] = first.sizes().vec();
    return {h, g};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto first = code_dtype(ctx->saved_data["first"]);
    const auto second = code_dtype(ctx->saved_data["second"]);
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto h_dtype = at::promote_types(first, second);
    const torch::Tensor& any = grads[0].defined() ? grads[0] : grads[1];
    const auto dh = packed(grads[0], h_dtype);
    const int64_t group_rows = grads[1].defined() ? grads[1].size(1) : 0;
    const auto dg = packed(grads[1], torch::kBFloat16);
    auto dfirst = torch::empty(sizes, any.options().dtype(first));
    auto dsecond = first == second ? dfirst : torch::empty(sizes, any.options().dtype(second));
    cuda_kernels::ShortenInput a;
    a.backward = true;
    a.dh = dh.defined() ? dh.data_ptr() : nullptr;
    a.dg = dg.defined() ? dg.data_ptr() : nullptr;
    a.dfirst = dfirst.data_ptr();
    a.dsecond = first == second ? nullptr : dsecond.data_ptr();
    launch_shorten_input(a, dfirst, first, second, group_rows, ctx->saved_data["shift"].toInt());
    return {dfirst, dsecond, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace
#endif

namespace {
thread_local Bf16Weights* innermost_weights = nullptr;
}  // namespace

Bf16Weights::Bf16Weights(const std::vector<torch::Tensor>& weights) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
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
  previous_ = innermost_weights;
  innermost_weights = this;
  active_ = true;
#else
  (void)weights;
#endif
}

bool Bf16Weights::wanted(const torch::Tensor& like) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  return like.is_cuda() && at::autocast::is_autocast_enabled(at::kCUDA) &&
         at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16;
#else
  (void)like;
  return false;
#endif
}

Bf16Weights::~Bf16Weights() {
  if (active_) innermost_weights = previous_;
}

torch::Tensor Bf16Weights::find(const torch::Tensor& w) const {
  const void* impl = w.unsafeGetTensorImpl();
  for (const auto& [key, copy] : copies_)
    if (key == impl) return copy;
  return {};
}

torch::Tensor bf16_weight(const torch::Tensor& w) {
  return innermost_weights && w.defined() ? innermost_weights->find(w) : torch::Tensor();
}

bool fused_shorten_input(const torch::Tensor& first, const torch::Tensor& second) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  auto fits = [&](const torch::Tensor& t) {
    return t.defined() && t.is_cuda() && t.dim() == 3 && bf16_or_fp32(t) && t.is_contiguous() &&
           aligned16(t) && t.device() == first.device();
  };
  return fits(first) && fits(second) && first.sizes() == second.sizes() && first.size(2) % 4 == 0 &&
         at::autocast::is_autocast_enabled(at::kCUDA) &&
         at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16;
#else
  (void)first, (void)second;
  return false;
#endif
}

std::pair<torch::Tensor, torch::Tensor> shorten_input(const torch::Tensor& first,
                                                      const torch::Tensor& second, int64_t shift,
                                                      int64_t group_rows) {
  if (!fused_shorten_input(first, second))
    throw std::logic_error("shorten_input: no fused kernel for these tensors in this build");
  TORCH_CHECK(shift >= 0 && group_rows >= 0 && group_rows <= first.size(1) + shift,
              "shorten_input: ", group_rows, " group rows with a shift of ", shift, " for ",
              first.size(1), " tokens");
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  auto outs = ShortenInputFunction::apply(first, second, shift, group_rows);
  return {outs[0], outs[1]};
#else
  return {};
#endif
}

torch::Tensor apply_layer_norm(const torch::Tensor& x, const RowNorm& norm) {
  if (fused_layer_norm(x, {}, norm.weight, norm.bias))
    return layer_norm_fused(x, {}, norm.weight, norm.bias, norm.eps).second;
  return torch::layer_norm(x, {x.size(-1)}, norm.weight, norm.bias, norm.eps);
}

torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& weight, bool gelu,
                          const torch::Tensor& residual, const RowNorm& norm) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  const int64_t k = weight.dim() == 2 ? weight.size(1) : 0;
  const bool fits = k > 0 && k % 4 == 0 && x.dim() >= 1 && x.size(-1) == k && x.is_cuda() &&
                    x.device() == weight.device() && x.scalar_type() == torch::kFloat &&
                    weight.scalar_type() == torch::kFloat && x.is_contiguous() &&
                    weight.is_contiguous() && x.numel() / k <= cuda_kernels::kRowsLinearMax &&
                    aligned16(x) && aligned16(weight) && !torch::GradMode::is_enabled() &&
                    !at::autocast::is_autocast_enabled(at::kCUDA);
  auto sizes = x.sizes().vec();
  if (!sizes.empty()) sizes.back() = weight.dim() == 2 ? weight.size(0) : 0;
  const bool residual_fits =
      !residual.defined() ||
      (residual.sizes() == torch::IntArrayRef(sizes) && residual.scalar_type() == torch::kFloat &&
       residual.is_contiguous() && residual.device() == x.device());
  auto norm_param_fits = [&](const torch::Tensor& t) {
    return t.numel() == k && t.scalar_type() == torch::kFloat && t.is_contiguous() &&
           t.device() == x.device() && aligned16(t);
  };
  if (fits && residual_fits) {
    const int64_t m = x.numel() / k;
    const bool norm_inside = norm.weight.defined() && m <= cuda_kernels::kRowsLinearNormRows &&
                             k <= cuda_kernels::kRowsLinearNormWidth &&
                             norm_param_fits(norm.weight) && norm_param_fits(norm.bias);
    // A norm that cannot go inside the product (more rows: each warp would take every row's
    // statistics; wider rows) runs first, in its own kernel where there is one.
    const auto input = norm.weight.defined() && !norm_inside ? apply_layer_norm(x, norm) : x;
    auto y = torch::empty(sizes, x.options());
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
  // Under bf16 autocast with the weight's copy at hand (Bf16Weights): the copy, no casts.
  if (auto w16 = bf16_weight(weight);
      w16.defined() && x.is_cuda() && at::autocast::is_autocast_enabled(at::kCUDA)) {
    const auto input = norm.weight.defined() ? apply_layer_norm(x, norm) : x;
    const bool grad =
        torch::GradMode::is_enabled() && (input.requires_grad() || weight.requires_grad());
    auto y = grad ? LinearFunction::apply(input, weight, w16)
                  : torch::matmul(input.to(torch::kBFloat16), w16.t());
    if (gelu) y = torch::gelu(y);
    return residual.defined() ? residual + y : y;
  }
#endif
  auto y = torch::linear(norm.weight.defined() ? apply_layer_norm(x, norm) : x, weight);
  if (gelu) y = torch::gelu(y);
  return residual.defined() ? residual + y : y;
}

bool fused_decode_attention(const torch::Tensor& q) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  return fused_decode(q) && q.dim() == 4 && q.size(2) == 1 &&
         cuda_kernels::decode_attention_head_dim(static_cast<int>(q.size(3)));
#else
  (void)q;
  return false;
#endif
}

torch::Tensor decode_attention_counters(int64_t batch, int64_t heads,
                                        const torch::TensorOptions& options) {
  return torch::zeros({batch * heads}, options.dtype(torch::kInt));
}

torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& k_cache,
                               const torch::Tensor& v_cache, const torch::Tensor& slot,
                               torch::Tensor& counters) {
  if (!fused_decode_attention(q))
    throw std::logic_error("decode_attention: no fused kernel for these tensors in this build");
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
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
#else
  (void)k_cache, (void)v_cache, (void)slot, (void)counters;
  return {};
#endif
}

bool fused_pick(const torch::Device& device) {
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  return device.is_cuda();
#else
  (void)device;
  return false;
#endif
}

PickBuffers::PickBuffers(int64_t length, int64_t n, int64_t ring, const torch::Device& device) {
  const auto on = torch::TensorOptions().device(device);
  uniforms = torch::zeros({length, n}, on.dtype(torch::kDouble));
  forced = torch::full({length}, -1, on.dtype(torch::kInt));
  position = torch::zeros({1}, on.dtype(torch::kLong));
  done = torch::zeros({1}, on.dtype(torch::kInt));
  tokens = torch::zeros({length, n}, on.dtype(torch::kInt));
  probs = torch::zeros({length, n}, on.dtype(torch::kFloat));
  if (ring > 0) logits_ring = torch::zeros({ring, n, 256}, on.dtype(torch::kFloat));
}

void pick_tokens(const torch::Tensor& logits, const SampleOptions& o, PickBuffers& b,
                 torch::Tensor& next_tokens) {
  if (!fused_pick(logits.device()))
    throw std::logic_error("pick_tokens: no fused kernel for these logits in this build");
#if defined(HOURGLASS_WITH_CUDA_KERNELS)
  const int64_t n = logits.size(0), length = b.tokens.size(0);
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) == 256 && logits.is_contiguous() &&
                  logits.scalar_type() == torch::kFloat,
              "pick_tokens: the logits must be contiguous fp32 (n, 256), got ", logits.sizes());
  TORCH_CHECK(b.uniforms.sizes() == b.tokens.sizes() && b.probs.sizes() == b.tokens.sizes() &&
                  b.tokens.size(1) == n && b.forced.numel() == length && next_tokens.numel() == n &&
                  next_tokens.is_contiguous() && next_tokens.scalar_type() == torch::kLong &&
                  (!b.logits_ring.defined() || b.logits_ring.size(1) == n),
              "pick_tokens: buffers for ", b.tokens.size(1), " sequences, logits of ", n);
  cuda_kernels::PickTokens args;
  args.logits = logits.data_ptr<float>();
  args.uniforms = b.uniforms.data_ptr<double>();
  args.forced = b.forced.data_ptr<int>();
  args.position = b.position.data_ptr<int64_t>();
  args.done = b.done.data_ptr<int>();
  args.next_tokens = next_tokens.data_ptr<int64_t>();
  args.tokens = b.tokens.data_ptr<int>();
  args.probs = b.probs.data_ptr<float>();
  if (b.logits_ring.defined()) {
    args.logits_ring = b.logits_ring.data_ptr<float>();
    args.ring = b.logits_ring.size(0);
  }
  args.n = static_cast<int>(n);
  args.length = length;
  args.temperature = o.temperature;
  args.top_k = o.top_k;
  args.top_p = o.top_p;
  const int error = cuda_kernels::pick_tokens(args, stream_of(logits));
  TORCH_CHECK(error == 0, "pick_tokens: kernel launch failed (cudaError ", error, ")");
#else
  (void)o, (void)b, (void)next_tokens;
#endif
}

}  // namespace hg
