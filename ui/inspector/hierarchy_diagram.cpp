// HierarchyDiagram: the hourglass drawn as bands, one per level, narrowing with the factor:
// pre-layers on the left of a band, post-layers on its right, the shortening going down on the left
// and the upsampling coming up on the right. Only the config is needed; clicks select.
#include <algorithm>
#include <string>

#include "model/io/inspection_files.h"
#include "ui/inspector/inspector_explain.h"
#include "ui/inspector/inspector_view.h"

namespace hg {
namespace {

const ImU32 kBand = IM_COL32(58, 60, 68, 255);
const ImU32 kBandSelected = IM_COL32(72, 80, 100, 255);
const ImU32 kCell = IM_COL32(88, 104, 130, 255);
const ImU32 kCellHovered = IM_COL32(110, 130, 165, 255);
const ImU32 kAccent = IM_COL32(66, 133, 244, 255);
const ImU32 kArrow = IM_COL32(170, 170, 176, 255);

std::string layer_name(int level, int block) {
  return "level" + std::to_string(level) + "_layer" + std::to_string(block);
}

// The diagram's elements are explained_item()s (inspector_view.h): clickable, with a tooltip in
// plain words (inspector_explain.h). Items first claim the hover, so cells are submitted before
// the band behind them.

void arrow(ImDrawList* draw, float x, float y0, float y1) {
  draw->AddLine(ImVec2(x, y0), ImVec2(x, y1), kArrow, 1.5f);
  const float dir = y1 > y0 ? 1.0f : -1.0f;
  draw->AddTriangleFilled(ImVec2(x - 4.0f, y1 - dir * 6.0f), ImVec2(x + 4.0f, y1 - dir * 6.0f),
                          ImVec2(x, y1), kArrow);
}

// The diagram's geometry: level l's band, and the gap between it and the next one.
struct Bands {
  ImVec2 origin;
  float width = 0.0f, top = 0.0f, inset = 0.0f;
  float line = 0.0f, row_h = 0.0f, gap_h = 0.0f;

  std::pair<ImVec2, ImVec2> band(int l) const {
    const float y = top + static_cast<float>(l) * (row_h + gap_h);
    return std::pair<ImVec2, ImVec2>(ImVec2(origin.x + l * inset, y),
                                     ImVec2(origin.x + width - l * inset, y + row_h));
  }
};

// Level l's layer cells inside its band [b0, b1], after its label: pre on the left half, post on
// the right half (all of them for the innermost). A click selects the layer's attention.
void draw_layer_cells(ImDrawList* draw, const Bands& bands, const Hierarchy& hierarchy, int l,
                      float label_w, const TokenWords& words, InspectorSelection& selection,
                      InspectorTrace& trace) {
  const Level& level = hierarchy.levels[static_cast<size_t>(l)];
  const bool innermost = l + 1 == static_cast<int>(hierarchy.levels.size());
  const auto [b0, b1] = bands.band(l);
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  const int pre = level.pre_layers, post = innermost ? 0 : level.post_layers;
  const float room = (b1.x - b0.x - label_w - 8.0f) * (innermost ? 1.0f : 0.5f);
  const int per_side = std::max(1, std::max(pre, post));
  const float cell_w = std::clamp((room - 4.0f) / per_side - 3.0f, 8.0f, 26.0f);
  const float cell_y0 = b0.y + 5.0f, cell_y1 = b1.y - 5.0f;
  for (int block = 0; block < pre + post; ++block) {
    const bool is_pre = block < pre;
    const float x0 = is_pre ? b0.x + label_w + block * (cell_w + 3.0f)
                            : b1.x - 6.0f - (pre + post - block) * (cell_w + 3.0f) + 3.0f;
    const ImVec2 c0(x0, cell_y0), c1(x0 + cell_w, cell_y1);
    const std::string name = layer_name(l, block);
    bool hovered = false;
    if (explained_item(trace, name, c0, c1, layer_tooltip(hierarchy, l, block, words), &hovered)) {
      selection.map = name;
      selection.level = l;
    }
    const bool chosen = selection.map == name;
    draw->AddRectFilled(c0, c1, chosen ? kAccent : hovered ? kCellHovered : kCell, 3.0f);
    if (chosen) draw->AddRect(c0, c1, IM_COL32_WHITE, 3.0f);
    const std::string number = std::to_string(block);
    const ImVec2 size = ImGui::CalcTextSize(number.c_str());
    if (size.x <= cell_w)
      draw->AddText(ImVec2((c0.x + c1.x - size.x) * 0.5f, (c0.y + c1.y - size.y) * 0.5f), text,
                    number.c_str());
  }
}

// The shortening from level l down to the next (an arrow on the left) and the upsampling back
// (on the right), labelled in the gap between the bands; an attention one is clickable.
void draw_resamplings(ImDrawList* draw, const Bands& bands, const ModelConfig& config,
                      const Hierarchy& hierarchy, int l, const TokenWords& words,
                      InspectorSelection& selection, InspectorTrace& trace) {
  const Level& level = hierarchy.levels[static_cast<size_t>(l)];
  const auto [b0, b1] = bands.band(l);
  const auto [n0, n1] = bands.band(l + 1);
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  struct {
    bool attention;
    std::string label, name, tooltip;
    float x;
    bool down;
  } links[] = {
      {shows_attention(to_string(config.shorten)), shorten_label(config, level),
       "level" + std::to_string(l) + "_shorten", shorten_tooltip(config, hierarchy, l, words),
       n0.x + 10.0f, true},
      {shows_attention(to_string(config.upsample)), upsample_label(config, level),
       "level" + std::to_string(l) + "_upsample", upsample_tooltip(config, hierarchy, l, words),
       n1.x - 10.0f, false},
  };
  // Between the two arrows both labels must fit side by side; else they lose the kind's name
  // ("/4", "x4"), which their tooltips still give.
  const float room = (n1.x - 18.0f) - (n0.x + 18.0f);
  const bool full = ImGui::CalcTextSize(links[0].label.c_str()).x +
                        ImGui::CalcTextSize(links[1].label.c_str()).x + 12.0f <=
                    room;
  for (auto& link : links) {
    if (!full) link.label = link.label.substr(link.label.rfind(' ') + 1);
    arrow(draw, link.x, link.down ? b1.y : n0.y, link.down ? n0.y : b1.y);
    const ImVec2 size = ImGui::CalcTextSize(link.label.c_str());
    const float lx = link.down ? link.x + 8.0f : link.x - 8.0f - size.x;
    const ImVec2 l0(lx - 3.0f, b1.y + (bands.gap_h - size.y) * 0.5f - 1.0f);
    const ImVec2 l1(lx + size.x + 3.0f, l0.y + size.y + 2.0f);
    bool hovered = false;
    if (explained_item(trace, link.name, l0, l1, link.tooltip, &hovered) && link.attention) {
      selection.map = link.name;
      selection.level = l;
    }
    const bool chosen = selection.map == link.name;
    if (link.attention)
      draw->AddRectFilled(l0, l1, chosen ? kAccent : hovered ? kCellHovered : kCell, 3.0f);
    draw->AddText(ImVec2(lx, l0.y + 1.0f), link.attention ? text : dim, link.label.c_str());
  }
}

}  // namespace

void HierarchyDiagram::draw(const ModelConfig& config, const InspectResult* result,
                            InspectorSelection& selection, InspectorTrace& trace) {
  Hierarchy hierarchy;
  try {
    hierarchy = parse_hierarchy(config.hierarchy);
  } catch (const std::exception& e) {
    ImGui::TextWrapped("%s", e.what());
    return;
  }
  ImGui::PushID("hierarchy");
  ImDrawList* draw = ImGui::GetWindowDrawList();
  Bands bands;
  bands.origin = ImGui::GetCursorScreenPos();
  bands.width = std::max(160.0f, ImGui::GetContentRegionAvail().x - 4.0f);
  bands.line = ImGui::GetTextLineHeight();
  bands.row_h = bands.line + 14.0f;
  bands.gap_h = bands.line + 10.0f;
  const int levels = static_cast<int>(hierarchy.levels.size());
  bands.inset = std::min(26.0f, bands.width * 0.09f);
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);

  const TokenWords words =
      token_words(result ? result->origin.input_kind == "image" : image_channels(config) > 0);
  ImGui::TextUnformatted("Hierarchy");
  const ImVec2 title0 = ImGui::GetCursorScreenPos();
  ImGui::PushTextWrapPos(0.0f);  // a long hierarchy wraps in a narrow column rather than cut
  ImGui::TextDisabled("%s  (%s / %s)", config.hierarchy.c_str(), to_string(config.shorten).c_str(),
                      to_string(config.upsample).c_str());
  ImGui::PopTextWrapPos();
  const ImVec2 title1(ImGui::GetItemRectMax());
  bands.top = ImGui::GetCursorScreenPos().y + 2.0f;
  explained_item(trace, "hierarchy", title0, title1, hierarchy_tooltip(config));
  ImGui::SetCursorScreenPos(ImVec2(bands.origin.x, bands.top - 2.0f));

  for (int l = 0; l < levels; ++l) {
    const Level& level = hierarchy.levels[l];
    const auto [b0, b1] = bands.band(l);
    const bool innermost = l + 1 == levels;
    const std::string label = level_label(l, level.factor);
    const float label_w = ImGui::CalcTextSize(label.c_str()).x + 10.0f;
    draw->AddRectFilled(b0, b1, selection.level == l ? kBandSelected : kBand, 4.0f);
    if (selection.level == l) draw->AddRect(b0, b1, kAccent, 4.0f, 0, 1.5f);
    draw->AddText(ImVec2(b0.x + 6.0f, b0.y + (bands.row_h - bands.line) * 0.5f), text,
                  label.c_str());
    draw_layer_cells(draw, bands, hierarchy, l, label_w, words, selection, trace);
    if (!innermost) draw_resamplings(draw, bands, config, hierarchy, l, words, selection, trace);
    // The band and its label, submitted after its cells so that they claim the hover first.
    if (explained_item(trace, "level" + std::to_string(l), b0, b1,
                       level_tooltip(hierarchy, l, words))) {
      selection.level = l;
      const std::string first = layer_name(l, 0);
      if (!result || find_attention(*result, first)) selection.map = first;
    }
  }
  const float bottom = bands.top + levels * bands.row_h + std::max(0, levels - 1) * bands.gap_h;
  ImGui::SetCursorScreenPos(ImVec2(bands.origin.x, bottom + 4.0f));
  ImGui::TextDisabled("hover any part for what it does");
  ImGui::PopID();
}

}  // namespace hg
