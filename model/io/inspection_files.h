// An InspectResult written out as `hourglass inspect` writes it (.npy files and a meta.json), and
// the image tokens an inspection reads. Torch-free. Not the forward pass: model/tools/inspect.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/core/inspection.h"

namespace hg {

// The channels of the 32x32 images a model reads, from its sequence length (docs/MODEL.md): 1 for
// 1024 tokens (gray), 3 for 3072 (RGB), 0 for any other length (a text model).
int image_channels(const ModelConfig& config);
// The tokens `hourglass inspect --image` feeds the model, and the studio's Inspector with it: the
// file fitted to 32x32 by load_image_32 with the model's channels. Throws std::invalid_argument
// for a text model and std::runtime_error for a file that cannot be decoded.
std::vector<uint8_t> image_tokens(const std::string& path, const ModelConfig& config);

// Writes into out_dir (created with its parents):
//   logits.npy                    T x 256 float32
//   attention/<name>.npy          heads x queries x keys float32, every attention layer
//   activations/level<L>.npy      T_level x D float32
//   meta.json                     what each file is, the spans, the tokens, config, hierarchy
// Every file is written atomically, meta.json last: once it exists, the files it names are
// complete. Throws std::runtime_error naming the path when a folder or file cannot be written.
void write_inspection(const InspectResult& result, const std::string& out_dir);

}  // namespace hg
