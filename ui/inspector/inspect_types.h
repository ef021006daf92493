// Plain values that the Inspector panel (ui/inspector/inspector_panel.h) and its worker
// (app/inspect_worker.h) pass each other: what to inspect, which model was opened, and the result
// of one inspection. Torch-free and header-only: InspectResult is plain vectors. Not the
// visualizers (ui/inspector/inspector_view.h) nor the numbers they draw
// (ui/inspector/inspector_figures.h).
#pragma once

#include <QMetaType>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/core/config.h"
#include "model/core/inspection.h"

namespace hg {

enum class InspectInput {
  kText,       // `text`, as bytes
  kDataset,    // piece `index` of the val split of the dataset at `path`
  kImageFile,  // the PNG/JPEG at `path`, fitted as `hourglass inspect --image` fits it
  kPixels,     // `rgba` of width x height, fitted the same way (a sample just made)
};

struct InspectRequest {
  std::string source;  // a run directory (its newest checkpoint) or a .safetensors file
  InspectInput input = InspectInput::kText;
  std::string text;
  std::string path;
  int64_t index = 0;  // kDataset: an image of the val split, or a piece of seq_len-1 bytes of text
  int width = 0, height = 0;
  std::vector<uint8_t> rgba;  // kPixels: width * height * 4
  std::string label;          // kPixels: where the pixels came from, for the status line
};

// The model an inspection ran on: a checkpoint file, never the module being trained (the
// inspector's worker loads its own copy: docs/ARCHITECTURE.md, "Threads, and who owns what").
struct InspectModelInfo {
  std::string source;   // as asked for
  std::string weights;  // the .safetensors file it resolved to
  std::string run_dir;  // "" for a weights file outside a run directory
  std::string data;     // the run's training data (config.json), "" when unknown
  int64_t step = -1;    // the checkpoint's step, -1 when unknown
  ModelConfig config;
  int image_channels = 0;  // 1 or 3 for an image model, 0 for text (image_channels(config))
};

struct InspectSnapshot {
  uint64_t id = 0;  // the request's id (InspectWorker::inspect)
  InspectModelInfo model;
  InspectResult result;       // what write_inspection would write for the same input
  std::string input_label;    // e.g. "val image 3 of /data/icons", "the text", "file x.png"
  int64_t dataset_count = 0;  // kDataset: images (or text pieces) in the val split
  double seconds = 0.0;       // loading and the forward pass
};

using InspectModelInfoPtr = std::shared_ptr<const InspectModelInfo>;
using InspectSnapshotPtr = std::shared_ptr<const InspectSnapshot>;

}  // namespace hg

Q_DECLARE_METATYPE(hg::InspectRequest)
Q_DECLARE_METATYPE(hg::InspectModelInfoPtr)
Q_DECLARE_METATYPE(hg::InspectSnapshotPtr)
