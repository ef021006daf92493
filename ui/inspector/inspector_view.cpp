// InspectorView: the selection, the figures it needs (recomputed only on change), the colours, and
// the layout of the three visualizers with the controls beside the diagram. The visualizers
// themselves: hierarchy_diagram.cpp, attention_heatmap.cpp, input_view.cpp.
#include "ui/inspector/inspector_view.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "model/io/image_io.h"

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
  const InspectResult* result = snapshot ? &snapshot->result : nullptr;
  if (result) update_figures(*result, selection, figures_);
  const ModelConfig& config = result ? result->config : model->config;

  ImGui::PushID(this);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float left_width = std::clamp(avail.x * 0.27f, 240.0f, 340.0f);
  ImGui::BeginChild("##left", ImVec2(left_width, 0.0f));
  diagram.draw(config, result, selection);
  if (snapshot) draw_controls(*snapshot);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##right", ImVec2(0.0f, 0.0f));
  if (!result) {
    ImGui::TextDisabled("Nothing inspected yet: choose an input and press Inspect.");
  } else {
    input.draw(*result, figures_, selection, ImGui::GetContentRegionAvail().y * 0.5f);
    heatmap.draw(*result, figures_, selection, ImGui::GetContentRegionAvail());
  }
  ImGui::EndChild();
  ImGui::PopID();
}

void InspectorView::draw_controls(const InspectSnapshot& snapshot) {
  const InspectResult& result = snapshot.result;
  const AttentionMap* map = figures_.map;
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
}

}  // namespace hg
