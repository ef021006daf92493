// Cross-entropy kernels over rows of 256 logits: forward (log-sum-exp, per-block sums, the mean)
// and backward. Launched by model/kernels/loss.cpp.
#include "model/kernels/cuda/common.cuh"

namespace hg {
namespace cuda_kernels {
namespace {

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

}  // namespace

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

}  // namespace cuda_kernels
}  // namespace hg
