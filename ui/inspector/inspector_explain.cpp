// The Inspector's tooltips and captions in plain words, from the config alone. The facts they
// state are those of docs/MODEL.md ("Notation", "Shortening", "Upsampling", "The shift by k - 1").
#include "ui/inspector/inspector_explain.h"

namespace hg {
namespace {

std::string n(int64_t value) { return std::to_string(value); }

std::string plural(int64_t count, const std::string& one, const std::string& many) {
  return n(count) + " " + (count == 1 ? one : many);
}

std::string level_name(int level) { return "level " + n(level); }

// Whether a resampling kind ("attention", "attention+linear", ...) has an attention map to show.
// How the shortening makes one token of k, by the kind's name (docs/MODEL.md, "Shortening").
std::string shorten_how(const std::string& kind, int k) {
  if (kind == "avg") return "their average";
  if (kind == "linear") return "a learned linear map of the " + n(k) + " placed side by side";
  if (shows_attention(kind))
    return std::string("attention: ") +
           (kind.find("linear") != std::string::npos ? "a learned linear map of them"
                                                     : "their average") +
           " asks which of the tokens so far to read";
  return kind;
}

// How the upsampling makes k tokens of one (docs/MODEL.md, "Upsampling").
std::string upsample_how(const std::string& kind, int k) {
  if (kind == "repeat") return "repeating it " + n(k) + " times";
  if (kind == "linear")
    return "a learned linear map that writes a different token for each of the " + n(k) + " places";
  if (shows_attention(kind))
    return "attention: each token of the level above asks which shortened tokens to read";
  return kind;
}

}  // namespace

bool shows_attention(const std::string& kind) { return kind.rfind("attention", 0) == 0; }

TokenWords token_words(bool image) {
  if (image) return {"sub-pixel", "sub-pixels", "the image"};
  return {};
}

std::string hierarchy_tooltip(const ModelConfig& config) {
  return config.hierarchy +
         " is the hierarchy in the paper's notation: layers@factor pairs, read top to bottom and "
         "back up. 2@1 4@3 2@1 means 2 layers at full length, 4 layers on a sequence 3x shorter, "
         "then 2 more at full length.\nShortening: " +
         to_string(config.shorten) + ". Upsampling: " + to_string(config.upsample) +
         ".\nHover any part of the diagram for what it does; click a layer to see its attention.";
}

std::string level_label(int level, int factor) { return "L" + n(level) + " x" + n(factor); }

std::string level_tooltip(const Hierarchy& hierarchy, int level, const TokenWords& words) {
  const Level& l = hierarchy.levels[static_cast<size_t>(level)];
  const bool innermost = level + 1 == static_cast<int>(hierarchy.levels.size());
  std::string out = level_label(level, l.factor) + ": ";
  if (l.factor == 1)
    out += level_name(level) + " sees " + words.input +
           " at full length: each of its tokens is one " + words.one + ".";
  else
    out += level_name(level) + " sees " + words.input + " " + n(l.factor) +
           "x shorter: each of its tokens stands for " + n(l.factor) + " " + words.many + ".";
  if (innermost)
    out += "\nThe innermost level: its " + plural(l.pre_layers, "layer", "layers") +
           " do the most work at the least cost.";
  else
    out += "\n" + plural(l.pre_layers, "layer", "layers") + " before shortening to level " +
           n(level + 1) + " (left), " + plural(l.post_layers, "layer", "layers") +
           " after upsampling back (right).";
  out += "\nClick to select the level: its strip leads in the input view.";
  return out;
}

std::string layer_tooltip(const Hierarchy& hierarchy, int level, int block,
                          const TokenWords& words) {
  const Level& l = hierarchy.levels[static_cast<size_t>(level)];
  const bool innermost = level + 1 == static_cast<int>(hierarchy.levels.size());
  std::string out = "Layer " + n(block) + " of " + level_name(level) +
                    ": a transformer block (causal self-attention, then an MLP) over tokens that " +
                    (l.factor == 1 ? "are one " + words.one + " each"
                                   : "stand for " + n(l.factor) + " " + words.many + " each") +
                    ".";
  if (innermost)
    out += "\nIn the innermost level, between the shortening and the upsampling.";
  else if (block < l.pre_layers)
    out += "\nBefore the shortening to level " + n(level + 1) + ".";
  else
    out += "\nAfter the upsampling back from level " + n(level + 1) + ".";
  out += "\nClick to show its attention.";
  return out;
}

std::string shorten_label(const ModelConfig& config, const Level& level) {
  return to_string(config.shorten) + " /" + n(level.shorten_factor);
}

std::string upsample_label(const ModelConfig& config, const Level& level) {
  return to_string(config.upsample) + " x" + n(level.shorten_factor);
}

std::string shorten_tooltip(const ModelConfig& config, const Hierarchy& hierarchy, int level,
                            const TokenWords& words) {
  const Level& l = hierarchy.levels[static_cast<size_t>(level)];
  const int k = l.shorten_factor;
  const int next = hierarchy.levels[static_cast<size_t>(level + 1)].factor;
  std::string out = shorten_label(config, l) + ": shortening from " + level_name(level) + " to " +
                    level_name(level + 1) + ". Every " + n(k) +
                    " neighbouring tokens become one, by " +
                    shorten_how(to_string(config.shorten), k) + ", so level " + n(level + 1) +
                    " has " + n(k) + "x fewer tokens (each stands for " + n(next) + " " +
                    words.many + ").\nThe tokens are first shifted right by " + n(k - 1) + " (" +
                    plural(k - 1, "zero row", "zero rows") +
                    " in front), so that no shortened token sees the future.";
  out += shows_attention(to_string(config.shorten)) ? "\nClick to show its attention."
                                                    : "\nNo attention to show.";
  return out;
}

std::string upsample_tooltip(const ModelConfig& config, const Hierarchy& hierarchy, int level,
                             const TokenWords& words) {
  const Level& l = hierarchy.levels[static_cast<size_t>(level)];
  const int k = l.shorten_factor;
  std::string out = upsample_label(config, l) + ": upsampling from " + level_name(level + 1) +
                    " back to " + level_name(level) + ". Each token of level " + n(level + 1) +
                    " becomes " + n(k) + " tokens again, by " +
                    upsample_how(to_string(config.upsample), k) + "; they are added to level " +
                    n(level) + "'s own tokens (the residual), which go on to its post layers.";
  if (l.factor == 1)
    out += "\nAt level " + n(level) + " each token is one " + words.one + " again.";
  out += shows_attention(to_string(config.upsample)) ? "\nClick to show its attention."
                                                     : "\nNo attention to show.";
  return out;
}

std::string bos_tooltip() {
  return std::string(kBosGlyph) +
         " is BOS, the beginning-of-sequence token at position 0: every input starts with it, so "
         "the first real token has something to predict from. Many heads park attention on it "
         "when nothing else is worth reading.";
}

std::string padding_tooltip(int shorten_factor) {
  const int rows = shorten_factor - 1;
  return "pad: " +
         (rows == 1 ? std::string("the zero row") : "one of the " + n(rows) + " zero rows") +
         " that the shift by k - 1 = " + n(rows) +
         " puts in front of the shortening's keys. They stand for no input; weight here is "
         "attention spent on nothing.";
}

std::string sqrt_tooltip() {
  return "sqrt: colour by the square root of weight / largest weight, so that small weights stay "
         "visible. Off: colour linearly in the weight.";
}

std::string diagram_caption() {
  return "The model: a band per level, shorter going down. Hover to learn, click to pick.";
}

std::string input_caption(bool image) {
  if (image)
    return "Where the query looks (overlay), and what each level holds (a map per level). Hover "
           "a pixel; over RGB its left, middle and right thirds pick R, G and B.";
  return "Where the query looks (shading), and what each level holds (strips). Hover a character.";
}

std::string heatmap_caption() {
  return "Who reads whom: a row per query, a column per key; grey cells are the future, hidden.";
}

}  // namespace hg
