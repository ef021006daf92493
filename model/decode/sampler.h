// Sampling with the incremental decoder (docs/MODEL.md): a prompt or the known prefix of
// an image goes through in one pass, then one token at a time, each level running once every K
// tokens through its caches. Known sub-pixels after the prefix (image completion with a mask) are
// forced rather than sampled. `full_recompute` runs the whole sequence again per token instead,
// for comparison: on the CPU in fp32 both give the same tokens for the same seed.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "model/core/sample_types.h"
#include "model/nn/hourglass.h"

namespace hg {

void validate(const SampleOptions& options);  // throws std::invalid_argument naming the option

// known[i] is the forced token at position i, or -1 to sample it. Its length may be shorter than
// options.length (a plain prompt); the leading run of known tokens is the prompt.
struct SampleRequest {
  std::vector<int> known;
  SampleOptions options;
  bool host_picks = false;  // pick on the host even where the device could (comparisons, tests)
};

struct SampleResult {
  std::vector<std::vector<uint8_t>> tokens;  // per sample, prompt included (stops included)
  std::vector<std::vector<float>> probs;     // probability each token had (1 for forced ones)
  int64_t decoded = 0;                       // positions produced after the prompt
  bool device_picks = false;                 // whether the tokens were picked on the device
};

// Called after every position with the tokens just chosen and the model's top alternatives
// (sample_types.h); return false to stop.
using SampleCallback = std::function<bool(const SampleStep& step)>;

// At least what sampling holds at once, in bytes (fp32): every attention layer's keys and values
// for every position (incremental decoding), and the longest pass's attention scores and logits:
// the prompt of `prompt` tokens in one chunk, or with full_recompute the whole sequence. sample()
// compares it with what the device has free before it starts (model/nn/memory.h).
double sampling_memory_bytes(const ModelConfig& config, const SampleOptions& options,
                             int64_t prompt);

SampleResult sample(Hourglass& model, const SampleRequest& request,
                    const SampleCallback& on_token = nullptr);

// Picks a token from logits (256) with temperature / top-k / top-p, using u in [0, 1).
// Returns the token and the probability it had under the filtered distribution. Without top-k or
// top-p, u is mapped through the cumulative distribution in token order; with them, in order of
// probability (ties by token id) over the tokens kept. A NaN logit counts as -inf.
std::pair<int, float> pick_token(const float* logits, const SampleOptions& options, double u);

}  // namespace hg
