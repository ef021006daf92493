// What one inspection of a model holds (see docs/MODEL.md, "Inspection"): the positions each
// level's rows cover, every attention map and every level's activations, as plain vectors the
// studio's Inspector can hold. Torch-free. Not the forward pass that fills it
// (model/tools/inspect.h) nor the files it is written to (model/io/inspection_files.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/core/config.h"

namespace hg {

// Model positions p = 0 .. T-1: p = 0 is BOS, p >= 1 is tokens[p-1]. A span is [first, last].
struct PositionSpan {
  int64_t first = 0, last = 0;
};

// The rows of one level: index j covers positions max(0, jK-K+1) .. jK (docs/MODEL.md, the shift),
// and sits at rotary position jK.
struct LevelRows {
  int level = 0;
  int factor = 1;                    // K, cumulative, in original tokens
  int64_t count = 0;                 // floor((T-1)/K) + 1
  std::vector<PositionSpan> covers;  // per index
};

// The rows of level `level` (factor K) for a sequence of `positions` positions.
LevelRows level_rows(int level, int factor, int64_t positions);

enum class AttentionKind { kSelf, kShorten, kUpsample };
std::string to_string(AttentionKind kind);  // "self", "shorten", "upsample"

// One attention layer's softmax weights, every head: heads x queries x keys.
struct AttentionMap {
  std::string name;  // as the network names it: level0_layer1, level0_shorten, level0_upsample
  AttentionKind kind = AttentionKind::kSelf;
  int level = 0;   // the level it belongs to; shorten/upsample: the finer of the two
  int block = -1;  // self: the block's index in its level (pre-layers first), else -1
  int factor = 1;  // that level's cumulative factor K
  int step = 1;    // shorten/upsample: k, from this level to the next; self: 1
  int query_level = 0, key_level = 0;
  // Keys of a shortening are the shifted rows: key b is row b - key_offset of key_level, and the
  // first key_offset (= k-1) keys are zero padding. 0 for the other kinds.
  int64_t key_offset = 0;
  int64_t heads = 0, queries = 0, keys = 0;
  std::vector<int64_t> key_limit;  // per query: the last key it may attend to (causal limit)
  std::vector<float> weights;      // heads * queries * keys, row-major
};

// One level's activations: the output of its pre-layers (the input to its shortening; for the
// innermost level, the output of its layers), T_level x D.
struct LevelActivations {
  int level = 0;
  int64_t rows = 0, width = 0;
  std::vector<float> values;  // rows * width, row-major
};

// Where the input and the model came from, for meta.json; the caller fills it in.
struct InspectOrigin {
  std::string input_kind = "tokens";  // "text", "image" or "tokens"
  std::string input_path;             // the image file, if any
  int image_width = 0, image_height = 0, image_channels = 0;
  std::string weights;  // the weights file the model was loaded from
  int64_t step = -1;    // its training step, -1 when unknown
};

struct InspectResult {
  ModelConfig config;
  std::string hierarchy;        // the parsed notation, normalised
  std::vector<uint8_t> tokens;  // the input kept (at most seq_len); logits row i predicts tokens[i]
  int64_t input_length = 0;     // before truncation
  int64_t positions = 0;        // T = min(tokens + 1, seq_len): BOS + what the model saw
  std::vector<float> logits;    // T x 256, row-major, float32 (row p: the distribution of p+1)
  std::vector<LevelRows> levels;
  std::vector<AttentionMap> attention;        // in the order the forward pass ran them
  std::vector<LevelActivations> activations;  // by level
  InspectOrigin origin;
};

}  // namespace hg
