// `hourglass train`: a new run into --out, alone or as --gpus data-parallel processes. Not the
// training loop and progress line, which `resume` shares (app/cli/training.h).
#include <optional>
#include <stdexcept>
#include <string>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "app/cli/training.h"
#include "app/launch.h"

namespace hg::cli {
namespace {

class TrainCommand final : public Command {
 public:
  explicit TrainCommand(CLI::App& app)
      : Command(app.add_subcommand("train", "Train a new run into RUN_DIR")) {
    CLI::App* train = subcommand_;
    model_.add_to(train);
    run_.add_to(train);
    train->add_option("--max-time", max_time_, "Stop after this many seconds of training")
        ->check(real_number(0.0, 1e9, true));
    train->add_option("--out", out_, "The run directory to create")->required();
    train->add_flag("--force", force_, "Replace an existing run directory");
    train->add_flag(
        "--no-cuda-graph", no_cuda_graph_,
        "Run the training step eagerly on CUDA instead of replaying it as a CUDA graph");
    train
        ->add_option("--gpus", gpus_,
                     "Data-parallel processes, one per GPU (CPU processes through Gloo without "
                     "CUDA); --batch is per process")
        ->check(whole_number(1, 4096));
  }

  int run(char** argv) override {
    RunConfig config = model_.resolve();
    run_.apply(config);
    if (max_time_) config.train.max_time_s = *max_time_;
    if (no_cuda_graph_) config.train.cuda_graph = false;
    const auto world = world_from_environment();
    if (!world && workers_requested(gpus_)) {
      check_workers_possible(config.train.device, gpus_);
      return run_workers(gpus_, argv);
    }
    const auto trainer = open_trainer(world, config.train.device, [&](auto group) {
      return Trainer::create(config, out_, force_, group);
    });
    train_loop(*trainer);
    return 0;
  }

 private:
  ModelOptions model_;
  RunOptions run_;
  std::string out_;
  std::optional<double> max_time_;
  bool force_ = false;
  bool no_cuda_graph_ = false;
  int gpus_ = 1;
};

}  // namespace

std::unique_ptr<Command> add_train(CLI::App& app) { return std::make_unique<TrainCommand>(app); }

}  // namespace hg::cli
