// Launchers of the kernels in cuda/*.cu, one family a file (CUDA builds with nvcc only). Raw
// pointers; each returns the cudaError_t of its launch (0: success).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hg {
namespace cuda_kernels {

// Rotary rotation of x (B, H, T, hd) with strides (b, h, t) in elements and unit stride along hd,
// by tables cos, sin (T, hd) (rotary_tables(): sin's first half negated) times `sign` (-1: the
// inverse rotation, the backward pass). out: contiguous as (B, T, H, hd). bf16: __nv_bfloat16.
// With pairs 2, a second tensor at x + x_pair goes to out + out_pair in the same launch (a query
// and a key).
int rotary(const float* x, int64_t stride_b, int64_t stride_h, int64_t stride_t, const float* cos,
           const float* sin, float sign, float* out, int64_t batch, int64_t heads, int64_t tokens,
           int head_dim, cudaStream_t stream, int pairs = 1, int64_t x_pair = 0,
           int64_t out_pair = 0);
int rotary_bf16(const void* x, int64_t stride_b, int64_t stride_h, int64_t stride_t,
                const void* cos, const void* sin, float sign, void* out, int64_t batch,
                int64_t heads, int64_t tokens, int head_dim, cudaStream_t stream, int pairs = 1,
                int64_t x_pair = 0, int64_t out_pair = 0);

// The backward of a rotated query and key with the value beside them: grad[0..2] the gradients
// of q, k, v (B, H, T, hd) with strides (b, h, t) in elements (multiples of 4; unit along hd; null:
// zero), into dqkv (B, T, 3, H, hd) contiguous: q's and k's rotated back by the tables (T, hd), v's
// as it is. head_dim a multiple of 8, every pointer 16-byte aligned; bf16 or fp32 throughout.
struct RotaryGrads {
  const void* grad[3] = {nullptr, nullptr, nullptr};
  int64_t stride[3][3] = {};
  int64_t batch = 0, heads = 0, tokens = 0;
  int head_dim = 0;
};
int rotary_qkv_backward(const RotaryGrads& g, const void* cos, const void* sin, void* dqkv,
                        bool bf16, cudaStream_t stream);

// Decoding, fp32 contiguous: the new token's rotated query into q_out, its key and value into
// row *slot of the caches.
int rotary_kv_step(const float* qkv, const float* cos, const float* sin, const int64_t* slot,
                   float* q_out, float* k_cache, float* v_cache, int batch, int heads, int head_dim,
                   int64_t capacity, cudaStream_t stream);

// LayerNorm over the last dimension (d <= 1024, a multiple of 4; every pointer 16-byte aligned)
// with fp32 weight and bias: h = x + delta when delta is given (else h is x and not written), y =
// LayerNorm(h); mean and rstd (rows) fp32, saved for the backward pass (may be null). Each tensor
// fp32 or bf16 as its flag says (delta's flag equal to x's when there is no delta); h is bf16 when
// x and delta both are. Contiguous.
struct NormForward {
  const void* x = nullptr;
  const void* delta = nullptr;
  void* h = nullptr;
  void* y = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float* mean = nullptr;
  float* rstd = nullptr;
  int64_t rows = 0;
  int d = 0;
  float eps = 1e-5f;
  bool x_bf16 = false, delta_bf16 = false, y_bf16 = false;
  // With x_per_batch > 0, x holds sequences of x_per_batch rows and delta of delta_per_batch
  // (more) rows, whose first x_per_batch rows are added: an upsampled tensor of whole groups.
  int64_t x_per_batch = 0, delta_per_batch = 0;
};
int layer_norm_forward(const NormForward& args, cudaStream_t stream);

// Its gradient: dy (TY) the gradient of y, dh that of h from its other uses (may be null), src
// the forward's h (or x); writes dx and, with a delta, ddelta (the gradient of h plus what flows
// back through the norm, in x's and delta's dtypes), and partial (2, groups, d) fp32, whose sum
// over groups (of warps sharing rows) is the weight's and the bias's gradient. groups:
// layer_norm_backward_groups(rows, d).
struct NormBackward {
  const void* dy = nullptr;
  const void* dh = nullptr;
  const void* src = nullptr;
  const float* mean = nullptr;
  const float* rstd = nullptr;
  const float* gamma = nullptr;
  void* dx = nullptr;
  void* ddelta = nullptr;
  float* partial = nullptr;
  int64_t rows = 0;
  int d = 0;
  int groups = 0;
  bool x_bf16 = false, delta_bf16 = false, y_bf16 = false;
  int64_t x_per_batch = 0, delta_per_batch = 0;  // as NormForward's; ddelta's other rows unwritten
};
int layer_norm_backward(const NormBackward& args, cudaStream_t stream);
int layer_norm_backward_groups(int64_t rows, int d);
// out (parts, d) = partial (parts, groups, d) summed over groups, in order (fp32, contiguous).
int column_sums(const float* partial, int64_t groups, int d, int parts, float* out,
                cudaStream_t stream);

// The mean cross-entropy of rows of 256 logits (bf16 or fp32, contiguous, 16-byte aligned) with
// int64 targets. A row whose target is outside 0..255 counts for nothing: -100 as torch's
// ignore_index, and any other such target too (torch would stop with an error). Forward: lse (rows)
// fp32, the per-block sums block_loss and block_count (token_loss_blocks(rows) each) and totals (2)
// = {mean loss, count}. Backward (the same lse and totals; grad (1) fp32 the loss's gradient):
// dlogits in the logits' dtype.
struct TokenLoss {
  bool backward = false, bf16 = false;
  const void* logits = nullptr;
  const int64_t* targets = nullptr;
  int64_t rows = 0;
  float* lse = nullptr;
  float* block_loss = nullptr;
  float* block_count = nullptr;
  float* totals = nullptr;
  const float* grad = nullptr;
  void* dlogits = nullptr;
};
int token_loss(const TokenLoss& args, cudaStream_t stream);
int token_loss_blocks(int64_t rows);

// bf16 copies of `count` fp32 arrays: dst[i] (n[i] elements) = src[i], rounded to nearest; every
// pointer 16-byte aligned. One launch per kCastMax arrays (a 15-layer model's blocks and head).
constexpr int kCastMax = 64;
struct CastList {  // one launch's arrays, passed by value
  const float* src[kCastMax];
  void* dst[kCastMax];
  int64_t n[kCastMax];
  int64_t first_block[kCastMax + 1];
  int count = 0;
};
int cast_bf16(const float* const* src, void* const* dst, const int64_t* n, int count,
              cudaStream_t stream);

// The input of a level's linear shortening (resampling.cpp) from the pre blocks' two parts, first
// and second (B, T, D), fp32 or bf16 each: h = first + second (bf16 only when both are) and g (B,
// group_rows, D) bf16, the rows of h shifted down by `shift` (k - 1) with zeros before them, which
// read as (B, m, k D) are the groups the shortening maps. backward: from dh (h's dtype, or null)
// and dg, dfirst and dsecond (null: not wanted), the gradients of first and second. Contiguous,
// 16-byte aligned, d a multiple of 4.
struct ShortenInput {
  bool backward = false;
  const void* first = nullptr;
  const void* second = nullptr;
  void* h = nullptr;
  void* g = nullptr;
  const void* dh = nullptr;
  const void* dg = nullptr;
  void* dfirst = nullptr;
  void* dsecond = nullptr;
  int64_t batch = 0, tokens = 0, group_rows = 0;
  int shift = 0, d = 0;
  bool first_bf16 = false, second_bf16 = false;
};
int shorten_input(const ShortenInput& args, cudaStream_t stream);

// A cuBLASLt product in column-major terms (gemm_lt.cu): D (m, n) = op(A) op(B), A and B bf16
// (A (m, k), or (k, m) stored when trans_a; B likewise (k, n) or (n, k)), D bf16 or fp32, fp32
// accumulation. kGelu: D = GELU(AB) (cuBLASLt's own); kGeluAux: that and aux (m, n) bf16 = AB;
// kDGelu: D = AB * GELU'(aux). Every pointer 16-byte aligned, ld_aux a multiple of 8. Returns a
// cublasStatus_t: 0 success, 15 (CUBLAS_STATUS_NOT_SUPPORTED) where no algorithm takes it.
enum class LtEpilogue { kNone = 0, kGelu = 1, kGeluAux = 2, kDGelu = 3 };
struct LtGemm {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  void* d = nullptr;
  int64_t ldd = 0;
  bool d_fp32 = false;
  LtEpilogue epilogue = LtEpilogue::kNone;
  void* aux = nullptr;
  int64_t ld_aux = 0;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};
int lt_gemm(const LtGemm& g, cudaStream_t stream);

// y (m, n) = x (m, k) W^T in fp32 for m <= kRowsLinearMax rows, W (n, k) row-major; k a multiple
// of 4, x and W 16-byte aligned, all contiguous. With gamma and beta (k, 16-byte aligned; m and k
// within kRowsLinearNorm*), x's rows are layer-normalized first (eps); after the product GELU
// (exact, erf) when `gelu`, then + residual (m, n) when it is not null.
constexpr int kRowsLinearMax = 16;
constexpr int kRowsLinearNormRows = 2, kRowsLinearNormWidth = 1024;
struct RowsLinear {
  const float* x = nullptr;
  const float* w = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float eps = 1e-5f;
  bool gelu = false;
  const float* residual = nullptr;
  float* y = nullptr;
  int m = 0, n = 0, k = 0;
};
int rows_linear(const RowsLinear& args, cudaStream_t stream);

// Attention of one query per (sequence, head) q (BH, hd), scaled by `scale`, over rows 0 .. *slot
// of k_cache and v_cache (BH, capacity, hd), fp32, hd one of 16, 32, 64, 128
// (decode_attention_head_dim), into out (BH, hd). One launch: blocks over splits of the keys,
// the last of each (sequence, head) merging them. part_out (BH, splits, hd) and part_stats
// (BH, splits, 2) are scratch of decode_attention_splits(capacity, hd, BH) splits; counters (BH)
// int32 must be zero before the first launch, and are zero again after each.
bool decode_attention_head_dim(int head_dim);
int decode_attention_splits(int64_t capacity, int head_dim, int batch_heads);
int decode_attention(const float* q, const float* k_cache, const float* v_cache,
                     const int64_t* slot, float* part_out, float* part_stats, int* counters,
                     float* out, int batch_heads, int head_dim, int64_t capacity, float scale,
                     cudaStream_t stream);

// Sampling on the device: for each of n sequences (one block each), the token at position
// *position from its logits (n, 256) fp32, as sampler.cpp's pick_token() picks it, in the same
// double-precision arithmetic and order: forced[pos] when >= 0 (probability 1), else by temperature
// (0: the most likely, lowest id among equals), top_k (0: off) and top_p with uniforms[pos][s].
// Writes the token to next_tokens[s] (the next step's input) and tokens[pos][s], its probability
// to probs[pos][s], the logits to logits_ring[pos % ring] when that is not null; the last block
// advances *position. done (int32) must be zero before the first launch, and is zero after each.
struct PickTokens {
  const float* logits = nullptr;     // (n, 256)
  const double* uniforms = nullptr;  // (length, n)
  const int* forced = nullptr;       // (length)
  int64_t* position = nullptr;       // (1)
  int* done = nullptr;               // (1)
  int64_t* next_tokens = nullptr;    // (n)
  int* tokens = nullptr;             // (length, n)
  float* probs = nullptr;            // (length, n)
  float* logits_ring = nullptr;      // (ring, n, 256) or null
  int64_t ring = 1;
  int n = 0;
  int64_t length = 0;
  double temperature = 1.0, top_p = 1.0;
  int top_k = 0;
};
int pick_tokens(const PickTokens& args, cudaStream_t stream);

}  // namespace cuda_kernels
}  // namespace hg
