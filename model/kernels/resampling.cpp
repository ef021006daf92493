// The resampling family's libtorch side (resampling.h): a level's input to its linear shortening
// (sum, shift, bf16 groups) in cuda/resampling.cu, with its autograd function. Built only with the
// CUDA kernels; no_cuda_kernels.cpp stands in for it elsewhere.
#include "model/kernels/resampling.h"

#include <ATen/autocast_mode.h>

#include <stdexcept>
#include <utility>

#include "model/kernels/cuda_tensors.h"

namespace hg {
namespace {

// ShortenInput's launch: forward (h, g from first, second) or backward (dfirst, dsecond from dh,
// dg); the tensors' dtypes name the kernel's.
void launch_shorten_input(cuda_kernels::ShortenInput& a, const torch::Tensor& like,
                          torch::ScalarType first, torch::ScalarType second, int64_t group_rows,
                          int64_t shift) {
  a.batch = like.size(0);
  a.tokens = like.size(1);
  a.d = static_cast<int>(like.size(2));
  a.group_rows = group_rows;
  a.shift = static_cast<int>(shift);
  a.first_bf16 = first == torch::kBFloat16;
  a.second_bf16 = second == torch::kBFloat16;
  const int error = cuda_kernels::shorten_input(a, stream_of(like));
  TORCH_CHECK(error == 0, "shorten_input: kernel launch failed (cudaError ", error, ")");
}

class ShortenInputFunction : public torch::autograd::Function<ShortenInputFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& first,
                                                const torch::Tensor& second, int64_t shift,
                                                int64_t group_rows) {
    const auto h_dtype = at::promote_types(first.scalar_type(), second.scalar_type());
    auto h = torch::empty(first.sizes(), first.options().dtype(h_dtype));
    auto g = torch::empty({first.size(0), group_rows, first.size(2)},
                          first.options().dtype(torch::kBFloat16));
    cuda_kernels::ShortenInput a;
    a.first = first.data_ptr();
    a.second = second.data_ptr();
    a.h = h.data_ptr();
    a.g = g.data_ptr();
    launch_shorten_input(a, first, first.scalar_type(), second.scalar_type(), group_rows, shift);
    ctx->saved_data["first"] = dtype_code(first.scalar_type());
    ctx->saved_data["second"] = dtype_code(second.scalar_type());
    ctx->saved_data["shift"] = shift;
    ctx->saved_data["sizes"] = first.sizes().vec();
    return {h, g};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto first = code_dtype(ctx->saved_data["first"]);
    const auto second = code_dtype(ctx->saved_data["second"]);
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto h_dtype = at::promote_types(first, second);
    const torch::Tensor& any = grads[0].defined() ? grads[0] : grads[1];
    const auto dh = packed(grads[0], h_dtype);
    const int64_t group_rows = grads[1].defined() ? grads[1].size(1) : 0;
    const auto dg = packed(grads[1], torch::kBFloat16);
    auto dfirst = torch::empty(sizes, any.options().dtype(first));
    auto dsecond = first == second ? dfirst : torch::empty(sizes, any.options().dtype(second));
    cuda_kernels::ShortenInput a;
    a.backward = true;
    a.dh = dh.defined() ? dh.data_ptr() : nullptr;
    a.dg = dg.defined() ? dg.data_ptr() : nullptr;
    a.dfirst = dfirst.data_ptr();
    a.dsecond = first == second ? nullptr : dsecond.data_ptr();
    launch_shorten_input(a, dfirst, first, second, group_rows, ctx->saved_data["shift"].toInt());
    return {dfirst, dsecond, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool can_fuse_shorten_input(const torch::Tensor& first, const torch::Tensor& second) {
  auto fits = [&](const torch::Tensor& t) {
    return t.defined() && t.is_cuda() && t.dim() == 3 && bf16_or_fp32(t) && t.is_contiguous() &&
           aligned16(t) && t.device() == first.device();
  };
  return fits(first) && fits(second) && first.sizes() == second.sizes() && first.size(2) % 4 == 0 &&
         at::autocast::is_autocast_enabled(at::kCUDA) &&
         at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16;
}

std::pair<torch::Tensor, torch::Tensor> shorten_input(const torch::Tensor& first,
                                                      const torch::Tensor& second, int64_t shift,
                                                      int64_t group_rows) {
  if (!can_fuse_shorten_input(first, second))
    throw std::logic_error("shorten_input: no fused kernel for these tensors in this build");
  TORCH_CHECK(shift >= 0 && group_rows >= 0 && group_rows <= first.size(1) + shift,
              "shorten_input: ", group_rows, " group rows with a shift of ", shift, " for ",
              first.size(1), " tokens");
  auto outs = ShortenInputFunction::apply(first, second, shift, group_rows);
  return {outs[0], outs[1]};
}

}  // namespace hg
