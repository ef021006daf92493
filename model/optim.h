// AdamW with decoupled weight decay on matrices only, and the warm-up + cosine schedule. Our own
// small optimizer rather than torch::optim::AdamW: its state is plain named tensors that a
// checkpoint saves and restores exactly (DESIGN.md §4, resume gives the same curve).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/run_config.h"

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
};

}  // namespace hg
