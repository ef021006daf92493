// Evaluation as published: every byte of a text split, scored through a sliding window (each
// window predicts `stride` new bytes with at least context - stride bytes before them), or every
// image of an image split, whole; in bits per character or bits per dimension. What
// `hourglass eval --full` runs, callable from the studio's workers. Not the trainer's quick
// validation (Trainer::evaluate: a fixed number of disjoint windows, each from BOS).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/data/data.h"
#include "model/nn/hourglass.h"

namespace hg {

struct FullEvalOptions {
  int64_t context = 0;  // text: tokens one window feeds the model (BOS first); 0: its seq_len
  int64_t stride = 0;   // text: new bytes scored per window, 1..context; 0: context / 2
  int64_t batch = 16;   // windows per forward pass
  bool bf16 = true;     // bf16 autocast on CUDA, as training evaluates
};

struct FullEvalResult {
  std::string protocol;  // "sliding C/S" (text) or "whole N x T" (images), as metrics mark it
  int64_t context = 0, stride = 0;  // as used (images: both the image's tokens)
  double loss = 0.0;                // nats per scored token
  double bits = 0.0;                // bits per character (text) or per dimension (images)
  int64_t tokens = 0;               // tokens scored: the split's length when complete
  int64_t windows = 0;              // sequences run through the model
  double seconds = 0.0;
  bool complete = false;  // false when `progress` asked to stop
};

// One window over a split of bytes: the model reads BOS and bytes [start, end - 1) and predicts
// bytes [start, end); bytes [first_scored, end) count.
struct ScoredWindow {
  int64_t start = 0, first_scored = 0, end = 0;
};

// The windows that score each byte of a split of `length` bytes exactly once: the first window
// scores its whole `context` bytes, every later one ends `stride` bytes after the one before (the
// last ends at `length`) and scores the bytes past the previous end. Every window holds `context`
// bytes (all of them when length < context). Throws std::invalid_argument for a context below 1 or
// a stride outside 1..context.
std::vector<ScoredWindow> sliding_windows(int64_t length, int64_t context, int64_t stride);

// Scores `split` of `data` with `model` (eval mode, no gradients, on the weights' device; its
// training mode is restored after). `progress(done, total)` is called after each batch of windows;
// returning false stops early (result.complete false). Throws std::invalid_argument naming the
// option for an impossible context, stride or batch, or an image model whose seq_len is not one
// image.
FullEvalResult evaluate_full(Hourglass& model, const Dataset& data, Split split,
                             const FullEvalOptions& options,
                             const std::function<bool(int64_t, int64_t)>& progress = {});

}  // namespace hg
