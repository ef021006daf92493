// Model configuration and the hierarchy notation of the paper ("2@1 4@3 2@1").
// Torch-free on purpose: the studio's Run panel parses, validates and costs configs as the user
// types, without linking the network. Not the run config (model/core/run_config.h).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace hg {

// One pair of the notation: `layers` transformer blocks at cumulative shortening `factor`.
struct HierarchyPair {
  int layers = 0;
  int factor = 1;
};

// A parsed hierarchy: pairs as written, plus the levels they describe. Level 0 is full resolution;
// level i has pre_layers before its shortening and post_layers after its upsampling, except the
// innermost level, which only has `pre_layers` (the middle pair).
struct Level {
  int factor = 1;          // cumulative, in original tokens (docs/MODEL.md)
  int shorten_factor = 1;  // k from this level to the next; 1 for the innermost level
  int pre_layers = 0;
  int post_layers = 0;
};

struct Hierarchy {
  std::vector<HierarchyPair> pairs;
  std::vector<Level> levels;

  int total_factor() const { return levels.empty() ? 1 : levels.back().factor; }
  int num_layers() const;  // all transformer blocks, every level
  std::string to_string() const;
};

// Parses and validates the notation; throws std::invalid_argument naming the bad pair.
Hierarchy parse_hierarchy(const std::string& text);

// How a level shortens and lengthens the sequence (docs/MODEL.md, "Resampling"). The attention
// kinds run a cross-attention block over a base: its query is the base's result, its keys the
// level's tokens. Shortening's base is the average ("attention", also "attention+avg") or the
// linear map ("attention+linear"); upsampling's is repetition ("attention", also
// "attention+repeat") or the linear map ("attention+linear").
enum class ShortenKind { kAvg, kLinear, kAttention, kAttentionLinear };
enum class UpsampleKind { kRepeat, kLinear, kAttention, kAttentionLinear };

std::string to_string(ShortenKind kind);
std::string to_string(UpsampleKind kind);
ShortenKind parse_shorten(const std::string& text);    // throws std::invalid_argument
UpsampleKind parse_upsample(const std::string& text);  // throws std::invalid_argument
// Every kind's name as to_string() writes it, for option lists and menus.
const std::vector<std::string>& shorten_names();
const std::vector<std::string>& upsample_names();

inline bool is_attention(ShortenKind kind) {
  return kind == ShortenKind::kAttention || kind == ShortenKind::kAttentionLinear;
}
inline bool is_attention(UpsampleKind kind) {
  return kind == UpsampleKind::kAttention || kind == UpsampleKind::kAttentionLinear;
}
// Whether the kind's result (or its attention's base) is a learned linear map of the group.
inline bool has_linear_map(ShortenKind kind) {
  return kind == ShortenKind::kLinear || kind == ShortenKind::kAttentionLinear;
}
inline bool has_linear_map(UpsampleKind kind) {
  return kind == UpsampleKind::kLinear || kind == UpsampleKind::kAttentionLinear;
}

// The largest hierarchy a config may name: layers in all, and a level's cumulative factor.
constexpr int kMaxLayers = 1024;
constexpr int kMaxFactor = 65536;

// Tokens: bytes for text, sub-pixels for images (docs/MODEL.md), plus one BOS id.
constexpr int kVocabSize = 256;
constexpr int kBosToken = 256;

struct ModelConfig {
  std::string hierarchy = "2@1 4@3 2@1";  // the paper's notation; "8@1" is the vanilla baseline
  // Linear both ways: cheap, and the step decoder can run it. The paper's own models resample
  // with attention (the paper-* presets).
  ShortenKind shorten = ShortenKind::kLinear;
  UpsampleKind upsample = UpsampleKind::kLinear;
  int d_model = 256;     // width of every level (the paper keeps it constant across levels)
  int n_heads = 4;       // d_model must divide by it; head size d_model / n_heads must be even
  int mlp_ratio = 4;     // MLP hidden width = mlp_ratio * d_model, as in GPT-2
  int seq_len = 256;     // tokens per training sequence, BOS included
  double dropout = 0.0;  // on attention weights and residual branches; 0 for small data
  bool tie_embeddings = true;    // output projection shares the token embedding
  double rotary_base = 10000.0;  // rotary frequency base (RoFormer)
  // A LayerNorm on every shortened and upsampled vector before it enters the next level or the
  // residual stream, as the authors' code does; off by default (docs/MODEL.md, "Resampling").
  bool resample_norm = false;

  // Throws std::invalid_argument naming the field, the value and what would be valid.
  void validate() const;
  Hierarchy parsed_hierarchy() const { return parse_hierarchy(hierarchy); }
  int head_dim() const { return d_model / n_heads; }
  // The vanilla transformer of the same depth and width: one level with all the layers.
  ModelConfig vanilla_twin() const;
};

nlohmann::json to_json(const ModelConfig& config);
// Unknown keys are errors, not silently ignored (docs/DEVELOPING.md); missing keys keep defaults.
// The result is validated.
ModelConfig model_config_from_json(const nlohmann::json& json);
// A stable 64-bit hash of the fields that decide the weights' shapes, as 16 hex digits.
std::string architecture_hash(const ModelConfig& config);

}  // namespace hg
