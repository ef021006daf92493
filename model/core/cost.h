// Parameter counts and FLOPs per token of a ModelConfig, per level, computed from the config alone
// (torch-free, so the studio's Run panel can show them as the user types). Tests check the counts
// against the parameters the network really allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "model/core/config.h"
#include "model/core/run_config.h"

namespace hg {

struct LevelCost {
  int factor = 1;                // cumulative shortening of this level
  int layers = 0;                // transformer blocks at this level (pre + post)
  int64_t params = 0;            // blocks + the shortening/upsampling leaving this level
  double flops_per_token = 0.0;  // forward FLOPs per original token, at sequence length seq_len
};

struct ModelCost {
  std::vector<LevelCost> levels;
  int64_t embedding_params = 0;  // token embedding, final norm, untied output projection
  int64_t params = 0;            // everything
  double flops_per_token = 0.0;  // forward, per original token (multiply by 3 for training)
};

// FLOPs count matrix multiplies (2 per multiply-add) and attention scores over the whole context
// (the convention of nanoGPT's estimate_mfu: 4 * D * T per token and layer, causal or not).
ModelCost model_cost(const ModelConfig& config);

// Training FLOPs per token: the forward pass and a backward pass of twice its cost (3 x forward,
// nanoGPT's estimate_mfu). What metrics.jsonl's "flops" counts.
double training_flops_per_token(const ModelConfig& config);
// Tokens one optimizer step trains on: batch x processes x seq_len (every position of a
// sequence is predicted). What metrics.jsonl's "tokens" counts.
int64_t tokens_per_step(const RunConfig& run);

}  // namespace hg
