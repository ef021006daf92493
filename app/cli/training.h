// What `hourglass train` and `hourglass resume` share: opening a trainer alone or as one rank of a
// data-parallel world, checking that workers can start, and training with a progress line. Not
// the trainer (model/train/trainer.h) nor the worker processes (app/launch.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "model/train/distributed.h"
#include "model/train/trainer.h"

namespace hg::cli {

// Trains until done or Ctrl-C, with a progress line on stderr (from rank 0 alone when several
// processes train together). A new run that fails before its first checkpoint is removed: the
// error is then rethrown nested in one that says so (std::throw_with_nested).
void train_loop(Trainer& trainer);

// Data-parallel training. Before starting `gpus` workers: says why it cannot, or on a machine
// without CUDA that the workers will be CPU processes talking through Gloo.
void check_workers_possible(const std::string& device_name, int gpus);

// A trainer from `open` (create or resume): alone, or as this process's rank of a data-parallel
// world started by `--gpus` or by a launcher.
std::unique_ptr<Trainer> open_trainer(
    const std::optional<WorldInfo>& world, const std::string& device_name,
    const std::function<std::unique_ptr<Trainer>(std::shared_ptr<ProcessGroup>)>& open);

}  // namespace hg::cli
