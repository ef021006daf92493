// Matrix products in fused CUDA kernels: the MLP through cuBLASLt with the GELU inside its
// products, products of a few rows for decoding (with the norm, GELU and residual inside), and the
// bf16 weight copies a bf16 training pass reads. linear_rows() picks the path that applies.
#pragma once

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "model/kernels/layer_norm.h"

namespace hg {

// bf16 copies of a model's fp32 weights for one pass under bf16 autocast on CUDA (in a build with
// the kernels), made in one launch where autocast casts each weight in a kernel of its own when a
// product reads it. While a scope lives, bf16_weight(w) on its thread returns w's copy, and the
// products that find one (linear_rows, mlp_fused) read it and make the weight's gradient in fp32
// out of their own product, without autocast's cast of a bf16 gradient back. Scopes nest; one
// where this does not apply holds nothing. The copies are made when the scope is: a weight changed
// after that is not seen until the next scope.
class Bf16Weights {
 public:
  explicit Bf16Weights(const std::vector<torch::Tensor>& weights);
  // Whether a scope would hold copies for a pass over `like` (CUDA under bf16 autocast, a build
  // with the kernels): the caller need not gather the weights otherwise.
  static bool wanted(const torch::Tensor& like);
  ~Bf16Weights();
  Bf16Weights(const Bf16Weights&) = delete;
  Bf16Weights& operator=(const Bf16Weights&) = delete;
  bool active() const { return active_; }
  torch::Tensor find(const torch::Tensor& w) const;

 private:
  friend torch::Tensor bf16_weight(const torch::Tensor& w);
  static thread_local Bf16Weights* innermost_;  // this thread's innermost live scope

  std::vector<std::pair<const void*, torch::Tensor>> copies_;  // (weight's impl, its copy)
  Bf16Weights* previous_ = nullptr;
  bool active_ = false;
};
// w's copy in the innermost live scope of this thread, or an undefined tensor.
torch::Tensor bf16_weight(const torch::Tensor& w);

// x (..., k) W^T for W (n, k), then GELU when `gelu`, then residual + that when residual is
// defined; with a norm (weight defined), x is layer-normalized first. One kernel for at most 16
// rows of fp32 on CUDA without autograd or autocast (decoding), where cuBLAS reads the weights at
// a fraction of the memory bandwidth; the op-by-op torch::layer_norm, linear, gelu and add
// otherwise.
torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& weight, bool gelu = false,
                          const torch::Tensor& residual = {}, const RowNorm& norm = {});

// The two GPU paths linear_rows() takes before the op-by-op one: the few-row kernel (fp32 on CUDA,
// no autograd or autocast, at most cuda_kernels::kRowsLinearMax rows) and, under bf16 autocast,
// the product from the weight's bf16 copy (Bf16Weights) with the weight's gradient in fp32.
bool can_fuse_linear_rows(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& residual);
torch::Tensor linear_rows_fused(const torch::Tensor& x, const torch::Tensor& weight, bool gelu,
                                const torch::Tensor& residual, const RowNorm& norm);
bool can_use_bf16_copy(const torch::Tensor& x, const torch::Tensor& w16);
torch::Tensor linear_bf16_copy(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& w16, bool gelu, const torch::Tensor& residual,
                               const RowNorm& norm);

// Whether mlp_fused() applies: CUDA under bf16 autocast (training), in a build with the kernels,
// x (..., D) fp32 or bf16, fc (H, D) and proj (D_out, H) fp32, every size a multiple of 8, and
// HOURGLASS_FUSED_MLP not 0 (the way to measure without it).
bool can_fuse_mlp(const torch::Tensor& x, const torch::Tensor& fc, const torch::Tensor& proj);
// x fc^T, GELU, proj^T: (..., D_out) bf16, with its own backward. The GELU runs inside the first
// product (cuBLASLt's epilogue, which writes the pre-activation beside it) and its gradient
// inside the product that makes the hidden gradient, so neither reads nor writes the (rows, H)
// activations again; the weight gradients come out of their products in fp32. cuBLASLt's GELU
// may be the tanh approximation, which differs from the exact GELU of the other paths by at most
// 5e-4 (at x = -2.7): noise next to bf16 training's.
torch::Tensor mlp_fused(const torch::Tensor& x, const torch::Tensor& fc, const torch::Tensor& proj);

}  // namespace hg
