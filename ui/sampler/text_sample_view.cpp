// TextSampleView: byte-by-byte layout with wrapping, probability backgrounds and the hover
// read-out, drawn with ImGui draw lists.
#include "ui/sampler/text_sample_view.h"

#include <imgui.h>

#include "ui/sampler/sample_view_common.h"

void TextSampleView::draw(const SampleSnapshot& s) {
  hovered_sample = -1;
  hovered_position = -1;
  sample_view::probability_legend("probability of each sampled byte:");
  ImGui::SameLine(0.0f, 24.0f);
  ImGui::TextDisabled("prompt in grey; hover a byte for the model's alternatives");

  ImGui::BeginChild("##text", ImVec2(0, 0), true, ImGuiWindowFlags_None);
  if (s.empty()) {
    ImGui::TextDisabled("Write a prompt and press Start.");
    ImGui::EndChild();
    return;
  }
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float line_h = ImGui::GetTextLineHeightWithSpacing();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float right = origin.x + ImGui::GetContentRegionAvail().x;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const bool window_hovered = ImGui::IsWindowHovered();
  const float clip_top = ImGui::GetWindowPos().y, clip_bottom = clip_top + ImGui::GetWindowHeight();
  float y = origin.y;

  for (int sample = 0; sample < s.n; ++sample) {
    if (s.n > 1) {
      draw->AddText(ImVec2(origin.x, y), ImGui::GetColorU32(ImGuiCol_TextDisabled),
                    ("sample " + std::to_string(sample + 1)).c_str());
      y += line_h;
    }
    float x = origin.x;
    for (int64_t i = 0; i < s.done; ++i) {
      if (!s.reported[i]) continue;
      const int byte = s.tokens[sample][i];
      const std::string glyph = sample_view::byte_glyph(byte);
      const float w = ImGui::CalcTextSize(glyph.c_str()).x;
      if (x + w > right && x > origin.x) {
        x = origin.x;
        y += line_h;
      }
      const ImVec2 r0(x, y), r1(x + w, y + line_h);
      const bool visible = r1.y >= clip_top && r0.y <= clip_bottom;
      const bool prompt = i < s.prompt;
      if (visible) {
        if (!prompt)
          draw->AddRectFilled(r0, r1, sample_view::probability_color(s.probs[sample][i], 0.55f));
        const bool stand_in = byte < 32 || byte >= 127;
        draw->AddText(r0,
                      prompt || stand_in ? ImGui::GetColorU32(ImGuiCol_TextDisabled)
                                         : ImGui::GetColorU32(ImGuiCol_Text),
                      glyph.c_str());
      }
      if (window_hovered && mouse.x >= r0.x && mouse.x < r1.x && mouse.y >= r0.y &&
          mouse.y < r1.y) {
        hovered_sample = sample;
        hovered_position = i;
        draw->AddRect(r0, r1, IM_COL32(255, 255, 255, 220));
      }
      x += w;
      if (byte == '\n') {
        x = origin.x;
        y += line_h;
      }
    }
    y += line_h * 1.5f;  // a gap between samples
  }
  ImGui::Dummy(ImVec2(right - origin.x, y - origin.y));
  // Follow the newest bytes while they arrive, unless the user has scrolled away from the end.
  const bool at_end = ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - line_h * 2;
  if (s.done != last_done_) {
    if (follow && !at_end) ImGui::SetScrollHereY(1.0f);
    last_done_ = s.done;
  }
  if (ImGui::GetIO().MouseWheel != 0.0f && window_hovered) follow = at_end;
  if (hovered_sample >= 0)
    sample_view::alternatives_tooltip(s, hovered_sample, hovered_position, /*pixel_values=*/false);
  ImGui::EndChild();
}
