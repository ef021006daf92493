// Checkpoints (docs/ARCHITECTURE.md): model weights as safetensors with the model config in the
// metadata, the optimizer state in a second safetensors file, and a JSON beside them that is
// written last, so a checkpoint counts only once all three files are complete. Also the torch <->
// RawTensor conversion. Not the file format itself: tensor_io.h.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/io/tensor_io.h"
#include "model/nn/hourglass.h"

namespace hg {

RawTensor to_raw(const std::string& name, const torch::Tensor& tensor);  // copies to the CPU
torch::Tensor from_raw(const RawTensor& raw);                            // a CPU tensor

struct CheckpointInfo {
  int64_t step = 0;
  double time_s = 0.0;      // training time so far, carried across resumes
  std::string weights;      // path of the weights file
  std::string optimizer;    // path of the optimizer state ("" for a weights-only file)
  std::string config_hash;  // architecture_hash of the model
};

// "step_00000042": the stem of a step's files (checkpoints, and the samples the trainer writes).
std::string step_stem(int64_t step);

// Writes <dir>/step_<step>.safetensors, .optim.safetensors, then .json (each atomically).
CheckpointInfo save_checkpoint(const std::string& dir, int64_t step, double time_s,
                               const Hourglass& model,
                               const std::vector<std::pair<std::string, torch::Tensor>>& optim);
// Weights only (for shipping a demo model or exporting).
void save_weights(const std::string& path, const Hourglass& model);

// The newest complete checkpoint in a folder: the highest step whose .json reads and whose files
// exist. An incomplete or corrupt newer one is passed over, with a line on stderr that says so.
std::optional<CheckpointInfo> latest_checkpoint(const std::string& dir);
// Removes the temporary files a killed process left in a run (`*.tmp-*`, see model/io/file_io.h).
void remove_orphan_temporaries(const std::string& run_dir);
CheckpointInfo read_checkpoint_info(const std::string& json_path);

// The model config stored in a weights file's metadata. Throws naming the file when absent.
ModelConfig read_checkpoint_config(const std::string& weights_path);
// Copies weights into model (converting bf16/fp16 to the model's dtype). Throws a
// std::runtime_error naming the file and the first mismatch when the file is of another
// architecture, without changing the model.
void load_weights(Hourglass& model, const std::string& weights_path);
std::vector<std::pair<std::string, torch::Tensor>> load_tensors(const std::string& path);

// A path given on the command line: a run directory (its newest checkpoint), or a weights file.
struct ModelSource {
  ModelConfig config;
  std::string weights;
  std::string run_dir;  // "" for a bare weights file
  int64_t step = 0;
};
ModelSource resolve_model_source(const std::string& path);

}  // namespace hg
