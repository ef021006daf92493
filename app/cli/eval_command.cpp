// `hourglass eval`: the loss and bits per token of a model source on a split, as one JSON line on
// stdout. Not training: the trainer only evaluates here.
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
    const Metrics m = trainer.evaluate(split_ == "test" ? Split::kTest : Split::kVal);
    std::cout << nlohmann::json{{"source", source_},
                                {"step", source.step},
                                {"split", split_},
                                {"loss", m.loss},
                                {"bits_per_token", m.bits_per_token},
                                {"tokens_per_s", m.tokens_per_s}}
                     .dump()
              << "\n";
    return 0;
  }

 private:
  std::string source_, data_, split_ = "val", device_ = "auto";
  int batches_ = 50;
};

}  // namespace

std::unique_ptr<Command> add_eval(CLI::App& app) { return std::make_unique<EvalCommand>(app); }

}  // namespace hg::cli
