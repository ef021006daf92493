// LayerNorm kernels: the forward with the residual add before it, the backward in row groups,
// and the column sums that finish the weight and bias gradients. Launched by
// model/kernels/layer_norm.cpp.
#include <map>
#include <mutex>

#include "model/kernels/cuda/common.cuh"

namespace hg {
namespace cuda_kernels {
namespace {

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
// 32 rows of threads every 32nd group (loads issued four at a time), then adds their sums (torch's
// sum over that dimension is slower and needs a memset first: docs/PERFORMANCE.md).
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
  // packs a lane: half the registers, twice the multiprocessor's warps; measured in
  // docs/PERFORMANCE.md).
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
  // partial wave that leaves most of the GPU idle at its end. Below that, at least 2 rows a group
  // (8 left most of the GPU idle at a few thousand rows; figures in docs/PERFORMANCE.md).
  const int64_t most = resident_norm_groups(d > 16 * 32), per_group = 2;
  int64_t groups = (rows + per_group - 1) / per_group;
  groups = groups < most ? groups : most;
  return static_cast<int>((groups + 7) / 8 * 8);  // whole blocks
}

int column_sums(const float* partial, int64_t groups, int d, int parts, float* out,
                cudaStream_t stream) {
  if (d == 0 || parts == 0) return 0;
  const dim3 grid((d + kSumColumns - 1) / kSumColumns, parts), block(kSumColumns, kSumRows);
  column_sums_kernel<<<grid, block, 0, stream>>>(partial, groups, d, out);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace cuda_kernels
}  // namespace hg
