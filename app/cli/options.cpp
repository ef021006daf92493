// The options several `hourglass` subcommands share (app/cli/options.h): how they are declared to
// CLI11 and how the model options become a RunConfig. Not a subcommand.
#include "app/cli/options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace hg::cli {

void ModelOptions::add_to(CLI::App* app) {
  app->add_option("--preset", preset, "Start from assets/presets/NAME.json (e.g. tiny-cpu)");
  app->add_option("--hierarchy", hierarchy,
                  "Layers@factor pairs, a palindrome: \"2@1 4@3 2@1\"; \"8@1\" is vanilla")
      ->each([this](const std::string&) { hierarchy_given = true; });
  app->add_option("--shorten", shorten, "Shortening: avg, linear or attention")
      ->check(CLI::IsMember({"avg", "linear", "attention"}));
  app->add_option("--upsample", upsample, "Upsampling: repeat, linear or attention")
      ->check(CLI::IsMember({"repeat", "linear", "attention"}));
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
  if (d_model) c.model.d_model = *d_model;
  if (heads) c.model.n_heads = *heads;
  if (seq_len) c.model.seq_len = *seq_len;
  if (batch) c.train.batch = *batch;
  if (lr) c.train.lr = *lr;
  if (!device.empty()) c.train.device = device;
  c.model.validate();
  return c;
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
