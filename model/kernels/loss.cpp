// The loss family's libtorch side (loss.h): the cross-entropy of 256 logits in the kernels of
// cuda/loss.cu, with its autograd function. Built only with the CUDA kernels;
// no_cuda_kernels.cpp stands in for it elsewhere.
#include "model/kernels/loss.h"

#include <stdexcept>

#include "model/core/config.h"
#include "model/kernels/cuda_tensors.h"

namespace hg {
namespace {

class TokenLossFunction : public torch::autograd::Function<TokenLossFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits,
                               const torch::Tensor& targets) {
    const int64_t rows = logits.size(0), blocks = cuda_kernels::token_loss_blocks(rows);
    const auto f32 = logits.options().dtype(torch::kFloat);
    auto lse = torch::empty({rows}, f32);
    auto sums = torch::empty({2, blocks}, f32);
    auto totals = torch::empty({2}, f32);
    cuda_kernels::TokenLoss a;
    a.bf16 = logits.scalar_type() == torch::kBFloat16;
    a.logits = logits.data_ptr();
    a.targets = targets.data_ptr<int64_t>();
    a.rows = rows;
    a.lse = lse.data_ptr<float>();
    a.block_loss = sums[0].data_ptr<float>();
    a.block_count = sums[1].data_ptr<float>();
    a.totals = totals.data_ptr<float>();
    const int error =
        cuda_kernels::token_loss(a, c10::cuda::getCurrentCUDAStream(logits.device().index()));
    TORCH_CHECK(error == 0, "token_loss: kernel launch failed (cudaError ", error, ")");
    ctx->save_for_backward({logits, targets, lse, totals});
    return totals[0];  // ()
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto& logits = s[0];
    const auto grad = grads[0].to(torch::kFloat).contiguous();
    auto dlogits = torch::empty_like(logits);
    cuda_kernels::TokenLoss a;
    a.backward = true;
    a.bf16 = logits.scalar_type() == torch::kBFloat16;
    a.logits = logits.data_ptr();
    a.targets = s[1].data_ptr<int64_t>();
    a.rows = logits.size(0);
    a.lse = s[2].data_ptr<float>();
    a.totals = s[3].data_ptr<float>();
    a.grad = grad.data_ptr<float>();
    a.dlogits = dlogits.data_ptr();
    const int error =
        cuda_kernels::token_loss(a, c10::cuda::getCurrentCUDAStream(logits.device().index()));
    TORCH_CHECK(error == 0, "token_loss: backward kernel launch failed (cudaError ", error, ")");
    return {dlogits, torch::Tensor()};
  }
};

}  // namespace

bool can_fuse_token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto rows = logits.reshape({-1, logits.size(-1)});
  const auto flat = targets.reshape(-1);
  return logits.is_cuda() && logits.size(-1) == kVocabSize && rows.size(0) > 0 &&
         bf16_or_fp32(logits) && rows.is_contiguous() && aligned16(rows) &&
         flat.scalar_type() == torch::kLong && flat.numel() == rows.size(0) &&
         flat.device() == logits.device();
}

torch::Tensor token_loss_fused(const torch::Tensor& logits, const torch::Tensor& targets) {
  if (!can_fuse_token_loss(logits, targets))
    throw std::logic_error("token_loss_fused: no fused kernel for these tensors in this build");
  return TokenLossFunction::apply(logits.reshape({-1, logits.size(-1)}),
                                  targets.reshape(-1).contiguous());
}

}  // namespace hg
