// What the kernel families' libtorch side shares: dtype and alignment checks, the current stream,
// packed copies for kernels that read packs of elements, and dtypes kept in an autograd context.
// Internal to model/kernels/, and only for files built with the CUDA kernels.
#pragma once

#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/torch.h>

#include <cstdint>

#include "model/kernels/cuda/fused_kernels.h"

namespace hg {

inline bool bf16_or_fp32(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kBFloat16;
}

inline bool aligned16(const torch::Tensor& t) {
  return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
}

inline cudaStream_t stream_of(const torch::Tensor& t) {
  return c10::cuda::getCurrentCUDAStream(t.device().index());
}

// t in `dtype`, contiguous and 16-byte aligned (a view may start anywhere), as the kernels that
// read packs of elements need it; undefined stays undefined.
inline torch::Tensor packed(const torch::Tensor& t, torch::ScalarType dtype) {
  if (!t.defined()) return t;
  auto out = t.to(dtype).contiguous();
  return aligned16(out) ? out : out.clone();
}

// A dtype saved in an autograd context's saved_data, and back.
inline int64_t dtype_code(torch::ScalarType t) { return static_cast<int64_t>(t); }
inline torch::ScalarType code_dtype(const c10::IValue& v) {
  return static_cast<torch::ScalarType>(v.toInt());
}

}  // namespace hg
