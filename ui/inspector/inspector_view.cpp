// InspectorView: the selection, the figures it needs (recomputed only on change), the colours, and
// the layout of the three visualizers with the controls beside the diagram. The visualizers
// themselves: hierarchy_diagram.cpp, attention_heatmap.cpp, input_view.cpp.
#include "ui/inspector/inspector_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "model/io/image_io.h"
#include "ui/inspector/inspector_explain.h"

namespace hg {
namespace {

// Heatmap cells per axis: enough to see structure, few enough for a software rasteriser.
constexpr int kMaxHeatmapCells = 128;

ImU32 mix(ImVec4 a, ImVec4 b, float t, float alpha) {
  return ImGui::ColorConvertFloat4ToU32(
      ImVec4(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, a.z + (b.z - a.z) * t, alpha));
}

ImVec4 rgb(int r, int g, int b) { return ImVec4(r / 255.0f, g / 255.0f, b / 255.0f, 1.0f); }

}  // namespace

const InspectorTrace::Element* InspectorTrace::find(const std::string& id) const {
  for (const Element& e : elements)
    if (e.id == id) return &e;
  return nullptr;
}

void explain(InspectorTrace& trace, const std::string& text) {
  ImGui::BeginTooltip();
  ImGui::PushTextWrapPos(ImGui::GetFontSize() * 32.0f);
  ImGui::TextUnformatted(text.c_str());
  ImGui::PopTextWrapPos();
  ImGui::EndTooltip();
  trace.tooltip = text;
}

bool explained_item(InspectorTrace& trace, const std::string& id, ImVec2 p0, ImVec2 p1,
                    const std::string& tooltip, bool* hovered) {
  ImGui::SetCursorScreenPos(p0);
  const bool clicked = ImGui::InvisibleButton(
      id.c_str(), ImVec2(std::max(1.0f, p1.x - p0.x), std::max(1.0f, p1.y - p0.y)));
  // Overlapping items (a band behind its layer chips) may all report the hover: the first one
  // submitted keeps it, and the click.
  const bool first = trace.tooltip.empty();
  const bool over = first && ImGui::IsItemHovered();
  if (over) explain(trace, tooltip);
  if (hovered) *hovered = over;
  trace.elements.push_back({id, p0, p1, tooltip});
  return clicked && first;
}

void caption(InspectorTrace& trace, const std::string& text) {
  ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(150, 190, 255, 255));
  ImGui::TextWrapped("%s", text.c_str());
  ImGui::PopStyleColor();
  trace.captions.push_back(text);
}

void colour_bar(InspectorTrace& trace, const ColourBarSpec& bar, float width) {
  const float line = ImGui::GetTextLineHeight();
  ImGui::TextUnformatted(bar.label.c_str());
  ImGui::SameLine();
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  const ImVec2 p1(p0.x + width, p0.y + line);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  constexpr int kSteps = 48;
  for (int i = 0; i < kSteps; ++i)
    draw->AddRectFilled(ImVec2(p0.x + width * i / kSteps, p0.y + 2.0f),
                        ImVec2(p0.x + width * (i + 1) / kSteps, p1.y - 2.0f),
                        bar.color((i + 0.5f) / kSteps));
  char numbers[64];
  std::snprintf(numbers, sizeof numbers, "%.3g .. %.3g", bar.lo, bar.hi);
  const std::string id = "colour_bar_" + bar.label;
  const std::string tooltip = bar.label + ": " + numbers + " " + bar.unit + "\n" + bar.meaning;
  bool hovered = false;
  explained_item(trace, id, p0, p1, tooltip, &hovered);
  ImGui::SameLine();
  ImGui::TextDisabled("%s %s", numbers, bar.unit.c_str());
  trace.colour_bars.push_back({bar.label, bar.unit, bar.lo, bar.hi});
}

void colour_bars(InspectorTrace& trace, const std::vector<ColourBarSpec>& bars, float width) {
  const ImGuiStyle& style = ImGui::GetStyle();
  const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
  constexpr float kGap = 18.0f;
  for (size_t i = 0; i < bars.size(); ++i) {
    char numbers[64];
    std::snprintf(numbers, sizeof numbers, "%.3g .. %.3g ", bars[i].lo, bars[i].hi);
    const float needed = ImGui::CalcTextSize(bars[i].label.c_str()).x + width +
                         ImGui::CalcTextSize((numbers + bars[i].unit).c_str()).x +
                         3.0f * style.ItemSpacing.x;
    if (i > 0) {
      ImGui::SameLine(0.0f, kGap);
      if (ImGui::GetCursorScreenPos().x + needed > right) ImGui::NewLine();
    }
    colour_bar(trace, bars[i], width);
  }
}

void update_figures(const InspectResult& result, InspectorSelection& selection,
                    InspectorFigures& figures) {
  const int levels = static_cast<int>(result.levels.size());
  selection.level = std::clamp(selection.level, 0, std::max(0, levels - 1));
  const AttentionMap* map = find_attention(result, selection.map);
  if (!map) {
    for (const AttentionMap& m : result.attention)
      if (m.level == selection.level) {
        map = &m;
        break;
      }
    if (!map && !result.attention.empty()) map = &result.attention.front();
    if (map) selection.map = map->name;
  }
  if (map) selection.head = std::clamp(selection.head, -1, static_cast<int>(map->heads) - 1);

  const bool new_result = figures.result != &result;
  const bool new_matrix = new_result || figures.map != map || figures.head != selection.head;
  if (new_matrix) {
    figures.map = map;
    figures.head = selection.head;
    figures.attention = map ? attention_matrix(*map, selection.head) : Matrix{};
    figures.binned =
        map ? bin_attention(figures.attention, *map, kMaxHeatmapCells) : BinnedMatrix{};
  }
  const int64_t query = selection.query >= 0 && selection.query < result.positions
                            ? selection.query
                            : result.positions - 1;
  if (new_matrix || figures.query != query) {
    figures.query = query;
    figures.query_row = map ? query_row_of(result, *map, query) : 0;
    figures.over_input =
        map ? attention_over_positions(result, *map, figures.attention, figures.query_row)
            : PositionHeat{};
  }
  const int width = result.activations.empty() ? 0 : static_cast<int>(result.activations[0].width);
  selection.channel = std::clamp(selection.channel, -1, width - 1);
  if (new_result || figures.channel != selection.channel) {
    figures.channel = selection.channel;
    figures.activations.clear();
    for (const LevelActivations& a : result.activations)
      figures.activations.push_back(activation_values(a, selection.channel));
  }
  figures.result = &result;
}

ImU32 heat_color(float t, float alpha) {
  // Viridis at five stops: ordered in lightness, readable for colour-blind viewers.
  static const ImVec4 kStops[] = {rgb(68, 1, 84), rgb(59, 82, 139), rgb(33, 145, 140),
                                  rgb(94, 201, 98), rgb(253, 231, 37)};
  t = std::clamp(std::isfinite(t) ? t : 0.0f, 0.0f, 1.0f) * 4.0f;
  const int i = std::min(3, static_cast<int>(t));
  return mix(kStops[i], kStops[i + 1], t - static_cast<float>(i), alpha);
}

ImU32 signed_color(float t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0f, -1.0f, 1.0f);
  const ImVec4 zero = rgb(90, 90, 96);
  return t < 0 ? mix(zero, rgb(60, 130, 240), -t, 1.0f) : mix(zero, rgb(240, 80, 60), t, 1.0f);
}

std::string position_glyph(const InspectResult& result, int64_t position) {
  if (position <= 0) return "\xC2\xBB";  // »
  if (position > static_cast<int64_t>(result.tokens.size())) return "?";
  const unsigned char byte = result.tokens[static_cast<size_t>(position - 1)];
  if (byte == '\n') return "\xC2\xB6";  // ¶
  if (byte >= 32 && byte < 127) return std::string(1, static_cast<char>(byte));
  return "\xC2\xB7";  // ·
}

void track_query(InspectorSelection& selection, int64_t position, bool hovered) {
  if (!hovered) return;
  if (ImGui::IsMouseClicked(0)) {
    selection.locked = !(selection.locked && selection.query == position);
    selection.query = position;
  } else if (!selection.locked) {
    selection.query = position;
  }
}

void InspectorView::draw(const InspectModelInfo* model, const InspectSnapshot* snapshot) {
  if (!model && !snapshot) {
    ImGui::TextDisabled(
        "Pick a model (a run folder or a .safetensors checkpoint) and an input, then Inspect.");
    return;
  }
  trace_.clear();
  const InspectResult* result = snapshot ? &snapshot->result : nullptr;
  if (result) update_figures(*result, selection, figures_);
  const ModelConfig& config = result ? result->config : model->config;

  ImGui::PushID(this);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float left_width = std::clamp(avail.x * 0.27f, 240.0f, 340.0f);
  ImGui::BeginChild("##left", ImVec2(left_width, 0.0f));
  caption(trace_, diagram_caption());
  diagram.draw(config, result, selection, trace_);
  if (snapshot) draw_controls(*snapshot);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##right", ImVec2(0.0f, 0.0f));
  if (!result) {
    ImGui::TextDisabled("Nothing inspected yet: choose an input and press Inspect.");
  } else {
    input.draw(*result, figures_, selection, ImGui::GetContentRegionAvail().y * 0.5f, trace_);
    heatmap.draw(*result, figures_, selection, ImGui::GetContentRegionAvail(), trace_);
  }
  ImGui::EndChild();
  ImGui::PopID();
}

void InspectorView::draw_controls(const InspectSnapshot& snapshot) {
  const InspectResult& result = snapshot.result;
  const AttentionMap* map = figures_.map;
  ImGui::PushTextWrapPos(0.0f);  // a narrow column wraps its lines rather than cut them
  ImGui::Separator();
  if (map) {
    ImGui::Text("%s  (%s, level %d)", map->name.c_str(), to_string(map->kind).c_str(), map->level);
    ImGui::TextDisabled("%lld queries x %lld keys, level %d x%d -> level %d x%d",
                        static_cast<long long>(map->queries), static_cast<long long>(map->keys),
                        map->query_level, result.levels[map->query_level].factor, map->key_level,
                        result.levels[map->key_level].factor);
    const std::string head_label = selection.head < 0
                                       ? "mean of " + std::to_string(map->heads) + " heads"
                                       : "head " + std::to_string(selection.head);
    ImGui::SetNextItemWidth(-FLT_MIN);
    if (ImGui::BeginCombo("##head", head_label.c_str())) {
      if (ImGui::Selectable("mean over heads", selection.head < 0)) selection.head = -1;
      for (int h = 0; h < map->heads; ++h)
        if (ImGui::Selectable(("head " + std::to_string(h)).c_str(), selection.head == h))
          selection.head = h;
      ImGui::EndCombo();
    }
  } else {
    ImGui::TextDisabled("This model has no attention layers.");
  }

  ImGui::Spacing();
  ImGui::TextUnformatted("Activations");
  bool norm = selection.channel < 0;
  if (ImGui::RadioButton("norm", norm)) selection.channel = -1;
  ImGui::SameLine();
  if (ImGui::RadioButton("channel", !norm) && norm) selection.channel = 0;
  if (!norm && !result.activations.empty()) {
    ImGui::SetNextItemWidth(-FLT_MIN);
    ImGui::SliderInt("##channel", &selection.channel, 0,
                     static_cast<int>(result.activations[0].width) - 1, "channel %d");
  }

  ImGui::Spacing();
  const bool image = result.origin.input_kind == "image";
  const int channels = std::max(1, result.origin.image_channels);
  if (image && figures_.query >= 1) {
    const int64_t pixel = pixel_of(figures_.query, channels);
    ImGui::Text(
        "query: position %lld, pixel (%lld, %lld)%s", static_cast<long long>(figures_.query),
        static_cast<long long>(pixel % kImageSide), static_cast<long long>(pixel / kImageSide),
        channels == 3 ? (" " + std::string(1, "RGB"[(figures_.query - 1) % 3])).c_str() : "");
  } else {
    ImGui::Text("query: position %lld  %s", static_cast<long long>(figures_.query),
                position_label(result, figures_.query).c_str());
  }
  if (map)
    ImGui::TextDisabled("row %lld of level %d", static_cast<long long>(figures_.query_row),
                        map->query_level);
  if (ImGui::Button(selection.locked ? "Unlock query" : "Lock query"))
    selection.locked = !selection.locked;
  ImGui::SameLine();
  ImGui::TextDisabled(selection.locked ? "locked" : "follows the mouse");

  ImGui::Spacing();
  ImGui::Separator();
  const std::string weights = std::filesystem::path(snapshot.model.weights).filename().string();
  ImGui::TextWrapped(
      "%s%s", weights.c_str(),
      snapshot.model.step >= 0 ? (", step " + std::to_string(snapshot.model.step)).c_str() : "");
  ImGui::TextWrapped("%s: %lld tokens%s, %.2f s", snapshot.input_label.c_str(),
                     static_cast<long long>(result.tokens.size()),
                     result.input_length > static_cast<int64_t>(result.tokens.size())
                         ? " (cut to the model's length)"
                         : "",
                     snapshot.seconds);
  ImGui::PopTextWrapPos();
}

}  // namespace hg
