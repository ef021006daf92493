// `hourglass eval`: the loss and bits per token of a model source on a split, as one JSON line on
// stdout: the trainer's quick validation (disjoint windows from BOS), or with --full every byte or
// image of the split as published (model/tools/full_eval.h). Not training: the trainer only
// evaluates here.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "app/model_source.h"
#include "model/data/data.h"
#include "model/tools/full_eval.h"
#include "model/train/checkpoint.h"
#include "model/train/trainer.h"

namespace hg::cli {
namespace {

class EvalCommand final : public Command {
 public:
  explicit EvalCommand(CLI::App& app)
      : Command(app.add_subcommand("eval", "Loss and bits per token on a split; one JSON line")) {
    CLI::App* eval = subcommand_;
    add_source_option(eval, source_);
    eval->add_option("--data", data_, "Dataset (default: the run's)");
    eval->add_option("--split", split_, "val or test")->check(CLI::IsMember({"val", "test"}));
    eval->add_option("--batches", batches_, "At most this many batches")
        ->check(whole_number(1, 1 << 24));
    CLI::Option* full = eval->add_flag(
        "--full", full_, "Score every byte (sliding window) or every image of the split");
    eval->add_option("--context", context_,
                     "--full, text: tokens per window, BOS included (default: the model's seq_len)")
        ->check(CLI::Range(1, 1 << 24))
        ->needs(full);
    eval->add_option("--stride", stride_,
                     "--full, text: new bytes scored per window (default: context / 2)")
        ->check(CLI::Range(1, 1 << 24))
        ->needs(full);
    eval->add_option("--batch", batch_, "--full: windows per forward pass (default: the run's)")
        ->check(CLI::Range(1, 1 << 16))
        ->needs(full);
    eval->add_flag("--json", json_, "--full: one JSON line instead of a sentence");
    add_device_option(eval, device_);
  }

  int run(char**) override {
    const ModelSource source = resolve_model_source(source_);
    RunConfig config;
    if (!source.run_dir.empty()) config = read_run_config(source.run_dir);
    config.model = source.config;
    if (!data_.empty()) config.train.data = data_, config.train.format = "";
    if (config.train.data.empty())
      throw std::invalid_argument("--data is required with a bare checkpoint");
    config.train.device = device_;
    config.train.eval_batches = batches_;
    const std::optional<DataFormat> format =
        config.train.format.empty() ? std::nullopt
                                    : std::optional<DataFormat>(parse_format(config.train.format));
    Trainer trainer(config,
                    std::make_shared<const Dataset>(load_dataset(config.train.data, format)));
    load_weights(trainer.model(), source.weights);
    if (full_) return run_full(trainer, source);
    const Metrics m = trainer.evaluate(split_ == "test" ? Split::kTest : Split::kVal);
    std::cout << nlohmann::json{{"source", source_},
                                {"step", source.step},
                                {"split", split_},
                                {"eval", m.eval},
                                {"loss", m.loss},
                                {"bits_per_token", m.bits_per_token},
                                {"tokens_per_s", m.tokens_per_s}}
                     .dump()
              << "\n";
    return 0;
  }

 private:
  // --full: every byte or image; one line, or JSON with --json.
  int run_full(Trainer& trainer, const ModelSource& source) {
    const Dataset& data = trainer.data();
    FullEvalOptions options;
    options.context = context_;
    options.stride = stride_;
    options.batch = batch_ > 0 ? batch_ : trainer.config().train.batch;
    options.bf16 = trainer.config().train.bf16;
    const Split split = split_ == "test" ? Split::kTest : Split::kVal;
    const FullEvalResult r = evaluate_full(trainer.model(), data, split, options);
    const char* per = data.is_image() ? "bits_per_dim" : "bits_per_char";
    if (json_) {
      std::cout << nlohmann::json{{"source", source_},
                                  {"step", source.step},
                                  {"split", split_},
                                  {"eval", r.protocol},
                                  {"context", r.context},
                                  {"stride", r.stride},
                                  {"loss", r.loss},
                                  {per, r.bits},
                                  {"tokens", r.tokens},
                                  {"windows", r.windows},
                                  {"seconds", r.seconds},
                                  {"tokens_per_s", r.tokens / std::max(r.seconds, 1e-9)}}
                       .dump()
                << "\n";
      return 0;
    }
    char line[512];
    if (data.is_image()) {
      std::snprintf(line, sizeof line,
                    "%s %s: %.4f bits/dim over %lld sub-pixels (every image whole: %lld images) "
                    "in %.1f s",
                    data.path.c_str(), split_.c_str(), r.bits, static_cast<long long>(r.tokens),
                    static_cast<long long>(r.windows), r.seconds);
    } else {
      std::snprintf(line, sizeof line,
                    "%s %s: %.4f bits/char over %lld bytes (every byte: context %lld, stride "
                    "%lld, %lld windows) in %.1f s",
                    data.path.c_str(), split_.c_str(), r.bits, static_cast<long long>(r.tokens),
                    static_cast<long long>(r.context), static_cast<long long>(r.stride),
                    static_cast<long long>(r.windows), r.seconds);
    }
    std::cout << line << "\n";
    return 0;
  }

  std::string source_, data_, split_ = "val", device_ = "auto";
  int batches_ = 50;
  bool full_ = false, json_ = false;
  int64_t context_ = 0, stride_ = 0, batch_ = 0;
};

}  // namespace

std::unique_ptr<Command> add_eval(CLI::App& app) { return std::make_unique<EvalCommand>(app); }

}  // namespace hg::cli
