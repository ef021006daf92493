// The image a completion starts from: 32x32 pixels and a mask of which are known. Known pixels are
// forced during sampling (all sub-pixels of a pixel), unknown ones are sampled. Loaded from a PNG
// or a dataset image, painted and erased with a round brush, or cut to its top rows. Plain data,
// torch-free and GL-free; PaintView (paint_view.h) draws and edits it.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "model/io/image_io.h"

struct PartialImage {
  static constexpr int kSide = hg::kImageSide;

  int channels = 1;             // 1 (grayscale model) or 3 (RGB model)
  std::vector<uint8_t> pixels;  // kSide * kSide * channels, channel-interleaved
  std::vector<uint8_t> known;   // kSide * kSide: 1 where the pixel is known

  explicit PartialImage(int image_channels = 1) { reset(image_channels); }

  // Black and all unknown: a completion of nothing is an unconditional sample.
  void reset(int image_channels);
  // Every pixel known, from an image of these channels (a PNG fitted to 32x32, a dataset image).
  void set_image(const hg::Image& image);
  // Rows 0..rows-1 known, the rest unknown (pixel values stay, hidden until painted again).
  void keep_top_rows(int rows);
  // A round brush of `diameter` pixels centred at (x, y) in pixel units (the centre of pixel
  // (i, j) is (i + 0.5, j + 0.5)): paint sets the colour and marks known; erase marks unknown.
  void paint(float x, float y, float diameter, const std::array<uint8_t, 3>& color);
  void erase(float x, float y, float diameter);

  // The tokens a completion forces: kSide * kSide * channels entries, -1 where unknown.
  std::vector<int> known_tokens() const;
  int known_count() const;
  bool any_known() const { return known_count() > 0; }

 private:
  template <typename F>
  void for_brush(float x, float y, float diameter, F&& apply);
};
