// Everything needed to rebuild a run (docs/ARCHITECTURE.md, config.json): the model, the data and
// the training schedule. Torch-free, so the studio's Run panel edits it directly. Not the trainer.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "model/core/config.h"

namespace hg {

struct TrainConfig {
  std::string data;            // dataset path (file or folder)
  std::string format;          // text|idx|cifar|images|npz; empty: guessed from the path
  std::string preset;          // the preset this run started from, for the record
  int64_t steps = 2000;        // optimizer steps in all (resume may extend it)
  double max_time_s = 0.0;     // stop (with a checkpoint) after this much training time; 0: off
  int batch = 16;              // sequences per optimizer step (split over grad_accum)
  int grad_accum = 1;          // micro-batches per step; batch must divide by it
  double lr = 1e-3;            // peak learning rate after warm-up
  double min_lr_ratio = 0.1;   // cosine decay ends at lr * min_lr_ratio (Chinchilla's 10x)
  int64_t warmup_steps = 100;  // linear warm-up from 0
  double weight_decay = 0.1;   // AdamW, on matrices only (not norms, not biases)
  double beta1 = 0.9, beta2 = 0.95;  // nanoGPT's betas for small-batch language modelling
  double grad_clip = 1.0;            // global norm; 0 turns clipping off
  uint64_t seed = 1234;              // one seed for weights, data order and dropout
  std::string device = "auto";       // auto|cpu|cuda
  bool bf16 = true;          // bf16 autocast on CUDA (fp32 master weights); ignored on the CPU
  int64_t eval_every = 100;  // steps between validation passes; 0: only at the end
  int eval_batches = 8;      // validation batches per pass (fixed sequences, same every time)
  int64_t save_every = 500;  // steps between checkpoints; 0: only at the end
  int64_t sample_every = 0;  // steps between samples written to samples/; 0: with each save
  int threads = 0;           // CPU threads for torch; 0: all hardware threads
  int gpus = 1;  // data-parallel processes (GPUs; CPU processes through Gloo); batch is per process
  bool cuda_graph = true;  // replay the training step as a CUDA graph where possible (graph_step.h)

  void validate() const;  // throws std::invalid_argument naming field, value, valid range
};

struct RunConfig {
  ModelConfig model;
  TrainConfig train;
};

nlohmann::json to_json(const TrainConfig& config);
nlohmann::json to_json(const RunConfig& config);
// Unknown keys are errors; missing keys keep their defaults. `base` gives the defaults, so a preset
// can be laid over another config.
TrainConfig train_config_from_json(const nlohmann::json& json, TrainConfig base = {});
RunConfig run_config_from_json(const nlohmann::json& json, RunConfig base = {});

// Reads a JSON file and parses it; errors name the file.
nlohmann::json read_json_file(const std::string& path);

// Presets are JSON files {"model": {...}, "train": {...}} in assets/presets. Searched in
// $HOURGLASS_ASSETS/presets, then beside the executable (../share/hourglass-studio/presets), then
// in the source tree this was built from.
std::string preset_path(const std::string& name);  // throws listing the presets it found
RunConfig load_preset(const std::string& name);
std::string assets_dir();  // the first of those folders that exists, or "" when none does

}  // namespace hg
