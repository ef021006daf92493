// The training step as one CUDA graph: forward, loss, backward over the micro-batches,
// clipping and the fused AdamW update are captured once and replayed every step, so a step costs
// one launch from the CPU instead of thousands. Same arithmetic as the eager step; the trainer and
// `hourglass bench` use it on CUDA with libtorch >= 2.2 when the model has no dropout and one
// process trains (TrainConfig::cuda_graph turns it off). Not the eager step: trainer.cpp.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "model/core/run_config.h"
#include "model/nn/hourglass.h"
#include "model/train/optim.h"

namespace hg {

class GraphedStep {
 public:
  // Whether a step of this model can be captured here; if not, *why says what prevents it.
  static bool supported(const ModelConfig& model, const TrainConfig& train,
                        const torch::Device& device, const AdamW& optimizer, std::string* why);

  // micro_batches x rows sequences of seq_len + 1 tokens per step.
  GraphedStep(Hourglass model, AdamW& optimizer, const TrainConfig& train, bool bf16,
              int micro_batches, int rows, int64_t seq_len, const torch::Device& device);
  ~GraphedStep();
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;

  // One optimizer step on tokens (micro_batches * rows, seq_len + 1) int64 (any device). The first
  // kWarmupSteps run eagerly on the capture stream (real steps: they train too), the next is
  // captured, and from then on the graph is replayed. Returns the mean loss in nats per token.
  double step(const torch::Tensor& tokens, double lr);

  static constexpr int kWarmupSteps = 3;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hg
