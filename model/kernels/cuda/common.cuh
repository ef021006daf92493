// What the kernel families share: overlapped launches (Hopper's programmatic dependent launch),
// fp32/bf16 conversions, packs of four elements, warp sums. Device code and one host helper;
// included by the cuda/*.cu files only, never by C++ compiled without nvcc.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "model/kernels/cuda/fused_kernels.h"

namespace hg {
namespace cuda_kernels {

// Overlapped launches (Hopper's programmatic dependent launch): the decoding kernels let the next
// kernel's blocks start as soon as their own have all started, and that kernel reads only what
// never changes while decoding (weights, tables) before waiting for its inputs. A step's chain of
// small kernels then costs less than a launch gap each. No-ops before sm_90 (plain order).
__device__ inline void let_next_kernel_start() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ inline void wait_for_inputs() {  // the previous kernel has finished, its writes visible
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Launches a kernel that calls wait_for_inputs() before it reads anything a kernel before it
// writes, allowing it to start early where the device can (compute capability 9 or later), the
// runtime and driver record such launches in captured graphs (CUDA 12.3 on, the graph edges'
// data), and HOURGLASS_OVERLAP_LAUNCHES is not 0.
inline bool overlap_launches() {
  static const bool overlap = [] {
    const char* env = std::getenv("HOURGLASS_OVERLAP_LAUNCHES");
    if (env != nullptr && std::string(env) == "0") return false;
    int device = 0, major = 0, runtime = 0, driver = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
        cudaRuntimeGetVersion(&runtime) != cudaSuccess ||
        cudaDriverGetVersion(&driver) != cudaSuccess)
      return false;
    return major >= 9 && runtime >= 12030 && driver >= 12030;
  }();
  return overlap;
}

template <typename... KernelArgs, typename... Args>
int launch_overlapped(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, cudaStream_t stream,
                      Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = overlap_launches() ? 1 : 0;
  return static_cast<int>(
      cudaLaunchKernelEx(&config, kernel, static_cast<KernelArgs>(std::forward<Args>(args))...));
}

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T>
__device__ inline T from_float(float x);
template <>
__device__ inline float from_float<float>(float x) {
  return x;
}
template <>
__device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}

// Four elements read or written as one pack (8 bytes in bf16, 16 in fp32).
template <typename T>
struct alignas(4 * sizeof(T)) Pack {
  T v[4];
};

__device__ inline float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ inline float warp_max(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// The row of delta added to row `row` of x, where x has x_per_batch rows per sequence and delta
// delta_per_batch >= that (an upsampled tensor of whole groups whose first rows are added).
__device__ inline int64_t delta_row(int64_t row, int64_t x_per_batch, int64_t delta_per_batch) {
  return row / x_per_batch * delta_per_batch + row % x_per_batch;
}

// The dtype of x + delta: bf16 only when both are.
template <typename TX, typename TD>
struct SumType {
  using type = float;
};
template <>
struct SumType<__nv_bfloat16, __nv_bfloat16> {
  using type = __nv_bfloat16;
};

// Four consecutive elements as floats, and back (8 bytes in bf16, 16 in fp32).
template <typename T>
__device__ inline void load4(const T* p, float out[4]) {
  const Pack<T> v = *reinterpret_cast<const Pack<T>*>(p);
#pragma unroll
  for (int e = 0; e < 4; ++e) out[e] = to_float(v.v[e]);
}

template <typename T>
__device__ inline void store4(T* p, const float in[4]) {
  Pack<T> v;
#pragma unroll
  for (int e = 0; e < 4; ++e) v.v[e] = from_float<T>(in[e]);
  *reinterpret_cast<Pack<T>*>(p) = v;
}

}  // namespace cuda_kernels
}  // namespace hg
