// `hourglass bench`: training (and with --sample, sampling) speed of a model, as JSON on stdout.
// Not the measuring itself: model/tools/bench.h.
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "model/tools/bench.h"

namespace hg::cli {
namespace {

class BenchCommand final : public Command {
 public:
  explicit BenchCommand(CLI::App& app)
      : Command(app.add_subcommand("bench", "Measure training and sampling speed; JSON out")) {
    CLI::App* bench = subcommand_;
    model_.add_to(bench);
    bench->add_flag("--vs-vanilla", options_.vs_vanilla,
                    "Also measure the vanilla transformer of equal depth and width");
    bench->add_flag("--sample", options_.sample,
                    "Also measure sampling: incremental decoding vs full recompute");
    bench->add_option("--iters", options_.iters, "Timed iterations")
        ->check(whole_number(1, 1 << 24));
    bench->add_option("--warmup", options_.warmup, "Untimed iterations first")
        ->check(whole_number(0, 1 << 24));
    bench->add_option("--text-length", options_.text_length, "Tokens per text sample")
        ->check(whole_number(1, 1 << 24));
    bench->add_option("--text-batch", options_.text_batch, "Text samples decoded together")
        ->check(whole_number(1, 1 << 24));
    bench
        ->add_option("--image-length", options_.image_length,
                     "Tokens per image sample (3072: 32x32 RGB)")
        ->check(whole_number(1, 1 << 24));
    bench->add_option("--image-batch", options_.image_batch, "Images decoded together")
        ->check(whole_number(1, 1 << 24));
    bench->add_option("--peak-tflops", options_.peak_tflops,
                      "Device peak TFLOP/s for MFU (default: 989 on CUDA with bf16)");
    bench->add_flag("!--no-bf16", options_.bf16, "Measure in fp32 on CUDA");
    bench->add_flag("!--no-cuda-graph", options_.cuda_graph,
                    "Measure the eager training step only");
    bench->add_flag("--sample-only", options_.sample_only,
                    "With --sample: measure sampling alone (no forward pass or training step)");
    bench->add_flag("!--no-full-recompute", options_.full_recompute,
                    "With --sample: leave out the full-recompute baseline (slow for long samples)");
    bench->add_option("--profile", options_.profile_dir,
                      "Also profile the GPU kernels (CUDA build): traces into this folder, a "
                      "summary per step and per decoded token in the JSON");
  }

  int run(char**) override {
    const RunConfig config = model_.resolve();
    options_.model = config.model;
    options_.batch = config.train.batch;
    options_.device = config.train.device;
    std::cout << run_bench(options_).dump(2) << "\n";
    return 0;
  }

 private:
  ModelOptions model_;
  BenchOptions options_;
};

}  // namespace

std::unique_ptr<Command> add_bench(CLI::App& app) { return std::make_unique<BenchCommand>(app); }

}  // namespace hg::cli
