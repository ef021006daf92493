// LayerNorm with the residual add before it, in fused CUDA kernels (forward and backward), and
// apply_layer_norm(), which takes them where they apply and torch's layer_norm elsewhere.
#pragma once

#include <torch/torch.h>

#include <utility>

namespace hg {

// Whether this build has the fused LayerNorm for x (and delta, when defined: x's shape) with these
// parameters: CUDA, x and delta fp32 or bf16 (16-byte aligned), a multiple of 4 features up to
// 1024, weight and bias fp32, and autocast off or in bf16.
bool can_fuse_layer_norm(const torch::Tensor& x, const torch::Tensor& delta,
                         const torch::Tensor& weight, const torch::Tensor& bias);
// {h, y}: h = x + delta (undefined when delta is), y = LayerNorm(h) over the last dimension, in
// one pass each way (autograd included). y is in autocast's dtype under autocast (what the next
// matrix product would cast it to), else in h's. delta may also be (B, Td, D) contiguous with
// Td > T for x (B, T, D): its first T rows of each sequence are added (an upsampled tensor of
// whole groups, without the narrowed copy), and its gradient has zeros in the other rows.
std::pair<torch::Tensor, torch::Tensor> layer_norm_fused(const torch::Tensor& x,
                                                         const torch::Tensor& delta,
                                                         const torch::Tensor& weight,
                                                         const torch::Tensor& bias, double eps);

// A LayerNorm over the last dimension, to apply to a product's input: fp32 weight and bias (k).
struct RowNorm {
  torch::Tensor weight, bias;
  double eps = 1e-5;
};

// LayerNorm(x) over the last dimension: layer_norm_fused where it applies, else torch's.
torch::Tensor apply_layer_norm(const torch::Tensor& x, const RowNorm& norm);

// LayerNorm(x) over the last dimension: layer_norm_fused where it applies, else torch's.
torch::Tensor apply_layer_norm(const torch::Tensor& x, const RowNorm& norm);

}  // namespace hg
