// A model source (a run directory or a .safetensors file, hg::resolve_model_source) as the CLI and
// the studio's workers open it: the run it belongs to, what it reads, and its weights in a model.
// One definition for app/cli/ and the studio's sampler and inspector workers. Torch-free header,
// like every header of app/. Not the checkpoint format nor the resolving: model/train/checkpoint.h.
#pragma once

#include <string>

#include "model/core/run_config.h"

namespace hg {

class Hourglass;     // model/nn/hourglass.h
struct ModelSource;  // model/train/checkpoint.h

// The run directory of `source`: its own, or the one a weights file belongs to when it sits in
// RUN/checkpoints/ beside RUN/config.json; "" for a bare weights file.
std::string run_dir_of(const ModelSource& source);
// RUN_DIR/config.json. Throws naming the file when it is missing or not a run config.
RunConfig read_run_config(const std::string& run_dir);
// 0 for text, else the channels of a 32x32 image. A run directory says what it was trained on; a
// bare weights file says only its length, read as the CLI reads it: 1024 gray, 3072 RGB.
int channels_of(const ModelSource& source);
// A model of source's config holding its weights, on `device` (auto, cpu or cuda), in eval mode.
// Throws naming the file, or the device, when either cannot be used.
Hourglass open_model(const ModelSource& source, const std::string& device);

}  // namespace hg
