// Chunked shortening and upsampling. Index conventions (level of factor K, step k):
//   x index i  <->  shifted index s = i + k - 1  <->  position K * i (in original tokens)
//   shortened j summarises x indices jk-k+1 .. jk and sits at position K * k * j.
#include "model/nn/resampling.h"

#include "model/kernels/fused_ops.h"

namespace hg {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Rows (q0 + a) of a (Tq, Tk) mask allow keys b <= limit(a): a mask "key index <= per-query limit".
torch::Tensor limit_mask(const torch::Tensor& limits, int64_t keys) {
  auto b = torch::arange(keys, torch::dtype(torch::kLong).device(limits.device()));
  return b.unsqueeze(0) <= limits.unsqueeze(1);  // (Tq, Tk)
}

}  // namespace

ShortenSpan shorten_span(int64_t n, int64_t c, int64_t k) {
  ShortenSpan span;
  span.j0 = (n + k - 1) / k;                   // first j with jk >= n
  const int64_t j1 = floor_div(n + c - 1, k);  // last j with jk <= n + c - 1
  span.m = std::max<int64_t>(0, j1 - span.j0 + 1);
  return span;
}

ShortenImpl::ShortenImpl(const ModelConfig& config, int k, int factor)
    : kind_(config.shorten), k_(k), factor_(factor) {
  const int d = config.d_model;
  if (has_linear_map(kind_))
    linear_ = register_module("linear",
                              torch::nn::Linear(torch::nn::LinearOptions(k * d, d).bias(false)));
  if (is_attention(kind_))
    cross_ = register_module("cross", CrossBlock(d, config.n_heads, config.mlp_ratio,
                                                 config.dropout, config.rotary_base));
  if (config.resample_norm)
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
}

torch::Tensor ShortenImpl::normed(const torch::Tensor& x) { return norm_ ? pre_norm(norm_, x) : x; }

torch::Tensor ShortenImpl::forward(const torch::Tensor& ext, int64_t n, KVCache* cache,
                                   Trace* trace, const std::string& name) {
  const int64_t b = ext.size(0), d = ext.size(2), c = ext.size(1) - (k_ - 1);
  const ShortenSpan span = shorten_span(n, c, k_);
  // ext row r is shifted index n + r; group j starts at shifted index jk.
  auto groups = ext.narrow(1, span.j0 * k_ - n, span.m * k_);  // (B, m*k, D)
  auto pooled = normed(has_linear_map(kind_) ? linear_(groups.reshape({b, span.m, k_ * d}))
                                             : groups.view({b, span.m, k_, d}).mean(2));  // (B,m,D)
  if (!is_attention(kind_)) return pooled;
  // Attention: pooled query j looks at shifted rows <= jk + k - 1, i.e. x indices <= jk.
  const int64_t s_start = n == 0 ? 0 : n + k_ - 1;  // first shifted index not yet in the cache
  auto kv_new = ext.narrow(1, s_start - n, ext.size(1) - (s_start - n));  // (B, Tk_new, D)
  auto pos_k = level_positions(s_start - (k_ - 1), kv_new.size(1), factor_, ext.device());
  auto pos_q = level_positions(span.j0, span.m, int64_t{factor_} * k_, ext.device());
  const int64_t keys = n + c + k_ - 1;  // all shifted rows so far
  auto limits =
      (torch::arange(span.j0, span.j0 + span.m, torch::dtype(torch::kLong).device(ext.device())) +
       1) *
          k_ -
      1;
  AttentionMask mask{false, limit_mask(limits, keys)};
  // With m == 0 this only appends the new rows to the cache.
  return cross_->forward(pooled, kv_new, pos_q, pos_k, mask, cache, trace, name);  // (B, m, D)
}

torch::Tensor ShortenImpl::forward_groups(const torch::Tensor& g) {
  TORCH_CHECK(kind_ == ShortenKind::kLinear && g.dim() == 3 && g.size(1) % k_ == 0,
              "Shorten::forward_groups: linear shortening of whole groups, got ", g.sizes());
  // linear_rows: under bf16 autocast it reads the weight's bf16 copy (fused_ops.h: Bf16Weights).
  return normed(linear_rows(g.view({g.size(0), g.size(1) / k_, k_ * g.size(2)}),
                            linear_->weight));  // (B, m, D)
}

UpsampleImpl::UpsampleImpl(const ModelConfig& config, int k, int factor)
    : kind_(config.upsample), k_(k), factor_(factor) {
  const int d = config.d_model;
  if (has_linear_map(kind_))
    linear_ = register_module("linear",
                              torch::nn::Linear(torch::nn::LinearOptions(d, k * d).bias(false)));
  if (is_attention(kind_))
    cross_ = register_module("cross", CrossBlock(d, config.n_heads, config.mlp_ratio,
                                                 config.dropout, config.rotary_base));
  if (config.resample_norm)
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
}

torch::Tensor UpsampleImpl::normed(const torch::Tensor& x) {
  return norm_ ? pre_norm(norm_, x) : x;
}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& y, const torch::Tensor& y_new,
                                    const torch::Tensor& x_res, int64_t n, KVCache* cache,
                                    Trace* trace, const std::string& name, bool whole_groups) {
  const int64_t b = y.size(0), r = y.size(1), d = y.size(2), c = x_res.size(1);
  TORCH_CHECK(!whole_groups || (n == 0 && !is_attention(kind_) && r * k_ >= c),
              "Upsample: whole groups only from the start, for repeat and linear upsampling");
  const int64_t offset = n - (n / k_) * k_;  // position of n inside its group
  torch::Tensor spread;
  if (has_linear_map(kind_))
    spread = normed(linear_rows(y, linear_->weight).view({b, r * k_, d}));  // (B, r*k, D)
  else
    spread = normed(y).repeat_interleave(k_, 1);  // (B, r*k, D); a norm per row commutes
  if (whole_groups) return spread;                // (B, r*k, D)
  spread = spread.narrow(1, offset, c);           // (B, c, D)
  if (!is_attention(kind_)) return spread;
  // Attention: full-resolution query i looks at shortened tokens <= floor(i/k).
  auto u = spread + x_res;  // (B, c, D)
  const int64_t j_first_new = (n + k_ - 1) / k_;
  const int64_t keys = j_first_new + y_new.size(1);
  auto pos_q = level_positions(n, c, factor_, x_res.device());
  auto pos_k = level_positions(j_first_new, y_new.size(1), int64_t{factor_} * k_, x_res.device());
  auto limits = torch::arange(n, n + c, torch::dtype(torch::kLong).device(x_res.device()))
                    .div(k_, /*rounding_mode=*/"floor");
  AttentionMask mask{false, limit_mask(limits, keys)};
  return cross_->forward(u, y_new, pos_q, pos_k, mask, cache, trace, name) - x_res;  // (B, c, D)
}

torch::Tensor ShortenImpl::step(const torch::Tensor& group) {
  const int64_t b = group.size(0), d = group.size(2);
  TORCH_CHECK(!is_attention(kind_), "Shorten::step: attention shortening has no step");
  if (kind_ == ShortenKind::kLinear)
    return normed(linear_rows(group.reshape({b, 1, k_ * d}), linear_->weight));  // (B, 1, D)
  return normed(group.mean(1, /*keepdim=*/true));                                // (B, 1, D)
}

torch::Tensor UpsampleImpl::step(const torch::Tensor& y, int64_t offset,
                                 const torch::Tensor& residual) {
  const int64_t d = y.size(2);
  TORCH_CHECK(!is_attention(kind_), "Upsample::step: attention upsampling has no step");
  if (kind_ == UpsampleKind::kLinear) {  // only the rows of the weight that make token `offset`
    const auto rows = linear_->weight.narrow(0, offset * d, d);
    if (!norm_) return linear_rows(y, rows, false, residual);  // (B, 1, D)
    return residual + normed(linear_rows(y, rows));            // (B, 1, D)
  }
  return residual + normed(y);  // (B, 1, D)
}

}  // namespace hg
