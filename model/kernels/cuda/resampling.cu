// A level's input to its linear shortening in one pass: the residual sum, the shift and the bf16
// groups, and its backward. Launched by model/kernels/resampling.cpp.
#include "model/kernels/cuda/common.cuh"

namespace hg {
namespace cuda_kernels {
namespace {

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

}  // namespace

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

}  // namespace cuda_kernels
}  // namespace hg
