// The numbers the Inspector draws, computed from an InspectResult: an attention map's matrix for
// one head or the mean over heads, one query's attention laid back over the input positions its
// keys stand for, and each level's activation norms or one channel. Pure functions without GL or
// ImGui, so tests compare them with the files `hourglass inspect` writes. Not the drawing:
// ui/inspector/inspector_view.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/core/inspection.h"

namespace hg {

// Row-major rows x cols floats.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
  float at(int64_t r, int64_t c) const { return values[static_cast<size_t>(r * cols + c)]; }
};

// The map of that name (AttentionMap::name, e.g. "level0_shorten"); nullptr when absent.
const AttentionMap* find_attention(const InspectResult& result, const std::string& name);

// head >= 0: that head's queries x keys weights; head < 0: their mean over heads.
Matrix attention_matrix(const AttentionMap& map, int head);

// The model positions key `key` of `map` stands for (its row's span at the key level); none for
// the zero rows the shift puts in front of a shortening's keys
// (docs/MODEL.md, "The shift by k - 1").
std::optional<PositionSpan> key_span(const InspectResult& result, const AttentionMap& map,
                                     int64_t key);
// The positions query `row` of `map` stands for, at the query level.
PositionSpan query_span(const InspectResult& result, const AttentionMap& map, int64_t row);
// The query row of `map` whose span holds model position `position` (clamped to the rows).
int64_t query_row_of(const InspectResult& result, const AttentionMap& map, int64_t position);

// One query's attention over the input: a key's weight spread evenly over the positions of its
// span, so the heat of all positions sums to the weight on real keys, at every level.
struct PositionHeat {
  std::vector<float> heat;  // per model position (0 is BOS)
  float padding = 0.0f;     // weight on the shift's zero rows (attention shortening only)
};
PositionHeat attention_over_positions(const InspectResult& result, const AttentionMap& map,
                                      const Matrix& matrix, int64_t query_row);

// Per row of a level: the L2 norm of its activation vector (channel < 0), or that channel.
std::vector<float> activation_values(const LevelActivations& activations, int channel);

// The value that level `level` (cumulative factor `factor`) shows at position p: the entry of the
// row p belongs to (row j covers max(0, jK - K + 1) .. jK), or null where that row does not exist:
// the positions after the last multiple of K of a sequence whose length K does not divide, whose
// group the model has not completed.
const float* level_value(const std::vector<std::vector<float>>& level_values, int level, int factor,
                         int64_t position);

// A matrix reduced for drawing to at most max_cells per axis: each cell the mean of a block of
// row_step x col_step entries; `open` says whether any entry of the block is within the causal
// limit (a closed cell is masked, not merely small).
struct BinnedMatrix {
  int64_t rows = 0, cols = 0, row_step = 1, col_step = 1;
  std::vector<float> values;
  std::vector<uint8_t> open;
  float max = 0.0f;
};
BinnedMatrix bin_attention(const Matrix& matrix, const AttentionMap& map, int max_cells);

// Model position p >= 1 holds input token p-1; for an image of `channels` that is sub-pixel
// (p-1) % channels of pixel (p-1) / channels. BOS (p = 0) is no pixel: -1.
inline int64_t pixel_of(int64_t position, int channels) {
  return position >= 1 ? (position - 1) / channels : -1;
}
inline int64_t position_of(int64_t pixel, int channel, int channels) {
  return pixel * channels + channel + 1;
}

// A short readable label for a text position: "BOS", "a", "\n", "0xE2".
std::string position_label(const InspectResult& result, int64_t position);

}  // namespace hg
