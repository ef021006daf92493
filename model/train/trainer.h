// The training loop (docs/ARCHITECTURE.md): AdamW with warm-up and cosine decay, gradient
// clipping and accumulation, bf16 autocast on CUDA, validation in bits per token, metrics.jsonl,
// checkpoints and samples in a run directory, and exact resumption. One thread owns a Trainer;
// the studio's worker and the CLI both drive it. Not the sampler (sampler.h).
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "model/core/metrics.h"
#include "model/core/run_config.h"
#include "model/data/data.h"
#include "model/nn/hourglass.h"
#include "model/train/batches.h"
#include "model/train/checkpoint.h"
#include "model/train/distributed.h"
#include "model/train/graph_step.h"
#include "model/train/optim.h"
#include "model/train/run_dir.h"

namespace hg {

// The loss went NaN or infinite: training stopped, nothing was saved after the last good step.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Trainer {
 public:
  // A new run in run_dir, which must not exist (or be empty) unless force. Writes config.json.
  // The run is kept only once it has a checkpoint (the first save()); until then it is written
  // beside a run that --force replaces, and the destructor or discard_unsaved() removes it.
  static std::unique_ptr<Trainer> create(RunConfig config, const std::string& run_dir, bool force,
                                         std::shared_ptr<ProcessGroup> group = nullptr);
  // Continues run_dir from its newest checkpoint; `steps` raises the total step count.
  static std::unique_ptr<Trainer> resume(const std::string& run_dir,
                                         std::optional<int64_t> steps = std::nullopt,
                                         std::shared_ptr<ProcessGroup> group = nullptr);
  // A trainer without a run directory (benchmarks, tests, ranks other than 0): writes nothing.
  // With a group, it is one data-parallel replica: config.train.batch rows per step on this rank.
  Trainer(RunConfig config, std::shared_ptr<const Dataset> data,
          std::shared_ptr<ProcessGroup> group = nullptr);

  // Data-parallel start, called on every rank of `group`: rank 0 opens the run with `open` (create
  // or resume, which may throw: the other ranks then throw too, with rank 0's message) and
  // publishes its configuration; the others build a replica of it; then every replica takes rank
  // 0's weights, optimizer state and step. Only rank 0 writes the run directory.
  static std::unique_ptr<Trainer> join(
      std::shared_ptr<ProcessGroup> group,
      const std::function<std::unique_ptr<Trainer>(std::shared_ptr<ProcessGroup>)>& open);

  Metrics train_step();           // one optimizer step; throws TrainingDiverged
  Metrics evaluate(Split split);  // fixed batches of the split, model in eval mode
  CheckpointInfo save();          // checkpoint at the current step (run directory only)
  // A text or PNG sample into samples/ (run directory only). Abandoned, writing nothing, once
  // `cancel` is set (by default, during run(), run()'s stop flag).
  void write_sample(const std::atomic<bool>* cancel = nullptr);
  bool has_sample() const { return last_sample_step_ == step_; }  // of the current step
  // A new run that has no checkpoint yet (it failed early) is removed, leaving what was there
  // before; returns what was done, for the error message, or "" when there was nothing to do.
  std::string discard_unsaved();

  // Trains to config().train.steps with evaluation, checkpoints and samples on schedule,
  // appending every metrics line; on_metrics sees each line. Returns early when stop is set,
  // after saving a checkpoint.
  void run(const std::atomic<bool>* stop, const std::function<void(const Metrics&)>& on_metrics);

  int64_t step() const { return step_; }
  bool done() const { return step_ >= config_.train.steps; }
  const RunConfig& config() const { return config_; }
  const Dataset& data() const { return *data_; }
  Hourglass& model() { return model_; }
  const torch::Device& device() const { return device_; }
  const std::string& run_dir() const { return run_dir_; }
  double time_s() const;
  // Processes training together (1 without a group), and whether this one writes (rank 0).
  int world_size() const { return group_ ? group_->size() : 1; }
  bool writes() const { return !group_ || group_->rank() == 0; }

 private:
  // What run() does when its stop flag is set mid-step: the step, evaluation or sample in
  // progress is abandoned (nothing of it is applied or written) and run() returns.
  struct Interrupted {};
  bool interrupted() const;
  void throw_if_interrupted() const;
  void append_metrics(const Metrics& m);
  // Where the run's files go now: run_dir_, or the folder beside it before the first checkpoint.
  std::string writing_dir() const;
  // Sets m's tokens and training FLOPs so far (model/core/cost.h).
  void count_compute(Metrics& m) const;
  // Every rank takes rank 0's weights, buffers, optimizer state, step and clock (no-op alone).
  void synchronize_replicas();
  // Rank 0's `decision` (whether and why the loop stops), heard by every rank (itself alone).
  int agree(int decision);
  // Loss over a (B, T+1) token batch, in nats per token, with autocast as configured.
  torch::Tensor loss_of(const torch::Tensor& tokens);
  // The eager step: forward and backward per micro-batch, gradients averaged over the ranks, the
  // update. Returns the mean loss; throws TrainingDiverged before updating on a bad loss.
  double eager_step(double lr);
  void throw_if_diverged(double loss) const;
  // What to say when a validation loss shows the run diverged, else "".
  std::string divergence(double val_loss) const;

  RunConfig config_;
  std::shared_ptr<const Dataset> data_;
  std::unique_ptr<Batcher> batcher_;
  torch::Device device_;
  Hourglass model_{nullptr};
  std::unique_ptr<AdamW> optimizer_;
  int64_t step_ = 0;
  double time_before_ = 0.0;  // time_s at the checkpoint this trainer resumed from
  std::chrono::steady_clock::time_point started_;
  std::string run_dir_;
  std::shared_ptr<ProcessGroup> group_;
  std::unique_ptr<GraphedStep> graphed_;  // set at the first step when a graph is possible
  bool graph_decided_ = false;
  std::ofstream metrics_;
  int64_t last_good_checkpoint_ = -1;
  int64_t last_sample_step_ = -1;
  const std::atomic<bool>* stop_ = nullptr;  // run()'s stop flag while it runs
  std::unique_ptr<NewRunDir> new_run_;       // a run made by create(), removed unless it saves once
};

}  // namespace hg
