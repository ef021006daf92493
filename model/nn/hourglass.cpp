// The recursive level and the whole network. See resampling.cpp for the index conventions.
#include "model/nn/hourglass.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>

#include "model/core/strings.h"
#include "model/kernels/fused_ops.h"

namespace hg {
namespace {

// Self-attention over the cached n keys plus the c new ones.
AttentionMask self_mask(int64_t n, int64_t c, const torch::Device& device) {
  if (n == 0) return AttentionMask{true, {}};  // square and causal: the fast path
  if (c == 1) return AttentionMask{};          // one new query sees everything cached
  auto limits = torch::arange(n, n + c, torch::dtype(torch::kLong).device(device));
  auto keys = torch::arange(n + c, torch::dtype(torch::kLong).device(device));
  return AttentionMask{false, keys.unsqueeze(0) <= limits.unsqueeze(1)};  // (c, n+c)
}

std::string level_name(int index) { return "level" + std::to_string(index); }

}  // namespace

HourglassLevelImpl::HourglassLevelImpl(const ModelConfig& config, const Hierarchy& hierarchy,
                                       size_t index)
    : index_(static_cast<int>(index)),
      d_model_(config.d_model),
      head_dim_(config.d_model / config.n_heads),
      rotary_base_(config.rotary_base) {
  const Level& level = hierarchy.levels.at(index);
  factor_ = level.factor;
  k_ = level.shorten_factor;
  auto make_blocks = [&](int count) {
    torch::nn::ModuleList list;
    for (int i = 0; i < count; ++i)
      list->push_back(Block(config.d_model, config.n_heads, config.mlp_ratio, config.dropout,
                            config.rotary_base));
    return list;
  };
  pre_ = register_module("pre", make_blocks(level.pre_layers));
  if (index + 1 < hierarchy.levels.size()) {
    shorten_ = register_module("shorten", Shorten(config, k_, factor_));
    inner_ = register_module("inner",
                             std::make_shared<HourglassLevelImpl>(config, hierarchy, index + 1));
    upsample_ = register_module("upsample", Upsample(config, k_, factor_));
    post_ = register_module("post", make_blocks(level.post_layers));
  }
}

LevelState HourglassLevelImpl::make_state() const {
  LevelState state;
  state.blocks.resize(pre_->size() + (post_ ? post_->size() : 0));
  if (inner_) state.inner = std::make_unique<LevelState>(inner_->make_state());
  return state;
}

std::pair<torch::Tensor, torch::Tensor> HourglassLevelImpl::run_blocks(
    torch::nn::ModuleList& blocks, size_t first_cache, torch::Tensor x, const torch::Tensor& pos,
    const AttentionMask& mask, LevelState* state, Trace* trace, torch::Tensor pending) {
  for (size_t i = 0; i < blocks->size(); ++i) {
    const size_t layer = first_cache + i;
    KVCache* cache = state ? &state->blocks[layer] : nullptr;
    std::tie(x, pending) = blocks[i]->as<BlockImpl>()->forward_pending(
        x, pending, pos, mask, cache, trace, level_name(index_) + "_layer" + std::to_string(layer));
  }
  return {x, pending};  // (B, c, D) each
}

namespace {

torch::Tensor sum(const std::pair<torch::Tensor, torch::Tensor>& parts) {
  return parts.second.defined() ? parts.first + parts.second : parts.first;
}

}  // namespace

torch::Tensor HourglassLevelImpl::forward(const torch::Tensor& x, LevelState* state, Trace* trace,
                                          torch::Tensor* pending) {
  const int64_t n = state ? state->n : 0, c = x.size(1);
  const auto device = x.device();
  auto pos = level_positions(n, c, factor_, device);  // (c)
  const AttentionMask mask = self_mask(n, c, device);
  auto parts = run_blocks(pre_, 0, x, pos, mask, state, trace);
  torch::Tensor h, z;  // (B, c, D); the shortened tokens (B, m, D)
  // A whole sequence on CUDA in bf16 (training, evaluation): the sum, the shift and the groups the
  // linear shortening reads in one kernel each way (fused_ops.h), no zeros concatenated, no copy.
  const bool fused_shorten = inner_ && !state && shorten_->kind() == ShortenKind::kLinear &&
                             parts.second.defined() &&
                             can_fuse_shorten_input(parts.first, parts.second);
  if (fused_shorten) {
    const int64_t groups = shorten_span(0, c, k_).m;
    auto [sum_h, g] = shorten_input(parts.first, parts.second, k_ - 1, groups * k_);
    h = sum_h;
    parts = {};                       // summed into h: not held while the inner levels run
    z = shorten_->forward_groups(g);  // (B, m, D)
  } else if (inner_ || !pending || trace) {
    h = sum(parts);
  }
  if (trace) trace->activations.emplace_back(level_name(index_), h);
  if (inner_ && !fused_shorten) {
    parts = {};  // summed into h: not held while the inner levels run
    const int64_t b = h.size(0), d = h.size(2);
    torch::Tensor recent = state && state->recent.defined()
                               ? state->recent
                               : torch::zeros({b, k_ - 1, d}, h.options());  // (B, k-1, D)
    auto ext = torch::cat({recent, h}, 1);  // (B, k-1+c, D): shifted rows n .. n+c+k-2
    z = shorten_(ext, n, state ? &state->shorten_cache : nullptr, trace,
                 level_name(index_) + "_shorten");                             // (B, m, D)
    if (state) state->recent = ext.narrow(1, ext.size(1) - (k_ - 1), k_ - 1);  // (B, k-1, D)
  }
  if (inner_) {
    torch::Tensor y_new = z.size(1) > 0 ? inner_->forward(z, state ? state->inner.get() : nullptr,
                                                          trace)
                                        : z;  // (B, m, D)
    torch::Tensor y = y_new;
    if (n % k_ != 0) {
      TORCH_CHECK(state && state->y_last.defined(), "Level: chunk starts inside a group at ", n,
                  " without a decoding state");
      y = torch::cat({state->y_last, y_new}, 1);  // (B, r, D)
    }
    // Without a state, the spread of whole groups where the post blocks' first norm adds it.
    const bool whole_groups =
        !state && n == 0 && post_->size() > 0 && !is_attention(upsample_->kind());
    auto up = upsample_(y, y_new, h, n, state ? &state->upsample_cache : nullptr, trace,
                        level_name(index_) + "_upsample",
                        whole_groups);  // (B, c, D) or (B, r k, D), added in the post blocks
    if (state) state->y_last = y.narrow(1, y.size(1) - 1, 1);  // (B, 1, D)
    parts = run_blocks(post_, pre_->size(), h, pos, mask, state, trace, up);
  }
  if (state) state->n += c;
  if (pending) {
    *pending = parts.second;
    return parts.first;  // (B, c, D), to add to *pending
  }
  return inner_ ? sum(parts) : h;  // (B, c, D)
}

StaticLevelState HourglassLevelImpl::make_static_state(int64_t batch, int64_t tokens,
                                                       const torch::TensorOptions& options) {
  StaticLevelState state;
  state.capacity = (tokens + factor_ - 1) / factor_;
  const auto long_options = options.dtype(torch::kLong);
  state.index = torch::zeros({1}, long_options);
  state.bias = torch::full({1, state.capacity}, -std::numeric_limits<float>::infinity(), options);
  std::tie(state.cos, state.sin) =
      rotary_tables(level_positions(0, state.capacity, factor_, options.device()), head_dim_,
                    rotary_base_, options.dtype().toScalarType());  // (capacity, hd)
  for (auto* list : {&pre_, &post_}) {
    if (!*list) continue;
    for (size_t i = 0; i < (*list)->size(); ++i)
      state.blocks.push_back((*list)[i]->as<BlockImpl>()->attention()->make_static_cache(
          batch, state.capacity, options));
  }
  if (inner_) {
    state.recent = torch::zeros({batch, k_ - 1, d_model_}, options);
    state.y_last = torch::zeros({batch, 1, d_model_}, options);
    state.inner =
        std::make_unique<StaticLevelState>(inner_->make_static_state(batch, tokens, options));
  }
  return state;
}

torch::Tensor HourglassLevelImpl::step(const torch::Tensor& x, StaticLevelState& state,
                                       int64_t index) {
  TORCH_CHECK(index < state.capacity, "Level ", index_, ": step at index ", index,
              " beyond the buffers' capacity ", state.capacity);
  // Row `index` becomes visible to this token and the ones after it (graph-safe: the index is
  // read on the device).
  state.bias.index_fill_(1, state.index, 0.0);
  StepContext ctx;
  ctx.slot = state.index;
  ctx.cos = state.cos;
  ctx.sin = state.sin;
  if (!can_fuse_decode(x)) {  // once per level, not per layer
    ctx.cos_row = state.cos.index_select(0, state.index);
    ctx.sin_row = state.sin.index_select(0, state.index);
  }
  ctx.bias = state.bias;
  auto h = x;
  for (size_t i = 0; i < pre_->size(); ++i)
    h = (*pre_)[i]->as<BlockImpl>()->step(h, state.blocks[i], ctx);  // (B, 1, D)
  if (!inner_) {
    state.index.add_(1);  // the next token's row
    return h;             // (B, 1, D)
  }
  auto group = torch::cat({state.recent, h}, 1);  // (B, k, D): x indices index-k+1 .. index
  state.recent.copy_(group.narrow(1, 1, k_ - 1));
  if (index % k_ == 0)  // group index/k is complete: the next level steps
    state.y_last.copy_(inner_->step(shorten_->step(group), *state.inner, index / k_));
  h = upsample_->step(state.y_last, index % k_, /*residual=*/h);  // h + upsampled, (B, 1, D)
  for (size_t i = 0; i < post_->size(); ++i)
    h = (*post_)[i]->as<BlockImpl>()->step(h, state.blocks[pre_->size() + i], ctx);
  state.index.add_(1);  // the next token's row
  return h;             // (B, 1, D)
}

HourglassImpl::HourglassImpl(const ModelConfig& config) : config_(config) {
  config_.validate();
  const Hierarchy hierarchy = config_.parsed_hierarchy();
  for (const Level& level : hierarchy.levels) step_period_ *= level.shorten_factor;
  const int d = config_.d_model;
  embed_ = register_module("embed", torch::nn::Embedding(kVocabSize + 1, d));
  root_ = register_module("root", HourglassLevel(config_, hierarchy, 0));
  ln_final_ = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  if (!config_.tie_embeddings)
    head_ = register_module("head",
                            torch::nn::Linear(torch::nn::LinearOptions(d, kVocabSize).bias(false)));

  // GPT-2 initialisation: N(0, 0.02), residual output projections scaled by 1/sqrt(2 * layers).
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * hierarchy.num_layers());
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    if (p.dim() < 2) continue;
    const bool residual = ends_with(name, "attn.out.weight") || ends_with(name, "mlp.proj.weight");
    p.normal_(0.0, residual ? residual_std : 0.02);
  }
  product_weights_ = find_product_weights();  // the same tensors after to() and loading
}

torch::Tensor HourglassImpl::logits(const torch::Tensor& tokens, LevelState* state, Trace* trace) {
  TORCH_CHECK(tokens.dim() == 2, "Hourglass: tokens must be (B, T), got ", tokens.sizes());
  // Under bf16 autocast on CUDA: the products' weights in bf16, cast in one launch (fused_ops.h).
  Bf16Weights copies(Bf16Weights::wanted(tokens) ? product_weights_ : std::vector<torch::Tensor>{});
  torch::Tensor pending;
  auto h = root_->forward(embed_(tokens), state, trace, &pending);  // (B, T, D) + pending
  h = pending.defined() ? add_norm(ln_final_, h, pending).second : pre_norm(ln_final_, h);
  return linear_rows(h, head_ ? head_->weight : embed_->weight.narrow(0, 0, kVocabSize));
}

std::vector<torch::Tensor> HourglassImpl::find_product_weights() const {
  std::vector<torch::Tensor> out;
  for (const auto& item : named_parameters())
    for (const char* end :
         {"attn.qkv.weight", "attn.out.weight", "mlp.fc.weight", "mlp.proj.weight",
          "shorten.linear.weight", "upsample.linear.weight", "head.weight"})
      if (ends_with(item.key(), end)) out.push_back(item.value());
  return out;
}

torch::Tensor HourglassImpl::forward(const torch::Tensor& tokens, Trace* trace) {
  return logits(tokens, nullptr, trace);
}

torch::Tensor HourglassImpl::forward_chunk(const torch::Tensor& tokens, DecodeState& state,
                                           Trace* trace) {
  return logits(tokens, &state.root, trace);
}

bool HourglassImpl::supports_step(const ModelConfig& config, std::string* why) {
  std::string reason;
  if (is_attention(config.shorten))
    reason = "attention shortening decodes in chunks only";
  else if (is_attention(config.upsample))
    reason = "attention upsampling decodes in chunks only";
  if (why) *why = reason;
  return reason.empty();
}

StaticDecodeState HourglassImpl::make_static_state(int64_t batch, int64_t capacity) {
  std::string why;
  if (!supports_step(config_, &why)) throw std::invalid_argument("step decoding: " + why);
  const auto& w = embed_->weight;
  StaticDecodeState state;
  state.capacity = capacity;
  state.root = root_->make_static_state(batch, capacity, w.options());
  return state;
}

void HourglassImpl::prepare_step(const StaticDecodeState& state) const {
  TORCH_CHECK(state.n < state.capacity, "step decoding: token ", state.n,
              " is beyond the buffers' capacity ", state.capacity);
}

torch::Tensor HourglassImpl::step(const torch::Tensor& tokens, StaticDecodeState& state) {
  auto h = root_->step(embed_(tokens), state.root, state.n);  // (B, 1, D)
  auto logits = linear_rows(h, head_ ? head_->weight : embed_->weight.narrow(0, 0, kVocabSize),
                            false, {}, row_norm(ln_final_));  // (B, 1, 256)
  return logits.select(1, 0);                                 // (B, 256)
}

int64_t HourglassImpl::step_phase(int64_t n) const { return n % step_period_; }

void HourglassImpl::set_attention_path(AttentionPath path) {
  for (auto& module : modules(/*include_self=*/false))
    if (auto* attention = dynamic_cast<AttentionImpl*>(module.get())) attention->path = path;
}

int64_t HourglassImpl::num_parameters() const {
  int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

}  // namespace hg
