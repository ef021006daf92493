// Token picks on the device: temperature, top-k and top-p over the logits in one kernel, so a
// decoding graph needs no trip to the host per token (model/decode/sampler.cpp).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "model/core/sample_types.h"

namespace hg {

// Whether pick_tokens() has a kernel for logits on this device (CUDA, in a build with the kernels).
bool can_pick_on_device(const torch::Device& device);
// What the device's picks read and write, on the logits' device; length positions of n sequences.
struct PickBuffers {
  torch::Tensor uniforms;     // (length, n) double: sample s's draw at position p (where sampled)
  torch::Tensor forced;       // (length) int32: the token forced at p, or -1
  torch::Tensor position;     // (1) int64: the position picked next; each pick advances it
  torch::Tensor done;         // (1) int32, zero: the kernel's count of its blocks
  torch::Tensor tokens;       // (length, n) int32: the tokens picked
  torch::Tensor probs;        // (length, n) float: their probabilities (1 where forced)
  torch::Tensor logits_ring;  // (ring, n, 256) float, or undefined: logits of p at p % ring
  PickBuffers(int64_t length, int64_t n, int64_t ring, const torch::Device& device);
};
// The tokens at position *b.position from logits (n, 256) fp32, as pick_token() (sampler.h) picks
// them with o's temperature, top_k and top_p, in one kernel: into b and into next_tokens (n)
// int64, the next step's input.
void pick_tokens(const torch::Tensor& logits, const SampleOptions& o, PickBuffers& b,
                 torch::Tensor& next_tokens);

}  // namespace hg
