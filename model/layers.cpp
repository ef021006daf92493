// Pre-norm blocks: LayerNorm -> attention -> residual; LayerNorm -> MLP (GELU) -> residual.
#include "model/layers.h"

namespace hg {
namespace {

torch::nn::LayerNorm layer_norm(int d_model) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model}));
}

}  // namespace

MlpImpl::MlpImpl(int d_model, int mlp_ratio) {
  const int hidden = d_model * mlp_ratio;
  fc_ = register_module("fc",
                        torch::nn::Linear(torch::nn::LinearOptions(d_model, hidden).bias(false)));
  proj_ = register_module("proj",
                          torch::nn::Linear(torch::nn::LinearOptions(hidden, d_model).bias(false)));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return proj_(torch::gelu(fc_(x)));  // (B, T, D)
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
  auto a = attn_(ln_attn_(x), torch::Tensor(), pos, pos, mask, cache, trace, name);  // (B, T, D)
  auto h = x + torch::dropout(a, dropout_, is_training());
  return h + torch::dropout(mlp_(ln_mlp_(h)), dropout_, is_training());  // (B, T, D)
}

torch::Tensor BlockImpl::step(const torch::Tensor& x, StaticKV& cache, const StepContext& ctx) {
  auto h = x + attn_->step(ln_attn_(x), cache, ctx);  // (B, 1, D)
  return h + mlp_(ln_mlp_(h));                        // (B, 1, D)
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
  auto kv = kv_new.size(1) > 0 ? ln_kv_(kv_new) : kv_new;                // (B, Tk, D)
  auto a = attn_(ln_q_(q), kv, pos_q, pos_k, mask, cache, trace, name);  // (B, Tq, D)
  auto h = q + torch::dropout(a, dropout_, is_training());
  return h + torch::dropout(mlp_(ln_mlp_(h)), dropout_, is_training());  // (B, Tq, D)
}

}  // namespace hg
