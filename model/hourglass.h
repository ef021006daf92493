// The Hourglass network (Nawrot et al. 2021; DESIGN.md §3): token embedding, a recursive stack of
// levels (pre-layers, shift + shorten, the next level, upsample + residual, post-layers), a final
// norm and the output projection. One forward serves training (the whole sequence, no state) and
// incremental decoding (a chunk of new tokens with per-level caches). Not the sampler: sampler.h.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "model/attention.h"
#include "model/config.h"
#include "model/layers.h"
#include "model/resampling.h"

namespace hg {

// What one level remembers between chunks while decoding.
struct LevelState {
  int64_t n = 0;                // tokens of this level seen so far
  std::vector<KVCache> blocks;  // one per block: pre-layers, then post-layers
  torch::Tensor recent;         // (B, k-1, D) the last pre-layer outputs: the shift window
  torch::Tensor y_last;         // (B, 1, D) next level's output for the newest shortened token
  KVCache shorten_cache, upsample_cache;  // for attention shortening / upsampling
  std::unique_ptr<LevelState> inner;
};

class HourglassLevelImpl : public torch::nn::Module {
 public:
  HourglassLevelImpl(const ModelConfig& config, const Hierarchy& hierarchy, size_t index);
  // x (B, c, D): this level's new tokens, positions n .. n+c-1 where n = state ? state->n : 0.
  torch::Tensor forward(const torch::Tensor& x, LevelState* state, Trace* trace);
  LevelState make_state() const;

 private:
  torch::Tensor run_blocks(torch::nn::ModuleList& blocks, size_t first_cache, torch::Tensor x,
                           const torch::Tensor& pos, const AttentionMask& mask, LevelState* state,
                           Trace* trace);

  int index_, factor_, k_;
  torch::nn::ModuleList pre_{nullptr}, post_{nullptr};
  Shorten shorten_{nullptr};
  std::shared_ptr<HourglassLevelImpl> inner_;
  Upsample upsample_{nullptr};
};
TORCH_MODULE(HourglassLevel);

struct DecodeState {
  LevelState root;
  int64_t position() const { return root.n; }
};

class HourglassImpl : public torch::nn::Module {
 public:
  explicit HourglassImpl(const ModelConfig& config);  // validates the config

  // tokens (B, T) int64 in [0, 256], BOS = 256 -> logits (B, T, 256). Any T: a ragged last group
  // is handled exactly as padding to the total factor would (DESIGN.md §3).
  torch::Tensor forward(const torch::Tensor& tokens, Trace* trace = nullptr);
  // The next c tokens after what `state` has seen; appends to its caches.
  torch::Tensor forward_chunk(const torch::Tensor& tokens, DecodeState& state,
                              Trace* trace = nullptr);
  DecodeState make_state() const { return DecodeState{root_->make_state()}; }

  const ModelConfig& config() const { return config_; }
  void set_attention_path(AttentionPath path);
  int64_t num_parameters() const;

 private:
  torch::Tensor logits(const torch::Tensor& tokens, LevelState* state, Trace* trace);

  ModelConfig config_;
  torch::nn::Embedding embed_{nullptr};  // (257, D): 256 token values and BOS
  HourglassLevel root_{nullptr};
  torch::nn::LayerNorm ln_final_{nullptr};
  torch::nn::Linear head_{nullptr};  // (256, D), only when embeddings are not tied
};
TORCH_MODULE(Hourglass);

}  // namespace hg
