// Token-by-token decoding for the sampler on CUDA: HourglassImpl::step into fixed
// buffers, each phase's step captured once as a CUDA graph and replayed, so a token costs a few
// launches instead of a few hundred. Without CUDA graphs (the CPU, libtorch 1.x) the same steps run
// eagerly. Not the chunked decoder that the inspector and the CPU sampler use: hourglass.h.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/nn/hourglass.h"

namespace hg {

class StepDecoder {
 public:
  // Whether the model can decode step by step (HourglassImpl::supports_step).
  static bool supported(const ModelConfig& config, std::string* why = nullptr);
  // batch sequences of up to `capacity` tokens, BOS included. use_graphs: capture on CUDA.
  StepDecoder(Hourglass model, int64_t batch, int64_t capacity, bool use_graphs);
  ~StepDecoder();
  StepDecoder(const StepDecoder&) = delete;
  StepDecoder& operator=(const StepDecoder&) = delete;

  // One token per sequence (BOS = 256 first) -> logits (B, 256) float on the CPU for the next.
  torch::Tensor step(const std::vector<int64_t>& tokens);

  // Steps with the picks on the device: `after` runs on each step's logits (B, 256) and is
  // captured into the step's graph, e.g. a pick that writes the next tokens into next_tokens().
  // Set it before the first step.
  void set_after_step(std::function<void(const torch::Tensor& logits)> after);
  // The device's (B, 1) int64 tokens that the next step reads.
  torch::Tensor& next_tokens();
  // One step on next_tokens() as they are: enqueued on stream(), not waited for.
  void advance();
  // The stream the steps run on: work ordered after them (copies, events) goes there.
  c10::Stream stream() const;
  int64_t position() const;
  // Whether steps replay CUDA graphs; when not, why (empty while they do).
  bool graphs() const;
  const std::string& why_no_graphs() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hg
