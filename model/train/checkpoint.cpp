// Checkpoint writing, discovery and loading. Weight names are the module's parameter names
// ("root.pre.0.attn.qkv.weight"), so a checkpoint reads in Python with safetensors.torch.
#include "model/train/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "model/core/run_config.h"

namespace hg {
namespace fs = std::filesystem;
namespace {

DType dtype_of(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat:
      return DType::kF32;
    case torch::kBFloat16:
      return DType::kBF16;
    case torch::kHalf:
      return DType::kF16;
    case torch::kLong:
      return DType::kI64;
    case torch::kInt:
      return DType::kI32;
    case torch::kByte:
      return DType::kU8;
    default:
      throw std::invalid_argument("to_raw: unsupported tensor type");
  }
}

torch::ScalarType scalar_type_of(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return torch::kFloat;
    case DType::kBF16:
      return torch::kBFloat16;
    case DType::kF16:
      return torch::kHalf;
    case DType::kI64:
      return torch::kLong;
    case DType::kI32:
      return torch::kInt;
    case DType::kU8:
      return torch::kByte;
  }
  return torch::kFloat;
}

std::vector<RawTensor> raw_parameters(const Hourglass& model) {
  std::vector<RawTensor> out;
  for (const auto& item : model->named_parameters())
    out.push_back(to_raw(item.key(), item.value()));
  return out;
}

}  // namespace

std::string step_stem(int64_t step) {
  std::ostringstream out;
  out << "step_" << std::setw(8) << std::setfill('0') << step;
  return out.str();
}

RawTensor to_raw(const std::string& name, const torch::Tensor& tensor) {
  auto t = tensor.detach().to(torch::kCPU).contiguous();
  RawTensor raw;
  raw.name = name;
  raw.dtype = dtype_of(t.scalar_type());
  raw.shape.assign(t.sizes().begin(), t.sizes().end());
  raw.data.resize(t.numel() * t.element_size());
  if (!raw.data.empty()) std::memcpy(raw.data.data(), t.data_ptr(), raw.data.size());
  return raw;
}

torch::Tensor from_raw(const RawTensor& raw) {
  auto t = torch::empty(raw.shape, torch::dtype(scalar_type_of(raw.dtype)));
  if (!raw.data.empty()) std::memcpy(t.data_ptr(), raw.data.data(), raw.data.size());
  return t;
}

void save_weights(const std::string& path, const Hourglass& model) {
  write_safetensors(path, raw_parameters(model),
                    {{"format", "pt"},
                     {"hourglass_config", to_json(model->config()).dump()},
                     {"hourglass_config_hash", architecture_hash(model->config())}});
}

CheckpointInfo save_checkpoint(const std::string& dir, int64_t step, double time_s,
                               const Hourglass& model,
                               const std::vector<std::pair<std::string, torch::Tensor>>& optim) {
  fs::create_directories(dir);
  const std::string stem = (fs::path(dir) / step_stem(step)).string();
  CheckpointInfo info{step, time_s, stem + ".safetensors", stem + ".optim.safetensors",
                      architecture_hash(model->config())};
  save_weights(info.weights, model);
  std::vector<RawTensor> raw;
  for (const auto& [name, tensor] : optim) raw.push_back(to_raw(name, tensor));
  write_safetensors(info.optimizer, raw, {{"step", std::to_string(step)}});
  const nlohmann::json json = {{"step", step},
                               {"time_s", time_s},
                               {"weights", fs::path(info.weights).filename().string()},
                               {"optimizer", fs::path(info.optimizer).filename().string()},
                               {"config_hash", info.config_hash}};
  write_file_atomic(stem + ".json", json.dump(2) + "\n");
  return info;
}

CheckpointInfo read_checkpoint_info(const std::string& json_path) {
  const nlohmann::json j = read_json_file(json_path);
  try {
    const fs::path dir = fs::path(json_path).parent_path();
    CheckpointInfo info;
    info.step = j.at("step").get<int64_t>();
    info.time_s = j.at("time_s").get<double>();
    info.weights = (dir / j.at("weights").get<std::string>()).string();
    info.optimizer = (dir / j.at("optimizer").get<std::string>()).string();
    info.config_hash = j.at("config_hash").get<std::string>();
    return info;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("read_checkpoint_info: " + json_path +
                             " is not a checkpoint description: " + e.what());
  }
}

std::optional<CheckpointInfo> latest_checkpoint(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return std::nullopt;
  // Newest first by the step in the name; a description that does not read, or whose files are
  // missing or empty (a crash mid-save, a stray file), is passed over for the one before it.
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("step_", 0) != 0 || entry.path().extension() != ".json") continue;
    int64_t step = -1;
    try {
      step = std::stoll(name.substr(5));
    } catch (const std::exception&) {
      continue;  // not one of ours
    }
    found.emplace_back(step, entry.path());
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [step, path] : found) {
    std::string why;
    try {
      CheckpointInfo info = read_checkpoint_info(path.string());
      auto present = [&](const std::string& file) {
        return file.empty() || (fs::is_regular_file(file, error) && fs::file_size(file, error) > 0);
      };
      if (present(info.weights) && present(info.optimizer)) return info;
      why = "its weights or optimizer file is missing or empty";
    } catch (const std::exception& e) {
      why = e.what();
    }
    std::cerr << "hourglass: skipped the incomplete checkpoint " << path.string() << " (" << why
              << "); using the one before it\n";
  }
  return std::nullopt;
}

void remove_orphan_temporaries(const std::string& run_dir) {
  std::error_code error;
  for (const fs::path folder :
       {fs::path(run_dir), fs::path(run_dir) / "checkpoints", fs::path(run_dir) / "samples"})
    for (const auto& entry : fs::directory_iterator(folder, error))
      if (entry.path().filename().string().find(".tmp-") != std::string::npos)
        fs::remove(entry.path(), error);
}

ModelConfig read_checkpoint_config(const std::string& weights_path) {
  const SafetensorsFile file = read_safetensors(weights_path);
  auto it = file.metadata.find("hourglass_config");
  if (it == file.metadata.end())
    throw std::runtime_error(weights_path +
                             " has no Hourglass model config in its metadata: it was not "
                             "written by Hourglass Studio. HINT: pass a run directory or a "
                             "checkpoint from `hourglass train`");
  try {
    return model_config_from_json(nlohmann::json::parse(it->second));
  } catch (const std::exception& e) {
    throw std::runtime_error(weights_path + ": its model config is invalid: " + e.what());
  }
}

std::vector<std::pair<std::string, torch::Tensor>> load_tensors(const std::string& path) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& raw : read_safetensors(path).tensors) out.emplace_back(raw.name, from_raw(raw));
  return out;
}

void load_weights(Hourglass& model, const std::string& weights_path) {
  const SafetensorsFile file = read_safetensors(weights_path);
  const std::string hint =
      ". HINT: this checkpoint belongs to a model of another architecture; use the config it "
      "was trained with (its run's config.json)";
  auto params = model->named_parameters();
  // Check everything before copying anything, so a failed load leaves the model as it was.
  for (const auto& item : params) {
    const RawTensor* raw = file.find(item.key());
    if (!raw) throw std::runtime_error(weights_path + " has no tensor '" + item.key() + "'" + hint);
    if (raw->dtype != DType::kF32 && raw->dtype != DType::kF16 && raw->dtype != DType::kBF16)
      throw std::runtime_error(weights_path + ": tensor '" + item.key() + "' is " +
                               dtype_name(raw->dtype) +
                               ", not a floating-point type (F32, F16 or BF16)");
    if (std::vector<int64_t>(item.value().sizes().begin(), item.value().sizes().end()) !=
        raw->shape)
      throw std::runtime_error(weights_path + ": tensor '" + item.key() +
                               "' has another shape than the model's" + hint);
  }
  if (file.tensors.size() != params.size())
    throw std::runtime_error(weights_path + " holds " + std::to_string(file.tensors.size()) +
                             " tensors, the model has " + std::to_string(params.size()) + hint);
  std::vector<torch::Tensor> loaded;
  for (auto& item : params) {
    loaded.push_back(from_raw(*file.find(item.key())));
    if (!torch::isfinite(loaded.back()).all().item<bool>())
      throw std::runtime_error(weights_path + ": tensor '" + item.key() +
                               "' holds NaN or infinite values (a diverged run). HINT: load an "
                               "earlier checkpoint of the run");
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i)
    params[i].value().copy_(loaded[i].to(params[i].value().options()));
}

ModelSource resolve_model_source(const std::string& path) {
  ModelSource source;
  std::error_code error;
  if (fs::is_directory(path, error)) {
    const auto latest = latest_checkpoint((fs::path(path) / "checkpoints").string());
    if (!latest)
      throw std::runtime_error(path +
                               " holds no checkpoint (no checkpoints/step_*.json). HINT: "
                               "train longer, or pass a .safetensors file");
    source.run_dir = path;
    source.weights = latest->weights;
    source.step = latest->step;
    source.config =
        run_config_from_json(read_json_file((fs::path(path) / "config.json").string())).model;
    return source;
  }
  if (!fs::is_regular_file(path, error))
    throw std::runtime_error(path + " does not exist: pass a run directory or a .safetensors file");
  source.weights = path;
  source.config = read_checkpoint_config(path);
  return source;
}

}  // namespace hg
