// Matrix products of a few fp32 rows (decoding), with the LayerNorm, GELU and residual add inside,
// and the bf16 copies of fp32 weights made in one launch. Launched by model/kernels/gemm.cpp; the
// cuBLASLt products are in gemm_lt.cu.
#include "model/kernels/cuda/common.cuh"

namespace hg {
namespace cuda_kernels {
namespace {

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

// y (m, n) = x (m, k) W^T for a few fp32 rows m <= M, W (n, k) row-major, k a multiple of 4 and
// both 16-byte aligned. A block of KW warps makes R output features, each warp over a KW-th of
// k, B loads per lane and row issued before they are used; each W element is read once and used
// for every row of x. On the decoding shapes this reads W faster than cuBLAS does (which leaves
// such products latency-bound; docs/PERFORMANCE.md). With kNorm (k <= kRowsLinearNormWidth: one
// round of loads per warp), x's rows are layer-normalized on the way in: each warp's slice of the
// rows is loaded once, alongside the weights, and the rows' mean and deviation are summed over the
// block's warps, so the norm adds two barriers and no launch.
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

template <int M, int R, int kLoads = 4, int kSplitK = 4, bool kNorm = false>
int launch_rows_linear(const RowsLinear& a, cudaStream_t stream) {
  return launch_overlapped(rows_linear_kernel<M, R, kLoads, kSplitK, kNorm>, (a.n + R - 1) / R,
                           32 * kSplitK, stream, a);
}

}  // namespace

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

}  // namespace cuda_kernels
}  // namespace hg
