// What a run will cost before it starts, from its config alone: seconds a step on a laptop CPU
// (from the cost model's FLOPs at a measured rate), the time to its last step, and the memory
// training holds. Rough by design (the Run panel shows them with "about"); not a measurement,
// which the curves give once the run is going (tokens/s).
#pragma once

#include "model/core/run_config.h"

namespace hg {

// Training FLOPs per second a 2-core CPU sustains on the small image models of the lesson presets
// (assets/presets/lesson-*.json): lesson-fashion trained at about 1.2 s a step (10.7 GFLOP) in the
// studio, on one thread of a shared 2-core machine. Rounded down: laptops vary.
constexpr double kCpuTrainFlopsPerSecond = 8.0e9;

struct RunEstimate {
  double seconds_per_step = 0.0;  // training FLOPs of a step at kCpuTrainFlopsPerSecond
  double total_seconds = 0.0;     // every step, plus the validation passes (forward only)
  double memory_bytes = 0.0;      // weights, gradients, AdamW moments, and the larger of a
                                  // micro-batch's activations and a validation batch's attention
};

// Throws std::invalid_argument (from the cost model) when the hierarchy does not parse.
RunEstimate estimate_run(const RunConfig& config);

}  // namespace hg
