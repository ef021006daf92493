// `hourglass sample`: text samples into a .txt file, or 32x32 images (optionally completing the
// top rows of --prime) into a .png grid. Not the decoding itself: model/decode/sampler.h.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "app/model_source.h"
#include "model/decode/sampler.h"
#include "model/io/file_io.h"
#include "model/io/image_io.h"
#include "model/io/inspection_files.h"
#include "model/train/checkpoint.h"

namespace hg::cli {
namespace {

namespace fs = std::filesystem;

int image_channels_or_throw(const ModelConfig& config) {
  if (const int channels = image_channels(config)) return channels;
  throw std::invalid_argument("this model's sequences are " + std::to_string(config.seq_len) +
                              " tokens, not a 32x32 image (1024 or 3072). HINT: sample text "
                              "into a .txt file");
}

std::string extension_of(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

class SampleCommand final : public Command {
 public:
  explicit SampleCommand(CLI::App& app)
      : Command(app.add_subcommand("sample", "Generate text (.txt) or 32x32 images (.png)")) {
    CLI::App* sample = subcommand_;
    add_source_option(sample, source_);
    auto* prompt_opt = sample->add_option("--prompt", prompt_, "Text to continue");
    auto* prime_opt =
        sample->add_option("--prime", prime_, "A PNG whose top rows the samples complete");
    prompt_opt->excludes(prime_opt);
    sample->add_option("--keep-rows", keep_rows_, "Rows of --prime to keep (0..32)")
        ->check(whole_number(0, 32));
    sample->add_option("--n", options_.n, "Number of samples")->check(whole_number(1, 4096));
    sample
        ->add_option("--length", options_.length,
                     "Tokens per sample, prompt included "
                     "(images: always the whole image)")
        ->check(whole_number(1, int64_t{1} << 24))
        ->each([this](const std::string&) { length_given_ = true; });
    sample->add_option("--temperature", options_.temperature, "Softmax temperature (0: greedy)")
        ->check(real_number(0.0, 1000.0));
    sample->add_option("--top-k", options_.top_k, "Keep the k most likely tokens (0: all)")
        ->check(whole_number(0, 256));
    sample->add_option("--top-p", options_.top_p, "Nucleus sampling mass")
        ->check(real_number(0.0, 1.0, true));
    sample->add_option("--seed", options_.seed, "Sampling seed");
    sample->add_flag("--full-recompute", options_.full_recompute,
                     "Recompute the whole sequence per token (the slow reference path)");
    add_device_option(sample, device_);
    sample->add_option("--out", out_, "Output .txt or .png")->required();
  }

  int run(char**) override {
    const ModelSource source = resolve_model_source(source_);
    Hourglass model = open_model(source, device_);
    SampleRequest request;
    request.options = options_;
    const std::string ext = extension_of(out_);
    if (ext == ".png") {
      const int channels = image_channels_or_throw(source.config);
      request.options.length = source.config.seq_len;
      if (!prime_.empty()) {
        const Image image = load_image_32(prime_, channels);
        request.known.assign(image.pixels.begin(),
                             image.pixels.begin() + keep_rows_ * 32 * channels);
      }
      const SampleResult result = sample(model, request);
      std::vector<uint8_t> pixels;
      for (const auto& t : result.tokens) pixels.insert(pixels.end(), t.begin(), t.end());
      write_png(out_, grid(pixels.data(), options_.n, 32, 32, channels));
    } else if (ext == ".txt") {
      if (!prime_.empty()) throw std::invalid_argument("--prime is for .png output");
      for (const unsigned char byte : prompt_) request.known.push_back(byte);  // bytes >= 0x80 too
      if (!length_given_)
        request.options.length =
            std::min<int64_t>(static_cast<int64_t>(prompt_.size()) + 256, source.config.seq_len);
      const SampleResult result = sample(model, request);
      std::string text;
      for (size_t i = 0; i < result.tokens.size(); ++i) {
        if (result.tokens.size() > 1) text += "=== sample " + std::to_string(i + 1) + " ===\n";
        text.append(result.tokens[i].begin(), result.tokens[i].end());
        if (result.tokens.size() > 1) text += "\n";
      }
      write_file_atomic(out_, text);
    } else {
      throw std::invalid_argument("--out " + out_ + ": write .txt (text) or .png (images)");
    }
    std::cerr << "wrote " << out_ << "\n";
    return 0;
  }

 private:
  std::string source_, prompt_, prime_, out_, device_ = "auto";
  int keep_rows_ = 16;
  SampleOptions options_;
  bool length_given_ = false;
};

}  // namespace

std::unique_ptr<Command> add_sample(CLI::App& app) { return std::make_unique<SampleCommand>(app); }

}  // namespace hg::cli
