// A hierarchy against its vanilla twin (README, "Compare with vanilla"): the twin's run config,
// the folder both runs go into, and the summary that `hourglass compare` and the studio write as
// compare.json. Not the training: each side is an ordinary run of Trainer, one after the other.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "model/core/run_config.h"

namespace hg {

// The two run directories inside a comparison folder OUT, and its summary.
inline constexpr const char* kCompareHourglassDir = "hourglass";
inline constexpr const char* kCompareVanillaDir = "vanilla";
inline constexpr const char* kCompareSummaryFile = "compare.json";

// The twin's run: the same data, seed, schedule, batch and sequence length, so the same token
// budget, and the same width and depth in one level ("N@1"). Throws std::invalid_argument when
// `config`'s hierarchy is already vanilla (one level: nothing to compare).
RunConfig vanilla_twin_run(const RunConfig& config);

// Checks OUT for a comparison and returns it made absolute (checked_run_path's rules). OUT may
// be new (the first run makes it) or an empty folder; an existing comparison folder (nothing in it
// but the two runs and compare.json) only with `force`, which removes the old compare.json (the
// runs are replaced as `train --force` replaces a run). Anything else is refused, and nothing is
// touched.
std::filesystem::path prepare_compare_dir(const std::string& out, bool force);

// What a finished run's metrics.jsonl says: the last validation, the last line's time and
// compute, the highest peak memory. Throws std::runtime_error naming the file when it holds no
// validation line.
struct RunSummary {
  int64_t step = 0;
  double val_loss = 0.0;  // nats per token, at the last validation
  double val_bits_per_token = 0.0;
  double time_s = 0.0;  // training time, validation included
  int64_t tokens = 0;
  double flops = 0.0;          // training FLOPs (model/core/cost.h)
  int64_t peak_mem_bytes = 0;  // 0 where not measured
};
RunSummary summarize_run(const std::string& run_dir);

// Writes OUT/compare.json (atomically) from the two finished runs in OUT, and returns it:
// {"version": 1, "device": ..., "hourglass": {...}, "vanilla": {...}, "ratio": {...}}, each run
// with its hierarchy, parameters and RunSummary, the ratios hourglass / vanilla.
nlohmann::json write_compare_summary(const std::filesystem::path& out, const std::string& device);

}  // namespace hg
