// TrainConfig / RunConfig validation and JSON, and where presets are found.
#include "model/core/run_config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "model/core/json_numbers.h"

namespace hg {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

template <typename T>
std::string field(const char* name, T value) {
  std::ostringstream out;
  out << name << " = " << value;
  return out.str();
}

fs::path executable_dir() {
  std::error_code error;
  auto exe = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path() : exe.parent_path();
}

}  // namespace

void TrainConfig::validate() const {
  if (steps < 1) fail(field("steps", steps) + " must be at least 1");
  if (!(max_time_s >= 0.0)) fail(field("max_time_s", max_time_s) + " must be 0 (off) or more");
  if (batch < 1) fail(field("batch", batch) + " must be at least 1");
  if (grad_accum < 1 || batch % grad_accum != 0)
    fail(field("grad_accum", grad_accum) +
         " must be at least 1 and divide batch = " + std::to_string(batch));
  if (!(lr > 0.0 && lr < 10.0)) fail(field("lr", lr) + " must be in (0, 10)");
  if (!(min_lr_ratio >= 0.0 && min_lr_ratio <= 1.0))
    fail(field("min_lr_ratio", min_lr_ratio) + " must be in [0, 1]");
  if (warmup_steps < 0) fail(field("warmup_steps", warmup_steps) + " must be 0 or more");
  if (!(weight_decay >= 0.0)) fail(field("weight_decay", weight_decay) + " must be 0 or more");
  if (!(beta1 >= 0.0 && beta1 < 1.0)) fail(field("beta1", beta1) + " must be in [0, 1)");
  if (!(beta2 >= 0.0 && beta2 < 1.0)) fail(field("beta2", beta2) + " must be in [0, 1)");
  if (!(grad_clip >= 0.0)) fail(field("grad_clip", grad_clip) + " must be 0 (off) or more");
  if (device != "auto" && device != "cpu" && device != "cuda")
    fail("device = '" + device + "' must be one of auto, cpu, cuda");
  if (eval_every < 0) fail(field("eval_every", eval_every) + " must be 0 (at the end) or more");
  if (eval_batches < 1) fail(field("eval_batches", eval_batches) + " must be at least 1");
  if (save_every < 0) fail(field("save_every", save_every) + " must be 0 (at the end) or more");
  if (sample_every < 0) fail(field("sample_every", sample_every) + " must be 0 or more");
  if (threads < 0) fail(field("threads", threads) + " must be 0 (all) or more");
  if (gpus < 1 || gpus > 4096) fail(field("gpus", gpus) + " must be between 1 and 4096");
  if (!format.empty() && format != "text" && format != "idx" && format != "cifar" &&
      format != "images" && format != "npz")
    fail("format = '" + format + "' must be one of text, idx, cifar, images, npz (or left out)");
}

nlohmann::json to_json(const TrainConfig& c) {
  return {{"data", c.data},
          {"format", c.format},
          {"preset", c.preset},
          {"steps", c.steps},
          {"max_time_s", c.max_time_s},
          {"batch", c.batch},
          {"grad_accum", c.grad_accum},
          {"lr", c.lr},
          {"min_lr_ratio", c.min_lr_ratio},
          {"warmup_steps", c.warmup_steps},
          {"weight_decay", c.weight_decay},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"grad_clip", c.grad_clip},
          {"seed", c.seed},
          {"device", c.device},
          {"bf16", c.bf16},
          {"eval_every", c.eval_every},
          {"eval_batches", c.eval_batches},
          {"save_every", c.save_every},
          {"sample_every", c.sample_every},
          {"threads", c.threads},
          {"gpus", c.gpus},
          {"cuda_graph", c.cuda_graph}};
}

nlohmann::json to_json(const RunConfig& c) {
  return {{"version", 1}, {"model", to_json(c.model)}, {"train", to_json(c.train)}};
}

TrainConfig train_config_from_json(const nlohmann::json& j, TrainConfig c) {
  if (!j.is_object()) fail("train config must be a JSON object");
  // Every key of to_json is accepted, assigned through the same table, so the two cannot drift.
  nlohmann::json merged = to_json(c);
  for (const auto& [key, value] : j.items()) {
    if (!merged.contains(key)) {
      std::string known;
      for (const auto& [k, v] : merged.items()) known += (known.empty() ? "" : ", ") + k;
      fail("train config has an unknown key '" + key + "' (known: " + known + ")");
    }
    if (value.type() != merged[key].type() && !(value.is_number() && merged[key].is_number()))
      fail("train config key '" + key + "' has a value of the wrong type: " + value.dump());
    merged[key] = value;
  }
  try {
    c.data = merged["data"];
    c.format = merged["format"];
    c.preset = merged["preset"];
    c.steps = whole_number<int64_t>(merged["steps"], "train config key 'steps'");
    c.max_time_s = merged["max_time_s"];
    c.batch = whole_number<int>(merged["batch"], "train config key 'batch'");
    c.grad_accum = whole_number<int>(merged["grad_accum"], "train config key 'grad_accum'");
    c.lr = merged["lr"];
    c.min_lr_ratio = merged["min_lr_ratio"];
    c.warmup_steps =
        whole_number<int64_t>(merged["warmup_steps"], "train config key 'warmup_steps'");
    c.weight_decay = merged["weight_decay"];
    c.beta1 = merged["beta1"];
    c.beta2 = merged["beta2"];
    c.grad_clip = merged["grad_clip"];
    c.seed = whole_number<uint64_t>(merged["seed"], "train config key 'seed'");
    c.device = merged["device"];
    c.bf16 = merged["bf16"];
    c.eval_every = whole_number<int64_t>(merged["eval_every"], "train config key 'eval_every'");
    c.eval_batches = whole_number<int>(merged["eval_batches"], "train config key 'eval_batches'");
    c.save_every = whole_number<int64_t>(merged["save_every"], "train config key 'save_every'");
    c.sample_every =
        whole_number<int64_t>(merged["sample_every"], "train config key 'sample_every'");
    c.threads = whole_number<int>(merged["threads"], "train config key 'threads'");
    c.gpus = whole_number<int>(merged["gpus"], "train config key 'gpus'");
    c.cuda_graph = merged["cuda_graph"];
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("train config: ") + e.what());
  }
  c.validate();
  return c;
}

RunConfig run_config_from_json(const nlohmann::json& j, RunConfig c) {
  if (!j.is_object()) fail("run config must be a JSON object with \"model\" and \"train\"");
  for (const auto& [key, value] : j.items()) {
    if (key == "model") {
      nlohmann::json merged = to_json(c.model);
      if (!value.is_object()) fail("run config \"model\" must be a JSON object");
      for (const auto& [k, v] : value.items()) merged[k] = v;  // unknown keys fail below
      c.model = model_config_from_json(merged);
    } else if (key == "train") {
      c.train = train_config_from_json(value, c.train);
    } else if (key == "version") {
      if (value != 1) fail("run config version " + value.dump() + " is not supported (1 is)");
    } else if (key != "description") {
      fail("run config has an unknown key '" + key + "' (known: model, train, description)");
    }
  }
  return c;
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("read_json_file: cannot open " + path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error("read_json_file: " + path + " is not valid JSON: " + e.what());
  }
}

std::string assets_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("HOURGLASS_ASSETS")) candidates.emplace_back(env);
  const fs::path exe = executable_dir();
  if (!exe.empty()) candidates.push_back(exe / ".." / "share" / "hourglass-studio");
#ifdef HOURGLASS_SOURCE_ASSETS
  candidates.emplace_back(HOURGLASS_SOURCE_ASSETS);
#endif
  for (const auto& dir : candidates) {
    std::error_code error;
    if (fs::is_directory(dir / "presets", error)) return fs::weakly_canonical(dir).string();
  }
  return "";
}

std::string preset_path(const std::string& name) {
  const std::string dir = assets_dir();
  if (dir.empty())
    throw std::runtime_error("preset '" + name +
                             "': no assets folder found. HINT: set HOURGLASS_ASSETS to the "
                             "project's assets/ folder");
  const fs::path path = fs::path(dir) / "presets" / (name + ".json");
  if (fs::is_regular_file(path)) return path.string();
  std::string known;
  for (const auto& entry : fs::directory_iterator(fs::path(dir) / "presets"))
    if (entry.path().extension() == ".json")
      known += (known.empty() ? "" : ", ") + entry.path().stem().string();
  throw std::runtime_error("preset '" + name + "' does not exist in " + dir +
                           "/presets (known: " + known + ")");
}

RunConfig load_preset(const std::string& name) {
  const std::string path = preset_path(name);
  try {
    RunConfig config = run_config_from_json(read_json_file(path));
    config.train.preset = name;
    return config;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("preset " + path + ": " + e.what());
  }
}

}  // namespace hg
