// CUDA streams and graph capture as the fused operations' caches need them: whether a graph is
// being captured, and telling the caching allocator where a cached tensor is read. No-ops on the
// CPU.
#pragma once

#include <torch/torch.h>

namespace hg {

// Whether work on `device` is being captured into a CUDA graph (its current stream): what is
// computed then is only recorded, so a cache must not keep it for use outside the graph.
bool capturing_graph(const torch::Device& device);

// Tells the caching allocator that t, handed out by a cache, is read on the current stream: when
// the cache lets it go, its memory waits for that stream's work before any reuse (CUDA; a no-op
// elsewhere and while a graph is captured).
void used_on_current_stream(const torch::Tensor& t);

}  // namespace hg
