// InputView: the inspected input with the figures laid over it. Text: one cell per model position,
// its background the query's attention, and under it one strip per level cut into that level's rows
// (a row of factor K spans K characters). Image: the image under a heat overlay of the query's
// attention, then one activation map per level, drawn per sub-pixel and coloured per row, so a
// level of factor 3 over RGB shows one colour per pixel. Reads InspectorFigures only.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "model/io/image_io.h"
#include "ui/inspector/inspector_explain.h"
#include "ui/inspector/inspector_view.h"

namespace hg {
namespace {

const ImU32 kQueryOutline = IM_COL32(255, 255, 255, 255);
const ImU32 kNoValue = IM_COL32(24, 24, 26, 255);

// Colours one level's values: norms from their min to their max, a channel around zero.
struct LevelScale {
  float lo = 0.0f, hi = 1.0f;
  bool is_signed = false;
  LevelScale(const std::vector<float>& values, bool channel) : is_signed(channel) {
    if (values.empty()) return;
    const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
    lo = *mn;
    hi = *mx;
    if (is_signed) hi = std::max(std::abs(lo), std::abs(hi));
  }
  ImU32 color(float v) const {
    if (is_signed) return signed_color(hi > 0.0f ? v / hi : 0.0f);
    return heat_color(hi > lo ? (v - lo) / (hi - lo) : 0.5f);
  }
  // Level l's colour bar: its range left to right, and what the numbers are.
  ColourBarSpec bar(int l, int factor, int channel) const {
    ColourBarSpec spec;
    spec.label = "L" + std::to_string(l);
    spec.lo = is_signed ? -hi : lo;
    spec.hi = hi;
    spec.unit = channel < 0 ? "norm" : "ch " + std::to_string(channel);
    spec.meaning =
        (channel < 0
             ? "The length (L2 norm) of each level-" + std::to_string(l) +
                   " token's vector, in the model's own units: how strongly "
                   "it is written, not what it says."
             : "Channel " + std::to_string(channel) + " of each level-" + std::to_string(l) +
                   " token's vector: blue below zero, grey at zero, red above.") +
        " One colour per token of the level, which stands for " + std::to_string(factor) +
        (factor == 1 ? " position." : " positions.");
    const LevelScale scale = *this;
    spec.color = [scale](float t) { return scale.color(scale.bar_value(t)); };
    return spec;
  }
  float bar_value(float t) const { return is_signed ? (2.0f * t - 1.0f) * hi : lo + t * (hi - lo); }
};

// The row of level `factor` that position p belongs to: row j covers max(0, jK - K + 1) .. jK
// (docs/MODEL.md, "The shift by k - 1"). Its value: level_value (inspector_figures.h).
int64_t row_of(int64_t position, int factor) { return (position + factor - 1) / factor; }

float max_of(const std::vector<float>& values) {
  float m = 0.0f;
  for (float v : values) m = std::max(m, v);
  return m > 0.0f ? m : 1.0f;
}

// How much of the query's attention goes to BOS and to the shift's padding, both named.
void mass_line(const InspectorFigures& figures, InspectorTrace& trace) {
  const float bos = figures.over_input.heat.empty() ? 0.0f : figures.over_input.heat[0];
  ImGui::TextDisabled(
      "query %lld attends %.1f%% to BOS (%s, the start token)%s",
      static_cast<long long>(figures.query), 100.0f * bos, kBosGlyph,
      figures.over_input.padding > 0.0f
          ? (", " +
             std::to_string(static_cast<int>(std::lround(100.0f * figures.over_input.padding))) +
             "% to the shift's padding")
                .c_str()
          : "");
  if (ImGui::IsItemHovered())
    explain(trace, bos_tooltip() + (figures.over_input.padding > 0.0f
                                        ? "\nThe shift's padding: the zero rows in front of the "
                                          "shortening's keys; they stand for no input."
                                        : ""));
}

// Tooltip lines: the row of every level that position p belongs to, and its value there, each
// reading recorded in `trace` (a test hovers every position and checks each row exists).
void level_rows_lines(const InspectResult& result, const InspectorFigures& figures, int64_t p,
                      InspectorTrace& trace) {
  trace.hovered_position = p;
  for (int l = 0; l < static_cast<int>(figures.activations.size()); ++l) {
    const int factor = result.levels[l].factor;
    const int64_t row = row_of(p, factor);
    InspectorTrace::LevelReading reading{l, row, false, 0.0f};
    if (const float* v = level_value(figures.activations, l, factor, p)) {
      reading.exists = true;
      reading.value = *v;
      ImGui::Text("level %d row %lld: %s %.4g", l, static_cast<long long>(row),
                  figures.channel < 0 ? "norm" : "channel", *v);
    } else {
      ImGui::Text("level %d: no row yet (its group of %d ends after the input)", l, factor);
    }
    trace.readings.push_back(reading);
  }
}

// Under a view: the attention's colour bar, then one per level, side by side while they fit.
void draw_colour_bars(InspectorTrace& trace, const ColourBarSpec& attention,
                      const InspectResult& result, const InspectorFigures& figures) {
  const float width = std::clamp(ImGui::GetContentRegionAvail().x * 0.12f, 50.0f, 110.0f);
  std::vector<ColourBarSpec> bars{attention};
  for (int l = 0; l < static_cast<int>(figures.activations.size()); ++l)
    bars.push_back(LevelScale(figures.activations[l], figures.channel >= 0)
                       .bar(l, result.levels[l].factor, figures.channel));
  colour_bars(trace, bars, width);
}

// The text view's geometry: a block per line of cells, each cell a character above one strip per
// level.
struct TextLayout {
  float line = 0.0f;     // text line height
  float cell_w = 0.0f;   // one character cell
  float small = 0.0f;    // the strips' level names
  float strip_h = 0.0f;  // one level's strip
  float block_h = 0.0f;  // a line of cells with its strips
  float gutter = 0.0f;   // the level names' column
  int64_t per_line = 8, lines = 0;
  float height = 0.0f;  // the child window's, before the one-block minimum

  // The top of level l's strip under a line of cells at y.
  float strip_y(float y, int l) const { return y + line + 6.0f + l * (strip_h + 1.0f); }
};

// Fits `positions` cells into the current window's width, at most `max_height` tall.
TextLayout text_layout(int levels, int64_t positions, float max_height) {
  TextLayout t;
  t.line = ImGui::GetTextLineHeight();
  t.cell_w = ImGui::CalcTextSize("M").x + 3.0f;
  t.small = ImGui::GetFontSize() * 0.7f;
  t.strip_h = std::max(7.0f, t.small);
  t.block_h = t.line + 4.0f + levels * (t.strip_h + 1.0f) + 8.0f;
  t.gutter = ImGui::CalcTextSize("L0").x + 6.0f;
  const float width = ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ScrollbarSize - t.gutter;
  t.per_line = std::max<int64_t>(8, static_cast<int64_t>(width / t.cell_w));
  t.lines = (positions + t.per_line - 1) / t.per_line;
  t.height = std::min(max_height, t.lines * t.block_h + 4.0f);
  return t;
}

// Every position's cell: its character on the query's attention, the query outlined, and under
// it a strip per level coloured by that level's row, with a gap after each row's last position.
void draw_text_cells(ImDrawList* draw, const TextLayout& t, ImVec2 origin,
                     const InspectResult& result, const InspectorFigures& figures,
                     const InspectorSelection& selection) {
  const int levels = static_cast<int>(result.levels.size());
  const std::vector<float>& heat = figures.over_input.heat;
  const float heat_max = max_of(heat);
  PositionSpan query{figures.query, figures.query};
  if (figures.map) query = query_span(result, *figures.map, figures.query_row);
  std::vector<LevelScale> scales;
  for (const std::vector<float>& values : figures.activations)
    scales.emplace_back(values, figures.channel >= 0);

  for (int64_t p = 0; p < result.positions; ++p) {
    const float x = origin.x + (p % t.per_line) * t.cell_w;
    const float y = origin.y + (p / t.per_line) * t.block_h;
    const float share = p < static_cast<int64_t>(heat.size()) ? heat[p] / heat_max : 0.0f;
    const float shade = std::sqrt(share);
    draw->AddRectFilled(ImVec2(x, y), ImVec2(x + t.cell_w - 1.0f, y + t.line + 4.0f),
                        heat_color(shade));
    const std::string glyph = position_glyph(result, p);
    const ImVec2 size = ImGui::CalcTextSize(glyph.c_str());
    draw->AddText(ImVec2(x + (t.cell_w - 1.0f - size.x) * 0.5f, y + 2.0f),
                  shade > 0.7f ? IM_COL32(0, 0, 0, 255)
                  : p == 0     ? IM_COL32(160, 160, 170, 255)
                               : IM_COL32_WHITE,
                  glyph.c_str());
    if (p >= query.first && p <= query.last)
      draw->AddRect(ImVec2(x - 1.0f, y - 1.0f), ImVec2(x + t.cell_w, y + t.line + 5.0f),
                    kQueryOutline, 0.0f, 0, selection.locked ? 2.0f : 1.0f);
    for (int l = 0; l < levels && l < static_cast<int>(figures.activations.size()); ++l) {
      const int factor = result.levels[l].factor;
      const float* value = level_value(figures.activations, l, factor, p);
      const float sy = t.strip_y(y, l);
      const bool last_of_row = p % factor == 0;  // row j ends at jK: leave a gap after it
      draw->AddRectFilled(ImVec2(x, sy),
                          ImVec2(x + t.cell_w - (last_of_row ? 2.0f : 0.0f), sy + t.strip_h),
                          value ? scales[l].color(*value) : kNoValue);
      if (l == selection.level)
        draw->AddLine(ImVec2(x, sy + t.strip_h), ImVec2(x + t.cell_w, sy + t.strip_h),
                      IM_COL32(66, 133, 244, 255));
    }
  }
}

// Level names beside the strips, on every line; the selected level's in the text colour.
void draw_level_names(ImDrawList* draw, const TextLayout& t, ImVec2 corner, int levels,
                      int selected) {
  for (int64_t i = 0; i < t.lines; ++i)
    for (int l = 0; l < levels; ++l) {
      const std::string name = "L" + std::to_string(l);
      draw->AddText(
          ImGui::GetFont(), t.small,
          ImVec2(corner.x, t.strip_y(corner.y + i * t.block_h, l) + (t.strip_h - t.small) * 0.5f),
          ImGui::GetColorU32(l == selected ? ImGuiCol_Text : ImGuiCol_TextDisabled), name.c_str());
    }
}

// The hovered cell becomes the query; a tooltip gives its attention and its rows' values.
void hover_text_cell(const TextLayout& t, ImVec2 origin, const InspectResult& result,
                     const InspectorFigures& figures, InspectorSelection& selection,
                     InspectorTrace& trace) {
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const int64_t column = static_cast<int64_t>((mouse.x - origin.x) / t.cell_w);
  const int64_t line_index = static_cast<int64_t>((mouse.y - origin.y) / t.block_h);
  const int64_t p = line_index * t.per_line + column;
  if (column < 0 || column >= t.per_line || p < 0 || p >= result.positions) return;
  track_query(selection, p, true);
  const std::vector<float>& heat = figures.over_input.heat;
  ImGui::BeginTooltip();
  ImGui::Text("position %lld  %s", static_cast<long long>(p), position_label(result, p).c_str());
  if (p == 0) {
    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 32.0f);
    ImGui::TextUnformatted(bos_tooltip().c_str());
    ImGui::PopTextWrapPos();
    trace.tooltip = bos_tooltip();
  }
  if (p < static_cast<int64_t>(heat.size()))
    ImGui::Text("attention of query %lld here: %.5f", static_cast<long long>(figures.query),
                heat[p]);
  level_rows_lines(result, figures, p, trace);
  ImGui::EndTooltip();
}

// The image view's geometry: tile 0 the image, tile 1 + l level l's activations.
struct ImageTiles {
  ImVec2 top;         // the tiles' top left corner, under their titles
  float s = 1.0f;     // screen pixels per image pixel
  float tile = 0.0f;  // a tile's side
  float gap = 14.0f;
  int channels = 1;

  float x(int i) const { return top.x + i * (tile + gap); }
};

// The query's attention summed over each pixel's sub-pixels (BOS, position 0, left out).
std::vector<float> attention_per_pixel(const std::vector<float>& heat, int channels) {
  const int side = kImageSide;
  std::vector<float> pixel_heat(static_cast<size_t>(side * side), 0.0f);
  for (int64_t p = 1; p < static_cast<int64_t>(heat.size()); ++p) {
    const int64_t pixel = pixel_of(p, channels);
    if (pixel < side * side) pixel_heat[static_cast<size_t>(pixel)] += heat[p];
  }
  return pixel_heat;
}

// Tile 0: the image, and the query's attention per pixel as a heat overlay.
void draw_image_tile(ImDrawList* draw, const ImageTiles& tiles, const InspectResult& result,
                     const std::vector<float>& pixel_heat, float heat_max) {
  const int side = kImageSide;
  const int channels = tiles.channels;
  const float s = tiles.s;
  const int64_t tokens = static_cast<int64_t>(result.tokens.size());
  for (int i = 0; i < side * side; ++i) {
    const ImVec2 c0(tiles.x(0) + (i % side) * s, tiles.top.y + (i / side) * s),
        c1(c0.x + s, c0.y + s);
    const int64_t t = static_cast<int64_t>(i) * channels;
    ImU32 color = kNoValue;
    if (t + channels <= tokens) {
      const uint8_t* px = result.tokens.data() + t;
      color =
          channels == 3 ? IM_COL32(px[0], px[1], px[2], 255) : IM_COL32(px[0], px[0], px[0], 255);
    }
    draw->AddRectFilled(c0, c1, color);
    // Linear and at most 70 % opaque: the image stays visible under attention spread evenly.
    const float share = pixel_heat[i] / heat_max;
    if (share > 0.01f) draw->AddRectFilled(c0, c1, heat_color(share, 0.7f * share));
  }
}

// Tile 1 + l: level l's values per sub-pixel (one stripe per channel), coloured by its row, with
// the level's resolution as the title at `title_y` (its colour bar: draw_colour_bars).
void draw_level_tile(ImDrawList* draw, const ImageTiles& tiles, const InspectResult& result,
                     const InspectorFigures& figures, int l, float title_y, bool selected) {
  const int side = kImageSide;
  const int channels = tiles.channels;
  const float s = tiles.s;
  const int factor = result.levels[l].factor;
  const LevelScale scale(figures.activations[l], figures.channel >= 0);
  std::string title = "L" + std::to_string(l) + " x" + std::to_string(factor) + ": ";
  if (factor == 1)
    title += channels > 1 ? "per sub-pixel" : "per pixel";
  else if (factor % channels == 0)
    title += factor == channels ? "per pixel" : "per " + std::to_string(factor / channels) + " px";
  else
    title += "per " + std::to_string(factor) + " sub-px";
  // The short form ("L1 x4") when the whole title is wider than the tile: titles never overlap.
  if (ImGui::CalcTextSize(title.c_str()).x > tiles.tile + tiles.gap - 4.0f)
    title = level_label(l, factor);
  draw->AddText(ImVec2(tiles.x(1 + l), title_y),
                selected ? IM_COL32(110, 170, 255, 255) : ImGui::GetColorU32(ImGuiCol_Text),
                title.c_str());
  const float stripe = s / channels;
  for (int64_t sub = 0; sub < static_cast<int64_t>(side) * side * channels; ++sub) {
    const int64_t pixel = sub / channels;
    const int c = static_cast<int>(sub % channels);
    const ImVec2 c0(tiles.x(1 + l) + (pixel % side) * s + c * stripe,
                    tiles.top.y + (pixel / side) * s);
    const int64_t p = sub + 1;
    const float* value =
        p < result.positions ? level_value(figures.activations, l, factor, p) : nullptr;
    const ImU32 color = value ? scale.color(*value) : kNoValue;
    draw->AddRectFilled(c0, ImVec2(c0.x + stripe, c0.y + s), color);
  }
}

// The query's span, outlined on each of the `count` tiles (whole pixels on the image tile).
void outline_query(ImDrawList* draw, const ImageTiles& tiles, int count, PositionSpan span,
                   bool locked) {
  const int side = kImageSide;
  const int channels = tiles.channels;
  const float s = tiles.s;
  for (int i = 0; i < count; ++i)
    for (int64_t p = std::max<int64_t>(1, span.first); p <= span.last; ++p) {
      const int64_t pixel = pixel_of(p, channels);
      const int c = static_cast<int>((p - 1) % channels);
      const float stripe = i == 0 ? s : s / channels;
      const ImVec2 c0(tiles.x(i) + (pixel % side) * s + (i == 0 ? 0.0f : c * stripe),
                      tiles.top.y + (pixel / side) * s);
      draw->AddRect(ImVec2(c0.x - 1.0f, c0.y - 1.0f), ImVec2(c0.x + stripe + 1.0f, c0.y + s + 1.0f),
                    kQueryOutline, 0.0f, 0, locked ? 2.0f : 1.0f);
    }
}

// The mouse over tile i: the sub-pixel under it (its left/middle/right third picks R/G/B) becomes
// the query, and a tooltip gives the pixel's attention and its rows' values.
void hover_image_tile(const ImageTiles& tiles, int i, const InspectResult& result,
                      const InspectorFigures& figures, const std::vector<float>& pixel_heat,
                      InspectorSelection& selection, InspectorTrace& trace) {
  const int side = kImageSide;
  const int channels = tiles.channels;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const float fx = (mouse.x - tiles.x(i)) / tiles.s, fy = (mouse.y - tiles.top.y) / tiles.s;
  const int x = std::clamp(static_cast<int>(fx), 0, side - 1);
  const int y = std::clamp(static_cast<int>(fy), 0, side - 1);
  const int c = std::clamp(static_cast<int>((fx - x) * channels), 0, channels - 1);
  const int64_t pixel = static_cast<int64_t>(y) * side + x;
  const int64_t p = position_of(pixel, c, channels);
  if (p >= result.positions) return;
  track_query(selection, p, true);
  ImGui::BeginTooltip();
  ImGui::Text("pixel (%d, %d)%s, position %lld", x, y,
              channels == 3 ? (std::string(" ") + "RGB"[c]).c_str() : "",
              static_cast<long long>(p));
  ImGui::Text("attention of query %lld on this pixel: %.5f", static_cast<long long>(figures.query),
              pixel_heat[static_cast<size_t>(pixel)]);
  level_rows_lines(result, figures, p, trace);
  ImGui::EndTooltip();
}

}  // namespace

void InputView::draw(const InspectResult& result, const InspectorFigures& figures,
                     InspectorSelection& selection, float max_height, InspectorTrace& trace) {
  ImGui::PushID("input");
  if (result.origin.input_kind == "image" && result.origin.image_channels > 0)
    draw_image(result, figures, selection, max_height, trace);
  else
    draw_text(result, figures, selection, max_height, trace);
  ImGui::PopID();
}

ImVec2 InputView::position_center(int64_t position) const {
  if (drew_image_) {
    const int64_t pixel = pixel_of(std::max<int64_t>(1, position), channels_);
    const int channel = static_cast<int>((std::max<int64_t>(1, position) - 1) % channels_);
    return ImVec2(origin_.x + (pixel % kImageSide + (channel + 0.5f) / channels_) * cell_w_,
                  origin_.y + (pixel / kImageSide + 0.5f) * cell_w_);
  }
  return ImVec2(origin_.x + (position % per_line_ + 0.5f) * cell_w_,
                origin_.y + (position / per_line_) * cell_h_ + 0.3f * cell_h_);
}

void InputView::draw_text(const InspectResult& result, const InspectorFigures& figures,
                          InspectorSelection& selection, float max_height, InspectorTrace& trace) {
  const int levels = static_cast<int>(result.levels.size());
  caption(trace, input_caption(/*image=*/false));
  ImGui::Text("Input: %lld positions", static_cast<long long>(result.positions));
  ImGui::SameLine();
  mass_line(figures, trace);

  // What the bars below take, so that the cells leave them room.
  const float bars_h = 2.0f * ImGui::GetFrameHeightWithSpacing();
  const TextLayout t = text_layout(levels, result.positions, max_height - bars_h);
  ImGui::BeginChild("##text", ImVec2(0.0f, std::max(t.block_h, t.height)));
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 corner = ImGui::GetCursorScreenPos();
  const ImVec2 origin(corner.x + t.gutter, corner.y);
  draw_text_cells(draw, t, origin, result, figures, selection);
  draw_level_names(draw, t, corner, levels, selection.level);

  drew_image_ = false;
  origin_ = origin;
  cell_w_ = t.cell_w;
  cell_h_ = t.block_h;
  per_line_ = t.per_line;
  ImGui::SetCursorScreenPos(origin);
  ImGui::InvisibleButton("##cells", ImVec2(t.per_line * t.cell_w, t.lines * t.block_h));
  if (ImGui::IsItemHovered()) hover_text_cell(t, origin, result, figures, selection, trace);
  ImGui::EndChild();
  ColourBarSpec attention;
  attention.label = "attention";
  attention.unit = "weight, sqrt";
  attention.meaning =
      "The shading behind each character: the share of the query's attention that lands on it "
      "(a key of a shortened level spreads its weight over the characters it stands for). "
      "Coloured by the square root, so that small shares stay visible.";
  attention.hi = max_of(figures.over_input.heat);
  attention.color = [](float v) { return heat_color(std::sqrt(v)); };
  draw_colour_bars(trace, attention, result, figures);
}

void InputView::draw_image(const InspectResult& result, const InspectorFigures& figures,
                           InspectorSelection& selection, float max_height, InspectorTrace& trace) {
  const int channels = result.origin.image_channels;
  const int side = kImageSide;
  const int levels = static_cast<int>(figures.activations.size());
  const int count = 1 + levels;  // tiles
  const float line = ImGui::GetTextLineHeight();
  ImageTiles tiles;
  tiles.channels = channels;
  const float width = ImGui::GetContentRegionAvail().x;
  const float fit = std::floor(std::min((width - (count - 1) * tiles.gap) / (count * side),
                                        (max_height - 7.0f * line - 16.0f) / side));
  tiles.s = pixel_size > 0.0f ? pixel_size : std::clamp(fit, 3.0f, 9.0f);
  tiles.tile = tiles.s * side;

  caption(trace, input_caption(/*image=*/true));
  ImGui::Text("Input: 32x32x%d image, %lld positions", channels,
              static_cast<long long>(result.positions));
  mass_line(figures, trace);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  tiles.top = ImVec2(origin.x, origin.y + line + 4.0f);
  drew_image_ = true;
  origin_ = tiles.top;
  cell_w_ = tiles.s;
  channels_ = channels;

  const std::vector<float> pixel_heat = attention_per_pixel(figures.over_input.heat, channels);
  const float heat_max = max_of(pixel_heat);
  const char* image_title =
      ImGui::CalcTextSize("image + attention").x <= tiles.tile + tiles.gap - 4.0f
          ? "image + attention"
          : "image";
  draw->AddText(ImVec2(tiles.x(0), origin.y), ImGui::GetColorU32(ImGuiCol_Text), image_title);
  draw_image_tile(draw, tiles, result, pixel_heat, heat_max);
  for (int l = 0; l < levels; ++l)
    draw_level_tile(draw, tiles, result, figures, l, origin.y, l == selection.level);
  if (figures.map)
    outline_query(draw, tiles, count, query_span(result, *figures.map, figures.query_row),
                  selection.locked);

  // Hover on any tile: the sub-pixel under the mouse becomes the query.
  for (int i = 0; i < count; ++i) {
    ImGui::SetCursorScreenPos(ImVec2(tiles.x(i), tiles.top.y));
    ImGui::InvisibleButton(("##tile" + std::to_string(i)).c_str(), ImVec2(tiles.tile, tiles.tile));
    if (ImGui::IsItemHovered())
      hover_image_tile(tiles, i, result, figures, pixel_heat, selection, trace);
  }
  ImGui::SetCursorScreenPos(ImVec2(origin.x, tiles.top.y + tiles.tile + 6.0f));
  ColourBarSpec attention;
  attention.label = "attention";
  attention.unit = "weight per pixel";
  attention.meaning =
      "The overlay on the image: the share of the query's attention that lands on each pixel "
      "(its sub-pixels summed). Linear, and at most 70% opaque so the image stays visible.";
  attention.hi = heat_max;
  attention.color = [](float v) { return heat_color(v); };
  draw_colour_bars(trace, attention, result, figures);
}

}  // namespace hg
