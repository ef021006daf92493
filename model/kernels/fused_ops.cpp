// The parts of the fused operations every build has: the choice between a fused kernel and the
// op-by-op path (token_loss, apply_layer_norm, linear_rows), the bf16 weight scopes' lookup, the
// buffers of the device's token picks, and the stream helpers. The kernels' own libtorch side is
// one file per family (rotary.cpp, layer_norm.cpp, ...), or no_cuda_kernels.cpp without them.
#include "model/kernels/fused_ops.h"

#if defined(HOURGLASS_WITH_CUDA)  // a CUDA libtorch, with or without this project's kernels
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#endif

namespace hg {

bool capturing_graph(const torch::Device& device) {
#if defined(HOURGLASS_WITH_CUDA)
  if (!device.is_cuda()) return false;
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device.index());
  return cudaStreamIsCapturing(stream, &status) == cudaSuccess &&
         status != cudaStreamCaptureStatusNone;
#else
  (void)device;
  return false;
#endif
}

void used_on_current_stream(const torch::Tensor& t) {
#if defined(HOURGLASS_WITH_CUDA)
  if (t.defined() && t.is_cuda() && !capturing_graph(t.device()))
    t.record_stream(c10::cuda::getCurrentCUDAStream(t.device().index()).unwrap());
#else
  (void)t;
#endif
}

thread_local Bf16Weights* Bf16Weights::innermost_ = nullptr;

Bf16Weights::~Bf16Weights() {
  if (active_) Bf16Weights::innermost_ = previous_;
}

torch::Tensor Bf16Weights::find(const torch::Tensor& w) const {
  const void* impl = w.unsafeGetTensorImpl();
  for (const auto& [key, copy] : copies_)
    if (key == impl) return copy;
  return {};
}

torch::Tensor bf16_weight(const torch::Tensor& w) {
  return Bf16Weights::innermost_ && w.defined() ? Bf16Weights::innermost_->find(w)
                                                : torch::Tensor();
}

torch::Tensor apply_layer_norm(const torch::Tensor& x, const RowNorm& norm) {
  if (can_fuse_layer_norm(x, {}, norm.weight, norm.bias))
    return layer_norm_fused(x, {}, norm.weight, norm.bias, norm.eps).second;
  return torch::layer_norm(x, {x.size(-1)}, norm.weight, norm.bias, norm.eps);
}

torch::Tensor token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  if (can_fuse_token_loss(logits, targets)) return token_loss_fused(logits, targets);
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat),
                                   targets.reshape(-1));
}

torch::Tensor decode_attention_counters(int64_t batch, int64_t heads,
                                        const torch::TensorOptions& options) {
  return torch::zeros({batch * heads}, options.dtype(torch::kInt));
}

PickBuffers::PickBuffers(int64_t length, int64_t n, int64_t ring, const torch::Device& device) {
  const auto on = torch::TensorOptions().device(device);
  uniforms = torch::zeros({length, n}, on.dtype(torch::kDouble));
  forced = torch::full({length}, -1, on.dtype(torch::kInt));
  position = torch::zeros({1}, on.dtype(torch::kLong));
  done = torch::zeros({1}, on.dtype(torch::kInt));
  tokens = torch::zeros({length, n}, on.dtype(torch::kInt));
  probs = torch::zeros({length, n}, on.dtype(torch::kFloat));
  if (ring > 0) logits_ring = torch::zeros({ring, n, 256}, on.dtype(torch::kFloat));
}

torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& weight, bool gelu,
                          const torch::Tensor& residual, const RowNorm& norm) {
  if (can_fuse_linear_rows(x, weight, residual))
    return linear_rows_fused(x, weight, gelu, residual, norm);
  // Under bf16 autocast with the weight's copy at hand (Bf16Weights): the copy, no casts.
  if (auto w16 = bf16_weight(weight); can_use_bf16_copy(x, w16))
    return linear_bf16_copy(x, weight, w16, gelu, residual, norm);
  auto y = torch::linear(norm.weight.defined() ? apply_layer_norm(x, norm) : x, weight);
  if (gelu) y = torch::gelu(y);
  return residual.defined() ? residual + y : y;
}

}  // namespace hg
