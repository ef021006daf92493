// Shortening and upsampling between two levels of the hierarchy (docs/MODEL.md), for a chunk of new
// tokens: the whole sequence when training, one token at a time when decoding. The shift by k-1
// happens here: shortened token j summarises positions jk-k+1 .. jk, so it may feed jk .. jk+k-1.
#pragma once

#include <torch/torch.h>

#include <string>

#include "model/core/config.h"
#include "model/nn/layers.h"

namespace hg {

// Shortened tokens j0 .. j0+m-1 become computable when positions n .. n+c-1 arrive: those whose
// last position jk falls in the chunk.
struct ShortenSpan {
  int64_t j0 = 0, m = 0;
};
ShortenSpan shorten_span(int64_t n, int64_t c, int64_t k);

class ShortenImpl : public torch::nn::Module {
 public:
  // k: shortening from this level to the next; factor: this level's cumulative factor.
  ShortenImpl(const ModelConfig& config, int k, int factor);
  // ext (B, k-1+c, D): the k-1 rows before position n (zeros before 0), then the c new rows.
  // Returns (B, m, D) for the span shorten_span(n, c, k).
  torch::Tensor forward(const torch::Tensor& ext, int64_t n, KVCache* cache, Trace* trace,
                        const std::string& name);
  // Linear shortening of whole groups g (B, m k, D), already shifted (shorten_input() in
  // fused_ops.h makes them): (B, m, D).
  torch::Tensor forward_groups(const torch::Tensor& g);
  // One whole group (B, k, D) -> its shortened token (B, 1, D); avg and linear only (no
  // attention kind).
  torch::Tensor step(const torch::Tensor& group);
  ShortenKind kind() const { return kind_; }

 private:
  torch::Tensor normed(const torch::Tensor& x);  // through norm_ where there is one
  ShortenKind kind_;
  int k_, factor_;
  torch::nn::Linear linear_{nullptr};   // (D, kD): linear shortening, or attention's linear base
  CrossBlock cross_{nullptr};           // for attention shortening, over the average or the map
  torch::nn::LayerNorm norm_{nullptr};  // with resample_norm: on every shortened vector
};
TORCH_MODULE(Shorten);

class UpsampleImpl : public torch::nn::Module {
 public:
  UpsampleImpl(const ModelConfig& config, int k, int factor);
  // y (B, r, D): next-level outputs for shortened tokens floor(n/k) .. (the newest previous one
  // first when n is inside a group); y_new (B, m, D): the ones computed in this chunk;
  // x_res (B, c, D): this level's activations from before the shortening.
  // Returns what is added to x_res: (B, c, D). With whole_groups (n = 0, repeat and linear
  // only), the spread of every group instead, (B, r k, D) with r k >= c: its first c rows are
  // what is added, without the narrowed copy (add_norm takes such a tensor).
  torch::Tensor forward(const torch::Tensor& y, const torch::Tensor& y_new,
                        const torch::Tensor& x_res, int64_t n, KVCache* cache, Trace* trace,
                        const std::string& name, bool whole_groups = false);
  // residual plus what one token at `offset` (0..k-1) inside its group takes from the newest
  // shortened output y (B, 1, D): (B, 1, D); repeat and linear only.
  torch::Tensor step(const torch::Tensor& y, int64_t offset, const torch::Tensor& residual);
  UpsampleKind kind() const { return kind_; }

 private:
  torch::Tensor normed(const torch::Tensor& x);  // through norm_ where there is one
  UpsampleKind kind_;
  int k_, factor_;
  torch::nn::Linear linear_{nullptr};   // (kD, D): linear upsampling, or attention's linear base
  CrossBlock cross_{nullptr};           // for attention upsampling, over repeat or the map
  torch::nn::LayerNorm norm_{nullptr};  // with resample_norm: on every upsampled vector
};
TORCH_MODULE(Upsample);

}  // namespace hg
