// Mirrors the parameter shapes built in layers.cpp / resampling.cpp / hourglass.cpp; a test keeps
// the two in step.
#include "model/core/cost.h"

#include <algorithm>

namespace hg {
namespace {

// A pre-norm block: two LayerNorms, fused QKV and output projections, a two-layer MLP, no biases
// in the linear maps.
int64_t block_params(int64_t d, int64_t r) { return 4 * d * d + 2 * r * d * d + 4 * d; }

// Attention shortening/upsampling: a cross-attention block with a third norm for the keys.
int64_t cross_block_params(int64_t d, int64_t r) { return 4 * d * d + 2 * r * d * d + 6 * d; }

}  // namespace

ModelCost model_cost(const ModelConfig& config) {
  const Hierarchy h = parse_hierarchy(config.hierarchy);
  const int64_t d = config.d_model, r = config.mlp_ratio;
  const double dd = static_cast<double>(d), t = static_cast<double>(config.seq_len);
  ModelCost cost;
  for (const Level& level : h.levels) {
    LevelCost lc;
    lc.factor = level.factor;
    lc.layers = level.pre_layers + level.post_layers;
    const double big_k = level.factor;
    const double t_level = t / big_k;  // tokens this level sees
    lc.params = lc.layers * block_params(d, r);
    // Per token of this level: 2 * weights for the matmuls, 4 * D * T_level for the scores.
    const double block_flops = 2.0 * (4 * dd * dd + 2 * r * dd * dd) + 4.0 * dd * t_level;
    lc.flops_per_token = lc.layers * block_flops / big_k;
    const int k = level.shorten_factor;
    if (k > 1) {
      const double t_short = t_level / k;  // tokens of the next level
      // The base of the shortening (a linear map or nothing), then its attention if any.
      if (has_linear_map(config.shorten)) {
        lc.params += k * d * d;
        lc.flops_per_token += 2.0 * k * dd * dd / k / big_k;  // one (kD x D) map per group
      }
      if (is_attention(config.shorten)) {
        lc.params += cross_block_params(d, r);
        // keys/values for every shifted token; queries, output, MLP, scores per shortened token
        lc.flops_per_token +=
            (4.0 * dd * dd + (4.0 * dd * dd + 4.0 * r * dd * dd + 4.0 * dd * t_level) / k) / big_k;
      }
      if (has_linear_map(config.upsample)) {
        lc.params += k * d * d;
        lc.flops_per_token += 2.0 * dd * k * dd / k / big_k;
      }
      if (is_attention(config.upsample)) {
        lc.params += cross_block_params(d, r);
        lc.flops_per_token +=
            (4.0 * dd * dd / k + 4.0 * dd * dd + 4.0 * r * dd * dd + 4.0 * dd * t_short) / big_k;
      }
      // The optional LayerNorms of the shortened and the upsampled vectors (no FLOPs counted).
      if (config.resample_norm) lc.params += 4 * d;
    }
    cost.params += lc.params;
    cost.flops_per_token += lc.flops_per_token;
    cost.levels.push_back(lc);
  }
  cost.embedding_params =
      (kVocabSize + 1) * d + 2 * d + (config.tie_embeddings ? 0 : kVocabSize * d);
  cost.params += cost.embedding_params;
  cost.flops_per_token += 2.0 * dd * kVocabSize;  // output projection
  return cost;
}

double training_flops_per_token(const ModelConfig& config) {
  return 3.0 * model_cost(config).flops_per_token;
}

int64_t tokens_per_step(const RunConfig& run) {
  return static_cast<int64_t>(run.train.batch) * std::max(1, run.train.gpus) * run.model.seq_len;
}

}  // namespace hg
