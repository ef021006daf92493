// Pre-norm blocks: LayerNorm -> attention -> residual; LayerNorm -> MLP (GELU) -> residual.
#include "model/nn/layers.h"

#include "model/kernels/fused_ops.h"

namespace hg {
namespace {

torch::nn::LayerNorm layer_norm(int d_model) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model}));
}

// h + dropout(MLP(y)): with dropout active the add stays apart; else it goes into the MLP's last
// product (Mlp::forward with a residual).
torch::Tensor mlp_residual(Mlp& mlp, const torch::Tensor& h, const torch::Tensor& y, double dropout,
                           bool training) {
  if (training && dropout > 0.0) return h + torch::dropout(mlp(y), dropout, true);
  return mlp->forward(y, h);  // (B, T, D)
}

}  // namespace

torch::Tensor pre_norm(torch::nn::LayerNorm& ln, const torch::Tensor& x) {
  return apply_layer_norm(x, row_norm(ln));
}

std::pair<torch::Tensor, torch::Tensor> add_norm(torch::nn::LayerNorm& ln, const torch::Tensor& x,
                                                 const torch::Tensor& delta) {
  if (can_fuse_layer_norm(x, delta, ln->weight, ln->bias))
    return layer_norm_fused(x, delta, ln->weight, ln->bias, ln->options.eps());
  // delta may hold more rows than x (an upsampled tensor of whole groups): its first ones count.
  auto h =
      x + (delta.dim() == 3 && delta.size(1) > x.size(1) ? delta.narrow(1, 0, x.size(1)) : delta);
  return {h, ln(h)};
}

RowNorm row_norm(const torch::nn::LayerNorm& ln) {
  return {ln->weight, ln->bias, ln->options.eps()};
}

MlpImpl::MlpImpl(int d_model, int mlp_ratio) {
  const int hidden = d_model * mlp_ratio;
  fc_ = register_module("fc",
                        torch::nn::Linear(torch::nn::LinearOptions(d_model, hidden).bias(false)));
  proj_ = register_module("proj",
                          torch::nn::Linear(torch::nn::LinearOptions(hidden, d_model).bias(false)));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  if (can_fuse_mlp(x, fc_->weight, proj_->weight)) {  // bf16 training on CUDA
    auto y = mlp_fused(x, fc_->weight, proj_->weight);
    return residual.defined() ? residual + y : y;  // (B, T, D)
  }
  // linear_rows: the decoding steps' few rows in one kernel each (fused_ops.h).
  return linear_rows(linear_rows(x, fc_->weight, /*gelu=*/true), proj_->weight, false,
                     residual);  // (B, T, D)
}

torch::Tensor MlpImpl::step(const torch::Tensor& h, const RowNorm& norm) {
  return linear_rows(linear_rows(h, fc_->weight, /*gelu=*/true, {}, norm), proj_->weight, false,
                     h);  // (B, 1, D)
}

BlockImpl::BlockImpl(int d_model, int n_heads, int mlp_ratio, double dropout, double rotary_base)
    : dropout_(dropout) {
  ln_attn_ = register_module("ln_attn", layer_norm(d_model));
  attn_ = register_module("attn", Attention(d_model, n_heads, dropout, rotary_base));
  ln_mlp_ = register_module("ln_mlp", layer_norm(d_model));
  mlp_ = register_module("mlp", Mlp(d_model, mlp_ratio));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& pos,
                                 const AttentionMask& mask, KVCache* cache, Trace* trace,
                                 const std::string& name) {
  auto [h, m] = forward_pending(x, torch::Tensor(), pos, mask, cache, trace, name);
  return h + m;  // (B, T, D)
}

std::pair<torch::Tensor, torch::Tensor> BlockImpl::forward_pending(
    const torch::Tensor& x, const torch::Tensor& pending, const torch::Tensor& pos,
    const AttentionMask& mask, KVCache* cache, Trace* trace, const std::string& name) {
  torch::Tensor base = x, y;  // base: x + pending
  if (pending.defined())
    std::tie(base, y) = add_norm(ln_attn_, x, pending);
  else
    y = pre_norm(ln_attn_, x);
  auto a = attn_(y, torch::Tensor(), pos, pos, mask, cache, trace, name);
  auto [h, z] = add_norm(ln_mlp_, base, torch::dropout(a, dropout_, is_training()));  // (B, T, D)
  auto m = mlp_(z);
  if (is_training() && dropout_ > 0.0) m = torch::dropout(m, dropout_, true);
  return {h, m};  // (B, T, D) each
}

torch::Tensor BlockImpl::step(const torch::Tensor& x, StaticKV& cache, const StepContext& ctx) {
  // The norms are applied inside the products that read them (fused_ops.h: linear_rows).
  auto h = attn_->step(x, cache, ctx, row_norm(ln_attn_), /*residual=*/x);  // (B, 1, D)
  return mlp_->step(h, row_norm(ln_mlp_));                                  // (B, 1, D)
}

CrossBlockImpl::CrossBlockImpl(int d_model, int n_heads, int mlp_ratio, double dropout,
                               double rotary_base)
    : dropout_(dropout) {
  ln_q_ = register_module("ln_q", layer_norm(d_model));
  ln_kv_ = register_module("ln_kv", layer_norm(d_model));
  attn_ = register_module("attn", Attention(d_model, n_heads, dropout, rotary_base));
  ln_mlp_ = register_module("ln_mlp", layer_norm(d_model));
  mlp_ = register_module("mlp", Mlp(d_model, mlp_ratio));
}

torch::Tensor CrossBlockImpl::forward(const torch::Tensor& q, const torch::Tensor& kv_new,
                                      const torch::Tensor& pos_q, const torch::Tensor& pos_k,
                                      const AttentionMask& mask, KVCache* cache, Trace* trace,
                                      const std::string& name) {
  auto kv = kv_new.size(1) > 0 ? pre_norm(ln_kv_, kv_new) : kv_new;                // (B, Tk, D)
  auto a = attn_(pre_norm(ln_q_, q), kv, pos_q, pos_k, mask, cache, trace, name);  // (B, Tq, D)
  auto [h, y] = add_norm(ln_mlp_, q, torch::dropout(a, dropout_, is_training()));
  return mlp_residual(mlp_, h, y, dropout_, is_training());  // (B, Tq, D)
}

}  // namespace hg
