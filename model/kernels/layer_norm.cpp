// The LayerNorm family's libtorch side (layer_norm.h): the forward and backward launches of
// cuda/layer_norm.cu and their autograd functions, with and without the residual add. Built only
// with the CUDA kernels; no_cuda_kernels.cpp stands in for it elsewhere.
#include "model/kernels/layer_norm.h"

#include <ATen/autocast_mode.h>

#include <utility>
#include <vector>

#include "model/kernels/cuda_tensors.h"

namespace hg {
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

}  // namespace

bool can_fuse_layer_norm(const torch::Tensor& x, const torch::Tensor& delta,
                         const torch::Tensor& weight, const torch::Tensor& bias) {
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
}

std::pair<torch::Tensor, torch::Tensor> layer_norm_fused(const torch::Tensor& x,
                                                         const torch::Tensor& delta,
                                                         const torch::Tensor& weight,
                                                         const torch::Tensor& bias, double eps) {
  if (!can_fuse_layer_norm(x, delta, weight, bias))
    throw std::logic_error("layer_norm_fused: no fused kernel for these tensors in this build");
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
}

}  // namespace hg
