// Multi-head attention with rotary positions and key/value caches, in three interchangeable paths
// (SDPA on libtorch >= 2, explicit softmax everywhere, explicit with the weights returned for the
// inspector). Masks are boolean, true where a query may look. Not the blocks around it: layers.h.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "model/kernels/fused_ops.h"

namespace hg {

enum class AttentionPath { kAuto, kExplicit, kSdpa };

// Which positions a query may attend to: causal (square, lower-triangular), an explicit (Tq, Tk)
// boolean mask, or everything (when neither is set).
struct AttentionMask {
  bool causal = false;
  torch::Tensor allowed;  // (Tq, Tk) bool, or undefined
};

// Keys (after rotary) and values seen so far by one attention layer while decoding.
struct KVCache {
  torch::Tensor k, v;  // (B, H, t, hd)
};

// Everything the inspector wants recorded during one forward pass (docs/ARCHITECTURE.md).
struct Trace {
  std::vector<std::pair<std::string, torch::Tensor>> attention;    // name -> (B, H, Tq, Tk)
  std::vector<std::pair<std::string, torch::Tensor>> activations;  // level -> (B, T_level, D)
};

// q (B, H, Tq, hd), k and v (B, H, Tk, hd) -> (B, H, Tq, hd).
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const AttentionMask& mask, double dropout, AttentionPath path);
// As attend(), without dropout, also returning the softmax weights (B, H, Tq, Tk).
std::pair<torch::Tensor, torch::Tensor> attend_with_weights(const torch::Tensor& q,
                                                            const torch::Tensor& k,
                                                            const torch::Tensor& v,
                                                            const AttentionMask& mask);

// Rotates x (B, H, T, hd) by angles positions (T) * base^(-2i/hd) (RoFormer, "rotate half").
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& positions, double base);
// The tables apply_rotary uses, for positions (T): cos and sin (T, hd) in `dtype`, sin's first
// half negated, so that rotate(x, cos, sin) = x * cos + swap_halves(x) * sin.
std::pair<torch::Tensor, torch::Tensor> rotary_tables(const torch::Tensor& positions,
                                                      int64_t head_dim, double base,
                                                      torch::ScalarType dtype);
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// Decoding one token per step into buffers of fixed size (docs/PERFORMANCE.md): shapes and
// addresses never change from step to step, so that a step can be replayed as a CUDA graph. What
// varies (the row written, the positions, the mask) is computed from a device tensor on the way.
struct StepContext {       // one level's inputs for a step, shared by its layers
  torch::Tensor slot;      // (1) int64: the new token's index at this level, the row it writes
  torch::Tensor cos, sin;  // (capacity, hd) the level's rotary tables, row i for index i
  // Row slot of the tables, (1, hd), for the op-by-op path (undefined where the fused decoding
  // kernel reads the tables itself: fused_ops.h)
  torch::Tensor cos_row, sin_row;
  torch::Tensor bias;  // (1, capacity) added to the scores: 0 for rows 0 .. slot, -inf after
};
struct StaticKV {
  torch::Tensor k, v;      // (B, H, capacity, hd): rows beyond the current index are never read
  torch::Tensor counters;  // (B * H) int32, zero: the fused decoding attention's (fused_ops.h)
};

// Keeps t alive for the rest of the process: a tensor from a cache that a CUDA graph being
// captured reads on every replay, so that no eviction or thread's exit frees it under the graph.
void keep_for_graphs(const torch::Tensor& t);

// Positions factor * (start, start+1, ..., start+count-1) in original tokens, as floats. The same
// tensor for the same span while it is kept (a few per thread): read it, never write it.
torch::Tensor level_positions(int64_t start, int64_t count, int64_t factor,
                              const torch::Device& device);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int d_model, int n_heads, double dropout, double rotary_base);

  // Self-attention when kv_new is undefined (keys and values from xq), else cross-attention over
  // kv_new. With a cache, the new keys and values are appended to it and attention runs over all
  // of them. The trace, when given, switches to the weight-returning path and records them.
  torch::Tensor forward(const torch::Tensor& xq, const torch::Tensor& kv_new,
                        const torch::Tensor& pos_q, const torch::Tensor& pos_k,
                        const AttentionMask& mask, KVCache* cache, Trace* trace,
                        const std::string& name);

  // One new token x (B, 1, D) of a self-attention layer, layer-normalized by `norm` first when it
  // is given: writes its key and value into row ctx.slot of the buffers and attends over rows
  // 0 .. slot. (B, 1, D), plus residual when that is defined (both inside the matrix products).
  torch::Tensor step(const torch::Tensor& x, StaticKV& cache, const StepContext& ctx,
                     const RowNorm& norm = {}, const torch::Tensor& residual = {});
  StaticKV make_static_cache(int64_t batch, int64_t capacity, const torch::TensorOptions& o) const;
  int head_dim() const;

  AttentionPath path = AttentionPath::kAuto;  // tests force one path to compare them

 private:
  int n_heads_;
  double dropout_;
  double rotary_base_;
  torch::nn::Linear qkv_{nullptr};  // (3D, D): query, key, value maps stacked
  torch::nn::Linear out_{nullptr};  // (D, D)
};
TORCH_MODULE(Attention);

}  // namespace hg
