// `hourglass inspect`: one forward pass of a text or an image with every attention map and every
// level's activations recorded, as plain data (model/core/inspection.h). Includes no torch header
// (the network is only forward-declared). Not the attention path that records the weights:
// model/nn/attention.h; not the files: model/io/inspection_files.h.
#pragma once

#include <cstdint>
#include <vector>

#include "model/core/inspection.h"

namespace hg {

class Hourglass;  // model/nn/hourglass.h

// One forward pass, no gradients, eval mode (restored afterwards), batch 1, float32 without
// autocast, on the device the model lives on; results copied to the CPU. `tokens` are the input
// without BOS (the bytes of a text, the sub-pixels of an image); the model sees BOS + tokens,
// truncated to config().seq_len positions. Throws std::invalid_argument for an empty input.
// Throws OutOfMemory (model/nn/memory.h) when what it keeps cannot fit the device.
InspectResult inspect(Hourglass& model, const std::vector<uint8_t>& tokens);

// At least what inspecting `positions` positions (BOS included) keeps, in bytes: every attention
// layer's map (H, T_level, T_level) and every level's activations, each as a traced tensor and as
// its copy in the result, and the logits.
double inspection_memory_bytes(const ModelConfig& config, int64_t positions);

}  // namespace hg
