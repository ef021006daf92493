// PartialImage: the mask and brush arithmetic behind the completion canvas. No drawing here.
#include "ui/sampler/partial_image.h"

#include <algorithm>
#include <cmath>
#include <numeric>

void PartialImage::reset(int image_channels) {
  channels = image_channels;
  pixels.assign(static_cast<size_t>(kSide) * kSide * channels, 0);
  known.assign(static_cast<size_t>(kSide) * kSide, 0);
}

void PartialImage::set_image(const hg::Image& image) {
  reset(image.channels);
  const size_t count = std::min(pixels.size(), image.pixels.size());
  std::copy_n(image.pixels.begin(), count, pixels.begin());
  std::fill(known.begin(), known.end(), 1);
}

void PartialImage::keep_top_rows(int rows) {
  rows = std::clamp(rows, 0, kSide);
  std::fill(known.begin(), known.begin() + rows * kSide, 1);
  std::fill(known.begin() + rows * kSide, known.end(), 0);
}

template <typename F>
void PartialImage::for_brush(float x, float y, float diameter, F&& apply) {
  // A diameter of 1 covers the pixel under (x, y) alone; larger ones cover the pixels whose
  // centres fall inside the circle.
  const float radius = std::max(0.5f, diameter * 0.5f);
  if (diameter <= 1.0f) {
    const int i = static_cast<int>(std::floor(x)), j = static_cast<int>(std::floor(y));
    if (i >= 0 && i < kSide && j >= 0 && j < kSide) apply(j * kSide + i);
    return;
  }
  const int j0 = std::max(0, static_cast<int>(std::floor(y - radius)));
  const int j1 = std::min(kSide - 1, static_cast<int>(std::ceil(y + radius)));
  const int i0 = std::max(0, static_cast<int>(std::floor(x - radius)));
  const int i1 = std::min(kSide - 1, static_cast<int>(std::ceil(x + radius)));
  for (int j = j0; j <= j1; ++j)
    for (int i = i0; i <= i1; ++i) {
      const float dx = i + 0.5f - x, dy = j + 0.5f - y;
      if (dx * dx + dy * dy <= radius * radius) apply(j * kSide + i);
    }
}

void PartialImage::paint(float x, float y, float diameter, const std::array<uint8_t, 3>& color) {
  for_brush(x, y, diameter, [&](int pixel) {
    known[pixel] = 1;
    if (channels == 1) {
      // Luminance, as fit_rgba_32 turns colour into gray (ITU-R BT.601 weights).
      pixels[pixel] =
          static_cast<uint8_t>(std::lround(0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]));
    } else {
      for (int c = 0; c < channels; ++c) pixels[pixel * channels + c] = color[c];
    }
  });
}

void PartialImage::erase(float x, float y, float diameter) {
  for_brush(x, y, diameter, [&](int pixel) { known[pixel] = 0; });
}

std::vector<int> PartialImage::known_tokens() const {
  std::vector<int> tokens(pixels.size(), -1);
  for (size_t p = 0; p < known.size(); ++p)
    if (known[p])
      for (int c = 0; c < channels; ++c) tokens[p * channels + c] = pixels[p * channels + c];
  return tokens;
}

int PartialImage::known_count() const { return std::accumulate(known.begin(), known.end(), 0); }
