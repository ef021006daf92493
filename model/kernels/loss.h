// The training loss: the mean cross-entropy of 256 logits, in fused CUDA kernels where they apply
// (can_fuse_token_loss), torch's cross_entropy_loss elsewhere.
#pragma once

#include <torch/torch.h>

namespace hg {

// The mean cross-entropy of logits (..., 256) against targets (...) int64: what
// torch::cross_entropy_loss(logits.reshape({-1, 256}).to(torch::kFloat), targets.reshape(-1))
// computes, in fp32 from the logits as they are (bf16 or fp32), in two kernels forward and one
// backward on CUDA; that expression elsewhere. On CUDA a row whose target is outside 0..255 counts
// for nothing (-100 as torch's ignore_index; torch stops with an error on other such targets).
torch::Tensor token_loss(const torch::Tensor& logits, const torch::Tensor& targets);

// Whether token_loss_fused() applies: CUDA, (..., 256) fp32 or bf16 logits contiguous and 16-byte
// aligned, int64 targets of the same rows on the same device.
bool can_fuse_token_loss(const torch::Tensor& logits, const torch::Tensor& targets);
torch::Tensor token_loss_fused(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace hg
