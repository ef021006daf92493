// An InspectResult written out as .npy files plus meta.json. Not the forward pass that fills the
// result: model/tools/inspect.cpp.
#include "model/io/inspection_files.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "model/io/image_io.h"
#include "model/io/tensor_io.h"

namespace hg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kMetaVersion = 1;

// "positions max(0, 3*a-2) .. 3*a" with the numbers of one level; `offset` leading padding rows.
std::string covers_formula(const std::string& var, int factor, int64_t offset) {
  const std::string row = offset > 0 ? "(" + var + "-" + std::to_string(offset) + ")" : var;
  std::string text;
  if (offset > 0)
    text = var + " < " + std::to_string(offset) +
           ": zero padding from the shift, covers nothing; " + "else ";
  if (factor == 1)
    return text + "position " + (offset > 0 ? var + "-" + std::to_string(offset) : var);
  const std::string last = std::to_string(factor) + "*" + row;
  return text + "positions max(0, " + last + "-" + std::to_string(factor - 1) + ") .. " + last;
}

std::string mask_formula(const AttentionMap& m) {
  switch (m.kind) {
    case AttentionKind::kSelf:
      return "query a may attend to keys b <= a (causal)";
    case AttentionKind::kShorten:
      return "query a may attend to keys b <= " + std::to_string(m.step) + "*a+" +
             std::to_string(m.step - 1) + " (finer rows up to " + std::to_string(m.step) + "*a)";
    case AttentionKind::kUpsample:
      return "query a may attend to keys b <= floor(a/" + std::to_string(m.step) + ")";
  }
  return "";
}

json spans_json(const std::vector<PositionSpan>& spans) {
  json out = json::array();
  for (const auto& s : spans) out.push_back({s.first, s.last});
  return out;
}

std::string attention_file(const AttentionMap& m) { return "attention/" + m.name + ".npy"; }
std::string activations_file(int level) {
  return "activations/level" + std::to_string(level) + ".npy";
}

json attention_json(const AttentionMap& m, const InspectResult& r) {
  const LevelRows& q = r.levels[m.query_level];
  const LevelRows& k = r.levels[m.key_level];
  json j = {
      {"file", attention_file(m)},
      {"name", m.name},
      {"kind", to_string(m.kind)},
      {"level", m.level},
      {"factor", m.factor},
      {"shape", {m.heads, m.queries, m.keys}},
      {"dtype", "float32"},
      {"axes", "heads x queries x keys, softmax over keys"},
      {"queries",
       {{"level", q.level},
        {"factor", q.factor},
        {"count", m.queries},
        {"row", "query a is row a of level " + std::to_string(q.level)},
        {"covers", covers_formula("a", q.factor, 0)}}},
      {"keys",
       {{"level", k.level},
        {"factor", k.factor},
        {"count", m.keys},
        {"padding", m.key_offset},
        {"row", m.key_offset > 0 ? "key b is row b-" + std::to_string(m.key_offset) + " of level " +
                                       std::to_string(k.level) + " (the shifted rows)"
                                 : "key b is row b of level " + std::to_string(k.level)},
        {"covers", covers_formula("b", k.factor, m.key_offset)}}},
      {"mask", mask_formula(m)},
      {"key_limit", m.key_limit}};
  if (m.kind == AttentionKind::kSelf) {
    const Hierarchy h = parse_hierarchy(r.hierarchy);
    j["block"] = m.block;
    j["stage"] = m.block < h.levels[m.level].pre_layers ? "pre" : "post";
  } else {
    j["step"] = m.step;
  }
  return j;
}

json meta_json(const InspectResult& r) {
  const Hierarchy h = parse_hierarchy(r.hierarchy);
  json files = json::array({"logits.npy"});
  json levels = json::array();
  for (const LevelRows& rows : r.levels) {
    const Level& level = h.levels[rows.level];
    levels.push_back({{"level", rows.level},
                      {"factor", rows.factor},
                      {"shorten_factor", level.shorten_factor},
                      {"pre_layers", level.pre_layers},
                      {"post_layers", level.post_layers},
                      {"rows", rows.count},
                      {"covers_formula", covers_formula("j", rows.factor, 0)},
                      {"rotary_position", std::to_string(rows.factor) + "*j"},
                      {"covers", spans_json(rows.covers)}});
  }
  json attention = json::array();
  for (const AttentionMap& m : r.attention) {
    attention.push_back(attention_json(m, r));
    files.push_back(attention_file(m));
  }
  json activations = json::array();
  for (const LevelActivations& a : r.activations) {
    const bool innermost = a.level + 1 == static_cast<int>(r.levels.size());
    activations.push_back(
        {{"file", activations_file(a.level)},
         {"level", a.level},
         {"factor", r.levels[a.level].factor},
         {"shape", {a.rows, a.width}},
         {"dtype", "float32"},
         {"what", innermost
                      ? "the output of the innermost level's layers"
                      : "the output of this level's pre-layers (the input to its shortening)"},
         {"covers", "row j: levels[" + std::to_string(a.level) + "].covers[j]"}});
    files.push_back(activations_file(a.level));
  }
  json model = to_json(r.config);
  model["architecture_hash"] = architecture_hash(r.config);
  model["weights"] = r.origin.weights;
  model["step"] = r.origin.step;
  json input = {{"kind", r.origin.input_kind},
                {"length", r.input_length},
                {"kept", r.tokens.size()},
                {"truncated", r.input_length > static_cast<int64_t>(r.tokens.size())},
                {"tokens", r.tokens}};
  if (!r.origin.input_path.empty()) input["path"] = r.origin.input_path;
  if (r.origin.image_width > 0)
    input["image"] = {{"width", r.origin.image_width},
                      {"height", r.origin.image_height},
                      {"channels", r.origin.image_channels},
                      {"order", "raster, channels interleaved"}};
  return {{"format", "hourglass-inspect"},
          {"version", kMetaVersion},
          {"positions",
           {{"count", r.positions},
            {"convention", "position 0 is BOS (token " + std::to_string(kBosToken) +
                               "); position p >= 1 is input.tokens[p-1]"}}},
          {"input", input},
          {"model", model},
          {"hierarchy", {{"notation", r.hierarchy}, {"levels", levels}}},
          {"logits",
           {{"file", "logits.npy"},
            {"shape", {r.positions, kVocabSize}},
            {"dtype", "float32"},
            {"rows",
             "row p: unnormalised log-probabilities of the token at position p+1, "
             "i.e. of input.tokens[p]"}}},
          {"attention", attention},
          {"activations", activations},
          {"files", files}};
}

// Objects and arrays of objects one entry per line; arrays of numbers (or of pairs) on one line,
// so the per-row arrays of a 3072-token image stay readable.
void write_json(std::ostream& out, const json& j, int indent) {
  const bool nested_array =
      j.is_array() && std::any_of(j.begin(), j.end(), [](const json& e) { return e.is_object(); });
  if (!j.is_object() && !nested_array) {
    out << j.dump();
    return;
  }
  out << (j.is_object() ? "{" : "[");
  bool first = true;
  for (auto it = j.begin(); it != j.end(); ++it) {
    out << (first ? "\n" : ",\n") << std::string(indent + 2, ' ');
    if (j.is_object()) out << json(it.key()).dump() << ": ";
    write_json(out, *it, indent + 2);
    first = false;
  }
  out << "\n" << std::string(indent, ' ') << (j.is_object() ? "}" : "]");
}

RawTensor float_tensor(std::vector<int64_t> shape, const std::vector<float>& values) {
  RawTensor t;
  t.dtype = DType::kF32;
  t.shape = std::move(shape);
  t.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

void make_folder(const fs::path& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error || !fs::is_directory(path))
    throw std::runtime_error(
        "write_inspection: cannot create the folder " + path.string() +
        (error ? ": " + error.message() : ": a file of that name is in the way") +
        ". HINT: pick an --out folder you can write to");
}

}  // namespace

int image_channels(const ModelConfig& config) {
  const int pixels = kImageSide * kImageSide;
  if (config.seq_len == pixels) return 1;
  if (config.seq_len == 3 * pixels) return 3;
  return 0;
}

std::vector<uint8_t> image_tokens(const std::string& path, const ModelConfig& config) {
  const int channels = image_channels(config);
  if (channels == 0)
    throw std::invalid_argument("image_tokens: this model's sequences are " +
                                std::to_string(config.seq_len) +
                                " tokens, not a 32x32 image (1024 or 3072). HINT: inspect a text");
  return load_image_32(path, channels).pixels;
}

void write_inspection(const InspectResult& r, const std::string& out_dir) {
  const fs::path root(out_dir);
  make_folder(root / "attention");
  make_folder(root / "activations");
  write_npy((root / "logits.npy").string(), float_tensor({r.positions, kVocabSize}, r.logits));
  for (const AttentionMap& m : r.attention)
    write_npy((root / attention_file(m)).string(),
              float_tensor({m.heads, m.queries, m.keys}, m.weights));
  for (const LevelActivations& a : r.activations)
    write_npy((root / activations_file(a.level)).string(),
              float_tensor({a.rows, a.width}, a.values));
  // Last: a meta.json on disk means every file it names is complete.
  std::ostringstream meta;
  write_json(meta, meta_json(r), 0);
  meta << "\n";
  write_file_atomic((root / "meta.json").string(), meta.str());
}

}  // namespace hg
