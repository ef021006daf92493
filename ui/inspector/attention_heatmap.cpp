// AttentionHeatmap: the selected attention map as queries (rows) x keys (columns), binned to at
// most 128 cells a side, causally masked cells in grey, the query's row outlined, token labels
// along both axes for text when the cells are wide enough. Reads InspectorFigures only.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ui/inspector/inspector_explain.h"
#include "ui/inspector/inspector_view.h"

namespace hg {
namespace {

// The text a row stands for, "BOS" or its characters, cut to `max_chars`.
std::string span_text(const InspectResult& result, PositionSpan span, size_t max_chars = 12) {
  std::string text;
  for (int64_t p = span.first; p <= span.last && text.size() < max_chars; ++p)
    text += position_label(result, p);
  return text;
}

// The glyphs of a span, one per position (position_glyph).
std::string span_glyphs(const InspectResult& result, PositionSpan span) {
  std::string text;
  for (int64_t p = span.first; p <= span.last; ++p) text += position_glyph(result, p);
  return text;
}

std::string describe_span(const InspectResult& result, PositionSpan span, bool text) {
  std::string out = span.first == span.last ? "position " + std::to_string(span.first)
                                            : "positions " + std::to_string(span.first) + ".." +
                                                  std::to_string(span.last);
  if (text) out += "  " + span_text(result, span);
  return out;
}

// Where the heatmap goes: its cells from p0 to p1, `cell` pixels a side, its row labels in the
// `left` margin and its column labels above, from `origin`.
struct HeatmapFrame {
  ImVec2 origin, p0, p1;
  float cell = 1.0f, left = 2.0f;
};

float colour_of(float t, bool sqrt_scale) { return sqrt_scale ? std::sqrt(t) : t; }

// The cells, the causally masked ones grey, and the query's row outlined.
void draw_cells(ImDrawList* draw, const HeatmapFrame& f, const BinnedMatrix& bins,
                const InspectorFigures& figures, bool sqrt_scale) {
  const float max = bins.max > 0.0f ? bins.max : 1.0f;
  for (int64_t r = 0; r < bins.rows; ++r)
    for (int64_t c = 0; c < bins.cols; ++c) {
      const size_t i = static_cast<size_t>(r * bins.cols + c);
      const float t = bins.values[i] / max;
      const ImVec2 c0(f.p0.x + c * f.cell, f.p0.y + r * f.cell);
      draw->AddRectFilled(c0, ImVec2(c0.x + f.cell, c0.y + f.cell),
                          bins.open[i] ? heat_color(colour_of(t, sqrt_scale)) : kMaskedColor);
    }
  // The query's row, and a tick at each key it may not see past.
  const float qy = f.p0.y + static_cast<float>(figures.query_row / bins.row_step) * f.cell;
  draw->AddRect(ImVec2(f.p0.x - 1.0f, qy - 1.0f), ImVec2(f.p1.x + 1.0f, qy + f.cell + 1.0f),
                IM_COL32_WHITE, 0.0f, 0, 1.5f);
}

// Text labels: above each key column its characters when they fit, else its last one; beside
// each query row its characters (`row_labels`), cut the same way to the margin.
void draw_labels(ImDrawList* draw, const HeatmapFrame& f, const InspectResult& result,
                 const AttentionMap& map, const BinnedMatrix& bins,
                 std::vector<std::string>& row_labels) {
  const ImU32 color = ImGui::GetColorU32(ImGuiCol_Text);
  for (int64_t key = 0; key < bins.cols; ++key) {
    const std::optional<PositionSpan> span = key_span(result, map, key);
    std::string label = span ? span_glyphs(result, *span) : "0";
    if (span && ImGui::CalcTextSize(label.c_str()).x > f.cell - 2.0f)
      label = position_glyph(result, span->last);
    const ImVec2 s = ImGui::CalcTextSize(label.c_str());
    draw->AddText(ImVec2(f.p0.x + (key + 0.5f) * f.cell - s.x * 0.5f, f.origin.y), color,
                  label.c_str());
  }
  for (int64_t q = 0; q < bins.rows; ++q) {
    std::string& label = row_labels[static_cast<size_t>(q)];
    if (ImGui::CalcTextSize(label.c_str()).x > f.left - 6.0f)
      label = position_glyph(result, query_span(result, map, q).last);
    const ImVec2 s = ImGui::CalcTextSize(label.c_str());
    draw->AddText(ImVec2(f.p0.x - 4.0f - s.x, f.p0.y + (q + 0.5f) * f.cell - s.y * 0.5f), color,
                  label.c_str());
  }
}

// The colour bar right of the cells, `max` at the top to 0, with a tick halfway up and its unit
// under it; hovering it explains the unit. Returns its bottom edge (under the unit).
float draw_colour_scale(ImDrawList* draw, const HeatmapFrame& f, float max, bool sqrt_scale,
                        InspectorTrace& trace) {
  const float line = ImGui::GetTextLineHeight();
  const ImVec2 s0(f.p1.x + 12.0f, f.p0.y), s1(s0.x + 12.0f, std::max(f.p0.y + 60.0f, f.p1.y));
  constexpr int kSteps = 32;
  for (int i = 0; i < kSteps; ++i) {
    const float t = 1.0f - (i + 0.5f) / kSteps;
    const float y0 = s0.y + (s1.y - s0.y) * i / kSteps,
                y1 = s0.y + (s1.y - s0.y) * (i + 1) / kSteps;
    draw->AddRectFilled(ImVec2(s0.x, y0), ImVec2(s1.x, y1), heat_color(colour_of(t, sqrt_scale)));
  }
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  char number[32];
  std::snprintf(number, sizeof number, "%.3g", max);
  draw->AddText(ImVec2(s1.x + 4.0f, s0.y), text, number);
  // Halfway up the bar: the weight whose colour sits there (a quarter of max under sqrt).
  const float mid = sqrt_scale ? 0.25f * max : 0.5f * max;
  std::snprintf(number, sizeof number, "%.2g", mid);
  const float mid_y = (s0.y + s1.y) * 0.5f;
  draw->AddLine(ImVec2(s1.x, mid_y), ImVec2(s1.x + 3.0f, mid_y), text);
  draw->AddText(ImVec2(s1.x + 4.0f, mid_y - line * 0.5f), text, number);
  draw->AddText(ImVec2(s1.x + 4.0f, s1.y - line), text, "0");
  draw->AddText(ImVec2(s0.x - 4.0f, s1.y + 2.0f), dim, "weight");
  if (sqrt_scale) draw->AddText(ImVec2(s0.x - 4.0f, s1.y + 2.0f + line), dim, "(sqrt)");
  const std::string meaning =
      "attention weight: the share of its attention a query (row) gives a key (column); each row "
      "sums to 1. The bar runs from 0 to the largest weight in the map" +
      std::string(sqrt_scale ? ", coloured by its square root: halfway up is a quarter of it."
                             : ", coloured linearly.");
  const ImVec2 e1(s1.x + 40.0f, s1.y + 2.0f + (sqrt_scale ? 2.0f : 1.0f) * line);
  explained_item(trace, "colour_bar_attention_map", s0, e1, meaning);
  trace.colour_bars.push_back({"attention map", "weight", 0.0f, max});
  return e1.y;
}

// The mouse over the cells: the exact entry under it in a tooltip, and the query follows the row.
void hover_cell(const HeatmapFrame& f, const InspectResult& result, const AttentionMap& map,
                const InspectorFigures& figures, bool text, InspectorSelection& selection) {
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const int64_t query = std::clamp<int64_t>(
      static_cast<int64_t>((mouse.y - f.p0.y) / (f.p1.y - f.p0.y) * figures.attention.rows), 0,
      figures.attention.rows - 1);
  const int64_t key = std::clamp<int64_t>(
      static_cast<int64_t>((mouse.x - f.p0.x) / (f.p1.x - f.p0.x) * figures.attention.cols), 0,
      figures.attention.cols - 1);
  const PositionSpan qspan = query_span(result, map, query);
  const std::optional<PositionSpan> kspan = key_span(result, map, key);
  ImGui::BeginTooltip();
  ImGui::Text("query %lld: %s", static_cast<long long>(query),
              describe_span(result, qspan, text).c_str());
  ImGui::Text("key %lld: %s", static_cast<long long>(key),
              kspan ? describe_span(result, *kspan, text).c_str()
                    : "pad, a zero row the shift puts in front");
  if (qspan.first == 0 || (kspan && kspan->first == 0)) {
    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 32.0f);
    ImGui::TextDisabled("%s", bos_tooltip().c_str());
    ImGui::PopTextWrapPos();
  }
  if (key > map.key_limit[query])
    ImGui::TextDisabled("masked: beyond this query's causal limit (key %lld)",
                        static_cast<long long>(map.key_limit[query]));
  else
    ImGui::Text("weight %.5f", figures.attention.at(query, key));
  ImGui::EndTooltip();
  track_query(selection, qspan.last, true);
}

}  // namespace

void AttentionHeatmap::draw(const InspectResult& result, const InspectorFigures& figures,
                            InspectorSelection& selection, ImVec2 size, InspectorTrace& trace) {
  const AttentionMap* map = figures.map;
  if (!map) return;
  const BinnedMatrix& bins = figures.binned;
  ImGui::PushID("heatmap");
  const bool text = result.origin.input_kind != "image";
  caption(trace, heatmap_caption());
  draw_title(*map, figures, trace);
  legend(*map, trace);

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float line = ImGui::GetTextLineHeight();
  const float bar_w = 70.0f;  // the colour scale on the right
  const float fit_cell = std::min((avail.x - bar_w - line - 8.0f) / bins.cols,
                                  (std::min(avail.y, size.y) - line - 8.0f) / bins.rows);
  const bool labels = text && bins.row_step == 1 && bins.col_step == 1 && fit_cell >= line * 0.7f;
  // Row labels: the characters each query stands for (K of them at a level of factor K).
  HeatmapFrame f;
  std::vector<std::string> row_labels;
  if (labels) {
    for (int64_t q = 0; q < bins.rows; ++q) {
      row_labels.push_back(span_glyphs(result, query_span(result, *map, q)));
      f.left = std::max(f.left, ImGui::CalcTextSize(row_labels.back().c_str()).x + 8.0f);
    }
    f.left = std::min(f.left, 6.0f * line);
  }
  const float top_margin = labels ? line + 4.0f : 2.0f;
  const float unit_h = 2.0f * line + 4.0f;  // the colour bar's unit under it
  f.cell =
      std::max(1.0f, std::min({(avail.x - bar_w - f.left - 8.0f) / bins.cols,
                               (std::min(avail.y, size.y) - top_margin - unit_h - 8.0f) / bins.rows,
                               4.0f * line}));
  f.origin = ImGui::GetCursorScreenPos();
  f.p0 = ImVec2(f.origin.x + f.left, f.origin.y + top_margin);
  f.p1 = ImVec2(f.p0.x + f.cell * bins.cols, f.p0.y + f.cell * bins.rows);
  ImDrawList* draw = ImGui::GetWindowDrawList();

  draw_cells(draw, f, bins, figures, sqrt_scale);
  if (labels) draw_labels(draw, f, result, *map, bins, row_labels);
  const float scale_bottom =
      draw_colour_scale(draw, f, bins.max > 0.0f ? bins.max : 1.0f, sqrt_scale, trace);
  ImGui::SetCursorScreenPos(f.p0);
  ImGui::InvisibleButton("##cells",
                         ImVec2(std::max(1.0f, f.p1.x - f.p0.x), std::max(1.0f, f.p1.y - f.p0.y)));
  if (ImGui::IsItemHovered()) hover_cell(f, result, *map, figures, text, selection);
  ImGui::SetCursorScreenPos(ImVec2(f.origin.x, std::max(f.p1.y, scale_bottom) + 4.0f));
  ImGui::Dummy(ImVec2(1.0f, 1.0f));
  ImGui::PopID();
}

// The map's name and head, what its rows and columns are, and the sqrt toggle.
void AttentionHeatmap::draw_title(const AttentionMap& map, const InspectorFigures& figures,
                                  InspectorTrace& trace) {
  const BinnedMatrix& bins = figures.binned;
  const std::string head =
      figures.head < 0 ? "mean over heads" : "head " + std::to_string(figures.head);
  ImGui::Text("Attention %s, %s", map.name.c_str(), head.c_str());
  ImGui::SameLine();
  ImGui::Checkbox("sqrt", &sqrt_scale);
  const ImVec2 s0 = ImGui::GetItemRectMin(), s1 = ImGui::GetItemRectMax();
  if (ImGui::IsItemHovered()) explain(trace, sqrt_tooltip());
  trace.elements.push_back({"sqrt", s0, s1, sqrt_tooltip()});
  // What the rows and columns are, beside the title where it fits, else in its own line.
  const std::string axes = "rows: queries at level " + std::to_string(map.query_level) +
                           ", columns: keys at level " + std::to_string(map.key_level) +
                           (bins.row_step > 1 || bins.col_step > 1
                                ? ", cells are means of " + std::to_string(bins.row_step) + "x" +
                                      std::to_string(bins.col_step)
                                : std::string());
  ImGui::SameLine();
  if (ImGui::CalcTextSize(axes.c_str()).x > ImGui::GetContentRegionAvail().x) ImGui::NewLine();
  ImGui::PushTextWrapPos(0.0f);
  ImGui::TextDisabled("%s", axes.c_str());
  ImGui::PopTextWrapPos();
}

// What the labels' odd glyphs are: BOS always, the shift's padding when the keys have some.
void AttentionHeatmap::legend(const AttentionMap& map, InspectorTrace& trace) {
  const bool padded = map.key_offset > 0;
  ImGui::TextDisabled("%s = BOS, the start token%s", kBosGlyph,
                      padded ? (std::string("; the first ") + std::to_string(map.key_offset) +
                                " keys (0) = pad, the shift's zero rows")
                                   .c_str()
                             : "");
  const ImVec2 l0 = ImGui::GetItemRectMin(), l1 = ImGui::GetItemRectMax();
  const std::string tooltip = bos_tooltip() + (padded ? "\n" + padding_tooltip(map.step) : "");
  if (ImGui::IsItemHovered()) explain(trace, tooltip);
  trace.elements.push_back({"bos", l0, l1, tooltip});
}

}  // namespace hg
