// The Inspector's visualizers, drawn with ImGui draw lists: a diagram of the hierarchy, the
// attention heatmap of the selected map and head, and the input (text or image) with the selected
// query's attention and every level's activations laid over it. Each is a struct with its own state
// and a draw(); InspectorView holds them, the selection, and the figures drawn for it (tests read
// those back). Not the Qt panel around it: inspector_panel.h.
#pragma once

#include <imgui.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/core/config.h"
#include "ui/inspector/inspect_types.h"
#include "ui/inspector/inspector_figures.h"

namespace hg {

struct InspectorSelection {
  std::string map;      // AttentionMap::name; "" or absent: the first map of `level`
  int level = 0;        // the level the diagram highlights and whose activations lead
  int head = -1;        // -1: the mean over heads
  int channel = -1;     // activations: -1 the L2 norm, else this channel
  int64_t query = -1;   // model position whose attention is laid over the input; -1: the last
  bool locked = false;  // clicked: hovering no longer moves `query`
};

// What the views draw for one selection, recomputed only when the selection or result changes.
struct InspectorFigures {
  const InspectResult* result = nullptr;  // the result they were computed from
  const AttentionMap* map = nullptr;      // the selected map; null when the model has none
  int head = -1;
  Matrix attention;       // `map`'s queries x keys, of `head` or the mean over heads
  BinnedMatrix binned;    // `attention` as the heatmap draws it
  int64_t query = 0;      // model position
  int64_t query_row = 0;  // its row among `map`'s queries
  PositionHeat over_input;
  int channel = -1;
  std::vector<std::vector<float>> activations;  // per level, per row: norm or `channel`
};

// What the last frame showed a user, kept so that tests read it back: every explained element with
// its tooltip, the captions, the colour bars, the tooltip on screen, and what hovering a position
// read at each level. Rebuilt by every frame.
struct InspectorTrace {
  struct Element {
    std::string id;  // e.g. "level1", "level1_layer0", "level0_shorten", "sqrt", "bos"
    ImVec2 p0, p1;   // where it was drawn (canvas pixels)
    std::string tooltip;
  };
  struct ColourBar {
    std::string label;  // what it colours, e.g. "attention" or "L1"
    std::string unit;   // what its numbers are, e.g. "weight (share of the query's attention)"
    float lo = 0.0f, hi = 0.0f;
  };
  struct LevelReading {
    int level = 0;
    int64_t row = 0;      // the row the position belongs to
    bool exists = false;  // whether that row exists (a ragged last group has none)
    float value = 0.0f;   // the value shown, when it exists
  };
  std::vector<Element> elements;
  std::vector<std::string> captions;
  std::vector<ColourBar> colour_bars;
  std::string tooltip;                 // the explaining tooltip shown this frame, "" when none
  int64_t hovered_position = -1;       // the input view's hovered position, -1 when none
  std::vector<LevelReading> readings;  // its value at each level

  void clear() { *this = InspectorTrace{}; }
  const Element* find(const std::string& id) const;
};

// Draws `text` as a wrapped tooltip and records it in `trace`.
void explain(InspectorTrace& trace, const std::string& text);
// An invisible item over [p0, p1] with a tooltip when hovered, recorded as element `id`; returns
// whether it was clicked. Of overlapping items, the one submitted first keeps the hover.
bool explained_item(InspectorTrace& trace, const std::string& id, ImVec2 p0, ImVec2 p1,
                    const std::string& tooltip, bool* hovered = nullptr);
// A view's one-line caption (wrapped when the view is narrow), recorded in `trace`.
void caption(InspectorTrace& trace, const std::string& text);
// A horizontal colour bar at the cursor, `width` wide: `label`, the bar from `lo` (left) to `hi`
// (right), the two numbers and `unit`; hovering it shows `meaning`. color(t) for t in [0, 1].
struct ColourBarSpec {
  std::string label, unit, meaning;
  float lo = 0.0f, hi = 1.0f;
  std::function<ImU32(float)> color;
};
void colour_bar(InspectorTrace& trace, const ColourBarSpec& bar, float width);
// Several, side by side while they fit the window's width, else on the next line.
void colour_bars(InspectorTrace& trace, const std::vector<ColourBarSpec>& bars, float width);

// Brings `figures` up to date with `selection` (resolving its defaults) over `result`.
void update_figures(const InspectResult& result, InspectorSelection& selection,
                    InspectorFigures& figures);

// Colours: `heat_color` for t in [0, 1] (dark blue to yellow, perceptually ordered), and
// `signed_color` for t in [-1, 1] (blue, grey at 0, red) for a channel's signed values.
ImU32 heat_color(float t, float alpha = 1.0f);
ImU32 signed_color(float t);
// Cells whose keys are causally out of reach.
inline constexpr ImU32 kMaskedColor = IM_COL32(52, 52, 56, 255);

// Levels as bands narrowing with the factor, pre-layers on the way down, post-layers on the way
// up, the shortening and upsampling between them. A click on a layer, a level or an attention
// resampling selects it. Works from the config alone, before anything is inspected.
struct HierarchyDiagram {
  void draw(const ModelConfig& config, const InspectResult* result, InspectorSelection& selection,
            InspectorTrace& trace);
};

// The selected map as a queries x keys heatmap (binned when large), with token labels for text
// when they fit; hovering a cell moves the query, a click locks it.
struct AttentionHeatmap {
  bool sqrt_scale = true;  // colour by sqrt(weight / max): small weights stay visible
  void draw(const InspectResult& result, const InspectorFigures& figures,
            InspectorSelection& selection, ImVec2 size, InspectorTrace& trace);

 private:
  void draw_title(const AttentionMap& map, const InspectorFigures& figures, InspectorTrace& trace);
  void legend(const AttentionMap& map, InspectorTrace& trace);
};

// The input itself: text as character cells (the query's attention as their background) with a
// strip per level beneath, cut into that level's rows; an image as tiles: the image with the
// attention as a heat overlay, then one activation map per level at that level's resolution.
struct InputView {
  float pixel_size = 0.0f;  // image tiles: screen pixels per image pixel (0: fit the width)
  void draw(const InspectResult& result, const InspectorFigures& figures,
            InspectorSelection& selection, float max_height, InspectorTrace& trace);
  // Where position p was drawn in the last frame (canvas pixels; on the image tile for images):
  // tests point the mouse there as a user would.
  ImVec2 position_center(int64_t position) const;

 private:
  void draw_text(const InspectResult& result, const InspectorFigures& figures,
                 InspectorSelection& selection, float max_height, InspectorTrace& trace);
  void draw_image(const InspectResult& result, const InspectorFigures& figures,
                  InspectorSelection& selection, float max_height, InspectorTrace& trace);

  // The last frame's layout, for position_center().
  bool drew_image_ = false;
  ImVec2 origin_{};
  float cell_w_ = 0.0f, cell_h_ = 0.0f;  // text: cell width and line block; image: pixel size
  int64_t per_line_ = 1;
  int channels_ = 1;
};

struct InspectorView {
  InspectorSelection selection;
  HierarchyDiagram diagram;
  AttentionHeatmap heatmap;
  InputView input;

  // Fills the current ImGui window: the diagram and controls on the left; the input and the
  // heatmap on the right. `model` alone draws the diagram; `snapshot` adds everything else.
  void draw(const InspectModelInfo* model, const InspectSnapshot* snapshot);
  const InspectorFigures& figures() const { return figures_; }
  const InspectorTrace& trace() const { return trace_; }

 private:
  void draw_controls(const InspectSnapshot& snapshot);

  InspectorFigures figures_;
  InspectorTrace trace_;
};

// One glyph for a text position, for cells one character wide: BOS as a guillemet, a newline as a
// pilcrow, other bytes that are no printable ASCII as a middle dot (the font is Latin-1).
std::string position_glyph(const InspectResult& result, int64_t position);

// Handles hover and click on one query position over an item: hovering moves an unlocked query,
// a click locks it there (or unlocks it when it is already locked there).
void track_query(InspectorSelection& selection, int64_t position, bool hovered);

}  // namespace hg
