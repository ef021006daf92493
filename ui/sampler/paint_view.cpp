// PaintView: drawing the partial image and turning mouse drags into brush strokes.
#include "ui/sampler/paint_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "ui/sampler/sample_view_common.h"

bool PaintView::draw(PartialImage& image) {
  constexpr int kSide = PartialImage::kSide;
  const float z = static_cast<float>(zoom);
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  const ImVec2 p1(p0.x + kSide * z, p0.y + kSide * z);
  origin_x = p0.x, origin_y = p0.y;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  sample_view::draw_image(draw, p0, z, [&](int x, int y) {
    const int pixel = y * kSide + x;
    return image.known[pixel]
               ? sample_view::pixel_color(&image.pixels[pixel * image.channels], image.channels)
               : sample_view::unknown_color(x, y);
  });
  if (!active) draw->AddRectFilled(p0, p1, IM_COL32(30, 30, 32, 150));
  draw->AddRect(ImVec2(p0.x - 1, p0.y - 1), ImVec2(p1.x + 1, p1.y + 1),
                IM_COL32(110, 110, 110, 255));

  // The whole canvas is one button: dragging on it must not move or scroll anything else.
  ImGui::InvisibleButton("##paint", ImVec2(p1.x - p0.x, p1.y - p0.y),
                         ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const float x = (mouse.x - p0.x) / z, y = (mouse.y - p0.y) / z;
  if (ImGui::IsItemHovered()) {  // the brush outline
    const float r = std::max(0.5f, brush * 0.5f) * z;
    draw->AddCircle(mouse, r, IM_COL32(255, 255, 255, 200), 32, 1.5f);
  }
  bool changed = false;
  if (ImGui::IsItemActive()) {
    const bool erasing = erase || ImGui::IsMouseDown(ImGuiMouseButton_Right);
    if (!stroking_) last_x_ = x, last_y_ = y;
    // Steps of half a pixel from the previous point: a quick drag leaves no gaps.
    const float dist = std::hypot(x - last_x_, y - last_y_);
    const int steps = std::max(1, static_cast<int>(std::ceil(dist * 2.0f)));
    for (int i = 1; i <= steps; ++i) {
      const float t = static_cast<float>(i) / steps;
      const float px = last_x_ + (x - last_x_) * t, py = last_y_ + (y - last_y_) * t;
      if (erasing)
        image.erase(px, py, brush);
      else
        image.paint(px, py, brush, color);
    }
    stroking_ = true;
    last_x_ = x, last_y_ = y;
    changed = true;
  } else {
    stroking_ = false;
  }
  return changed;
}
