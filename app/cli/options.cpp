// The options several `hourglass` subcommands share (app/cli/options.h): how they are declared to
// CLI11 and how the model options become a RunConfig. Not a subcommand.
#include "app/cli/options.h"

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
  app->add_option("--d-model", d_model, "Model width D")->check(CLI::PositiveNumber);
  app->add_option("--heads", heads, "Attention heads (must divide D)")->check(CLI::PositiveNumber);
  app->add_option("--seq-len", seq_len,
                  "Tokens per sequence, BOS included (images: set "
                  "from the data)")
      ->check(CLI::PositiveNumber);
  app->add_option("--batch", batch, "Sequences per optimizer step")->check(CLI::PositiveNumber);
  app->add_option("--lr", lr, "Peak learning rate")->check(CLI::PositiveNumber);
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

CLI::Option* add_device_option(CLI::App* app, std::string& device) {
  return app->add_option("--device", device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
}

CLI::Option* add_source_option(CLI::App* app, std::string& source) {
  return app->add_option("SOURCE", source, "A run directory or a .safetensors checkpoint")
      ->required();
}

}  // namespace hg::cli
