// Attention paths, rotary positions and the attention module (docs/MODEL.md, "Attention paths").
#include "model/nn/attention.h"

#include <cmath>
#include <mutex>
#include <tuple>
#include <vector>

#include "model/kernels/fused_ops.h"
#include "model/nn/compat.h"

namespace hg {
namespace {

torch::Tensor causal_mask(int64_t t, const torch::Device& device) {
  return torch::ones({t, t}, torch::dtype(torch::kBool).device(device)).tril();  // (T, T)
}

// Explicit scores with the mask applied, before the softmax: (B, H, Tq, Tk) in float32 at least,
// so that bf16 inputs still get an accurate softmax.
torch::Tensor masked_scores(const torch::Tensor& q, const torch::Tensor& k,
                            const AttentionMask& mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q, k.transpose(-2, -1)).to(torch::kFloat) * scale;  // (B,H,Tq,Tk)
  torch::Tensor allowed = mask.allowed;
  if (mask.causal) {
    TORCH_CHECK(q.size(2) == k.size(2), "attend: a causal mask needs Tq == Tk, got ", q.size(2),
                " and ", k.size(2));
    allowed = causal_mask(q.size(2), q.device());
  }
  if (allowed.defined())
    scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
  return scores;
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> attend_with_weights(const torch::Tensor& q,
                                                            const torch::Tensor& k,
                                                            const torch::Tensor& v,
                                                            const AttentionMask& mask) {
  auto weights = torch::softmax(masked_scores(q, k, mask), -1);  // (B, H, Tq, Tk)
  auto out = torch::matmul(weights.to(v.scalar_type()), v);      // (B, H, Tq, hd)
  return {out, weights};
}

torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const AttentionMask& mask, double dropout, AttentionPath path) {
#if HOURGLASS_HAS_SDPA
  if (path != AttentionPath::kExplicit) {
    std::optional<at::Tensor> attn_mask;
    if (mask.allowed.defined()) attn_mask = mask.allowed;
    return at::scaled_dot_product_attention(q, k, v, attn_mask, dropout,
                                            mask.causal);  // (B,H,Tq,hd)
  }
#else
  TORCH_CHECK(path != AttentionPath::kSdpa,
              "attend: scaled_dot_product_attention needs libtorch >= 2.0; this is ",
              TORCH_VERSION);
#endif
  auto weights = torch::softmax(masked_scores(q, k, mask), -1).to(v.scalar_type());
  if (dropout > 0.0) weights = torch::dropout(weights, dropout, /*train=*/true);
  return torch::matmul(weights, v);  // (B, H, Tq, hd)
}

namespace {

// cos and sin of positions * inv_freq, laid out for the whole head dimension so that rotation is
// x * cos + swap_halves(x) * sin (sin's first half negated): (T, hd) each, in the dtype of x.
struct RotaryTable {
  torch::Tensor positions;  // held, so that its address cannot be reused while it is cached
  int64_t version = 0;
  int64_t head_dim = 0;
  double base = 0.0;
  torch::ScalarType dtype = torch::kFloat;
  torch::Tensor cos, sin;
};

RotaryTable make_rotary_table(const torch::Tensor& positions, int64_t head_dim, double base,
                              torch::ScalarType dtype) {
  RotaryTable table;
  table.positions = positions;
  table.version = static_cast<int64_t>(positions._version());
  table.head_dim = head_dim;
  table.base = base;
  table.dtype = dtype;
  std::tie(table.cos, table.sin) = rotary_tables(positions, head_dim, base, dtype);
  return table;
}

}  // namespace

void keep_for_graphs(const torch::Tensor& t) {
  static std::mutex mutex;
  static std::vector<torch::Tensor> held;  // a few small tensors per captured graph
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& h : held)
    if (h.is_same(t)) return;
  held.push_back(t);
}

namespace {

// Every layer of a level rotates by the same positions tensor, and level_positions() hands out the
// same tensor for the same span: its table is made once, not on every step (a few per thread are
// kept; a table holds its positions, so a match is that very tensor).
const RotaryTable& rotary_table(const torch::Tensor& positions, int64_t head_dim, double base,
                                torch::ScalarType dtype) {
  thread_local std::vector<RotaryTable> tables;
  for (const auto& t : tables)
    if (t.positions.unsafeGetTensorImpl() == positions.unsafeGetTensorImpl() &&
        t.version == static_cast<int64_t>(positions._version()) && t.head_dim == head_dim &&
        t.base == base && t.dtype == dtype) {
      if (capturing_graph(positions.device())) {  // every replay reads them
        keep_for_graphs(t.cos);
        keep_for_graphs(t.sin);
      }
      used_on_current_stream(t.cos);
      used_on_current_stream(t.sin);
      return t;
    }
  // A table made while a CUDA graph is captured holds nothing until the graph runs: not kept.
  thread_local RotaryTable recorded;
  if (capturing_graph(positions.device())) {
    recorded = make_rotary_table(positions, head_dim, base, dtype);
    return recorded;
  }
  if (tables.size() >= 8) tables.erase(tables.begin());
  tables.push_back(make_rotary_table(positions, head_dim, base, dtype));
  return tables.back();
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> rotary_tables(const torch::Tensor& positions,
                                                      int64_t head_dim, double base,
                                                      torch::ScalarType dtype) {
  const int64_t half = head_dim / 2;
  auto options = torch::dtype(torch::kFloat).device(positions.device());
  auto inv_freq = torch::pow(base, -torch::arange(0, half, options) / static_cast<double>(half));
  auto angles = positions.to(torch::kFloat).unsqueeze(1) * inv_freq.unsqueeze(0);  // (T, hd/2)
  auto cos = angles.cos(), sin = angles.sin();                                     // (T, hd/2)
  return {torch::cat({cos, cos}, -1).to(dtype), torch::cat({-sin, sin}, -1).to(dtype)};  // (T, hd)
}

torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto swapped = torch::cat({x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);  // (B,H,T,hd)
  return torch::addcmul(x * cos, swapped, sin);  // (B, H, T, hd)
}

namespace {

// rotate(x, cos, sign * sin): one fused kernel on CUDA (fused_ops.h), else the op-by-op rotation.
torch::Tensor rotate_signed(const torch::Tensor& x, const torch::Tensor& cos,
                            const torch::Tensor& sin, double sign) {
  if (can_fuse_rotary(x)) return rotary_fused(x, cos, sin, sign);
  return rotate(x, cos, sign > 0.0 ? sin : -sin);
}

// The rotation with a backward of its own. It is orthogonal, so its gradient is the inverse
// rotation, rotate(g, cos, -sin): one pass, where autograd would record the backward of a cat, a
// mul and an addcmul (slices, zero fills and sums) for every rotated tensor.
class Rotation : public torch::autograd::Function<Rotation> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& cos, const torch::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rotate_signed(x, cos, sin, 1.0);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {rotate_signed(grads[0], saved[0], saved[1], -1.0), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& positions, double base) {
  // In fp32 on the CPU; in the activations' own dtype under autocast (bf16), as the reference
  // implementations do, which halves the memory traffic of the rotation.
  const RotaryTable& table = rotary_table(positions, x.size(-1), base, x.scalar_type());
  return Rotation::apply(x, table.cos, table.sin);  // (B, H, T, hd)
}

torch::Tensor level_positions(int64_t start, int64_t count, int64_t factor,
                              const torch::Device& device) {
  // The same positions tensor for the same span, so that its rotary table (keyed on the tensor)
  // is made once, not on every training step: a few kept per thread, none made during a capture
  // (it would hold nothing until the graph runs), and any a capture reads kept for good.
  struct Kept {
    int64_t start, count, factor;
    torch::Device device;
    torch::Tensor positions;
  };
  thread_local std::vector<Kept> kept;
  for (const auto& k : kept)
    if (k.start == start && k.count == count && k.factor == factor && k.device == device) {
      if (capturing_graph(device)) keep_for_graphs(k.positions);  // every replay reads it
      used_on_current_stream(k.positions);
      return k.positions;
    }
  auto positions = torch::arange(start, start + count, torch::dtype(torch::kFloat).device(device)) *
                   static_cast<double>(factor);  // (count)
  if (capturing_graph(device)) return positions;
  if (kept.size() >= 16) kept.erase(kept.begin());
  kept.push_back({start, count, factor, device, positions});
  return positions;
}

AttentionImpl::AttentionImpl(int d_model, int n_heads, double dropout, double rotary_base)
    : n_heads_(n_heads), dropout_(dropout), rotary_base_(rotary_base) {
  qkv_ = register_module(
      "qkv", torch::nn::Linear(torch::nn::LinearOptions(d_model, 3 * d_model).bias(false)));
  out_ = register_module("out",
                         torch::nn::Linear(torch::nn::LinearOptions(d_model, d_model).bias(false)));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& xq, const torch::Tensor& kv_new,
                                     const torch::Tensor& pos_q, const torch::Tensor& pos_k,
                                     const AttentionMask& mask, KVCache* cache, Trace* trace,
                                     const std::string& name) {
  const int64_t b = xq.size(0), tq = xq.size(1), d = xq.size(2), hd = d / n_heads_;
  auto heads = [&](const torch::Tensor& t) {
    return t.view({b, t.size(1), n_heads_, hd}).transpose(1, 2);  // (B, H, T, hd)
  };
  torch::Tensor q, k, v;
  bool rotated = false;
  if (!kv_new.defined()) {
    auto qkv = linear_rows(xq, qkv_->weight);  // (B, Tq, 3D)
    if (can_fuse_qkv_rotary(qkv, n_heads_) && pos_q.is_same(pos_k)) {
      // One launch for the query's and key's rotation, one for the whole gradient (fused_ops.h).
      const RotaryTable& table = rotary_table(pos_q, hd, rotary_base_, qkv.scalar_type());
      std::tie(q, k, v) = qkv_rotary(qkv, table.cos, table.sin, n_heads_);
      rotated = true;
    } else {
      auto parts = qkv.chunk(3, -1);  // 3 x (B, Tq, D)
      q = heads(parts[0]), k = heads(parts[1]), v = heads(parts[2]);
    }
  } else {
    const auto& w = qkv_->weight;                   // (3D, D)
    q = heads(linear_rows(xq, w.narrow(0, 0, d)));  // (B, H, Tq, hd)
    if (kv_new.size(1) > 0) {
      auto kv = linear_rows(kv_new, w.narrow(0, d, 2 * d)).chunk(2, -1);  // 2 x (B, Tk, D)
      k = heads(kv[0]), v = heads(kv[1]);
    }
  }
  if (!rotated) {
    q = apply_rotary(q, pos_q, rotary_base_);
    if (k.defined()) k = apply_rotary(k, pos_k, rotary_base_);
  }
  if (cache) {
    if (cache->k.defined() && k.defined()) {
      k = torch::cat({cache->k, k}, 2);  // (B, H, t + Tk, hd)
      v = torch::cat({cache->v, v}, 2);
    } else if (cache->k.defined()) {
      k = cache->k, v = cache->v;
    }
    cache->k = k, cache->v = v;
  }
  TORCH_CHECK(k.defined(), "Attention(", name, "): no keys to attend to");
  if (tq == 0) return torch::zeros({b, 0, d}, xq.options());  // cache update only
  torch::Tensor out;
  if (trace) {
    auto [o, weights] = attend_with_weights(q, k, v, mask);
    trace->attention.emplace_back(name, weights);
    out = o;
  } else {
    out = attend(q, k, v, mask, is_training() ? dropout_ : 0.0, path);
  }
  return linear_rows(out.transpose(1, 2).reshape({b, tq, d}), out_->weight);  // (B, Tq, D)
}

int AttentionImpl::head_dim() const { return static_cast<int>(qkv_->weight.size(1)) / n_heads_; }

StaticKV AttentionImpl::make_static_cache(int64_t batch, int64_t capacity,
                                          const torch::TensorOptions& o) const {
  return {torch::zeros({batch, n_heads_, capacity, head_dim()}, o),
          torch::zeros({batch, n_heads_, capacity, head_dim()}, o),
          decode_attention_counters(batch, n_heads_, o)};
}

torch::Tensor AttentionImpl::step(const torch::Tensor& x, StaticKV& cache, const StepContext& ctx,
                                  const RowNorm& norm, const torch::Tensor& residual) {
  const int64_t b = x.size(0), d = x.size(2), hd = d / n_heads_;
  auto qkv = linear_rows(x, qkv_->weight, false, {}, norm);  // (B, 1, 3D)
  torch::Tensor q;                                           // (B, H, 1, hd)
  if (!ctx.cos_row.defined()) {  // the level chose the fused kernel (can_fuse_decode)
    q = rotary_kv_step(qkv, ctx.cos, ctx.sin, ctx.slot, cache.k, cache.v);  // fused_ops.h
  } else {
    auto parts = qkv.view({b, 1, 3, n_heads_, hd});                     // (B, 1, 3, H, hd)
    auto qk = rotate(parts.narrow(2, 0, 2), ctx.cos_row, ctx.sin_row);  // (B, 1, 2, H, hd)
    q = qk.select(2, 0).transpose(1, 2);                                // (B, H, 1, hd)
    cache.k.index_copy_(2, ctx.slot, qk.select(2, 1).transpose(1, 2));
    cache.v.index_copy_(2, ctx.slot, parts.select(2, 2).transpose(1, 2));
  }
  const int64_t capacity = cache.k.size(2);
  torch::Tensor out;
#if HOURGLASS_HAS_SDPA
  if (path == AttentionPath::kSdpa)
    out = at::scaled_dot_product_attention(q, cache.k, cache.v, ctx.bias);  // (B, H, 1, hd)
#endif
  // The fused kernel reads only the rows written so far (fused_ops.h); the tests force the
  // explicit path to compare it with.
  if (path == AttentionPath::kAuto && can_fuse_decode_attention(q))
    out = decode_attention(q, cache.k, cache.v, ctx.slot, cache.counters);  // (B, H, 1, hd)
  if (!out.defined()) {
    // One query per sequence and head: a bias-add matrix product, a softmax and another product
    // spread over every key (SDPA's fused kernels give a query row to one block, which for a
    // single query leaves most of the GPU idle).
    auto keys = cache.k.view({b * n_heads_, capacity, hd});
    auto scores = torch::baddbmm(ctx.bias, q.reshape({b * n_heads_, 1, hd}), keys.transpose(1, 2),
                                 /*beta=*/1.0, /*alpha=*/1.0 / std::sqrt(static_cast<double>(hd)));
    auto weights = torch::softmax(scores, -1, torch::kFloat).to(cache.v.scalar_type());
    out =
        torch::bmm(weights, cache.v.view({b * n_heads_, capacity, hd})).view({b, n_heads_, 1, hd});
  }
  return linear_rows(out.transpose(1, 2).reshape({b, 1, d}), out_->weight, false,
                     residual);  // (B, 1, D)
}

}  // namespace hg
