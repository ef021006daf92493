// `hourglass inspect`: the logits, attention maps and activations of one forward pass over a text
// or an image, written as .npy files and a meta.json. Not the forward pass: model/tools/inspect.h.
#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "app/model_source.h"
#include "model/io/inspection_files.h"
#include "model/tools/inspect.h"
#include "model/train/checkpoint.h"

namespace hg::cli {
namespace {

class InspectCommand final : public Command {
 public:
  explicit InspectCommand(CLI::App& app)
      : Command(app.add_subcommand("inspect", "Export logits, attention and activations (.npy)")) {
    CLI::App* inspect = subcommand_;
    add_source_option(inspect, source_);
    auto* text_opt = inspect->add_option("--text", text_, "A text to inspect");
    auto* image_opt = inspect->add_option("--image", image_, "A PNG to inspect");
    text_opt->excludes(image_opt);
    inspect->add_option("--out", out_, "Output folder")->required();
  }

  int run(char**) override {
    const ModelSource source = resolve_model_source(source_);
    Hourglass model = open_model(source, "cpu");
    std::vector<uint8_t> tokens;
    if (!image_.empty()) {
      tokens = image_tokens(image_, source.config);
    } else if (!text_.empty()) {
      tokens.assign(text_.begin(), text_.end());
    } else {
      throw std::invalid_argument("inspect needs --text TEXT or --image PNG");
    }
    write_inspection(hg::inspect(model, tokens), out_);
    std::cerr << "wrote " << out_ << "/meta.json and its .npy files\n";
    return 0;
  }

 private:
  std::string source_, text_, image_, out_;
};

}  // namespace

std::unique_ptr<Command> add_inspect(CLI::App& app) {
  return std::make_unique<InspectCommand>(app);
}

}  // namespace hg::cli
