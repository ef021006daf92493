// Decoding attention: one query per (sequence, head) over the cache rows written so far, in
// splits merged by the last block. Launched by model/kernels/decode_attention.cpp.
#include "model/kernels/cuda/common.cuh"

namespace hg {
namespace cuda_kernels {
namespace {

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

}  // namespace

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

}  // namespace cuda_kernels
}  // namespace hg
