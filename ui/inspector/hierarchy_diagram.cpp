// HierarchyDiagram: the hourglass drawn as bands, one per level, narrowing with the factor:
// pre-layers on the left of a band, post-layers on its right, the shortening going down on the left
// and the upsampling coming up on the right. Only the config is needed; clicks select.
#include <algorithm>
#include <string>

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

// A clickable rectangle; returns whether it was clicked. Items first claim the hover, so cells
// are submitted before the band behind them.
bool hit(const char* id, ImVec2 p0, ImVec2 p1, bool* hovered) {
  ImGui::SetCursorScreenPos(p0);
  const bool clicked =
      ImGui::InvisibleButton(id, ImVec2(std::max(1.0f, p1.x - p0.x), std::max(1.0f, p1.y - p0.y)));
  *hovered = ImGui::IsItemHovered();
  return clicked;
}

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
void draw_layer_cells(ImDrawList* draw, const Bands& bands, const Level& level, int l,
                      bool innermost, float label_w, const InspectResult* result,
                      InspectorSelection& selection) {
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
    if (hit(name.c_str(), c0, c1, &hovered)) {
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
    if (hovered) {
      const int64_t rows = result ? result->levels[l].count : 0;
      ImGui::SetTooltip("level %d, layer %d (%s): causal self-attention\n%s%s", l, block,
                        innermost ? "innermost"
                        : is_pre  ? "pre, before the shortening"
                                  : "post, after the upsampling",
                        rows > 0 ? (std::to_string(rows) + " rows, ").c_str() : "",
                        ("one per " + std::to_string(level.factor) + " tokens").c_str());
    }
  }
}

// The shortening from level l down to the next (an arrow on the left) and the upsampling back
// (on the right), labelled in the gap between the bands; an attention one is clickable.
void draw_resamplings(ImDrawList* draw, const Bands& bands, const ModelConfig& config,
                      const Level& level, int l, InspectorSelection& selection) {
  const auto [b0, b1] = bands.band(l);
  const auto [n0, n1] = bands.band(l + 1);
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const float k = static_cast<float>(level.shorten_factor);
  const struct {
    const char* what;
    bool attention;
    std::string label, name, kind;
    float x;
    bool down;
  } links[] = {
      {"shorten", config.shorten == ShortenKind::kAttention,
       to_string(config.shorten) + " /" + std::to_string(level.shorten_factor),
       "level" + std::to_string(l) + "_shorten", to_string(config.shorten), n0.x + 10.0f, true},
      {"upsample", config.upsample == UpsampleKind::kAttention,
       to_string(config.upsample) + " x" + std::to_string(level.shorten_factor),
       "level" + std::to_string(l) + "_upsample", to_string(config.upsample), n1.x - 10.0f, false},
  };
  for (const auto& link : links) {
    arrow(draw, link.x, link.down ? b1.y : n0.y, link.down ? n0.y : b1.y);
    const ImVec2 size = ImGui::CalcTextSize(link.label.c_str());
    const float lx = link.down ? link.x + 8.0f : link.x - 8.0f - size.x;
    const ImVec2 l0(lx - 3.0f, b1.y + (bands.gap_h - size.y) * 0.5f - 1.0f);
    const ImVec2 l1(lx + size.x + 3.0f, l0.y + size.y + 2.0f);
    bool hovered = false;
    if (hit(link.name.c_str(), l0, l1, &hovered) && link.attention) {
      selection.map = link.name;
      selection.level = l;
    }
    const bool chosen = selection.map == link.name;
    if (link.attention)
      draw->AddRectFilled(l0, l1, chosen ? kAccent : hovered ? kCellHovered : kCell, 3.0f);
    draw->AddText(ImVec2(lx, l0.y + 1.0f), link.attention ? text : dim, link.label.c_str());
    if (hovered)
      ImGui::SetTooltip(
          "%s from level %d to level %d by %.0f: %s%s", link.what, l, l + 1, k, link.kind.c_str(),
          link.attention ? "\nclick to show its attention" : " (no attention to show)");
  }
}

}  // namespace

void HierarchyDiagram::draw(const ModelConfig& config, const InspectResult* result,
                            InspectorSelection& selection) {
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

  ImGui::TextUnformatted("Hierarchy");
  ImGui::TextDisabled("%s  (%s / %s)", config.hierarchy.c_str(), to_string(config.shorten).c_str(),
                      to_string(config.upsample).c_str());
  bands.top = ImGui::GetCursorScreenPos().y + 2.0f;

  for (int l = 0; l < levels; ++l) {
    const Level& level = hierarchy.levels[l];
    const auto [b0, b1] = bands.band(l);
    const bool innermost = l + 1 == levels;
    const std::string label = "L" + std::to_string(l) + " x" + std::to_string(level.factor);
    const float label_w = ImGui::CalcTextSize(label.c_str()).x + 10.0f;
    draw->AddRectFilled(b0, b1, selection.level == l ? kBandSelected : kBand, 4.0f);
    if (selection.level == l) draw->AddRect(b0, b1, kAccent, 4.0f, 0, 1.5f);
    draw->AddText(ImVec2(b0.x + 6.0f, b0.y + (bands.row_h - bands.line) * 0.5f), text,
                  label.c_str());
    draw_layer_cells(draw, bands, level, l, innermost, label_w, result, selection);
    if (!innermost) draw_resamplings(draw, bands, config, level, l, selection);
    // The band itself, submitted after its cells so that they claim the hover first.
    bool hovered = false;
    if (hit(("band" + std::to_string(l)).c_str(), b0, b1, &hovered)) {
      selection.level = l;
      const std::string first = layer_name(l, 0);
      if (!result || find_attention(*result, first)) selection.map = first;
    }
    if (hovered)
      ImGui::SetTooltip("level %d: factor %d, %d pre + %d post layers%s", l, level.factor,
                        level.pre_layers, level.post_layers,
                        innermost ? " (innermost: its layers are all 'pre')" : "");
  }
  const float bottom = bands.top + levels * bands.row_h + std::max(0, levels - 1) * bands.gap_h;
  ImGui::SetCursorScreenPos(ImVec2(bands.origin.x, bottom + 4.0f));
  ImGui::TextDisabled("click a layer, a level or an attention resampling");
  ImGui::PopID();
}

}  // namespace hg
