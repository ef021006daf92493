// The token-pick family's libtorch side (token_pick.h): checks the logits and the buffers and
// launches cuda/token_pick.cu. Built only with the CUDA kernels; no_cuda_kernels.cpp stands in for
// it elsewhere.
#include "model/kernels/token_pick.h"

#include <stdexcept>

#include "model/kernels/cuda_tensors.h"

namespace hg {

bool can_pick_on_device(const torch::Device& device) { return device.is_cuda(); }

void pick_tokens(const torch::Tensor& logits, const SampleOptions& o, PickBuffers& b,
                 torch::Tensor& next_tokens) {
  if (!can_pick_on_device(logits.device()))
    throw std::logic_error("pick_tokens: no fused kernel for these logits in this build");
  const int64_t n = logits.size(0), length = b.tokens.size(0);
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) == 256 && logits.is_contiguous() &&
                  logits.scalar_type() == torch::kFloat,
              "pick_tokens: the logits must be contiguous fp32 (n, 256), got ", logits.sizes());
  TORCH_CHECK(b.uniforms.sizes() == b.tokens.sizes() && b.probs.sizes() == b.tokens.sizes() &&
                  b.tokens.size(1) == n && b.forced.numel() == length && next_tokens.numel() == n &&
                  next_tokens.is_contiguous() && next_tokens.scalar_type() == torch::kLong &&
                  (!b.logits_ring.defined() || b.logits_ring.size(1) == n),
              "pick_tokens: buffers for ", b.tokens.size(1), " sequences, logits of ", n);
  cuda_kernels::PickTokens args;
  args.logits = logits.data_ptr<float>();
  args.uniforms = b.uniforms.data_ptr<double>();
  args.forced = b.forced.data_ptr<int>();
  args.position = b.position.data_ptr<int64_t>();
  args.done = b.done.data_ptr<int>();
  args.next_tokens = next_tokens.data_ptr<int64_t>();
  args.tokens = b.tokens.data_ptr<int>();
  args.probs = b.probs.data_ptr<float>();
  if (b.logits_ring.defined()) {
    args.logits_ring = b.logits_ring.data_ptr<float>();
    args.ring = b.logits_ring.size(0);
  }
  args.n = static_cast<int>(n);
  args.length = length;
  args.temperature = o.temperature;
  args.top_k = o.top_k;
  args.top_p = o.top_p;
  const int error = cuda_kernels::pick_tokens(args, stream_of(logits));
  TORCH_CHECK(error == 0, "pick_tokens: kernel launch failed (cudaError ", error, ")");
}

}  // namespace hg
