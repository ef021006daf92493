// ImageSampleView: the sample grid, its pixel-by-pixel filling, tile selection and hover read-out.
#include "ui/sampler/image_sample_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "ui/sampler/sample_view_common.h"

void ImageSampleView::draw(const SampleSnapshot& s) {
  constexpr int kSide = hg::kImageSide;
  ImGui::SetNextItemWidth(110.0f);
  ImGui::SliderInt("zoom", &zoom, kMinZoom, kMaxZoom, "%dx");
  if (!s.empty()) {
    ImGui::SameLine(0.0f, 20.0f);
    const int64_t pixels_done = s.done / std::max(1, s.channels);
    ImGui::Text("%d samples, %lld of %d pixels", s.n, static_cast<long long>(pixels_done),
                kSide * kSide);
    ImGui::SameLine(0.0f, 20.0f);
    ImGui::TextDisabled("click a tile to select it; hover a pixel for the alternatives");
  }
  ImGui::BeginChild("##grid", ImVec2(0, 0), true, ImGuiWindowFlags_HorizontalScrollbar);
  if (s.empty()) {
    ImGui::TextDisabled(
        "Press Start to sample; paint on the canvas and tick Complete to "
        "complete it.");
    ImGui::EndChild();
    return;
  }
  constexpr float gap = 6.0f;
  const float avail = ImGui::GetContentRegionAvail().x;
  int fitted = std::max(zoom, kMinZoom);
  while (s.n >= 2 && fitted > kFitZoom && 2.0f * kSide * fitted + gap > avail) --fitted;
  const float z = static_cast<float>(fitted);
  const float tile = kSide * z;
  columns = std::max(1, std::min(s.n, static_cast<int>((avail + gap) / (tile + gap))));
  const int rows = (s.n + columns - 1) / columns;
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const bool hovered_window = ImGui::IsWindowHovered();
  const int64_t current = s.done;  // the position being decoded next
  int hover_sample = -1;
  int64_t hover_position = -1;
  selected = std::clamp(selected, 0, s.n - 1);

  for (int sample = 0; sample < s.n; ++sample) {
    const ImVec2 p0(origin.x + (sample % columns) * (tile + gap),
                    origin.y + (sample / columns) * (tile + gap));
    sample_view::draw_image(draw, p0, z, [&](int x, int y) {
      const int64_t first = static_cast<int64_t>(y * kSide + x) * s.channels;
      uint8_t sub[3] = {0, 0, 0};
      bool any = false;
      for (int c = 0; c < std::min(s.channels, 3); ++c) {
        const int token = first + c < s.length ? s.shown_token(sample, first + c) : -1;
        if (token >= 0) sub[c] = static_cast<uint8_t>(token), any = true;
      }
      return any ? sample_view::pixel_color(sub, s.channels) : sample_view::unknown_color(x, y);
    });
    // The pixel being decoded now, while sampling.
    if (current < s.length) {
      const int pixel = static_cast<int>(current / s.channels);
      const ImVec2 c0(p0.x + (pixel % kSide) * z, p0.y + (pixel / kSide) * z);
      draw->AddRect(c0, ImVec2(c0.x + z, c0.y + z), IM_COL32(255, 220, 0, 255));
    }
    const ImVec2 p1(p0.x + tile, p0.y + tile);
    if (sample == selected)
      draw->AddRect(ImVec2(p0.x - 3, p0.y - 3), ImVec2(p1.x + 3, p1.y + 3),
                    IM_COL32(66, 133, 244, 255), 0.0f, 0, 2.0f);
    if (hovered_window && mouse.x >= p0.x && mouse.x < p1.x && mouse.y >= p0.y && mouse.y < p1.y) {
      const int x = static_cast<int>((mouse.x - p0.x) / z),
                y = static_cast<int>((mouse.y - p0.y) / z);
      const int64_t first = static_cast<int64_t>(y * kSide + x) * s.channels;
      // The last sub-pixel of the pixel that has been produced: its alternatives are shown.
      for (int c = s.channels - 1; c >= 0; --c)
        if (first + c < s.length && s.reported[first + c]) {
          hover_sample = sample;
          hover_position = first + c;
          break;
        }
      if (ImGui::IsMouseClicked(0)) selected = sample;
    }
  }
  ImGui::Dummy(ImVec2(columns * (tile + gap), rows * (tile + gap)));
  if (hover_sample >= 0)
    sample_view::alternatives_tooltip(s, hover_sample, hover_position, /*pixel_values=*/true);
  ImGui::EndChild();
}
