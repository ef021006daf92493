// Multi-head attention with rotary positions and key/value caches, in three interchangeable paths
// (SDPA on libtorch >= 2, explicit softmax everywhere, explicit with the weights returned for the
// inspector). Masks are boolean, true where a query may look. Not the blocks around it: layers.h.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

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

// Everything the inspector wants recorded during one forward pass (DESIGN.md §5, issue 7).
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

// Positions factor * (start, start+1, ..., start+count-1) in original tokens, as floats.
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
