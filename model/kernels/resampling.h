// A level's input to its linear shortening in one fused CUDA pass: the residual sum, the shift and
// the bf16 groups (model/nn/hourglass.cpp takes it under bf16 autocast on CUDA).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>

namespace hg {

// Whether shorten_input() applies: CUDA under bf16 autocast, in a build with the kernels, first
// and second (B, T, D) alike, contiguous, fp32 or bf16 each, D a multiple of 4.
bool can_fuse_shorten_input(const torch::Tensor& first, const torch::Tensor& second);
// {h, g}: h = first + second (B, T, D) (bf16 only when both are) and g (B, group_rows, D) bf16,
// the rows of h shifted down by `shift` with zero rows before them: what a level's linear
// shortening reads, as (B, m, k D) with shift k - 1 and group_rows m k. One pass each way (autograd
// included), where the op-by-op path adds, concatenates the zeros, narrows and casts, and back.
std::pair<torch::Tensor, torch::Tensor> shorten_input(const torch::Tensor& first,
                                                      const torch::Tensor& second, int64_t shift,
                                                      int64_t group_rows);

}  // namespace hg
