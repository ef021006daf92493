// The samples as the Sampler panel holds them while they stream in: the request's known tokens,
// what the decoder has reported per position, and the model's alternatives. Plain data that the
// text and image views draw; filled by SamplerPanel from SampleStep signals. Torch-free, GL-free.
// Not a view (text_sample_view.h, image_sample_view.h) and not the partial image.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model/core/sample_types.h"
#include "model/io/image_io.h"

struct SampleSnapshot {
  int n = 0;               // samples
  int64_t length = 0;      // tokens per sample, prompt included
  int channels = 0;        // 0: text; 1 or 3: 32x32 images
  int64_t prompt = 0;      // the leading run of known tokens (not reported by the decoder)
  std::vector<int> known;  // the request's known tokens (-1: sampled); may be shorter than length
  // Per sample, `length` entries; valid where reported[position] (or position < prompt).
  std::vector<std::vector<uint8_t>> tokens;
  std::vector<std::vector<float>> probs;  // under the sampling distribution; 1 for forced ones
  std::vector<std::vector<std::array<hg::TokenProb, hg::kTopAlternatives>>> top;
  std::vector<uint8_t> reported;  // per position: the decoder has produced it (prompt: 1)
  int64_t done = 0;               // positions produced so far, the prompt included

  // Starts a new batch: the prompt is filled in at once, everything else waits for add().
  void begin(int samples, int64_t tokens_per_sample, int image_channels,
             const std::vector<int>& known_tokens);
  void add(const hg::SampleStep& step);
  void clear() { *this = SampleSnapshot(); }

  bool empty() const { return n == 0; }
  bool is_image() const { return channels > 0; }
  bool is_known(int64_t position) const {
    return position < static_cast<int64_t>(known.size()) && known[position] >= 0;
  }
  // The token to show at a position: reported, else known (a forced pixel not reached yet),
  // else -1 (not yet sampled).
  int shown_token(int sample, int64_t position) const;
  // Sample i as a 32x32 image (unreported sub-pixels 0); sample -1: all of them in a grid.
  hg::Image image(int sample) const;
  hg::Image grid_image() const;
  // The samples as text, separated as the CLI's `sample --out x.txt` separates them.
  std::string text() const;
};
