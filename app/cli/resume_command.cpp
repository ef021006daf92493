// `hourglass resume`: a run continues from its newest checkpoint, with as many processes as
// trained it unless --gpus says otherwise. Not the training loop (app/cli/training.h).
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "app/cli/training.h"
#include "app/launch.h"
#include "app/model_source.h"

namespace hg::cli {
namespace {

namespace fs = std::filesystem;

class ResumeCommand final : public Command {
 public:
  explicit ResumeCommand(CLI::App& app)
      : Command(app.add_subcommand("resume", "Continue a run from its newest checkpoint")) {
    CLI::App* resume = subcommand_;
    resume->add_option("RUN_DIR", run_dir_, "The run directory")->required();
    resume->add_option("--steps", steps_, "Raise the run's total step count")
        ->check(whole_number(1, kMostSteps));
    resume
        ->add_option("--gpus", gpus_,
                     "Data-parallel processes (default: as many as trained the run)")
        ->check(whole_number(1, 4096));
  }

  int run(char** argv) override {
    const auto world = world_from_environment();
    // What the run was trained with (a missing or bad config.json: resume() says what is wrong).
    std::optional<TrainConfig> saved;
    if (fs::is_regular_file(fs::path(run_dir_) / "config.json"))
      saved = read_run_config(run_dir_).train;
    const std::string device = saved ? saved->device : "auto";
    if (!world) {
      // As many processes as trained the run, unless --gpus says otherwise (resume() then
      // explains why that cannot be).
      const int processes = gpus_.value_or(saved ? saved->gpus : 1);
      if (workers_requested(processes)) {
        check_workers_possible(device, processes);
        return run_workers(processes, argv);
      }
    }
    const auto trainer = open_trainer(
        world, device, [&](auto group) { return Trainer::resume(run_dir_, steps_, group); });
    if (trainer->done()) {
      if (trainer->writes())
        std::cerr << run_dir_ << " is complete at step " << trainer->step()
                  << ". HINT: pass --steps N to train further\n";
      return 0;
    }
    train_loop(*trainer);
    return 0;
  }

 private:
  std::string run_dir_;
  std::optional<int64_t> steps_;
  std::optional<int> gpus_;
};

}  // namespace

std::unique_ptr<Command> add_resume(CLI::App& app) { return std::make_unique<ResumeCommand>(app); }

}  // namespace hg::cli
