// The recursive level and the whole network. See resampling.cpp for the index conventions.
#include "model/hourglass.h"

#include <cmath>
#include <stdexcept>

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
    : index_(static_cast<int>(index)) {
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

torch::Tensor HourglassLevelImpl::run_blocks(torch::nn::ModuleList& blocks, size_t first_cache,
                                             torch::Tensor x, const torch::Tensor& pos,
                                             const AttentionMask& mask, LevelState* state,
                                             Trace* trace) {
  for (size_t i = 0; i < blocks->size(); ++i) {
    const size_t layer = first_cache + i;
    KVCache* cache = state ? &state->blocks[layer] : nullptr;
    x = blocks[i]->as<BlockImpl>()->forward(x, pos, mask, cache, trace,
                                            level_name(index_) + "_layer" + std::to_string(layer));
  }
  return x;  // (B, c, D)
}

torch::Tensor HourglassLevelImpl::forward(const torch::Tensor& x, LevelState* state, Trace* trace) {
  const int64_t n = state ? state->n : 0, c = x.size(1);
  const auto device = x.device();
  auto pos = level_positions(n, c, factor_, device);  // (c)
  const AttentionMask mask = self_mask(n, c, device);
  auto h = run_blocks(pre_, 0, x, pos, mask, state, trace);  // (B, c, D)
  if (trace) trace->activations.emplace_back(level_name(index_), h);
  if (inner_) {
    const int64_t b = h.size(0), d = h.size(2);
    torch::Tensor recent = state && state->recent.defined()
                               ? state->recent
                               : torch::zeros({b, k_ - 1, d}, h.options());  // (B, k-1, D)
    auto ext = torch::cat({recent, h}, 1);  // (B, k-1+c, D): shifted rows n .. n+c+k-2
    auto z = shorten_(ext, n, state ? &state->shorten_cache : nullptr, trace,
                      level_name(index_) + "_shorten");  // (B, m, D)
    torch::Tensor y_new = z.size(1) > 0 ? inner_->forward(z, state ? state->inner.get() : nullptr,
                                                          trace)
                                        : z;  // (B, m, D)
    torch::Tensor y = y_new;
    if (n % k_ != 0) {
      TORCH_CHECK(state && state->y_last.defined(), "Level: chunk starts inside a group at ", n,
                  " without a decoding state");
      y = torch::cat({state->y_last, y_new}, 1);  // (B, r, D)
    }
    h = h + upsample_(y, y_new, h, n, state ? &state->upsample_cache : nullptr, trace,
                      level_name(index_) + "_upsample");  // (B, c, D)
    if (state) {
      state->recent = ext.narrow(1, ext.size(1) - (k_ - 1), k_ - 1);  // (B, k-1, D)
      state->y_last = y.narrow(1, y.size(1) - 1, 1);                  // (B, 1, D)
    }
    h = run_blocks(post_, pre_->size(), h, pos, mask, state, trace);
  }
  if (state) state->n += c;
  return h;  // (B, c, D)
}

HourglassImpl::HourglassImpl(const ModelConfig& config) : config_(config) {
  config_.validate();
  const Hierarchy hierarchy = config_.parsed_hierarchy();
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
    const bool residual = name.size() >= 15 && (name.rfind("attn.out.weight") == name.size() - 15 ||
                                                name.rfind("mlp.proj.weight") == name.size() - 15);
    p.normal_(0.0, residual ? residual_std : 0.02);
  }
}

torch::Tensor HourglassImpl::logits(const torch::Tensor& tokens, LevelState* state, Trace* trace) {
  TORCH_CHECK(tokens.dim() == 2, "Hourglass: tokens must be (B, T), got ", tokens.sizes());
  auto h = root_->forward(embed_(tokens), state, trace);  // (B, T, D)
  h = ln_final_(h);
  if (head_) return head_(h);                                        // (B, T, 256)
  return torch::linear(h, embed_->weight.narrow(0, 0, kVocabSize));  // (B, T, 256)
}

torch::Tensor HourglassImpl::forward(const torch::Tensor& tokens, Trace* trace) {
  return logits(tokens, nullptr, trace);
}

torch::Tensor HourglassImpl::forward_chunk(const torch::Tensor& tokens, DecodeState& state,
                                           Trace* trace) {
  return logits(tokens, &state.root, trace);
}

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
