// `hourglass bench` (docs/PERFORMANCE.md): training-step and forward-pass throughput, model FLOPs
// per token and FLOP utilisation, peak memory, optionally sampling speed (incremental decoding vs
// full recompute), each optionally beside the vanilla transformer of the same depth and width,
// measured in the same process on random tokens. Returns one JSON object. Not the training loop
// (trainer.h).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "model/core/config.h"

namespace hg {

struct BenchOptions {
  ModelConfig model;            // the model measured; model.seq_len is the training length T
  int batch = 16;               // sequences per training step and per forward pass
  std::string device = "auto";  // auto|cpu|cuda
  bool bf16 = true;             // bf16 autocast on CUDA, as training runs; ignored on the CPU
  int threads = 0;              // CPU threads for torch; 0: all hardware threads
  uint64_t seed = 1234;         // weights and the random tokens
  int warmup = 2;               // untimed iterations before each measurement (kernels, allocator)
  int iters = 10;               // timed iterations; the figures are their mean
  bool vs_vanilla = false;      // also measure model.vanilla_twin(), and report the ratios
  bool sample = false;          // also measure sampling speed (slow: full recompute is quadratic)
  bool cuda_graph = true;       // also measure the training step replayed as a CUDA graph
  bool sample_only = false;     // measure sampling alone (with `sample`): no forward or training
  bool full_recompute = true;   // with `sample`: also decode by full recompute, the baseline
  // Non-empty: also profile the GPU kernels of each measurement (CUDA builds; profile.h) and
  // write the traces into this folder (created if missing).
  std::string profile_dir;
  // Sampling sizes; 0 picks the studio's sizes on CUDA (text 2048 tokens, 16 RGB images of 3072)
  // and a smoke-test size on the CPU, where full recompute is slow (text 128 tokens, 2 "images" of
  // 192: 8x8 RGB). The JSON reports the sizes used.
  int64_t text_length = 0;   // tokens per text sample
  int text_batch = 0;        // text samples decoded together (0: 1)
  int64_t image_length = 0;  // tokens per image sample
  int image_batch = 0;       // images decoded together
  // Peak dense TFLOP/s of the device for MFU: < 0 picks 989 (H200, bf16 dense) when running on
  // CUDA with bf16 and leaves MFU out otherwise; 0 leaves MFU out.
  double peak_tflops = -1.0;

  void validate() const;  // throws std::invalid_argument naming the field (and validates model)
};

// Measures and returns (keys in bench.cpp's header comment):
//   {"device", "dtype", "batch", "seq_len", "warmup", "iters", "peak_tflops"?, "profile_dir"?,
//    "model": {...}, "vanilla": {...}?, "ratio": {...}?}
nlohmann::json run_bench(const BenchOptions& options);

}  // namespace hg
