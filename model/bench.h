// `hourglass bench` (DESIGN.md §6): training-step and forward-pass throughput, model FLOPs per token
// and FLOP utilisation, peak memory, optionally sampling speed (incremental decoding vs full
// recompute), each optionally beside the vanilla transformer of the same depth and width, measured
// in the same process on random tokens. Returns one JSON object. Not the training loop (trainer.h).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "model/run_config.h"

namespace hg {

struct BenchOptions {
  // The model (seq_len = the training length T) and from `train`: batch, grad_accum, device, bf16,
  // threads, seed and the AdamW settings. `train.data` is not used: the tokens are random.
  RunConfig run;
  int warmup = 2;            // untimed iterations before each measurement (kernels, allocator)
  int iters = 10;            // timed iterations; the figures are their mean
  bool vs_vanilla = false;   // also measure run.model.vanilla_twin(), and report the ratios
  bool sample = false;       // also measure sampling speed (slow: full recompute is quadratic)
  int64_t text_length = 2048;  // tokens per text sample (issue: 2048)
  int text_batch = 1;          // text samples decoded together
  int64_t image_length = 3072;  // tokens per image sample (32x32 RGB)
  int image_batch = 16;         // images decoded together (issue: 16)
  // Peak dense TFLOP/s of the device for MFU: < 0 picks 989 (H200, bf16 dense) when running on
  // CUDA with bf16 and leaves MFU out otherwise; 0 leaves MFU out.
  double peak_tflops = -1.0;

  void validate() const;  // throws std::invalid_argument naming the field (and validates `run`)
};

// Measures and returns (keys in bench.cpp's header comment):
//   {"device", "dtype", "batch", "seq_len", "warmup", "iters", "peak_tflops"?,
//    "model": {...}, "vanilla": {...}?, "ratio": {...}?}
nlohmann::json run_bench(const BenchOptions& options);

}  // namespace hg
