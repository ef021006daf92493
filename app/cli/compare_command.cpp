// `hourglass compare`: the configured hierarchy and its vanilla twin of equal depth and width,
// trained one after the other on the same data, seed and token budget into OUT/hourglass and
// OUT/vanilla, then OUT/compare.json (model/train/compare.h). Not a new training loop: each side
// is what `hourglass train` runs.
#include <cstdio>
#include <iostream>
#include <string>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "app/cli/training.h"
#include "model/nn/device.h"
#include "model/train/compare.h"

namespace hg::cli {
namespace {

// One row of the table printed at the end.
void print_row(const char* name, const nlohmann::json& run) {
  char line[240];
  std::snprintf(line, sizeof line, "%-10s %-22s %10.3g %9.4f %10.1f %12.3g %10.1f\n", name,
                run.at("hierarchy").get<std::string>().c_str(), run.at("params").get<double>(),
                run.at("val_bits_per_token").get<double>(), run.at("time_s").get<double>(),
                run.at("train_flops").get<double>(),
                run.at("peak_mem_bytes").get<double>() / (1024.0 * 1024.0));
  std::cerr << line;
}

class CompareCommand final : public Command {
 public:
  explicit CompareCommand(CLI::App& app)
      : Command(app.add_subcommand(
            "compare",
            "Train the hierarchy and its vanilla twin (same depth, width, data, seed and "
            "tokens) into OUT/hourglass and OUT/vanilla; summary in OUT/compare.json")) {
    CLI::App* compare = subcommand_;
    model_.add_to(compare);
    run_.add_to(compare);
    compare->add_option("--out", out_, "The folder both runs and compare.json go into")->required();
    compare->add_flag("--force", force_, "Replace an earlier comparison in --out");
  }

  int run(char**) override {
    RunConfig config = model_.resolve();
    run_.apply(config);
    const RunConfig twin = vanilla_twin_run(config);  // refuses a vanilla hierarchy
    config.train.validate();
    const auto out = prepare_compare_dir(out_, force_);
    std::string device;
    const std::pair<const RunConfig*, const char*> sides[] = {{&config, kCompareHourglassDir},
                                                              {&twin, kCompareVanillaDir}};
    for (const auto& [side, name] : sides) {
      const std::string dir = (out / name).string();
      std::cerr << "compare: " << name << " (" << side->model.hierarchy << ")\n";
      const auto trainer = Trainer::create(*side, dir, force_);
      device = describe_device(trainer->device());
      train_loop(*trainer);
      if (!trainer->done()) {
        std::cerr << "compare: stopped in " << dir << " before the end; no " << kCompareSummaryFile
                  << " was written\n";
        return 1;
      }
    }
    const nlohmann::json summary = write_compare_summary(out, device);
    std::cerr << "\n"
              << "run        hierarchy                  params  val bits  time (s)  train FLOPs  "
                 "peak MiB\n";
    print_row(kCompareHourglassDir, summary.at(kCompareHourglassDir));
    print_row(kCompareVanillaDir, summary.at(kCompareVanillaDir));
    std::cerr << "summary: " << (out / kCompareSummaryFile).string() << "\n";
    return 0;
  }

 private:
  ModelOptions model_;
  RunOptions run_;
  std::string out_;
  bool force_ = false;
};

}  // namespace

std::unique_ptr<Command> add_compare(CLI::App& app) {
  return std::make_unique<CompareCommand>(app);
}

}  // namespace hg::cli
