// The Sampler's image visualizer: a grid of N 32x32 samples appearing pixel by pixel while they are
// generated, nearest-neighbour zoomed (8x or more), known pixels of a completion shown before the
// decoder reaches them. Click a tile to select it (the panel saves it); hover a pixel for its value
// and the model's alternatives. Its own UI state and a draw(); the samples are the panel's. Not the
// completion canvas (paint_view.h).
#pragma once

#include "ui/sampler/sample_snapshot.h"

struct ImageSampleView {
  static constexpr int kMinZoom = 8;  // nearest-neighbour, 8x or more: 32x32 tiles stay legible
  static constexpr int kMaxZoom = 16;
  // A narrow canvas (1280 px wide with the Run dock open) draws smaller, down to this zoom, to
  // keep two tiles a row: 5x is a 160-pixel tile, still legible.
  static constexpr int kFitZoom = 5;

  int zoom = kMinZoom;
  int selected = 0;  // the tile "Save image" writes
  int columns = 0;   // tiles per row in the last frame (a layout test reads it), 0 before any

  // Zoom control, then the grid filling the rest of the current window (scrolling when it does
  // not fit).
  void draw(const SampleSnapshot& snapshot);
};
