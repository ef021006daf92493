// The options several `hourglass` subcommands share (app/cli/options.h): how they are declared to
// CLI11 and how the model options become a RunConfig. Not a subcommand.
#include "app/cli/options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace hg::cli {

void ModelOptions::add_to(CLI::App* app) {
  app->add_option("--preset", preset, "Start from assets/presets/NAME.json (e.g. tiny-cpu)");
  app->add_option("--hierarchy", hierarchy,
                  "Layers@factor pairs, a palindrome: \"2@1 4@3 2@1\"; \"8@1\" is vanilla")
      ->each([this](const std::string&) { hierarchy_given = true; });
  app->add_option("--shorten", shorten,
                  "Shortening: avg, linear, attention (over the average) or attention+linear")
      ->check(CLI::IsMember(shorten_names()));
  app->add_option("--upsample", upsample,
                  "Upsampling: repeat, linear, attention (over repeat) or attention+linear")
      ->check(CLI::IsMember(upsample_names()));
  app->add_flag("--resample-norm", resample_norm,
                "A LayerNorm on every shortened and upsampled vector, as the authors' code does");
  app->add_option("--d-model", d_model, "Model width D")->check(whole_number(2, 65536));
  app->add_option("--heads", heads, "Attention heads (must divide D)")
      ->check(whole_number(1, 65536));
  app->add_option("--seq-len", seq_len,
                  "Tokens per sequence, BOS included (images: set "
                  "from the data)")
      ->check(whole_number(2, 1 << 22));
  app->add_option("--batch", batch, "Sequences per optimizer step")
      ->check(whole_number(1, 1 << 24));
  app->add_option("--lr", lr, "Peak learning rate")->check(real_number(0.0, 10.0, true));
  add_device_option(app, device);
}

RunConfig ModelOptions::resolve() const {
  RunConfig c = preset.empty() ? RunConfig{} : load_preset(preset);
  if (hierarchy_given) c.model.hierarchy = hierarchy;
  if (!shorten.empty()) c.model.shorten = parse_shorten(shorten);
  if (!upsample.empty()) c.model.upsample = parse_upsample(upsample);
  if (resample_norm) c.model.resample_norm = true;
  if (d_model) c.model.d_model = *d_model;
  if (heads) c.model.n_heads = *heads;
  if (seq_len) c.model.seq_len = *seq_len;
  if (batch) c.train.batch = *batch;
  if (lr) c.train.lr = *lr;
  if (!device.empty()) c.train.device = device;
  c.model.validate();
  return c;
}

void RunOptions::add_to(CLI::App* app) {
  app->add_option("--data", data,
                  "Dataset: a text file or folder, IDX, CIFAR batches (binary or pickled), "
                  "ImageNet .npz batches, or a folder of PNG/JPEG (default: the preset's)");
  app->add_option("--format", format, "text, idx, cifar, images or npz (guessed from the path)")
      ->check(CLI::IsMember({"text", "idx", "cifar", "images", "npz"}));
  app->add_option("--steps", steps, "Optimizer steps")->check(whole_number(1, kMostSteps));
  app->add_option("--seed", seed, "One seed for weights, data order and dropout");
  app->add_option("--eval-every", eval_every, "Steps between validation passes (0: at the end)")
      ->check(whole_number(0, kMostSteps));
  app->add_option("--save-every", save_every, "Steps between checkpoints (0: at the end)")
      ->check(whole_number(0, kMostSteps));
}

void RunOptions::apply(RunConfig& config) const {
  if (!data.empty()) config.train.data = data;
  if (config.train.data.empty())
    throw std::invalid_argument("--data is required (or a --preset that names data)");
  if (!format.empty()) config.train.format = format;
  if (steps) config.train.steps = *steps;
  if (seed) config.train.seed = *seed;
  if (eval_every) config.train.eval_every = *eval_every;
  if (save_every) config.train.save_every = *save_every;
}

CLI::Validator whole_number(int64_t low, int64_t high) {
  const std::string allowed =
      "a whole number from " + std::to_string(low) + " to " + std::to_string(high);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        const long long value = std::strtoll(text.c_str(), &end, 10);
        const bool whole = !text.empty() && *end == '\0' && errno == 0;
        if (whole && value >= low && value <= high) return "";
        return text + " is not " + allowed;
      },
      "INT in " + std::to_string(low) + ".." + std::to_string(high), "whole number");
}

CLI::Validator real_number(double low, double high, bool above_low) {
  std::ostringstream allowed;
  allowed << (above_low ? "a number above " : "a number from ") << low
          << (above_low ? ", at most " : " to ") << high;
  return CLI::Validator(
      [=, allowed = allowed.str()](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        const bool number = !text.empty() && *end == '\0' && std::isfinite(value);
        if (number && (above_low ? value > low : value >= low) && value <= high) return "";
        return text + " is not " + allowed;
      },
      "NUMBER", "number");
}

CLI::Option* add_device_option(CLI::App* app, std::string& device) {
  return app->add_option("--device", device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
}

CLI::Option* add_source_option(CLI::App* app, std::string& source) {
  return app->add_option("SOURCE", source, "A run directory or a .safetensors checkpoint")
      ->required();
}

}  // namespace hg::cli
