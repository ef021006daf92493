// Token picks on the device: temperature, top-k and top-p over 256 logits per sequence, in the
// host's order of sums so the pick equals the host's. Launched by model/kernels/token_pick.cpp.
#include "model/kernels/cuda/common.cuh"

namespace hg {
namespace cuda_kernels {
namespace {

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

int pick_tokens(const PickTokens& args, cudaStream_t stream) {
  if (args.n == 0) return 0;
  return launch_overlapped(pick_tokens_kernel, args.n, kPickThreads, stream, args);
}

}  // namespace cuda_kernels
}  // namespace hg
