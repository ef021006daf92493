// The fused operations in a build without this project's CUDA kernels (Debian's CPU libtorch, or a
// CUDA libtorch without nvcc): every can_fuse_*() is false, so the callers take the op-by-op path,
// and a fused function called anyway throws. Stands in for rotary.cpp, layer_norm.cpp, loss.cpp,
// resampling.cpp, gemm.cpp, decode_attention.cpp and token_pick.cpp.
#include <stdexcept>
#include <string>

#include "model/kernels/fused_ops.h"

namespace hg {
namespace {

[[noreturn]] void no_kernels(const char* what) {
  throw std::logic_error(
      std::string(what) +
      ": this build has no fused CUDA kernels (a can_fuse_*() check was skipped)");
}

}  // namespace

bool can_fuse_rotary(const torch::Tensor&) { return false; }
torch::Tensor rotary_fused(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                           double) {
  no_kernels("rotary_fused");
}
bool can_fuse_qkv_rotary(const torch::Tensor&, int64_t) { return false; }
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv_rotary(const torch::Tensor&,
                                                                   const torch::Tensor&,
                                                                   const torch::Tensor&, int64_t) {
  no_kernels("qkv_rotary");
}
bool can_fuse_decode(const torch::Tensor&) { return false; }
torch::Tensor rotary_kv_step(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                             const torch::Tensor&, torch::Tensor&, torch::Tensor&) {
  no_kernels("rotary_kv_step");
}

bool can_fuse_layer_norm(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                         const torch::Tensor&) {
  return false;
}
std::pair<torch::Tensor, torch::Tensor> layer_norm_fused(const torch::Tensor&, const torch::Tensor&,
                                                         const torch::Tensor&, const torch::Tensor&,
                                                         double) {
  no_kernels("layer_norm_fused");
}

bool can_fuse_token_loss(const torch::Tensor&, const torch::Tensor&) { return false; }
torch::Tensor token_loss_fused(const torch::Tensor&, const torch::Tensor&) {
  no_kernels("token_loss_fused");
}

bool can_fuse_shorten_input(const torch::Tensor&, const torch::Tensor&) { return false; }
std::pair<torch::Tensor, torch::Tensor> shorten_input(const torch::Tensor&, const torch::Tensor&,
                                                      int64_t, int64_t) {
  no_kernels("shorten_input");
}

Bf16Weights::Bf16Weights(const std::vector<torch::Tensor>&) {}  // holds nothing: active() false
bool Bf16Weights::wanted(const torch::Tensor&) { return false; }
bool can_fuse_linear_rows(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
  return false;
}
torch::Tensor linear_rows_fused(const torch::Tensor&, const torch::Tensor&, bool,
                                const torch::Tensor&, const RowNorm&) {
  no_kernels("linear_rows_fused");
}
bool can_use_bf16_copy(const torch::Tensor&, const torch::Tensor&) { return false; }
torch::Tensor linear_bf16_copy(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                               bool, const torch::Tensor&, const RowNorm&) {
  no_kernels("linear_bf16_copy");
}
bool can_fuse_mlp(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
  return false;
}
torch::Tensor mlp_fused(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
  no_kernels("mlp_fused");
}

bool can_fuse_decode_attention(const torch::Tensor&) { return false; }
torch::Tensor decode_attention(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                               const torch::Tensor&, torch::Tensor&) {
  no_kernels("decode_attention");
}

bool can_pick_on_device(const torch::Device&) { return false; }
void pick_tokens(const torch::Tensor&, const SampleOptions&, PickBuffers&, torch::Tensor&) {
  no_kernels("pick_tokens");
}

}  // namespace hg
