// The sampler views' shared drawing pieces: colour ramp, byte labels, alternatives tooltip, and
// nearest-neighbour images.
#include "ui/sampler/sample_view_common.h"

#include <algorithm>
#include <cstdio>

namespace sample_view {

ImU32 probability_color(float p, float alpha) {
  // Three stops of ColorBrewer's RdYlGn: readable on the dark theme, and ordered for the eye.
  static constexpr float kStops[3][3] = {{215, 48, 39}, {254, 224, 139}, {26, 152, 80}};
  p = std::clamp(p, 0.0f, 1.0f);
  const int lo = p < 0.5f ? 0 : 1;
  const float t = (p - 0.5f * lo) * 2.0f;
  float c[3];
  for (int i = 0; i < 3; ++i) c[i] = kStops[lo][i] + (kStops[lo + 1][i] - kStops[lo][i]) * t;
  return IM_COL32(static_cast<int>(c[0]), static_cast<int>(c[1]), static_cast<int>(c[2]),
                  static_cast<int>(alpha * 255.0f));
}

void probability_legend(const char* label) {
  ImGui::TextUnformatted(label);
  ImGui::SameLine();
  const float h = ImGui::GetTextLineHeight();
  const float w = 120.0f;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  ImGui::TextUnformatted("0");
  ImGui::SameLine();
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  constexpr int kSteps = 24;
  for (int i = 0; i < kSteps; ++i) {
    const float x0 = p0.x + w * i / kSteps, x1 = p0.x + w * (i + 1) / kSteps;
    draw->AddRectFilled(ImVec2(x0, p0.y + 2), ImVec2(x1 + 0.5f, p0.y + h - 2),
                        probability_color((i + 0.5f) / kSteps));
  }
  ImGui::Dummy(ImVec2(w, h));
  ImGui::SameLine();
  ImGui::TextUnformatted("1");
}

std::string byte_glyph(int byte) {
  if (byte >= 32 && byte < 127) return std::string(1, static_cast<char>(byte));
  if (byte == '\n') return "\xC2\xB6";  // pilcrow
  return "\xC2\xB7";                    // middle dot
}

std::string byte_name(int byte) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", byte);
  if (byte == ' ') return std::string("space (") + hex + ")";
  if (byte == '\n') return std::string("newline (") + hex + ")";
  if (byte == '\t') return std::string("tab (") + hex + ")";
  if (byte > 32 && byte < 127)
    return "'" + std::string(1, static_cast<char>(byte)) + "' (" + hex + ")";
  return std::string("byte ") + hex;
}

void alternatives_tooltip(const SampleSnapshot& s, int sample, int64_t position,
                          bool pixel_values) {
  const int token = s.tokens[sample][position];
  const bool forced = s.is_known(position);
  ImGui::BeginTooltip();
  if (pixel_values) {
    const int pixel = static_cast<int>(position / s.channels);
    static constexpr const char* kChannel[3] = {"R", "G", "B"};
    ImGui::Text("sample %d, pixel (%d, %d)%s%s: %d", sample + 1, pixel % hg::kImageSide,
                pixel / hg::kImageSide, s.channels == 3 ? " " : "",
                s.channels == 3 ? kChannel[position % 3] : "", token);
  } else {
    ImGui::Text("sample %d, byte %lld: %s", sample + 1, static_cast<long long>(position),
                byte_name(token).c_str());
  }
  if (position < s.prompt) {
    ImGui::TextDisabled("from the prompt");
    ImGui::EndTooltip();
    return;
  }
  if (forced)
    ImGui::TextDisabled("known: forced, not sampled");
  else
    ImGui::Text("drawn with p = %.3f (after temperature, top-k, top-p)", s.probs[sample][position]);
  ImGui::Separator();
  ImGui::TextUnformatted("the model's top alternatives (temperature 1):");
  const float bar_w = 140.0f, h = ImGui::GetTextLineHeight();
  for (const hg::TokenProb& alt : s.top[sample][position]) {
    if (alt.prob <= 0.0f) continue;
    const bool chosen = alt.token == token;
    ImDrawList* draw = ImGui::GetWindowDrawList();
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    if (pixel_values) {
      draw->AddRectFilled(p0, ImVec2(p0.x + h, p0.y + h),
                          IM_COL32(alt.token, alt.token, alt.token, 255));
      draw->AddRect(p0, ImVec2(p0.x + h, p0.y + h), IM_COL32(128, 128, 128, 255));
    }
    ImGui::Dummy(ImVec2(pixel_values ? h : 0.0f, h));
    ImGui::SameLine();
    const std::string name = pixel_values ? std::to_string(alt.token) : byte_name(alt.token);
    ImGui::TextColored(chosen ? ImVec4(1, 1, 1, 1) : ImVec4(0.75f, 0.75f, 0.75f, 1), "%-16s",
                       name.c_str());
    ImGui::SameLine(pixel_values ? 200.0f : 180.0f);
    const ImVec2 b0 = ImGui::GetCursorScreenPos();
    draw->AddRectFilled(b0, ImVec2(b0.x + bar_w, b0.y + h - 2), IM_COL32(60, 60, 64, 255));
    draw->AddRectFilled(b0, ImVec2(b0.x + bar_w * alt.prob, b0.y + h - 2),
                        probability_color(alt.prob));
    ImGui::Dummy(ImVec2(bar_w, h));
    ImGui::SameLine();
    ImGui::Text("%.3f%s", alt.prob, chosen ? "  <- chosen" : "");
  }
  ImGui::EndTooltip();
}

void draw_image(ImDrawList* draw, ImVec2 origin, float zoom,
                const std::function<ImU32(int x, int y)>& color_of) {
  constexpr int kSide = hg::kImageSide;
  for (int y = 0; y < kSide; ++y) {
    int run_start = 0;
    ImU32 run_color = color_of(0, y);
    for (int x = 1; x <= kSide; ++x) {
      const ImU32 c = x < kSide ? color_of(x, y) : 0;
      if (x < kSide && c == run_color) continue;
      draw->AddRectFilled(ImVec2(origin.x + run_start * zoom, origin.y + y * zoom),
                          ImVec2(origin.x + x * zoom, origin.y + (y + 1) * zoom), run_color);
      run_start = x;
      run_color = c;
    }
  }
}

}  // namespace sample_view
