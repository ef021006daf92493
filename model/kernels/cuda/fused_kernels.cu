// Fused CUDA kernels (issue 8), plain CUDA without ATen so that nvcc compiles them in seconds;
// model/kernels/fused_ops.cpp checks the tensors and launches them on the current stream.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "model/kernels/cuda/fused_kernels.h"

namespace hg {
namespace cuda_kernels {
namespace {

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
bool overlap_launches() {
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

// One thread per (sequence b, head h, channel j). qkv holds, per sequence, the new token's
// query, key and value (3 x H x hd). Query and key are rotated by the rotary tables' row `slot`
// (rotate half: x * cos + swap_halves(x) * sin, sin's first half negated); the query goes to q_out
// (B, H, hd), the rotated key and the value to row `slot` of the caches (B, H, capacity, hd).
__global__ void rotary_kv_step_kernel(const float* __restrict__ qkv, const float* __restrict__ cos,
                                      const float* __restrict__ sin,
                                      const int64_t* __restrict__ slot, float* __restrict__ q_out,
                                      float* __restrict__ k_cache, float* __restrict__ v_cache,
                                      int batch, int heads, int head_dim, int64_t capacity) {
  let_next_kernel_start();
  wait_for_inputs();
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t total = static_cast<int64_t>(batch) * heads * head_dim;
  if (i >= total) return;
  const int j = static_cast<int>(i % head_dim);
  const int64_t bh = i / head_dim;  // b * heads + h
  const int64_t b = bh / heads, h = bh % heads;
  const int half = head_dim / 2;
  const int partner = j < half ? j + half : j - half;
  const int64_t row = *slot;
  const float c = cos[row * head_dim + j], s = sin[row * head_dim + j];
  const int64_t d = static_cast<int64_t>(heads) * head_dim;
  const float* q = qkv + b * 3 * d + h * head_dim;
  const float* k = q + d;
  const float* v = q + 2 * d;
  q_out[bh * head_dim + j] = q[j] * c + q[partner] * s;
  const int64_t at = (bh * capacity + row) * head_dim + j;
  k_cache[at] = k[j] * c + k[partner] * s;
  v_cache[at] = v[j];
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

// One thread per pair of channels (j, j + hd/2) of one (b, h, t): the "rotate half" rotation
// out = x * cos + swap_halves(x) * sign * sin, computed in fp32 and rounded once. x has any
// strides (the last dimension contiguous); out is contiguous as (B, T, H, hd).
template <typename T>
__global__ void rotary_kernel(const T* __restrict__ x, int64_t stride_b, int64_t stride_h,
                              int64_t stride_t, const T* __restrict__ cos,
                              const T* __restrict__ sin, float sign, T* __restrict__ out,
                              int64_t batch, int64_t heads, int64_t tokens, int head_dim,
                              int64_t x_pair, int64_t out_pair) {
  x += blockIdx.y * x_pair;
  out += blockIdx.y * out_pair;
  const int half = head_dim / 2;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * tokens * heads * half) return;
  const int j = static_cast<int>(i % half);
  int64_t r = i / half;
  const int64_t h = r % heads;
  r /= heads;
  const int64_t t = r % tokens, b = r / tokens;
  const T* row = x + b * stride_b + h * stride_h + t * stride_t;
  const float a = to_float(row[j]), c = to_float(row[j + half]);
  const T* cos_row = cos + t * head_dim;
  const T* sin_row = sin + t * head_dim;
  T* o = out + ((b * tokens + t) * heads + h) * head_dim;
  o[j] = from_float<T>(a * to_float(cos_row[j]) + c * sign * to_float(sin_row[j]));
  o[j + half] =
      from_float<T>(c * to_float(cos_row[j + half]) + a * sign * to_float(sin_row[j + half]));
}

// The same with four pairs per thread, each half read and written as one 4-element pack (8 bytes
// in bf16, 16 in fp32): used when half the head dimension, the strides and the pointers allow.
template <typename T>
struct alignas(4 * sizeof(T)) Pack {
  T v[4];
};

template <typename T>
__global__ void rotary_kernel_packed(const T* __restrict__ x, int64_t stride_b, int64_t stride_h,
                                     int64_t stride_t, const T* __restrict__ cos,
                                     const T* __restrict__ sin, float sign, T* __restrict__ out,
                                     int64_t batch, int64_t heads, int64_t tokens, int head_dim,
                                     int64_t x_pair, int64_t out_pair) {
  x += blockIdx.y * x_pair;  // the second tensor of a pair (query and key): gridDim.y 2
  out += blockIdx.y * out_pair;
  const int half = head_dim / 2, packs = half / 4;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * tokens * heads * packs) return;
  const int j = static_cast<int>(i % packs) * 4;
  int64_t r = i / packs;
  const int64_t h = r % heads;
  r /= heads;
  const int64_t t = r % tokens, b = r / tokens;
  auto load = [](const T* p) { return *reinterpret_cast<const Pack<T>*>(p); };
  const T* row = x + b * stride_b + h * stride_h + t * stride_t;
  const Pack<T> a = load(row + j), c = load(row + j + half);
  const Pack<T> cos_lo = load(cos + t * head_dim + j), cos_hi = load(cos + t * head_dim + j + half);
  const Pack<T> sin_lo = load(sin + t * head_dim + j), sin_hi = load(sin + t * head_dim + j + half);
  Pack<T> lo, hi;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const float ak = to_float(a.v[k]), ck = to_float(c.v[k]);
    lo.v[k] = from_float<T>(ak * to_float(cos_lo.v[k]) + ck * sign * to_float(sin_lo.v[k]));
    hi.v[k] = from_float<T>(ck * to_float(cos_hi.v[k]) + ak * sign * to_float(sin_hi.v[k]));
  }
  T* o = out + ((b * tokens + t) * heads + h) * head_dim;
  *reinterpret_cast<Pack<T>*>(o + j) = lo;
  *reinterpret_cast<Pack<T>*>(o + j + half) = hi;
}

// The backward of the query's and key's rotation with the value beside them
// (rotary_qkv_backward in fused_kernels.h): dq and dk rotated back, dv copied, all into one (B, T,
// 3, H, hd) gradient of the projection that made them. One thread per four pairs of channels of one
// (b, t, h).
template <typename T>
__global__ void rotary_qkv_backward_kernel(RotaryGrads g, const T* __restrict__ cos,
                                           const T* __restrict__ sin, T* __restrict__ dqkv) {
  const int half = g.head_dim / 2, packs = half / 4;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= g.batch * g.tokens * g.heads * packs) return;
  const int j = static_cast<int>(i % packs) * 4;
  int64_t r = i / packs;
  const int64_t h = r % g.heads;
  r /= g.heads;
  const int64_t t = r % g.tokens, b = r / g.tokens;
  auto load = [](const void* p) { return *reinterpret_cast<const Pack<T>*>(p); };
  const int64_t d = g.heads * g.head_dim;
  T* out = dqkv + (b * g.tokens + t) * 3 * d + h * g.head_dim;
  const Pack<T> cos_lo = load(cos + t * g.head_dim + j),
                cos_hi = load(cos + t * g.head_dim + j + half);
  const Pack<T> sin_lo = load(sin + t * g.head_dim + j),
                sin_hi = load(sin + t * g.head_dim + j + half);
#pragma unroll
  for (int part = 0; part < 3; ++part) {
    Pack<T> lo, hi;
    if (g.grad[part] == nullptr) {
#pragma unroll
      for (int e = 0; e < 4; ++e) lo.v[e] = hi.v[e] = from_float<T>(0.0f);
    } else {
      const T* row = static_cast<const T*>(g.grad[part]) + b * g.stride[part][0] +
                     h * g.stride[part][1] + t * g.stride[part][2];
      lo = load(row + j);
      hi = load(row + j + half);
      if (part < 2) {  // the inverse rotation: sin negated
        const Pack<T> a = lo, c = hi;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float ae = to_float(a.v[e]), ce = to_float(c.v[e]);
          lo.v[e] = from_float<T>(ae * to_float(cos_lo.v[e]) - ce * to_float(sin_lo.v[e]));
          hi.v[e] = from_float<T>(ce * to_float(cos_hi.v[e]) - ae * to_float(sin_hi.v[e]));
        }
      }
    }
    *reinterpret_cast<Pack<T>*>(out + part * d + j) = lo;
    *reinterpret_cast<Pack<T>*>(out + part * d + j + half) = hi;
  }
}

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

// LayerNorm over rows of d <= 128 * P features (d a multiple of 4), one warp per row, lane l
// holding the packs of four features starting at 4 * (l + 32 p) in registers: h = x + delta
// (rounded to TH, as the separate add would; skipped when delta is null), y = (h - mean) * rstd *
// gamma + beta in TY; mean and rstd saved for the backward pass when asked for.
template <typename TX, typename TD, typename TH, typename TY, int P>
__global__ void layer_norm_forward_kernel(const TX* __restrict__ x, const TD* __restrict__ delta,
                                          TH* __restrict__ h, const float* __restrict__ gamma,
                                          const float* __restrict__ beta, TY* __restrict__ y,
                                          float* __restrict__ mean_out,
                                          float* __restrict__ rstd_out, int64_t rows, int d,
                                          float eps, int64_t x_per_batch, int64_t delta_per_batch) {
  const int lane = threadIdx.x & 31;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int64_t base = row * d;
  const int64_t delta_base = delta_row(row, x_per_batch, delta_per_batch) * d;
  float v[P][4], w[P][4], b[P][4];  // the weight and bias are loaded with the row
  float sum = 0.0f;
#pragma unroll
  for (int p = 0; p < P; ++p) {
    const int col = 4 * (p * 32 + lane);
    if (col >= d) continue;
    load4(x + base + col, v[p]);
    load4(gamma + col, w[p]);
    load4(beta + col, b[p]);
    if (delta) {
      float add[4];
      load4(delta + delta_base + col, add);
#pragma unroll
      for (int e = 0; e < 4; ++e) v[p][e] = to_float(from_float<TH>(v[p][e] + add[e]));
      store4(h + base + col, v[p]);
    }
#pragma unroll
    for (int e = 0; e < 4; ++e) sum += v[p][e];
  }
  const float mean = warp_sum(sum) / d;
  float var = 0.0f;
#pragma unroll
  for (int p = 0; p < P; ++p)
    if (4 * (p * 32 + lane) < d)
#pragma unroll
      for (int e = 0; e < 4; ++e) var += (v[p][e] - mean) * (v[p][e] - mean);
  const float rstd = rsqrtf(warp_sum(var) / d + eps);
#pragma unroll
  for (int p = 0; p < P; ++p) {
    const int col = 4 * (p * 32 + lane);
    if (col >= d) continue;
    float out[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) out[e] = (v[p][e] - mean) * rstd * w[p][e] + b[p][e];
    store4(y + base + col, out);
  }
  if (lane == 0 && mean_out) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

// Its backward, in a grid-stride loop over rows, each row taken by a group of WPR warps (lane l of
// warp w of a group holds the packs of four features at 4 * (32 (p WPR + w) + l)): with xhat =
// (src - mean) * rstd and g = dy * gamma, dsrc = rstd * (g - mean(g) - xhat * mean(g * xhat)) + dh
// (the gradient h got from elsewhere, when there is one), written as dx (TX) and, with a delta,
// ddelta (TD). All of a row's loads (dh too) are issued before its sums. Two warps per row for
// wide rows keep a lane's registers to P packs, so twice the warps fit on a multiprocessor. Each
// group sums dy * xhat and dy over its rows per feature into partial (2, groups, d): the weight
// and bias gradients once summed over groups.
template <typename TX, typename TD, typename TH, typename TY, int P, int WPR>
__global__ void layer_norm_backward_kernel(
    const TY* __restrict__ dy, const TH* __restrict__ dh, const TH* __restrict__ src,
    const float* __restrict__ mean, const float* __restrict__ rstd, const float* __restrict__ gamma,
    TX* __restrict__ dx, TD* __restrict__ ddelta, float* __restrict__ partial, int64_t rows, int d,
    int64_t x_per_batch, int64_t delta_per_batch) {
  constexpr int kGroups = 8 / WPR;                // blocks of 256 threads
  __shared__ float exchange[2][kGroups][WPR][2];  // by iteration parity: each warp's two sums
  const int lane = threadIdx.x & 31, part = (threadIdx.x / 32) % WPR,
            local = threadIdx.x / 32 / WPR;
  const int64_t group = static_cast<int64_t>(blockIdx.x) * kGroups + local;
  const int64_t groups = static_cast<int64_t>(gridDim.x) * kGroups;
  auto column = [&](int p) { return 4 * ((p * WPR + part) * 32 + lane); };
  float dgamma[P][4], dbeta[P][4], w[P][4];
#pragma unroll
  for (int p = 0; p < P; ++p) {
#pragma unroll
    for (int e = 0; e < 4; ++e) dgamma[p][e] = dbeta[p][e] = w[p][e] = 0.0f;
    if (column(p) < d) load4(gamma + column(p), w[p]);
  }
  int parity = 0;
  for (int64_t row = group; row < rows; row += groups, parity ^= 1) {
    const int64_t base = row * d;
    const float mu = mean[row], rs = rstd[row];
    float xhat[P][4], g[P][4], other[P][4];
    float sum_g = 0.0f, sum_gx = 0.0f;
#pragma unroll
    for (int p = 0; p < P; ++p) {
      const int col = column(p);
#pragma unroll
      for (int e = 0; e < 4; ++e) other[p][e] = 0.0f;
      if (col >= d) continue;
      float grad[4];
      load4(dy + base + col, grad);
      load4(src + base + col, xhat[p]);
      if (dh) load4(dh + base + col, other[p]);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        xhat[p][e] = (xhat[p][e] - mu) * rs;
        g[p][e] = grad[e] * w[p][e];
        sum_g += g[p][e];
        sum_gx += g[p][e] * xhat[p][e];
        dgamma[p][e] += grad[e] * xhat[p][e];
        dbeta[p][e] += grad[e];
      }
    }
    sum_g = warp_sum(sum_g);
    sum_gx = warp_sum(sum_gx);
    if (WPR > 1) {  // the other warps' sums, through shared memory and the group's own barrier
      if (lane == 0) {
        exchange[parity][local][part][0] = sum_g;
        exchange[parity][local][part][1] = sum_gx;
      }
      asm volatile("bar.sync %0, %1;" ::"r"(local + 1), "r"(WPR * 32) : "memory");
      sum_g = sum_gx = 0.0f;
#pragma unroll
      for (int q = 0; q < WPR; ++q) {
        sum_g += exchange[parity][local][q][0];
        sum_gx += exchange[parity][local][q][1];
      }
    }
    sum_g /= d;
    sum_gx /= d;
#pragma unroll
    for (int p = 0; p < P; ++p) {
      const int col = column(p);
      if (col >= d) continue;
      float out[4];
#pragma unroll
      for (int e = 0; e < 4; ++e)
        out[e] = rs * (g[p][e] - sum_g - xhat[p][e] * sum_gx) + other[p][e];
      store4(dx + base + col, out);
      if (ddelta) store4(ddelta + delta_row(row, x_per_batch, delta_per_batch) * d + col, out);
    }
  }
#pragma unroll
  for (int p = 0; p < P; ++p) {
    const int col = column(p);
    if (col >= d) continue;
    store4(partial + group * d + col, dgamma[p]);
    store4(partial + (groups + group) * d + col, dbeta[p]);
  }
}

// The weight's and the bias's gradients from the LayerNorm backward's partial sums (parts, groups,
// d): out (parts, d), each the sum over groups in order. A block takes 32 features of one part, its
// 32 rows of threads every 32nd group (loads issued four at a time), then adds their sums; torch's
// sum over that dimension took 11 us at 264 groups of 512 features, with a memset for its
// semaphores before it.
constexpr int kSumColumns = 32, kSumRows = 32;
__global__ void column_sums_kernel(const float* __restrict__ partial, int64_t groups, int d,
                                   float* __restrict__ out) {
  __shared__ float sums[kSumRows][kSumColumns + 1];
  const int col = blockIdx.x * kSumColumns + threadIdx.x;
  const float* part = partial + static_cast<int64_t>(blockIdx.y) * groups * d;
  float acc = 0.0f;
  if (col < d) {
#pragma unroll 4
    for (int64_t g = threadIdx.y; g < groups; g += kSumRows) acc += part[g * d + col];
  }
  sums[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || col >= d) return;
  float total = 0.0f;
#pragma unroll
  for (int r = 0; r < kSumRows; ++r) total += sums[r][threadIdx.x];
  out[static_cast<int64_t>(blockIdx.y) * d + col] = total;
}

// Cross-entropy over rows of 256 logits (token_loss in fused_kernels.h): a warp per row, eight
// logits a lane. Forward: each row's log-sum-exp (kept for the backward) and loss, summed per block
// in order with the count of rows that have a target; loss_total then adds the blocks' sums in
// order and divides. Backward: (softmax - one-hot) * grad / count, in the logits' dtype.
constexpr int kLossRowsPerBlock = 8;

template <typename T>
__device__ inline void load8(const T* p, float out[8]) {
  load4(p, out);
  load4(p + 4, out + 4);
}

template <typename T>
__global__ void token_loss_kernel(const T* __restrict__ logits, const int64_t* __restrict__ targets,
                                  int64_t rows, float* __restrict__ lse_out,
                                  float* __restrict__ block_loss, float* __restrict__ block_count) {
  __shared__ float loss_of[kLossRowsPerBlock], counted[kLossRowsPerBlock];
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kLossRowsPerBlock + warp;
  float loss = 0.0f, count = 0.0f;
  if (row < rows) {
    float x[8];
    load8(logits + row * 256 + lane * 8, x);
    float m = x[0];
#pragma unroll
    for (int e = 1; e < 8; ++e) m = fmaxf(m, x[e]);
    m = warp_max(m);
    float sum = 0.0f;
#pragma unroll
    for (int e = 0; e < 8; ++e) sum += expf(x[e] - m);
    const float lse = m + logf(warp_sum(sum));
    const int64_t target = targets[row];
    if (lane == 0) lse_out[row] = lse;
    if (target >= 0 && target < 256) {
      loss = lse - to_float(logits[row * 256 + target]);
      count = 1.0f;
    }
  }
  if (lane == 0) {
    loss_of[warp] = loss;
    counted[warp] = count;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  float total = 0.0f, n = 0.0f;
#pragma unroll
  for (int w = 0; w < kLossRowsPerBlock; ++w) total += loss_of[w], n += counted[w];
  block_loss[blockIdx.x] = total;
  block_count[blockIdx.x] = n;
}

// One block: out[0] = the mean loss, out[1] = the count, from the blocks' sums, in a fixed order.
__global__ void loss_total_kernel(const float* __restrict__ block_loss,
                                  const float* __restrict__ block_count, int64_t blocks,
                                  float* __restrict__ out) {
  __shared__ float sums[2][1024];
  float loss = 0.0f, count = 0.0f;
  for (int64_t b = threadIdx.x; b < blocks; b += blockDim.x)
    loss += block_loss[b], count += block_count[b];
  sums[0][threadIdx.x] = loss;
  sums[1][threadIdx.x] = count;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      sums[0][threadIdx.x] += sums[0][threadIdx.x + half];
      sums[1][threadIdx.x] += sums[1][threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[0] = sums[1][0] > 0.0f ? sums[0][0] / sums[1][0] : nanf("");
    out[1] = sums[1][0];
  }
}

template <typename T>
__global__ void token_loss_backward_kernel(const T* __restrict__ logits,
                                           const int64_t* __restrict__ targets,
                                           const float* __restrict__ lse, int64_t rows,
                                           const float* __restrict__ grad,
                                           const float* __restrict__ totals,
                                           T* __restrict__ dlogits) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kLossRowsPerBlock + warp;
  if (row >= rows) return;
  const int64_t target = targets[row];
  const bool counted = target >= 0 && target < 256;
  const float scale = counted ? grad[0] / totals[1] : 0.0f, l = lse[row];
  float x[8];
  load8(logits + row * 256 + lane * 8, x);
  float out[8];
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    const float one_hot = lane * 8 + e == target ? 1.0f : 0.0f;
    out[e] = (expf(x[e] - l) - one_hot) * scale;
  }
  store4(dlogits + row * 256 + lane * 8, out);
  store4(dlogits + row * 256 + lane * 8 + 4, out + 4);
}

// bf16 copies of fp32 weights, a block per 2,048 elements of one of them (CastList in
// fused_kernels.h): eight elements a thread, read as two 16-byte packs and written as one.
constexpr int kCastPerThread = 8, kCastThreads = 256, kCastPerBlock = kCastPerThread * kCastThreads;
__global__ void cast_bf16_kernel(CastList l) {
  int t = 0;
  while (t + 1 < l.count && blockIdx.x >= l.first_block[t + 1]) ++t;
  const int64_t start = (static_cast<int64_t>(blockIdx.x) - l.first_block[t]) * kCastPerBlock +
                        static_cast<int64_t>(threadIdx.x) * kCastPerThread;
  const float* src = l.src[t];
  auto* dst = static_cast<__nv_bfloat16*>(l.dst[t]);
  const int64_t n = l.n[t];
  if (start + kCastPerThread <= n) {
    const float4 a = *reinterpret_cast<const float4*>(src + start);
    const float4 b = *reinterpret_cast<const float4*>(src + start + 4);
    Pack<__nv_bfloat16> lo, hi;
    lo.v[0] = __float2bfloat16(a.x), lo.v[1] = __float2bfloat16(a.y);
    lo.v[2] = __float2bfloat16(a.z), lo.v[3] = __float2bfloat16(a.w);
    hi.v[0] = __float2bfloat16(b.x), hi.v[1] = __float2bfloat16(b.y);
    hi.v[2] = __float2bfloat16(b.z), hi.v[3] = __float2bfloat16(b.w);
    *reinterpret_cast<Pack<__nv_bfloat16>*>(dst + start) = lo;
    *reinterpret_cast<Pack<__nv_bfloat16>*>(dst + start + 4) = hi;
  } else {
    for (int64_t i = start; i < n; ++i) dst[i] = __float2bfloat16(src[i]);
  }
}

// A level's input to its linear shortening, in one pass (ShortenInput in fused_kernels.h): h =
// first + second (rounded to TH, as the separate add would) and the shifted groups g, bf16: row s
// of a sequence's (m k) rows is h's row s - shift, zeros before the first. One thread per pack
// of four features of one shifted row; rows past the last group write h only.
template <typename TF, typename TS>
__global__ void shorten_input_kernel(const TF* __restrict__ first, const TS* __restrict__ second,
                                     typename SumType<TF, TS>::type* __restrict__ h,
                                     __nv_bfloat16* __restrict__ g, int64_t batch, int64_t tokens,
                                     int64_t group_rows, int shift, int d) {
  using TH = typename SumType<TF, TS>::type;
  const int packs = d / 4;
  const int64_t span = tokens + shift > group_rows ? tokens + shift : group_rows;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * span * packs) return;
  const int col = static_cast<int>(i % packs) * 4;
  const int64_t r = i / packs, s = r % span, b = r / span, t = s - shift;
  float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (t >= 0 && t < tokens) {
    const int64_t at = (b * tokens + t) * d + col;
    float a[4], c[4];
    load4(first + at, a);
    load4(second + at, c);
#pragma unroll
    for (int e = 0; e < 4; ++e) v[e] = to_float(from_float<TH>(a[e] + c[e]));
    store4(h + at, v);
  }
  if (s < group_rows) store4(g + (b * group_rows + s) * d + col, v);
}

// Its backward: the gradient of h (dh, may be null) plus that of its shifted copy in g (dg), into
// dfirst and, when not null, dsecond (the same values in second's dtype).
template <typename TF, typename TS>
__global__ void shorten_input_backward_kernel(const typename SumType<TF, TS>::type* __restrict__ dh,
                                              const __nv_bfloat16* __restrict__ dg,
                                              TF* __restrict__ dfirst, TS* __restrict__ dsecond,
                                              int64_t batch, int64_t tokens, int64_t group_rows,
                                              int shift, int d) {
  const int packs = d / 4;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * tokens * packs) return;
  const int col = static_cast<int>(i % packs) * 4;
  const int64_t r = i / packs, t = r % tokens, b = r / tokens, s = t + shift;
  const int64_t at = r * d + col;
  float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (dh) load4(dh + at, v);
  if (s < group_rows) {
    float add[4];
    load4(dg + (b * group_rows + s) * d + col, add);
#pragma unroll
    for (int e = 0; e < 4; ++e) v[e] += add[e];
  }
  store4(dfirst + at, v);
  if (dsecond) store4(dsecond + at, v);
}

// y (m, n) = x (m, k) W^T for a few fp32 rows m <= M, W (n, k) row-major, k a multiple of 4 and
// both 16-byte aligned. A block of KW warps makes R output features, each warp over a KW-th of
// k, B loads per lane and row issued before they are used; each W element is read once and used
// for every row of x. On the decoding shapes this reads W at 1.5-2x cuBLAS's rate (which leaves
// such products latency-bound). With kNorm (k <= kRowsLinearNormWidth: one round of loads per
// warp), x's rows are layer-normalized on the way in: each warp's slice of the rows is loaded once,
// alongside the weights, and the rows' mean and deviation are summed over the block's warps, so
// the norm adds two barriers and no launch.
template <int M, int R, int B, int KW, bool kNorm>
__global__ void rows_linear_kernel(RowsLinear a) {
  static_assert(!kNorm || kRowsLinearNormWidth / 4 <= KW * 32 * B, "one round of loads per warp");
  __shared__ float partial[KW][R][M];
  __shared__ float row_sums[2][KW][M];  // kNorm: per warp, the sum and the squared deviation
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
  const int first = blockIdx.x * R;
  const int m = a.m, n = a.n, k4 = a.k / 4, per_warp = (k4 + KW - 1) / KW;
  const int begin = warp * per_warp, end = begin + per_warp < k4 ? begin + per_warp : k4;
  const float4* x4 = reinterpret_cast<const float4*>(a.x);
  const float4* w4 = reinterpret_cast<const float4*>(a.w);
  const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float acc[R][M];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int b = 0; b < M; ++b) acc[r][b] = 0.0f;
  auto dot4 = [](const float4& u, const float4& v) {
    return u.x * v.x + u.y * v.y + u.z * v.z + u.w * v.w;
  };
  let_next_kernel_start();
  auto load_weights = [&](int base, float4(&wv)[B][R]) {
#pragma unroll
    for (int s = 0; s < B; ++s) {
      const int i = base + s * 32 + lane;
#pragma unroll
      for (int r = 0; r < R; ++r)
        wv[s][r] =
            i < end && first + r < n ? __ldg(w4 + static_cast<int64_t>(first + r) * k4 + i) : zero;
    }
  };
  if (kNorm) {
    // The weights and the norm's parameters before the inputs are ready, x after.
    float4 wv[B][R], xv[B][M], g[B], t[B];
    load_weights(begin, wv);
#pragma unroll
    for (int s = 0; s < B; ++s) {
      const int i = begin + s * 32 + lane;
      g[s] = i < end ? __ldg(reinterpret_cast<const float4*>(a.gamma) + i) : zero;
      t[s] = i < end ? __ldg(reinterpret_cast<const float4*>(a.beta) + i) : zero;
    }
    wait_for_inputs();
#pragma unroll
    for (int s = 0; s < B; ++s) {
      const int i = begin + s * 32 + lane;
#pragma unroll
      for (int b = 0; b < M; ++b)
        xv[s][b] = i < end && b < m ? __ldg(x4 + static_cast<int64_t>(b) * k4 + i) : zero;
    }
    auto over_warps = [&](int which, int b) {  // a row's sum over the block's warps
      float total = 0.0f;
#pragma unroll
      for (int q = 0; q < KW; ++q) total += row_sums[which][q][b];
      return total;
    };
    float mean[M], rstd[M];
#pragma unroll
    for (int b = 0; b < M; ++b) {
      float sum = 0.0f;
#pragma unroll
      for (int s = 0; s < B; ++s) sum += (xv[s][b].x + xv[s][b].y) + (xv[s][b].z + xv[s][b].w);
      sum = warp_sum(sum);
      if (lane == 0) row_sums[0][warp][b] = sum;
    }
    __syncthreads();
#pragma unroll
    for (int b = 0; b < M; ++b) {
      mean[b] = over_warps(0, b) / a.k;
      float var = 0.0f;
#pragma unroll
      for (int s = 0; s < B; ++s) {
        if (begin + s * 32 + lane >= end) continue;
        const float4 d = make_float4(xv[s][b].x - mean[b], xv[s][b].y - mean[b],
                                     xv[s][b].z - mean[b], xv[s][b].w - mean[b]);
        var += dot4(d, d);
      }
      var = warp_sum(var);
      if (lane == 0) row_sums[1][warp][b] = var;
    }
    __syncthreads();
#pragma unroll
    for (int b = 0; b < M; ++b) rstd[b] = rsqrtf(over_warps(1, b) / a.k + a.eps);
#pragma unroll
    for (int s = 0; s < B; ++s)
#pragma unroll
      for (int b = 0; b < M; ++b) {
        float4 y = xv[s][b];
        y.x = (y.x - mean[b]) * rstd[b] * g[s].x + t[s].x;
        y.y = (y.y - mean[b]) * rstd[b] * g[s].y + t[s].y;
        y.z = (y.z - mean[b]) * rstd[b] * g[s].z + t[s].z;
        y.w = (y.w - mean[b]) * rstd[b] * g[s].w + t[s].w;
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r][b] += dot4(wv[s][r], y);
      }
  } else {
    float4 wv[B][R];
    load_weights(begin, wv);  // the first weights before the inputs are ready
    wait_for_inputs();
    for (int base = begin; base < end; base += 32 * B) {
      if (base != begin) load_weights(base, wv);
#pragma unroll
      for (int s = 0; s < B; ++s) {
        const int i = base + s * 32 + lane;
        if (i >= end) continue;
#pragma unroll
        for (int b = 0; b < M; ++b) {
          if (b >= m) continue;
          const float4 xv = __ldg(x4 + static_cast<int64_t>(b) * k4 + i);
#pragma unroll
          for (int r = 0; r < R; ++r) acc[r][b] += dot4(wv[s][r], xv);
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int b = 0; b < M; ++b) {
      const float v = warp_sum(acc[r][b]);
      if (lane == 0) partial[warp][r][b] = v;
    }
  __syncthreads();
  for (int t = threadIdx.x; t < R * M; t += blockDim.x) {
    const int r = t / M, b = t % M;
    if (first + r >= n || b >= m) continue;
    float v = 0.0f;
#pragma unroll
    for (int q = 0; q < KW; ++q) v += partial[q][r][b];
    const int64_t at = static_cast<int64_t>(b) * n + first + r;
    if (a.gelu) v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));  // exact GELU, as torch's
    if (a.residual) v = a.residual[at] + v;
    a.y[at] = v;
  }
}

// Decoding attention for one query per (sequence, head) over cache rows 0 .. *slot, in splits of
// keys: each block writes its split's highest score, its sum of exponentials and its
// exponential-weighted sum of values; the last block to finish merges the splits. Splits past *slot
// only mark themselves empty, so a step reads the rows written so far and not the whole buffer.
template <bool kMax>
__device__ float block_reduce(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = kMax ? warp_max(v) : warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float r = scratch[0];
  for (int i = 1; i < warps; ++i) r = kMax ? fmaxf(r, scratch[i]) : r + scratch[i];
  return r;
}

// A block of 128 threads takes kPasses passes of 128 / HD4 keys, HD4 = hd / 4 lanes per key
// reading one float4 of it each (coalesced); every key and value load of the split is issued up
// front. Few heads (one text stream: 8) take 8 passes, so that twice as many blocks (SMs) load
// the rows; many take 16, and fewer splits to merge.
constexpr int kAttentionThreads = 128;
constexpr int kMergeBatch = 16;  // splits whose results the merging block loads at once

int attention_passes(int batch_heads) { return batch_heads >= 64 ? 16 : 8; }

// Keys per block (split) for heads of 4 * hd4 features.
__host__ __device__ constexpr int keys_per_split(int hd4, int passes) {
  return passes * (kAttentionThreads / hd4);
}

template <int HD4, int kPasses>
__global__ void decode_attention_kernel(const float* __restrict__ q,
                                        const float* __restrict__ k_cache,
                                        const float* __restrict__ v_cache,
                                        const int64_t* __restrict__ slot, float* part_out,
                                        float* part_stats, int* counters, float* __restrict__ out,
                                        int64_t capacity, int splits, float scale) {
  constexpr int kParallel = kAttentionThreads / HD4, kKeys = keys_per_split(HD4, kPasses);
  constexpr int kHeadDim = 4 * HD4;
  __shared__ float4 sums[kParallel][HD4];
  __shared__ float scratch[32];
  __shared__ bool last_block;
  let_next_kernel_start();
  wait_for_inputs();
  const int bh = blockIdx.x, split = blockIdx.y, t = threadIdx.x;
  const int64_t valid = *slot + 1;
  const int64_t start = static_cast<int64_t>(split) * kKeys;
  float* split_out = part_out + (static_cast<int64_t>(bh) * splits + split) * kHeadDim;
  float* split_stats = part_stats + (static_cast<int64_t>(bh) * splits + split) * 2;
  if (start >= valid) {  // past the rows written so far: an empty split
    for (int j = t; j < kHeadDim; j += kAttentionThreads) split_out[j] = 0.0f;
    if (t == 0) split_stats[0] = -INFINITY, split_stats[1] = 0.0f;
  } else {
    const int c = t % HD4, g = t / HD4;  // this thread's float4 of the head, its key in a pass
    const int count = static_cast<int>(valid - start < kKeys ? valid - start : kKeys);
    const float4 qv = reinterpret_cast<const float4*>(q + static_cast<int64_t>(bh) * kHeadDim)[c];
    const int64_t rows = (static_cast<int64_t>(bh) * capacity + start) * HD4;
    const float4* keys = reinterpret_cast<const float4*>(k_cache) + rows;
    const float4* values = reinterpret_cast<const float4*>(v_cache) + rows;
    float4 kv[kPasses], vv[kPasses];
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int s = 0; s < kPasses; ++s) {
      const int i = s * kParallel + g;
      kv[s] = i < count ? __ldg(keys + static_cast<int64_t>(i) * HD4 + c) : zero;
      vv[s] = i < count ? __ldg(values + static_cast<int64_t>(i) * HD4 + c) : zero;
    }
    float score[kPasses];
    float high = -INFINITY;
#pragma unroll
    for (int s = 0; s < kPasses; ++s) {
      float dot = kv[s].x * qv.x + kv[s].y * qv.y + kv[s].z * qv.z + kv[s].w * qv.w;
#pragma unroll
      for (int offset = 1; offset < HD4; offset <<= 1)  // over the lanes of this key
        dot += __shfl_xor_sync(0xffffffffu, dot, offset);
      score[s] = s * kParallel + g < count ? dot * scale : -INFINITY;
      high = fmaxf(high, score[s]);
    }
    high = block_reduce<true>(high, scratch);
    float total = 0.0f;
    float4 acc = zero;
#pragma unroll
    for (int s = 0; s < kPasses; ++s) {
      const float p = s * kParallel + g < count ? __expf(score[s] - high) : 0.0f;
      if (c == 0) total += p;  // each key once
      acc.x += p * vv[s].x, acc.y += p * vv[s].y, acc.z += p * vv[s].z, acc.w += p * vv[s].w;
    }
    total = block_reduce<false>(total, scratch);
    sums[g][c] = acc;
    __syncthreads();
    for (int j = t; j < kHeadDim; j += kAttentionThreads) {
      float v = 0.0f;
      for (int r = 0; r < kParallel; ++r) v += reinterpret_cast<const float*>(sums[r])[j];
      split_out[j] = v;
    }
    if (t == 0) split_stats[0] = high, split_stats[1] = total;
  }
  // The last block of this (sequence, head) to finish merges the splits and resets the counter
  // for the next launch; the others' results are read from L2 (__ldcg), past this SM's L1.
  __threadfence();
  __syncthreads();
  if (t == 0) last_block = atomicAdd(counters + bh, 1) == splits - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  // Only the splits that hold rows, kMergeBatch at a time: each batch's statistics and outputs
  // are loaded in one round (none depends on another), then folded into running sums, rescaled as
  // the highest score grows.
  const int used = static_cast<int>((valid + kKeys - 1) / kKeys);
  const float* stats = part_stats + static_cast<int64_t>(bh) * splits * 2;
  const float* outs = part_out + static_cast<int64_t>(bh) * splits * kHeadDim;
  for (int j = t; j < kHeadDim; j += kAttentionThreads) {
    float high = -INFINITY, total = 0.0f, acc = 0.0f;
    for (int s0 = 0; s0 < used; s0 += kMergeBatch) {
      float split_high[kMergeBatch], split_total[kMergeBatch], split_out[kMergeBatch];
#pragma unroll
      for (int i = 0; i < kMergeBatch; ++i) {
        const bool in = s0 + i < used;
        split_high[i] = in ? __ldcg(stats + 2 * (s0 + i)) : -INFINITY;
        split_total[i] = in ? __ldcg(stats + 2 * (s0 + i) + 1) : 0.0f;
        split_out[i] = in ? __ldcg(outs + static_cast<int64_t>(s0 + i) * kHeadDim + j) : 0.0f;
      }
      float batch_high = high;
#pragma unroll
      for (int i = 0; i < kMergeBatch; ++i) batch_high = fmaxf(batch_high, split_high[i]);
      const float rescale = high == -INFINITY ? 0.0f : __expf(high - batch_high);
      total *= rescale, acc *= rescale;
#pragma unroll
      for (int i = 0; i < kMergeBatch; ++i) {
        const float w = s0 + i < used ? __expf(split_high[i] - batch_high) : 0.0f;
        total += w * split_total[i];
        acc += w * split_out[i];
      }
      high = batch_high;
    }
    out[static_cast<int64_t>(bh) * kHeadDim + j] = acc / total;
  }
  if (t == 0) counters[bh] = 0;
}

template <typename T>
bool aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % sizeof(Pack<T>) == 0;
}

template <typename T>
int launch_rotary(const T* x, int64_t stride_b, int64_t stride_h, int64_t stride_t, const T* cos,
                  const T* sin, float sign, T* out, int64_t batch, int64_t heads, int64_t tokens,
                  int head_dim, cudaStream_t stream, int pairs, int64_t x_pair, int64_t out_pair) {
  const int half = head_dim / 2;
  const bool packed = half % 4 == 0 && stride_b % 4 == 0 && stride_h % 4 == 0 &&
                      stride_t % 4 == 0 && x_pair % 4 == 0 && out_pair % 4 == 0 && aligned<T>(x) &&
                      aligned<T>(cos) && aligned<T>(sin) && aligned<T>(out);
  const int64_t total = batch * tokens * heads * (packed ? half / 4 : half);
  if (total == 0) return 0;
  const int threads = 256;
  const dim3 blocks(static_cast<unsigned>((total + threads - 1) / threads), pairs);
  if (packed)
    rotary_kernel_packed<T><<<blocks, threads, 0, stream>>>(x, stride_b, stride_h, stride_t, cos,
                                                            sin, sign, out, batch, heads, tokens,
                                                            head_dim, x_pair, out_pair);
  else
    rotary_kernel<T><<<blocks, threads, 0, stream>>>(x, stride_b, stride_h, stride_t, cos, sin,
                                                     sign, out, batch, heads, tokens, head_dim,
                                                     x_pair, out_pair);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int rotary(const float* x, int64_t stride_b, int64_t stride_h, int64_t stride_t, const float* cos,
           const float* sin, float sign, float* out, int64_t batch, int64_t heads, int64_t tokens,
           int head_dim, cudaStream_t stream, int pairs, int64_t x_pair, int64_t out_pair) {
  return launch_rotary(x, stride_b, stride_h, stride_t, cos, sin, sign, out, batch, heads, tokens,
                       head_dim, stream, pairs, x_pair, out_pair);
}

int rotary_bf16(const void* x, int64_t stride_b, int64_t stride_h, int64_t stride_t,
                const void* cos, const void* sin, float sign, void* out, int64_t batch,
                int64_t heads, int64_t tokens, int head_dim, cudaStream_t stream, int pairs,
                int64_t x_pair, int64_t out_pair) {
  using bf16 = __nv_bfloat16;
  return launch_rotary(static_cast<const bf16*>(x), stride_b, stride_h, stride_t,
                       static_cast<const bf16*>(cos), static_cast<const bf16*>(sin), sign,
                       static_cast<bf16*>(out), batch, heads, tokens, head_dim, stream, pairs,
                       x_pair, out_pair);
}

int rotary_qkv_backward(const RotaryGrads& g, const void* cos, const void* sin, void* dqkv,
                        bool bf16, cudaStream_t stream) {
  if (g.head_dim % 8 != 0) return static_cast<int>(cudaErrorInvalidValue);
  const int64_t total = g.batch * g.tokens * g.heads * (g.head_dim / 8);
  if (total == 0) return 0;
  const int threads = 256;
  const auto blocks = static_cast<unsigned>((total + threads - 1) / threads);
  if (bf16)
    rotary_qkv_backward_kernel<__nv_bfloat16><<<blocks, threads, 0, stream>>>(
        g, static_cast<const __nv_bfloat16*>(cos), static_cast<const __nv_bfloat16*>(sin),
        static_cast<__nv_bfloat16*>(dqkv));
  else
    rotary_qkv_backward_kernel<float>
        <<<blocks, threads, 0, stream>>>(g, static_cast<const float*>(cos),
                                         static_cast<const float*>(sin), static_cast<float*>(dqkv));
  return static_cast<int>(cudaGetLastError());
}

int rotary_kv_step(const float* qkv, const float* cos, const float* sin, const int64_t* slot,
                   float* q_out, float* k_cache, float* v_cache, int batch, int heads, int head_dim,
                   int64_t capacity, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(batch) * heads * head_dim;
  const int threads = 128;
  const int blocks = static_cast<int>((total + threads - 1) / threads);
  return launch_overlapped(rotary_kv_step_kernel, blocks, threads, stream, qkv, cos, sin, slot,
                           q_out, k_cache, v_cache, batch, heads, head_dim, capacity);
}

namespace {

template <typename TX, typename TD, typename TY>
int layer_norm_forward_typed(const NormForward& a, cudaStream_t stream) {
  using TH = typename SumType<TX, TD>::type;
  const int threads = 256, per_block = threads / 32;
  const auto blocks = static_cast<unsigned>((a.rows + per_block - 1) / per_block);
  const auto* x = static_cast<const TX*>(a.x);
  const auto* delta = static_cast<const TD*>(a.delta);
  auto* h = static_cast<TH*>(a.h);
  auto* y = static_cast<TY*>(a.y);
  const int64_t x_per_batch = a.x_per_batch > 0 ? a.x_per_batch : a.rows;
  const int64_t delta_per_batch = a.x_per_batch > 0 ? a.delta_per_batch : a.rows;
  if (a.d <= 16 * 32)
    layer_norm_forward_kernel<TX, TD, TH, TY, 4>
        <<<blocks, threads, 0, stream>>>(x, delta, h, a.gamma, a.beta, y, a.mean, a.rstd, a.rows,
                                         a.d, a.eps, x_per_batch, delta_per_batch);
  else
    layer_norm_forward_kernel<TX, TD, TH, TY, 8>
        <<<blocks, threads, 0, stream>>>(x, delta, h, a.gamma, a.beta, y, a.mean, a.rstd, a.rows,
                                         a.d, a.eps, x_per_batch, delta_per_batch);
  return static_cast<int>(cudaGetLastError());
}

template <typename TX, typename TD, typename TY>
int layer_norm_backward_typed(const NormBackward& a, cudaStream_t stream) {
  using TH = typename SumType<TX, TD>::type;
  const int threads = 256;
  const auto* dy = static_cast<const TY*>(a.dy);
  const auto* dh = static_cast<const TH*>(a.dh);
  const auto* src = static_cast<const TH*>(a.src);
  auto* dx = static_cast<TX*>(a.dx);
  auto* ddelta = static_cast<TD*>(a.ddelta);
  const int64_t x_per_batch = a.x_per_batch > 0 ? a.x_per_batch : a.rows;
  const int64_t delta_per_batch = a.x_per_batch > 0 ? a.delta_per_batch : a.rows;
  // a.groups row groups (a multiple of 8): one warp each up to 512 features, four beyond (two
  // packs a lane: half the registers, twice the multiprocessor's warps; 1024 features of fp32 rows
  // with a bf16 delta 118 -> 88 us on the H200, where one warp with eight packs took 111).
  if (a.d <= 16 * 32)
    layer_norm_backward_kernel<TX, TD, TH, TY, 4, 1><<<a.groups / 8, threads, 0, stream>>>(
        dy, dh, src, a.mean, a.rstd, a.gamma, dx, ddelta, a.partial, a.rows, a.d, x_per_batch,
        delta_per_batch);
  else
    layer_norm_backward_kernel<TX, TD, TH, TY, 2, 4><<<a.groups / 2, threads, 0, stream>>>(
        dy, dh, src, a.mean, a.rstd, a.gamma, dx, ddelta, a.partial, a.rows, a.d, x_per_batch,
        delta_per_batch);
  return static_cast<int>(cudaGetLastError());
}

// Picks the instantiation for the dtypes the arguments name (bf16 or fp32 each).
template <typename Args, template <typename, typename, typename> class Launch>
int dispatch_norm(const Args& a, cudaStream_t stream) {
  using bf16 = __nv_bfloat16;
  const int code = (a.x_bf16 ? 4 : 0) + (a.delta_bf16 ? 2 : 0) + (a.y_bf16 ? 1 : 0);
  switch (code) {
    case 0:
      return Launch<float, float, float>::run(a, stream);
    case 1:
      return Launch<float, float, bf16>::run(a, stream);
    case 2:
      return Launch<float, bf16, float>::run(a, stream);
    case 3:
      return Launch<float, bf16, bf16>::run(a, stream);
    case 4:
      return Launch<bf16, float, float>::run(a, stream);
    case 5:
      return Launch<bf16, float, bf16>::run(a, stream);
    case 6:
      return Launch<bf16, bf16, float>::run(a, stream);
    default:
      return Launch<bf16, bf16, bf16>::run(a, stream);
  }
}

template <typename TX, typename TD, typename TY>
struct ForwardLaunch {
  static int run(const NormForward& a, cudaStream_t s) {
    return layer_norm_forward_typed<TX, TD, TY>(a, s);
  }
};
template <typename TX, typename TD, typename TY>
struct BackwardLaunch {
  static int run(const NormBackward& a, cudaStream_t s) {
    return layer_norm_backward_typed<TX, TD, TY>(a, s);
  }
};

template <int M, int R, int kLoads = 4, int kSplitK = 4, bool kNorm = false>
int launch_rows_linear(const RowsLinear& a, cudaStream_t stream) {
  return launch_overlapped(rows_linear_kernel<M, R, kLoads, kSplitK, kNorm>, (a.n + R - 1) / R,
                           32 * kSplitK, stream, a);
}

template <int HD4>
int launch_decode_attention(const float* q, const float* k_cache, const float* v_cache,
                            const int64_t* slot, float* part_out, float* part_stats, int* counters,
                            float* out, int batch_heads, int64_t capacity, float scale,
                            cudaStream_t stream) {
  const int splits = decode_attention_splits(capacity, 4 * HD4, batch_heads);
  auto kernel = attention_passes(batch_heads) == 16 ? decode_attention_kernel<HD4, 16>
                                                    : decode_attention_kernel<HD4, 8>;
  return launch_overlapped(kernel, dim3(batch_heads, splits), kAttentionThreads, stream, q, k_cache,
                           v_cache, slot, part_out, part_stats, counters, out, capacity, splits,
                           scale);
}

// pick_tokens(): one block of kPickThreads (one thread per token id) per sequence. The sums run
// in token (or rank) order in one thread, in double, so that the pick equals the host's exactly;
// the searches over the running sums are parallel (the sums only grow).
constexpr int kPickThreads = 256;

__device__ inline void block_max(float v, int i, float* scratch) {  // scratch[0] = the max
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (i % 32 == 0) scratch[1 + i / 32] = v;
  __syncthreads();
  if (i == 0) {
    float m = scratch[1];
    for (int w = 1; w < kPickThreads / 32; ++w) m = fmaxf(m, scratch[1 + w]);
    scratch[0] = m;
  }
  __syncthreads();
}

// to[k] = from[0] + ... + from[k], added in order (as the host adds them), in one thread: the loads
// of a batch are issued before its additions, which are one dependent chain.
__device__ inline void running_sums(const double* from, double* to) {
  constexpr int kBatch = 16;
  double c = 0.0;
  for (int k0 = 0; k0 < kPickThreads; k0 += kBatch) {
    double v[kBatch];
#pragma unroll
    for (int j = 0; j < kBatch; ++j) v[j] = from[k0 + j];
#pragma unroll
    for (int j = 0; j < kBatch; ++j) to[k0 + j] = c += v[j];
  }
}

__global__ void __launch_bounds__(kPickThreads) pick_tokens_kernel(PickTokens a) {
  __shared__ float logit[kPickThreads];
  __shared__ double p[kPickThreads];     // weights, in token order or (truncated) rank order
  __shared__ double acc[kPickThreads];   // their running sums
  __shared__ double mass[kPickThreads];  // running sums of the probabilities (truncated)
  __shared__ int order[kPickThreads];    // token of each rank (truncated)
  __shared__ float scratch[1 + kPickThreads / 32];
  __shared__ int pick, found, keep;
  let_next_kernel_start();
  wait_for_inputs();
  const int s = blockIdx.x, i = threadIdx.x;
  // One thread reads the position for the block, before the block counts itself done below (the
  // last block advances it).
  __shared__ int64_t block_pos;
  if (i == 0) block_pos = *a.position;
  __syncthreads();
  const int64_t pos = block_pos;
  if (pos >= a.length) return;
  const float raw = a.logits[static_cast<int64_t>(s) * kPickThreads + i];
  if (a.logits_ring != nullptr) a.logits_ring[((pos % a.ring) * a.n + s) * kPickThreads + i] = raw;
  const float l = isnan(raw) ? -INFINITY : raw;  // as pick_token() reads NaN
  logit[i] = l;
  const int forced = a.forced[pos];
  const double u = a.uniforms[pos * a.n + s];
  const bool truncated = (a.top_k > 0 && a.top_k < kPickThreads) || a.top_p < 1.0;
  if (i == 0) {
    pick = -1;
    found = a.temperature == 0.0 ? kPickThreads : -1;  // a minimum or a maximum is taken
    keep = a.top_k > 0 ? a.top_k : kPickThreads;
  }
  int token = forced;
  float prob = 1.0f;
  if (forced < 0 && a.temperature == 0.0) {
    block_max(l, i, scratch);  // the lowest id holding the max
    if (l == scratch[0]) atomicMin(&found, i);
    __syncthreads();
    token = found < kPickThreads ? found : 0;  // 0: NaN logits
  } else if (forced < 0 && !truncated) {
    block_max(l, i, scratch);
    const double top = scratch[0];
    p[i] = exp((static_cast<double>(l) - top) / a.temperature);
    __syncthreads();
    if (i == 0) running_sums(p, acc);
    __syncthreads();
    const double target = u * acc[kPickThreads - 1];
    if (target < acc[i] && (i == 0 || !(target < acc[i - 1]))) pick = i;
    if (p[i] > 0.0) atomicMax(&found, i);  // the last token with any mass
    __syncthreads();
    token = pick >= 0 ? pick : found >= 0 ? found : 0;  // 0: no token has mass (NaN logits)
    prob = static_cast<float>(p[token] / acc[kPickThreads - 1]);
  } else if (forced < 0) {
    __syncthreads();  // logit[] complete
    int rank = 0;
#pragma unroll 16
    for (int j = 0; j < kPickThreads; ++j) {
      const float other = logit[j];
      rank += other > l || (other == l && j < i);
    }
    order[rank] = i;
    __syncthreads();
    const double top = logit[order[0]];
    p[i] = exp((static_cast<double>(logit[order[i]]) - top) / a.temperature);
    __syncthreads();
    if (i == 0) running_sums(p, acc);
    __syncthreads();
    mass[i] = p[i] / acc[kPickThreads - 1];
    __syncthreads();
    if (i == 0) running_sums(mass, mass);
    __syncthreads();
    // The first rank within top_k where the mass reaches top_p ends the kept set.
    if (i < keep && mass[i] >= a.top_p && (i == 0 || mass[i - 1] < a.top_p)) found = i + 1;
    __syncthreads();
    const int kept_n = found > 0 ? found : keep;
    const double kept = acc[kept_n - 1];
    const double target = u * kept;
    if (i < kept_n && target < acc[i] && (i == 0 || !(target < acc[i - 1]))) pick = i;
    __syncthreads();
    const int r = pick >= 0 ? pick : kept_n - 1;
    token = order[r];
    prob = static_cast<float>(p[r] / kept);
  }
  if (i != 0) return;
  a.next_tokens[s] = token;
  a.tokens[pos * a.n + s] = token;
  a.probs[pos * a.n + s] = prob;
  __threadfence();
  if (atomicAdd(a.done, 1) == a.n - 1) {  // the last block: every block has read the position
    *a.position = pos + 1;
    *a.done = 0;
  }
}

}  // namespace

int layer_norm_forward(const NormForward& args, cudaStream_t stream) {
  if (args.rows == 0) return 0;
  if (args.d > 32 * 32 || args.d % 4 != 0) return static_cast<int>(cudaErrorInvalidValue);
  return dispatch_norm<NormForward, ForwardLaunch>(args, stream);
}

int layer_norm_backward(const NormBackward& args, cudaStream_t stream) {
  if (args.rows == 0) return 0;
  if (args.d > 32 * 32 || args.d % 4 != 0 || args.groups % 8 != 0)
    return static_cast<int>(cudaErrorInvalidValue);
  return dispatch_norm<NormBackward, BackwardLaunch>(args, stream);
}

namespace {

// How many row groups the device holds at once for the backward of rows up to 512 features
// (wide = false) or up to 1024, from the common dtypes' occupancy; asked once per device.
int64_t resident_norm_groups(bool wide) {
  static std::mutex mutex;
  static std::map<std::pair<int, bool>, int64_t> known;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return 4096;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find({device, wide});
  if (it != known.end()) return it->second;
  using bf16 = __nv_bfloat16;
  const auto kernel = wide ? layer_norm_backward_kernel<float, bf16, float, bf16, 2, 4>
                           : layer_norm_backward_kernel<float, bf16, float, bf16, 4, 1>;
  int sms = 0, blocks = 0;
  int64_t groups = 4096;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess &&
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, 256, 0) == cudaSuccess &&
      sms > 0 && blocks > 0)
    groups = static_cast<int64_t>(sms) * blocks * (wide ? 2 : 8);
  known[{device, wide}] = groups;
  return groups;
}

}  // namespace

int layer_norm_backward_groups(int64_t rows, int d) {
  // As many groups as the multiprocessors hold at once: a grid of more blocks runs a second,
  // partial wave that leaves most of the GPU idle at its end (1.5-5% of the kernel at 16-32K
  // rows). Below that, at least 2 rows a group (8 left most of the GPU idle at 2-11K rows: bf16
  // rows of 512 at 2,048 rows 15.2 -> 6.5 us, at 10,928 31 -> 27 us).
  const int64_t most = resident_norm_groups(d > 16 * 32), per_group = 2;
  int64_t groups = (rows + per_group - 1) / per_group;
  groups = groups < most ? groups : most;
  return static_cast<int>((groups + 7) / 8 * 8);  // whole blocks
}

int token_loss(const TokenLoss& a, cudaStream_t stream) {
  if (a.rows == 0) return static_cast<int>(cudaErrorInvalidValue);
  const auto blocks = static_cast<unsigned>((a.rows + kLossRowsPerBlock - 1) / kLossRowsPerBlock);
  using bf16 = __nv_bfloat16;
  if (a.backward) {
    if (a.bf16)
      token_loss_backward_kernel<bf16><<<blocks, 32 * kLossRowsPerBlock, 0, stream>>>(
          static_cast<const bf16*>(a.logits), a.targets, a.lse, a.rows, a.grad, a.totals,
          static_cast<bf16*>(a.dlogits));
    else
      token_loss_backward_kernel<float><<<blocks, 32 * kLossRowsPerBlock, 0, stream>>>(
          static_cast<const float*>(a.logits), a.targets, a.lse, a.rows, a.grad, a.totals,
          static_cast<float*>(a.dlogits));
    return static_cast<int>(cudaGetLastError());
  }
  if (a.bf16)
    token_loss_kernel<bf16><<<blocks, 32 * kLossRowsPerBlock, 0, stream>>>(
        static_cast<const bf16*>(a.logits), a.targets, a.rows, a.lse, a.block_loss, a.block_count);
  else
    token_loss_kernel<float><<<blocks, 32 * kLossRowsPerBlock, 0, stream>>>(
        static_cast<const float*>(a.logits), a.targets, a.rows, a.lse, a.block_loss, a.block_count);
  loss_total_kernel<<<1, 1024, 0, stream>>>(a.block_loss, a.block_count, blocks, a.totals);
  return static_cast<int>(cudaGetLastError());
}

int token_loss_blocks(int64_t rows) {
  return static_cast<int>((rows + kLossRowsPerBlock - 1) / kLossRowsPerBlock);
}

int cast_bf16(const float* const* src, void* const* dst, const int64_t* n, int count,
              cudaStream_t stream) {
  for (int first = 0; first < count; first += kCastMax) {
    CastList l;
    l.count = count - first < kCastMax ? count - first : kCastMax;
    int64_t blocks = 0;
    for (int i = 0; i < l.count; ++i) {
      l.src[i] = src[first + i];
      l.dst[i] = dst[first + i];
      l.n[i] = n[first + i];
      l.first_block[i] = blocks;
      blocks += (l.n[i] + kCastPerBlock - 1) / kCastPerBlock;
    }
    l.first_block[l.count] = blocks;
    if (blocks == 0) continue;
    cast_bf16_kernel<<<static_cast<unsigned>(blocks), kCastThreads, 0, stream>>>(l);
    const cudaError_t error = cudaGetLastError();
    if (error != cudaSuccess) return static_cast<int>(error);
  }
  return 0;
}

int column_sums(const float* partial, int64_t groups, int d, int parts, float* out,
                cudaStream_t stream) {
  if (d == 0 || parts == 0) return 0;
  const dim3 grid((d + kSumColumns - 1) / kSumColumns, parts), block(kSumColumns, kSumRows);
  column_sums_kernel<<<grid, block, 0, stream>>>(partial, groups, d, out);
  return static_cast<int>(cudaGetLastError());
}

namespace {

template <typename TF, typename TS>
int shorten_input_typed(const ShortenInput& a, cudaStream_t stream) {
  using TH = typename SumType<TF, TS>::type;
  using bf16 = __nv_bfloat16;
  const int threads = 256;
  const int64_t packs = a.d / 4;
  if (a.backward) {
    const int64_t total = a.batch * a.tokens * packs;
    if (total == 0) return 0;
    shorten_input_backward_kernel<TF, TS>
        <<<static_cast<unsigned>((total + threads - 1) / threads), threads, 0, stream>>>(
            static_cast<const TH*>(a.dh), static_cast<const bf16*>(a.dg),
            static_cast<TF*>(a.dfirst), static_cast<TS*>(a.dsecond), a.batch, a.tokens,
            a.group_rows, a.shift, a.d);
  } else {
    const int64_t span = std::max<int64_t>(a.tokens + a.shift, a.group_rows);
    const int64_t total = a.batch * span * packs;
    if (total == 0) return 0;
    shorten_input_kernel<TF, TS>
        <<<static_cast<unsigned>((total + threads - 1) / threads), threads, 0, stream>>>(
            static_cast<const TF*>(a.first), static_cast<const TS*>(a.second),
            static_cast<TH*>(a.h), static_cast<bf16*>(a.g), a.batch, a.tokens, a.group_rows,
            a.shift, a.d);
  }
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int shorten_input(const ShortenInput& a, cudaStream_t stream) {
  using bf16 = __nv_bfloat16;
  if (a.d % 4 != 0) return static_cast<int>(cudaErrorInvalidValue);
  if (a.first_bf16 && a.second_bf16) return shorten_input_typed<bf16, bf16>(a, stream);
  if (a.first_bf16) return shorten_input_typed<bf16, float>(a, stream);
  if (a.second_bf16) return shorten_input_typed<float, bf16>(a, stream);
  return shorten_input_typed<float, float>(a, stream);
}

int rows_linear(const RowsLinear& a, cudaStream_t stream) {
  if (a.m == 0 || a.n == 0) return 0;
  if (a.gamma != nullptr) {
    if (a.m > kRowsLinearNormRows || a.k > kRowsLinearNormWidth)
      return static_cast<int>(cudaErrorInvalidValue);
    // Four outputs per block: each block loads x and the norm's parameters whole.
    if (a.m == 1) return launch_rows_linear<1, 4, 4, 4, true>(a, stream);
    return launch_rows_linear<2, 4, 4, 4, true>(a, stream);
  }
  if (a.m == 1) return launch_rows_linear<1, 1>(a, stream);
  if (a.m == 2) return launch_rows_linear<2, 2>(a, stream);
  if (a.m <= 4) return launch_rows_linear<4, 2>(a, stream);
  if (a.m <= 8) return launch_rows_linear<8, 2>(a, stream);
  if (a.m > kRowsLinearMax) return static_cast<int>(cudaErrorInvalidValue);
  if (a.k >= 2048) return launch_rows_linear<16, 2, 2, 8>(a, stream);  // long rows
  return launch_rows_linear<16, 2>(a, stream);
}

bool decode_attention_head_dim(int head_dim) {
  return head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128;
}

int decode_attention_splits(int64_t capacity, int head_dim, int batch_heads) {
  const int keys = keys_per_split(head_dim / 4, attention_passes(batch_heads));
  return static_cast<int>((capacity + keys - 1) / keys);
}

int decode_attention(const float* q, const float* k_cache, const float* v_cache,
                     const int64_t* slot, float* part_out, float* part_stats, int* counters,
                     float* out, int batch_heads, int head_dim, int64_t capacity, float scale,
                     cudaStream_t stream) {
  switch (head_dim) {
    case 16:
      return launch_decode_attention<4>(q, k_cache, v_cache, slot, part_out, part_stats, counters,
                                        out, batch_heads, capacity, scale, stream);
    case 32:
      return launch_decode_attention<8>(q, k_cache, v_cache, slot, part_out, part_stats, counters,
                                        out, batch_heads, capacity, scale, stream);
    case 64:
      return launch_decode_attention<16>(q, k_cache, v_cache, slot, part_out, part_stats, counters,
                                         out, batch_heads, capacity, scale, stream);
    case 128:
      return launch_decode_attention<32>(q, k_cache, v_cache, slot, part_out, part_stats, counters,
                                         out, batch_heads, capacity, scale, stream);
    default:
      return static_cast<int>(cudaErrorInvalidValue);
  }
}

int pick_tokens(const PickTokens& args, cudaStream_t stream) {
  if (args.n == 0) return 0;
  return launch_overlapped(pick_tokens_kernel, args.n, kPickThreads, stream, args);
}

}  // namespace cuda_kernels
}  // namespace hg
