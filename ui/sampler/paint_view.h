// The Sampler's completion canvas: the partial image at nearest-neighbour zoom, known pixels in
// their colours and unknown ones as a checkerboard; dragging paints with the brush (or erases, with
// the erase tool or the right button). Its own UI state and a draw() that edits the PartialImage it
// is given. The brush settings are set by the panel's Qt controls. Not the sample grid
// (image_sample_view.h), not the file or dataset loading (sampler_panel.h).
#pragma once

#include <array>

#include "ui/sampler/partial_image.h"

struct PaintView {
  int zoom = 8;                                 // nearest-neighbour, as the sample grid
  bool erase = false;                           // the left button's tool: paint or erase
  float brush = 3.0f;                           // diameter in image pixels
  std::array<uint8_t, 3> color{255, 255, 255};  // the paint (gray models take its luminance)
  bool active = true;                           // false: shown dimmed (completion is off)

  // Draws the canvas at the cursor and applies this frame's strokes; returns whether the image
  // changed.
  bool draw(PartialImage& image);

  // Where the last frame put the image's top left corner, in the canvas's logical pixels (for
  // tests that paint with the mouse).
  float origin_x = 0.0f, origin_y = 0.0f;

 private:
  bool stroking_ = false;
  float last_x_ = 0.0f, last_y_ = 0.0f;  // the stroke's previous point, in image pixels
};
