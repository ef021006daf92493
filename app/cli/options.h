// Options that several `hourglass` subcommands take, written once: the model and training options
// of train and bench, and the SOURCE argument and --device option. Not a subcommand
// (app/cli/commands.h lists those).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "model/core/run_config.h"

namespace hg::cli {

// Model and training options shared by `train` and `bench`; unset ones keep the preset's values.
struct ModelOptions {
  std::string preset, hierarchy, shorten, upsample, device;
  bool hierarchy_given = false;  // --hierarchy "" is an error, not the default
  std::optional<int> d_model, heads, seq_len, batch;
  std::optional<double> lr;

  void add_to(CLI::App* app);
  // The preset (or the defaults) with the options given on top; throws for an invalid model.
  RunConfig resolve() const;
};

// --device: auto, cpu or cuda.
CLI::Option* add_device_option(CLI::App* app, std::string& device);
// SOURCE, required: a run directory or a .safetensors checkpoint.
CLI::Option* add_source_option(CLI::App* app, std::string& source);

}  // namespace hg::cli
