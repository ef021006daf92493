// The comparison folder and its summary (compare.h). Torch-free: it reads the runs' files.
#include "model/train/compare.h"

#include <fstream>
#include <stdexcept>

#include "model/core/cost.h"
#include "model/core/metrics.h"
#include "model/io/file_io.h"
#include "model/train/run_dir.h"

namespace hg {
namespace fs = std::filesystem;

RunConfig vanilla_twin_run(const RunConfig& config) {
  const Hierarchy hierarchy = parse_hierarchy(config.model.hierarchy);
  if (hierarchy.levels.size() < 2)
    throw std::invalid_argument("hierarchy \"" + config.model.hierarchy +
                                "\" is already a vanilla transformer: it has no twin to compare "
                                "with. HINT: give one that shortens, e.g. \"2@1 4@3 2@1\"");
  RunConfig twin = config;
  twin.model = config.model.vanilla_twin();
  return twin;
}

fs::path prepare_compare_dir(const std::string& out, bool force) {
  const fs::path dir = checked_run_path(out);
  std::error_code error;
  if (!fs::exists(fs::symlink_status(dir, error))) return dir;  // Trainer::create makes it
  if (!fs::is_directory(dir))
    throw std::invalid_argument("--out " + out + " is a file. HINT: name a folder");
  if (fs::is_empty(dir)) return dir;
  if (!force)
    throw std::invalid_argument("--out " + out +
                                " already exists. HINT: --force replaces an earlier comparison "
                                "there, or name a new folder");
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    std::string why;
    const bool run = (name == kCompareHourglassDir || name == kCompareVanillaDir) &&
                     is_run_directory(entry.path(), &why);
    if (!run && name != kCompareSummaryFile)
      throw std::invalid_argument(
          "--out " + out + " is not a comparison folder (it holds " + name +
          (why.empty() ? "" : ": " + why) +
          "); --force replaces only what `hourglass compare` wrote. HINT: name a new folder");
  }
  fs::remove(dir / kCompareSummaryFile);
  return dir;
}

RunSummary summarize_run(const std::string& run_dir) {
  const std::string path = (fs::path(run_dir) / "metrics.jsonl").string();
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot be read");
  RunSummary summary;
  bool have_val = false;
  std::string line;
  while (std::getline(in, line)) {
    const auto m = parse_metrics_line(line);
    if (!m) continue;
    summary.step = m->step;
    summary.time_s = m->time_s;
    summary.tokens = m->tokens;
    summary.flops = m->flops;
    summary.peak_mem_bytes = std::max(summary.peak_mem_bytes, m->mem_bytes);
    if (m->split == "val") {
      have_val = true;
      summary.val_loss = m->loss;
      summary.val_bits_per_token = m->bits_per_token;
    }
  }
  if (!have_val)
    throw std::runtime_error(path +
                             " holds no validation line: the run did not finish. HINT: "
                             "`hourglass resume` it, then compare again");
  return summary;
}

namespace {

nlohmann::json run_json(const fs::path& run_dir) {
  const RunConfig config = run_config_from_json(read_json_file((run_dir / "config.json").string()));
  const RunSummary s = summarize_run(run_dir.string());
  nlohmann::json j = {{"dir", run_dir.filename().string()},
                      {"hierarchy", config.model.hierarchy},
                      {"params", model_cost(config.model).params},
                      {"steps", s.step},
                      {"tokens", s.tokens},
                      {"val_loss", s.val_loss},
                      {"val_bits_per_token", s.val_bits_per_token},
                      {"time_s", s.time_s},
                      {"train_flops", s.flops},
                      {"peak_mem_bytes", s.peak_mem_bytes}};
  return j;
}

nlohmann::json ratio(const nlohmann::json& a, const nlohmann::json& b, const char* key) {
  const double den = b.at(key).get<double>();
  return den > 0.0 ? nlohmann::json(a.at(key).get<double>() / den) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json write_compare_summary(const fs::path& out, const std::string& device) {
  const nlohmann::json h = run_json(out / kCompareHourglassDir);
  const nlohmann::json v = run_json(out / kCompareVanillaDir);
  nlohmann::json summary = {{"version", 1}, {"device", device}, {"hourglass", h}, {"vanilla", v}};
  nlohmann::json& r = summary["ratio"];
  for (const char* key : {"params", "val_loss", "time_s", "train_flops", "peak_mem_bytes"})
    r[key] = ratio(h, v, key);
  write_file_atomic((out / kCompareSummaryFile).string(), summary.dump(2) + "\n");
  return summary;
}

}  // namespace hg
