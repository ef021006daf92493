// Options that several `hourglass` subcommands take, written once: the model and training options
// of train and bench, and the SOURCE argument and --device option. Not a subcommand
// (app/cli/commands.h lists those).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "model/core/run_config.h"

namespace hg::cli {

// Model and training options shared by `train` and `bench`; unset ones keep the preset's values.
struct ModelOptions {
  std::string preset, hierarchy, shorten, upsample, device;
  bool hierarchy_given = false;  // --hierarchy "" is an error, not the default
  bool resample_norm = false;    // --resample-norm: on; without it, the preset's setting
  std::optional<int> d_model, heads, seq_len, batch;
  std::optional<double> lr;

  void add_to(CLI::App* app);
  // The preset (or the defaults) with the options given on top; throws for an invalid model.
  RunConfig resolve() const;
};

// The data and schedule options of `train` and `compare`; unset ones keep the preset's values.
struct RunOptions {
  std::string data, format;
  std::optional<int64_t> steps, eval_every, save_every;
  std::optional<uint64_t> seed;

  void add_to(CLI::App* app);
  // Lays the options given over `config`; throws when no data is named at all.
  void apply(RunConfig& config) const;
};

// Checks of the numbers a user types, which say in words what is allowed ("--steps: 1e20 is not a
// whole number from 1 to 1000000000"), where CLI11's own ranges print unbounded limits as 309-digit
// numbers and a number it cannot convert names no limit. Every size has a limit.
CLI::Validator whole_number(int64_t low, int64_t high);
// A number from `low` (or above it, when `above_low`) to `high`, finite.
CLI::Validator real_number(double low, double high, bool above_low = false);
constexpr int64_t kMostSteps = 1000000000;  // --steps, --eval-every, --save-every

// --device: auto, cpu or cuda.
CLI::Option* add_device_option(CLI::App* app, std::string& device);
// SOURCE, required: a run directory or a .safetensors checkpoint.
CLI::Option* add_source_option(CLI::App* app, std::string& source);

}  // namespace hg::cli
