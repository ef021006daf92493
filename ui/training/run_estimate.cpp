// The Run panel's estimate of a run's time and memory (see run_estimate.h).
#include "ui/training/run_estimate.h"

#include <algorithm>

#include "model/core/config.h"
#include "model/core/cost.h"

namespace hg {

RunEstimate estimate_run(const RunConfig& config) {
  const ModelConfig& m = config.model;
  const TrainConfig& t = config.train;
  const ModelCost cost = model_cost(m);  // throws on a bad hierarchy
  const double tokens = static_cast<double>(t.batch) * m.seq_len;
  RunEstimate e;
  e.seconds_per_step = 3.0 * cost.flops_per_token * tokens / kCpuTrainFlopsPerSecond;
  const double evals = t.eval_every > 0 ? static_cast<double>(t.steps / t.eval_every) : 1.0;
  const double eval_seconds =
      cost.flops_per_token * tokens * t.eval_batches / kCpuTrainFlopsPerSecond;
  e.total_seconds = e.seconds_per_step * static_cast<double>(t.steps) + evals * eval_seconds;

  // Memory: 16 bytes a parameter (fp32 weight, gradient, two AdamW moments), and per layer what
  // the backward pass keeps of a micro-batch: about 16 D-wide fp32 rows a token (norms, q/k/v,
  // attention output, the 4D MLP) and the attention weights, twice (scores and softmax), which
  // dominate at full resolution (B x H x T^2).
  const double micro = static_cast<double>(t.batch) / std::max(1, t.grad_accum);
  double activations = 0.0;
  for (const LevelCost& level : cost.levels) {
    const double length = static_cast<double>(m.seq_len) / level.factor;
    activations += level.layers * micro *
                   (16.0 * length * m.d_model + 2.0 * m.n_heads * length * length) * 4.0;
  }
  const double logits = micro * m.seq_len * 256 * 4.0 * 3.0;  // logits, softmax, their gradient
  // Validation runs whole batches without gradients: one layer's scores and softmax at a time,
  // which at full resolution outweigh a small micro-batch's activations (lesson-fashion: 67 MB).
  const double length = m.seq_len;
  const double validation = 2.0 * t.batch * m.n_heads * length * length * 4.0;
  e.memory_bytes =
      16.0 * static_cast<double>(cost.params) + std::max(activations + logits, validation);
  return e;
}

}  // namespace hg
