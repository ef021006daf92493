// Pre-norm transformer blocks (docs/MODEL.md): the causal self-attention block every level stacks,
// and the cross-attention block that attention shortening and attention upsampling use.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>

#include "model/nn/attention.h"

namespace hg {

// LayerNorm as the blocks apply it: one fused kernel each way on CUDA (fused_ops.h; under bf16
// autocast its output is bf16, which the next matrix product would cast it to anyway), else the
// module itself.
torch::Tensor pre_norm(torch::nn::LayerNorm& ln, const torch::Tensor& x);
// {h, ln(h)} for the residual sum h = x + delta, in one pass where the fused kernel applies.
// delta (B, Td, D) may have more rows than x (B, T, D): its first T of each sequence are added.
std::pair<torch::Tensor, torch::Tensor> add_norm(torch::nn::LayerNorm& ln, const torch::Tensor& x,
                                                 const torch::Tensor& delta);
// The norm's parameters, for a decoding step's product to normalize its input (linear_rows).
RowNorm row_norm(const torch::nn::LayerNorm& ln);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int d_model, int mlp_ratio);
  // (B, T, D) -> (B, T, D); with a residual (B, T, D): residual + MLP(x), fused into the last
  // product where fused_ops.h has a kernel for it.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual = {});
  // A decoding step: h + MLP(norm(h)) for h (B, 1, D), in two products.
  torch::Tensor step(const torch::Tensor& h, const RowNorm& norm);

 private:
  torch::nn::Linear fc_{nullptr};    // (rD, D)
  torch::nn::Linear proj_{nullptr};  // (D, rD)
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(int d_model, int n_heads, int mlp_ratio, double dropout, double rotary_base);
  // x (B, T, D) at positions pos (T); the mask says which cached + new keys each query sees.
  // One new token (B, 1, D) into fixed buffers (attention.h, StepContext).
  torch::Tensor step(const torch::Tensor& x, StaticKV& cache, const StepContext& ctx);
  Attention& attention() { return attn_; }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pos, const AttentionMask& mask,
                        KVCache* cache, Trace* trace, const std::string& name);
  // The block on x + pending, where pending (may be undefined) is the block before's MLP output
  // with its residual add not yet made: {h, m}, the block's output being h + m. A stack of blocks
  // passes m on, so that each add happens inside the next block's first norm (add_norm), forward
  // and backward, rather than in kernels of its own.
  std::pair<torch::Tensor, torch::Tensor> forward_pending(const torch::Tensor& x,
                                                          const torch::Tensor& pending,
                                                          const torch::Tensor& pos,
                                                          const AttentionMask& mask, KVCache* cache,
                                                          Trace* trace, const std::string& name);

 private:
  double dropout_;
  torch::nn::LayerNorm ln_attn_{nullptr}, ln_mlp_{nullptr};
  Attention attn_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(Block);

class CrossBlockImpl : public torch::nn::Module {
 public:
  CrossBlockImpl(int d_model, int n_heads, int mlp_ratio, double dropout, double rotary_base);
  // q = q + Attn(norm(q), norm(kv)); q = q + MLP(norm(q)). kv_new (B, Tk, D) are appended to the
  // cache, when there is one.
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& kv_new,
                        const torch::Tensor& pos_q, const torch::Tensor& pos_k,
                        const AttentionMask& mask, KVCache* cache, Trace* trace,
                        const std::string& name);

 private:
  double dropout_;
  torch::nn::LayerNorm ln_q_{nullptr}, ln_kv_{nullptr}, ln_mlp_{nullptr};
  Attention attn_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(CrossBlock);

}  // namespace hg
