// The Inspector's teaching layer as plain text: what each element of the hierarchy diagram means
// (its tooltip), the one-line caption over each view, and the names of BOS and of the shift's
// padding. Pure functions of the config, so a test can check that every element has its words
// without a display. Not the drawing (ui/inspector/inspector_view.h).
#pragma once

#include <string>

#include "model/core/config.h"

namespace hg {

// What one token of the input is, in the words the tooltips use: "character" for text,
// "sub-pixel" for images (an RGB pixel is three of them).
struct TokenWords {
  std::string one = "character", many = "characters", input = "the text";
};
TokenWords token_words(bool image);

// Whether a resampling kind ("linear", "attention", "attention+linear", ...) runs attention, so
// that the diagram has a map to show for it.
bool shows_attention(const std::string& kind);

// The diagram's title line: the hierarchy in the paper's notation and its resampling kinds.
std::string hierarchy_tooltip(const ModelConfig& config);
// "L1 x3", a level's band and its label.
std::string level_label(int level, int factor);
std::string level_tooltip(const Hierarchy& hierarchy, int level, const TokenWords& words);
// A layer chip: `block` counts the level's pre layers first, then its post layers.
std::string layer_tooltip(const Hierarchy& hierarchy, int level, int block,
                          const TokenWords& words);
// "linear /3" between level l and l + 1, and "linear x3" on the way back up.
std::string shorten_label(const ModelConfig& config, const Level& level);
std::string upsample_label(const ModelConfig& config, const Level& level);
std::string shorten_tooltip(const ModelConfig& config, const Hierarchy& hierarchy, int level,
                            const TokenWords& words);
std::string upsample_tooltip(const ModelConfig& config, const Hierarchy& hierarchy, int level,
                             const TokenWords& words);

// BOS, drawn as a guillemet (») in the input and the heatmap's labels.
inline constexpr const char* kBosGlyph = "\xC2\xBB";
std::string bos_tooltip();
// The k - 1 zero rows the shift puts before a shortening's keys (docs/MODEL.md, "The shift").
std::string padding_tooltip(int shorten_factor);
// The heatmap's "sqrt" switch.
std::string sqrt_tooltip();

// The one-line captions over the three views.
std::string diagram_caption();
std::string input_caption(bool image);
std::string heatmap_caption();

}  // namespace hg
