// Drawing pieces the sampler's visualizers share: the probability colour ramp, byte labels, the
// hover tooltip with the model's alternatives, and 32x32 images drawn as nearest-neighbour squares
// with ImGui draw lists. Needs an ImGui frame; holds no state. Not a visualizer itself
// (text_sample_view.h, image_sample_view.h, paint_view.h).
#pragma once

#include <imgui.h>

#include <cstdint>
#include <functional>
#include <string>

#include "ui/sampler/sample_snapshot.h"

namespace sample_view {

// Red (unlikely) through yellow to green (likely), for a probability in [0, 1].
ImU32 probability_color(float p, float alpha = 1.0f);
// A gradient bar with "0" and "1" at its ends, on the current line.
void probability_legend(const char* label);

// How a byte reads in the text view: itself when printable ASCII, else a visible stand-in
// (newline: pilcrow, others: a middle dot); the tooltip gives its value.
std::string byte_glyph(int byte);
std::string byte_name(int byte);  // "'e' (0x65)", "newline (0x0a)"

// The hover tooltip for one position of one sample: the token, the probability it was drawn
// with, and the model's top alternatives with bars. `pixel_values` shows tokens as intensities.
void alternatives_tooltip(const SampleSnapshot& snapshot, int sample, int64_t position,
                          bool pixel_values);

// The colour of a pixel from its sub-pixel tokens (1 or 3 channels).
inline ImU32 pixel_color(const uint8_t* subpixels, int channels) {
  return channels == 1 ? IM_COL32(subpixels[0], subpixels[0], subpixels[0], 255)
                       : IM_COL32(subpixels[0], subpixels[1], subpixels[2], 255);
}

// A pixel not known or not sampled yet: a muted purple checkerboard, unlike any image content.
inline ImU32 unknown_color(int x, int y) {
  return ((x + y) & 1) ? IM_COL32(72, 52, 92, 255) : IM_COL32(52, 38, 68, 255);
}

// Draws a kImageSide x kImageSide image with its top left corner at `origin`, every pixel a
// zoom x zoom square, merging runs of equal colour along a row (a dark background is one rect).
void draw_image(ImDrawList* draw, ImVec2 origin, float zoom,
                const std::function<ImU32(int x, int y)>& color_of);

}  // namespace sample_view
