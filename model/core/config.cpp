// Parsing and validation of the hierarchy notation and of ModelConfig; JSON (de)serialisation.
// Every error names the field or pair at fault and says what would be valid.
#include "model/core/config.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "model/core/json_numbers.h"

namespace hg {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

HierarchyPair parse_pair(const std::string& word, size_t index) {
  const std::string where = "hierarchy pair " + std::to_string(index + 1) + " '" + word + "'";
  const size_t at = word.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == word.size())
    fail(where + " is not of the form LAYERS@FACTOR (e.g. 2@1)");
  auto parse_int = [&](const std::string& digits, const char* what, int most) {
    if (digits.find_first_not_of("0123456789") != std::string::npos)
      fail(where + ": " + what + " '" + digits + "' is not a whole number");
    if (digits.size() > 9 || std::stoi(digits) > most)
      fail(where + ": " + what + " " + digits + " is more than the " + std::to_string(most) +
           " allowed");
    return std::stoi(digits);
  };
  HierarchyPair pair;
  pair.layers = parse_int(word.substr(0, at), "layer count", kMaxLayers);
  pair.factor = parse_int(word.substr(at + 1), "factor", kMaxFactor);
  if (pair.layers < 1) fail(where + ": a pair needs at least 1 layer");
  if (pair.factor < 1) fail(where + ": the factor must be 1 or more");
  return pair;
}

}  // namespace

int Hierarchy::num_layers() const {
  int total = 0;
  for (const auto& pair : pairs) total += pair.layers;
  return total;
}

std::string Hierarchy::to_string() const {
  std::string out;
  for (const auto& pair : pairs) {
    if (!out.empty()) out += ' ';
    out += std::to_string(pair.layers) + "@" + std::to_string(pair.factor);
  }
  return out;
}

Hierarchy parse_hierarchy(const std::string& text) {
  Hierarchy h;
  std::istringstream words(text);
  std::string word;
  while (words >> word) h.pairs.push_back(parse_pair(word, h.pairs.size()));
  const size_t n = h.pairs.size();
  if (n == 0) fail("hierarchy is empty: write pairs LAYERS@FACTOR such as \"2@1 4@3 2@1\"");
  if (h.num_layers() > kMaxLayers)
    fail("hierarchy \"" + text + "\" has " + std::to_string(h.num_layers()) + " layers; at most " +
         std::to_string(kMaxLayers) + " are allowed");
  if (n % 2 == 0)
    fail("hierarchy \"" + text + "\" has " + std::to_string(n) +
         " pairs; a palindrome has an odd number (e.g. \"2@1 4@3 2@1\", or \"8@1\")");
  if (h.pairs[0].factor != 1)
    fail("hierarchy pair 1 '" + std::to_string(h.pairs[0].layers) + "@" +
         std::to_string(h.pairs[0].factor) + "' must have factor 1 (full resolution)");
  const size_t middle = n / 2;
  for (size_t i = 0; i < middle; ++i) {
    const HierarchyPair& a = h.pairs[i];
    const HierarchyPair& b = h.pairs[n - 1 - i];
    if (a.factor != b.factor || a.layers != b.layers)
      fail("hierarchy is not a palindrome: pair " + std::to_string(i + 1) + " '" +
           std::to_string(a.layers) + "@" + std::to_string(a.factor) + "' does not mirror pair " +
           std::to_string(n - i) + " '" + std::to_string(b.layers) + "@" +
           std::to_string(b.factor) + "'");
    const HierarchyPair& next = h.pairs[i + 1];
    if (next.factor <= a.factor || next.factor % a.factor != 0)
      fail("hierarchy pair " + std::to_string(i + 2) + " '" + std::to_string(next.layers) + "@" +
           std::to_string(next.factor) + "': its factor must be a larger multiple of the factor " +
           std::to_string(a.factor) + " before it (factors are cumulative, e.g. 1, 3, 9)");
  }
  for (size_t i = 0; i <= middle; ++i) {
    Level level;
    level.factor = h.pairs[i].factor;
    level.pre_layers = h.pairs[i].layers;
    if (i < middle) {
      level.post_layers = h.pairs[n - 1 - i].layers;
      level.shorten_factor = h.pairs[i + 1].factor / h.pairs[i].factor;
    }
    h.levels.push_back(level);
  }
  return h;
}

std::string to_string(ShortenKind kind) {
  switch (kind) {
    case ShortenKind::kAvg:
      return "avg";
    case ShortenKind::kLinear:
      return "linear";
    case ShortenKind::kAttention:
      return "attention";
    case ShortenKind::kAttentionLinear:
      return "attention+linear";
  }
  return "?";
}

std::string to_string(UpsampleKind kind) {
  switch (kind) {
    case UpsampleKind::kRepeat:
      return "repeat";
    case UpsampleKind::kLinear:
      return "linear";
    case UpsampleKind::kAttention:
      return "attention";
    case UpsampleKind::kAttentionLinear:
      return "attention+linear";
  }
  return "?";
}

const std::vector<std::string>& shorten_names() {
  static const std::vector<std::string> names = {"avg", "linear", "attention", "attention+linear"};
  return names;
}

const std::vector<std::string>& upsample_names() {
  static const std::vector<std::string> names = {"repeat", "linear", "attention",
                                                 "attention+linear"};
  return names;
}

ShortenKind parse_shorten(const std::string& text) {
  if (text == "avg") return ShortenKind::kAvg;
  if (text == "linear") return ShortenKind::kLinear;
  if (text == "attention" || text == "attention+avg") return ShortenKind::kAttention;
  if (text == "attention+linear") return ShortenKind::kAttentionLinear;
  fail("shorten '" + text + "' is not one of avg, linear, attention, attention+linear");
}

UpsampleKind parse_upsample(const std::string& text) {
  if (text == "repeat") return UpsampleKind::kRepeat;
  if (text == "linear") return UpsampleKind::kLinear;
  if (text == "attention" || text == "attention+repeat") return UpsampleKind::kAttention;
  if (text == "attention+linear") return UpsampleKind::kAttentionLinear;
  fail("upsample '" + text + "' is not one of repeat, linear, attention, attention+linear");
}

void ModelConfig::validate() const {
  parse_hierarchy(hierarchy);
  auto field = [](const char* name, auto value) {
    std::ostringstream out;
    out << name << " = " << value;
    return out.str();
  };
  if (d_model < 2 || d_model > 65536) fail(field("d_model", d_model) + " must be in 2..65536");
  if (n_heads < 1 || d_model % n_heads != 0)
    fail(field("n_heads", n_heads) +
         " must be at least 1 and divide d_model = " + std::to_string(d_model));
  if (head_dim() % 2 != 0)
    fail(field("n_heads", n_heads) + " gives an odd head size " + std::to_string(head_dim()) +
         "; rotary positions need an even d_model / n_heads");
  if (mlp_ratio < 1 || mlp_ratio > 64) fail(field("mlp_ratio", mlp_ratio) + " must be in 1..64");
  if (seq_len < 2 || seq_len > (1 << 22))
    fail(field("seq_len", seq_len) + " must be in 2..4194304");
  if (!(dropout >= 0.0 && dropout < 1.0)) fail(field("dropout", dropout) + " must be in [0, 1)");
  if (!(rotary_base > 1.0)) fail(field("rotary_base", rotary_base) + " must be larger than 1");
}

ModelConfig ModelConfig::vanilla_twin() const {
  ModelConfig twin = *this;
  twin.hierarchy = std::to_string(parse_hierarchy(hierarchy).num_layers()) + "@1";
  return twin;
}

nlohmann::json to_json(const ModelConfig& c) {
  return {{"hierarchy", c.hierarchy},
          {"shorten", to_string(c.shorten)},
          {"upsample", to_string(c.upsample)},
          {"d_model", c.d_model},
          {"n_heads", c.n_heads},
          {"mlp_ratio", c.mlp_ratio},
          {"seq_len", c.seq_len},
          {"dropout", c.dropout},
          {"tie_embeddings", c.tie_embeddings},
          {"rotary_base", c.rotary_base},
          {"resample_norm", c.resample_norm}};
}

ModelConfig model_config_from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail("model config must be a JSON object");
  ModelConfig c;
  for (const auto& [key, value] : j.items()) {
    try {
      if (key == "hierarchy")
        c.hierarchy = value.get<std::string>();
      else if (key == "shorten")
        c.shorten = parse_shorten(value.get<std::string>());
      else if (key == "upsample")
        c.upsample = parse_upsample(value.get<std::string>());
      else if (key == "d_model")
        c.d_model = whole_number<int>(value, "model config key 'd_model'");
      else if (key == "n_heads")
        c.n_heads = whole_number<int>(value, "model config key 'n_heads'");
      else if (key == "mlp_ratio")
        c.mlp_ratio = whole_number<int>(value, "model config key 'mlp_ratio'");
      else if (key == "seq_len")
        c.seq_len = whole_number<int>(value, "model config key 'seq_len'");
      else if (key == "dropout")
        c.dropout = value.get<double>();
      else if (key == "tie_embeddings")
        c.tie_embeddings = value.get<bool>();
      else if (key == "rotary_base")
        c.rotary_base = value.get<double>();
      else if (key == "resample_norm")
        c.resample_norm = value.get<bool>();
      else
        fail("model config has an unknown key '" + key +
             "' (known: hierarchy, shorten, upsample, d_model, n_heads, mlp_ratio, seq_len, "
             "dropout, tie_embeddings, rotary_base, resample_norm)");
    } catch (const nlohmann::json::exception&) {
      fail("model config key '" + key + "' has a value of the wrong type: " + value.dump());
    }
  }
  c.validate();
  return c;
}

std::string architecture_hash(const ModelConfig& c) {
  // FNV-1a over the fields that decide parameter shapes and the computation.
  const std::string key = parse_hierarchy(c.hierarchy).to_string() + "|" + to_string(c.shorten) +
                          "|" + to_string(c.upsample) + "|" + std::to_string(c.d_model) + "|" +
                          std::to_string(c.n_heads) + "|" + std::to_string(c.mlp_ratio) + "|" +
                          (c.tie_embeddings ? "tied" : "untied") +
                          (c.resample_norm ? "|resample_norm" : "");
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char ch : key) {
    hash ^= ch;
    hash *= 1099511628211ull;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

}  // namespace hg
