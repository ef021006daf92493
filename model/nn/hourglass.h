// The Hourglass network (Nawrot et al. 2021; docs/MODEL.md): token embedding, a recursive stack of
// levels (pre-layers, shift + shorten, the next level, upsample + residual, post-layers), a final
// norm and the output projection. One forward serves training (the whole sequence, no state) and
// incremental decoding (a chunk of new tokens with per-level caches). Not the sampler: sampler.h.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "model/core/config.h"
#include "model/nn/attention.h"
#include "model/nn/layers.h"
#include "model/nn/resampling.h"

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

// One level's fixed buffers for decoding a token per step (attention.h, StepContext).
struct StaticLevelState {
  int64_t capacity = 0;          // tokens this level can hold
  std::vector<StaticKV> blocks;  // pre-layers, then post-layers
  torch::Tensor index;           // (1) int64 on the device: the next token's index at this level
  torch::Tensor bias;            // (1, capacity) attention bias: 0 up to the index, -inf after
  torch::Tensor cos, sin;        // (capacity, hd) rotary tables of every row's position
  torch::Tensor recent;          // (B, k-1, D) the last k-1 pre-layer outputs (zeros at first)
  torch::Tensor y_last;          // (B, 1, D) next level's output for the newest shortened token
  std::unique_ptr<StaticLevelState> inner;
};

class HourglassLevelImpl : public torch::nn::Module {
 public:
  HourglassLevelImpl(const ModelConfig& config, const Hierarchy& hierarchy, size_t index);
  // x (B, c, D): this level's new tokens, positions n .. n+c-1 where n = state ? state->n : 0.
  // With `pending`, the output is returned as two tensors to add (the result and *pending), so
  // that the add can happen in the norm after (add_norm).
  torch::Tensor forward(const torch::Tensor& x, LevelState* state, Trace* trace,
                        torch::Tensor* pending = nullptr);
  LevelState make_state() const;

  // Buffers for `tokens` original tokens (this level holds ceil(tokens / factor) of them).
  StaticLevelState make_static_state(int64_t batch, int64_t tokens,
                                     const torch::TensorOptions& options);
  // x (B, 1, D): the token at this level's index `index` (= state.index, which the step itself
  // advances on the device, with the attention bias: no host work between graph replays). Only
  // device work with shapes fixed by the state and by index modulo the shortening factors (a
  // graph per phase).
  torch::Tensor step(const torch::Tensor& x, StaticLevelState& state, int64_t index);

 private:
  // The blocks on x + pending (pending may be undefined): {h, m} with the output h + m, m
  // undefined for no blocks and no pending (BlockImpl::forward_pending).
  std::pair<torch::Tensor, torch::Tensor> run_blocks(torch::nn::ModuleList& blocks,
                                                     size_t first_cache, torch::Tensor x,
                                                     const torch::Tensor& pos,
                                                     const AttentionMask& mask, LevelState* state,
                                                     Trace* trace, torch::Tensor pending = {});

  int index_, factor_, k_;
  int d_model_, head_dim_;
  double rotary_base_;
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

// Decoding one token per step into fixed buffers: what HourglassImpl::step needs.
struct StaticDecodeState {
  StaticLevelState root;
  int64_t capacity = 0;  // original tokens (BOS included) the buffers hold
  int64_t n = 0;         // tokens stepped so far
};

class HourglassImpl : public torch::nn::Module {
 public:
  explicit HourglassImpl(const ModelConfig& config);  // validates the config

  // tokens (B, T) int64 in [0, 256], BOS = 256 -> logits (B, T, 256). Any T: a ragged last group
  // is handled exactly as padding to the total factor would (docs/MODEL.md).
  torch::Tensor forward(const torch::Tensor& tokens, Trace* trace = nullptr);
  // The next c tokens after what `state` has seen; appends to its caches.
  torch::Tensor forward_chunk(const torch::Tensor& tokens, DecodeState& state,
                              Trace* trace = nullptr);
  DecodeState make_state() const { return DecodeState{root_->make_state()}; }

  // Whether step() can decode this model (not with attention shortening or upsampling).
  static bool supports_step(const ModelConfig& config, std::string* why = nullptr);
  // Buffers for `capacity` tokens (BOS included) of `batch` sequences on the weights' device.
  StaticDecodeState make_static_state(int64_t batch, int64_t capacity);
  // Before step(): checks that token state.n fits the buffers (host only).
  void prepare_step(const StaticDecodeState& state) const;
  // tokens (B, 1) on the device -> logits (B, 256) for the next token. Fixed shapes: on CUDA one
  // graph per phase (state.n modulo the product of the shortening factors) can replay it. The
  // caller advances state.n after it.
  torch::Tensor step(const torch::Tensor& tokens, StaticDecodeState& state);
  // The phase of token n: steps of one phase run the same kernels.
  int64_t step_phase(int64_t n) const;

  const ModelConfig& config() const { return config_; }
  void set_attention_path(AttentionPath path);
  int64_t num_parameters() const;

 private:
  torch::Tensor logits(const torch::Tensor& tokens, LevelState* state, Trace* trace);
  // The weights the blocks', the resampling's and the head's products read (Bf16Weights copies
  // them for bf16), found once: to() and loading keep the parameters' tensors.
  std::vector<torch::Tensor> find_product_weights() const;

  ModelConfig config_;
  std::vector<torch::Tensor> product_weights_;
  int64_t step_period_ = 1;  // product of the shortening factors: steps repeat their kernels
  torch::nn::Embedding embed_{nullptr};  // (257, D): 256 token values and BOS
  HourglassLevel root_{nullptr};
  torch::nn::LayerNorm ln_final_{nullptr};
  torch::nn::Linear head_{nullptr};  // (256, D), only when embeddings are not tied
};
TORCH_MODULE(Hourglass);

}  // namespace hg
