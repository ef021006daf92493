// Launchers of the decoding kernels in decode_kernels.cu (CUDA builds with nvcc only). Raw
// pointers, fp32, contiguous; each returns the cudaError_t of its launch (0: success).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hg {
namespace cuda_kernels {

int rotary_kv_step(const float* qkv, const float* cos, const float* sin, const int64_t* slot,
                   float* q_out, float* k_cache, float* v_cache, int batch, int heads, int head_dim,
                   int64_t capacity, cudaStream_t stream);

}  // namespace cuda_kernels
}  // namespace hg
