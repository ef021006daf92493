// Plain values the studio's Sampler panel and its sampling worker pass each other through queued
// signals: a request to sample, what the loaded model is, and the Qt meta-type declarations.
// Torch-free and header-only; not the worker (app/sampler_controller.h) nor a view.
#pragma once

#include <QMetaType>
#include <QString>
#include <vector>

#include "model/core/sample_types.h"

namespace hg {

// The model a sampler source resolved to, as the panel shows and uses it.
struct SamplerModelInfo {
  QString source;       // what was asked for: a weights file, or a run folder (its newest)
  QString weights;      // the .safetensors file loaded
  QString description;  // one line: hierarchy, width, parameters, step
  qint64 seq_len = 0;   // tokens the model was trained on
  int channels = 0;     // 0: text; 1: 32x32 grayscale (1024 tokens); 3: 32x32 RGB (3072)
  qint64 step = -1;     // training step of the checkpoint; -1 when the file does not say
  bool is_image() const { return channels > 0; }
};

// One sampling request. The worker loads `source` first when it is not the model it holds, so
// "the latest checkpoint of a run" means the newest one when the request starts.
struct SampleJob {
  QString source;
  std::vector<int> known;  // known[i]: the forced token at position i, or -1 to sample it
  SampleOptions options;
};

}  // namespace hg

Q_DECLARE_METATYPE(hg::SampleStep)
Q_DECLARE_METATYPE(hg::SamplerModelInfo)
Q_DECLARE_METATYPE(hg::SampleJob)
