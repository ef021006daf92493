// inspect(): one traced forward pass, its Trace turned into plain data with the index conventions
// of resampling.cpp spelled out per attention layer. Not the files: model/io/inspection_files.cpp
// writes them.
#include "model/tools/inspect.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "model/nn/hourglass.h"
#include "model/nn/memory.h"

namespace hg {
namespace {

// A tensor of any device and dtype as CPU float32, row-major.
std::vector<float> to_floats(const torch::Tensor& tensor) {
  auto t = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const float* begin = t.data_ptr<float>();
  return std::vector<float>(begin, begin + t.numel());
}

// Model mode for a scope: eval while inspecting, the caller's mode afterwards.
class EvalScope {
 public:
  explicit EvalScope(Hourglass& model) : model_(model), was_training_(model->is_training()) {
    model_->eval();
  }
  ~EvalScope() { model_->train(was_training_); }

 private:
  Hourglass& model_;
  bool was_training_;
};

// "level<L>", then "_layer<N>" / "_shorten" / "_upsample" or nothing, as hourglass.cpp names them.
struct TraceName {
  int level = -1;
  std::string rest;  // "" / "layer3" / "shorten" / "upsample"
};

TraceName parse_trace_name(const std::string& name) {
  TraceName parsed;
  const std::string prefix = "level";
  if (name.compare(0, prefix.size(), prefix) == 0) {
    char* end = nullptr;
    const long level = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (end != name.c_str() + prefix.size()) {
      parsed.level = static_cast<int>(level);
      parsed.rest = *end == '_' ? std::string(end + 1) : std::string(end);
    }
  }
  if (parsed.level < 0)
    throw std::logic_error("inspect: the network traced '" + name +
                           "', which is not named level<L>[_layer<N>|_shorten|_upsample]");
  return parsed;
}

// Fills kind, levels, factors and the causal limit of each query for one traced attention layer.
AttentionMap describe_attention(const std::string& name, const Hierarchy& hierarchy,
                                const std::vector<LevelRows>& levels) {
  const TraceName parsed = parse_trace_name(name);
  if (parsed.level >= static_cast<int>(levels.size()))
    throw std::logic_error("inspect: traced attention '" + name + "' has no level in " +
                           hierarchy.to_string());
  AttentionMap map;
  map.name = name;
  map.level = parsed.level;
  map.factor = levels[parsed.level].factor;
  const int k = hierarchy.levels[parsed.level].shorten_factor;
  if (parsed.rest == "shorten" || parsed.rest == "upsample") {
    map.step = k;
    const bool shorten = parsed.rest == "shorten";
    map.kind = shorten ? AttentionKind::kShorten : AttentionKind::kUpsample;
    map.query_level = shorten ? parsed.level + 1 : parsed.level;
    map.key_level = shorten ? parsed.level : parsed.level + 1;
    map.key_offset = shorten ? k - 1 : 0;  // the shift's zero rows in front
  } else if (parsed.rest.compare(0, 5, "layer") == 0) {
    map.kind = AttentionKind::kSelf;
    map.block = std::atoi(parsed.rest.c_str() + 5);
    map.query_level = map.key_level = parsed.level;
  } else {
    throw std::logic_error("inspect: traced attention '" + name + "' is of an unknown kind");
  }
  map.queries = levels[map.query_level].count;
  map.keys = levels[map.key_level].count + map.key_offset;
  map.key_limit.resize(map.queries);
  for (int64_t a = 0; a < map.queries; ++a) {
    switch (map.kind) {
      case AttentionKind::kSelf:
        map.key_limit[a] = a;
        break;
      // Shortened query j sees shifted rows <= jk + k - 1, i.e. finer rows <= jk (resampling.cpp).
      case AttentionKind::kShorten:
        map.key_limit[a] = a * k + k - 1;
        break;
      // Full-resolution query i sees shortened rows <= floor(i / k).
      case AttentionKind::kUpsample:
        map.key_limit[a] = a / k;
        break;
    }
  }
  return map;
}

}  // namespace

double inspection_memory_bytes(const ModelConfig& config, int64_t positions) {
  const Hierarchy hierarchy = config.parsed_hierarchy();
  const double f32 = 4.0, twice = 2.0;  // the traced tensor and its copy in the result
  double bytes = static_cast<double>(positions) * kVocabSize * f32 * twice;  // logits (T, 256)
  for (const Level& level : hierarchy.levels) {
    const double rows = std::ceil(static_cast<double>(positions) / level.factor);
    const int layers = level.pre_layers + level.post_layers;
    bytes += layers * config.n_heads * rows * rows * f32 * twice;  // (H, T_l, T_l) per layer
    bytes += rows * config.d_model * f32 * twice;                  // activations (T_l, D)
  }
  return bytes;
}

InspectResult inspect(Hourglass& model, const std::vector<uint8_t>& tokens) {
  if (tokens.empty())
    throw std::invalid_argument(
        "inspect: the input is empty. HINT: pass a non-empty --text, or an --image");
  const ModelConfig& config = model->config();
  const Hierarchy hierarchy = config.parsed_hierarchy();
  InspectResult result;
  result.config = config;
  result.hierarchy = hierarchy.to_string();
  result.input_length = static_cast<int64_t>(tokens.size());
  const int64_t kept = std::min<int64_t>(result.input_length, config.seq_len);
  result.tokens.assign(tokens.begin(), tokens.begin() + kept);
  result.positions = std::min<int64_t>(kept + 1, config.seq_len);
  for (size_t l = 0; l < hierarchy.levels.size(); ++l)
    result.levels.push_back(
        level_rows(static_cast<int>(l), hierarchy.levels[l].factor, result.positions));

  const auto device = model->parameters().front().device();
  check_memory(
      device, inspection_memory_bytes(config, result.positions),
      "inspecting " + std::to_string(result.positions) + " positions (every attention map is kept)",
      "inspect a shorter input, or a smaller model");

  std::vector<int64_t> ids(result.positions, kBosToken);
  for (int64_t p = 1; p < result.positions; ++p) ids[p] = result.tokens[p - 1];
  auto input = torch::tensor(ids, torch::kLong).view({1, result.positions}).to(device);  // (1, T)

  Trace trace;
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    EvalScope eval(model);
    logits = model->forward(input, &trace);  // (1, T, 256)
  }
  result.logits = to_floats(logits[0]);  // (T, 256)

  for (const auto& [name, weights] : trace.attention) {
    AttentionMap map = describe_attention(name, hierarchy, result.levels);
    map.heads = weights.size(1);
    if (weights.size(0) != 1 || weights.size(2) != map.queries || weights.size(3) != map.keys)
      throw std::logic_error("inspect: attention '" + name + "' traced weights of shape " +
                             c10::str(weights.sizes()) + ", expected (1, H, " +
                             std::to_string(map.queries) + ", " + std::to_string(map.keys) + ")");
    map.weights = to_floats(weights[0]);  // (H, Tq, Tk)
    result.attention.push_back(std::move(map));
  }
  for (const auto& [name, values] : trace.activations) {
    const TraceName parsed = parse_trace_name(name);
    LevelActivations act;
    act.level = parsed.level;
    act.rows = values.size(1);
    act.width = values.size(2);
    if (!parsed.rest.empty() || parsed.level >= static_cast<int>(result.levels.size()) ||
        act.rows != result.levels[parsed.level].count)
      throw std::logic_error("inspect: unexpected activations '" + name + "' of shape " +
                             c10::str(values.sizes()));
    act.values = to_floats(values[0]);  // (T_level, D)
    result.activations.push_back(std::move(act));
  }
  std::sort(result.activations.begin(), result.activations.end(),
            [](const LevelActivations& a, const LevelActivations& b) { return a.level < b.level; });
  return result;
}

}  // namespace hg
