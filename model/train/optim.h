// AdamW with decoupled weight decay on matrices only, and the warm-up + cosine schedule. Our own
// small optimizer rather than torch::optim::AdamW: its state is plain named tensors that a
// checkpoint saves and restores exactly (docs/ARCHITECTURE.md, resume gives the same curve).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/core/run_config.h"
#include "model/nn/compat.h"

namespace hg {

// Learning rate at `step` (0-based): linear warm-up to lr, then cosine to lr * min_lr_ratio.
double learning_rate(const TrainConfig& config, int64_t step);

class AdamW {
 public:
  AdamW(const std::vector<std::pair<std::string, torch::Tensor>>& named_params,
        const TrainConfig& config);

  // One update with the gradients in the parameters' .grad(); returns the global gradient norm
  // before clipping.
  double step(double lr);
  void zero_grad();

  int64_t steps_taken() const { return steps_; }
#if HOURGLASS_HAS_FUSED_ADAMW
  // Whether the fused CUDA kernels serve these parameters (device_step is then possible).
  bool fused() const { return fused_; }
  // One update without a host synchronisation, so that a CUDA graph can hold it: every parameter
  // must have its .grad; lr is a 0-dim float tensor on the device. Returns the global gradient
  // norm before clipping as a 0-dim tensor. The host's step count is not advanced: a graph replays
  // this without calling it, so its owner calls count_step() once per update.
  torch::Tensor device_step(const torch::Tensor& lr);
  void count_step() { ++steps_; }
#endif
  // exp_avg.<name>, exp_avg_sq.<name> (fp32), for checkpoints.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  // Restores state(); throws std::runtime_error naming a missing or mis-shaped tensor.
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state,
                  int64_t steps_taken);

 private:
  struct Slot {
    std::string name;
    torch::Tensor param, exp_avg, exp_avg_sq;
    bool decay;
  };
  std::vector<Slot> slots_;
  TrainConfig config_;
  int64_t steps_ = 0;
#if HOURGLASS_HAS_FUSED_ADAMW
  // CUDA fp32 parameters in libtorch 2.x: ATen's fused kernels instead of the loop over slots.
  double fused_step(double lr);  // device_step with lr, then the host's count and norm
  bool fused_ = false;
  torch::Tensor step_count_;  // steps_ as a float on the parameters' device, for the fused kernel
  torch::Tensor lr_;          // the learning rate on the device, for fused_step
#endif
};

}  // namespace hg
