// Kernel profiles for `hourglass bench --profile DIR`: runs a function under the
// PyTorch (Kineto) profiler, saves the Chrome trace (open it in Perfetto or chrome://tracing) and
// sums the GPU work per call: kernels launched, GPU time, the span from first to last kernel, and
// the kernels that take the most time. CUDA builds only; elsewhere profile_gpu() throws.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace hg {

// Whether this build can profile (a CUDA libtorch with the Kineto profiler).
bool can_profile();

// Runs fn `calls` times under the profiler on `device` (CUDA), writes the trace to trace_path and
// returns figures per unit of work (a call does units_per_call: a training step, a token...):
// {"trace", "units", "kernels_per_unit", "distinct_kernels", "gpu_us_per_unit" (summed kernel
//  time), "span_us_per_unit" (first kernel's start to last kernel's end), "wall_us_per_unit"
//  (with the profiler's own overhead), "top": [{"name", "us_per_unit", "launches_per_unit",
//  "share"}, ...]} (the `top` kernels that take the most time).
nlohmann::json profile_gpu(const std::function<void()>& fn, int calls, double units_per_call,
                           const torch::Device& device, const std::string& trace_path,
                           int top = 30);

}  // namespace hg
