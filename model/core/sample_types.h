// The sampler's plain values (docs/ARCHITECTURE.md): the options of a sampling request
// and what the decoder reports after each position. Torch-free, so the studio's panels and its
// queued signals carry them as they are. Not the decoding loop itself (sampler.h).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace hg {

struct SampleOptions {
  int n = 1;                 // independent samples, decoded together as one batch
  int64_t length = 256;      // tokens in all, prompt included
  double temperature = 1.0;  // 0 picks the most likely token
  int top_k = 0;             // keep the k most likely tokens; 0 keeps all
  double top_p = 1.0;        // nucleus: the smallest set with this much probability
  uint64_t seed = 0;         // sample i draws from its own generator seeded with (seed, i)
  int stop_byte = -1;        // text: a sample ends after this byte (e.g. '\n'); -1 never
  bool full_recompute = false;
};

// Alternatives reported per position: enough to see what else the model had in mind.
constexpr int kTopAlternatives = 5;

struct TokenProb {
  int token = 0;
  float prob = 0.0f;
};

// One position of all samples, as the decoder reports it after choosing the tokens.
struct SampleStep {
  int64_t position = 0;      // index in the sequence (0 is the first token after BOS)
  std::vector<int> tokens;   // per sample: the token chosen (sampled, or forced when known)
  std::vector<float> probs;  // per sample: its probability under the sampling distribution
                             // (temperature, top-k, top-p), 1 for forced tokens
  // Per sample: the model's own most likely tokens at this position (softmax of the logits at
  // temperature 1, no top-k/top-p), most likely first. What it would have said, also where the
  // token was forced.
  std::vector<std::array<TokenProb, kTopAlternatives>> top;
};

}  // namespace hg
