// Fused CUDA operations (issue 8): one kernel where the op-by-op path launches several and moves
// the data several times: the rotary rotation (training and the chunked passes), LayerNorm with
// the residual add before it (forward and backward), and a decoding step's rotary and cache
// writes, matrix products of a few rows and attention of one query. Built when nvcc is found
// (model/CMakeLists.txt); elsewhere the fused_*() checks are false and the callers take the
// op-by-op path, which the tests hold these to.
#pragma once

#include <torch/torch.h>

#include <tuple>
#include <utility>
#include <vector>

#include "model/core/sample_types.h"

namespace hg {

// Whether work on `device` is being captured into a CUDA graph (its current stream): what is
// computed then is only recorded, so a cache must not keep it for use outside the graph.
bool capturing_graph(const torch::Device& device);

// Tells the caching allocator that t, handed out by a cache, is read on the current stream: when
// the cache lets it go, its memory waits for that stream's work before any reuse (CUDA; a no-op
// elsewhere and while a graph is captured).
void used_on_current_stream(const torch::Tensor& t);

// Whether this build has the fused rotation for x (B, H, T, hd): CUDA, fp32 or bf16, the last
// dimension contiguous and even.
bool fused_rotary(const torch::Tensor& x);
// rotate(x, cos, sign * sin) (attention.h) for x as fused_rotary() accepts, tables (T, hd)
// contiguous in x's dtype. The result is (B, H, T, hd), laid out as (B, T, H, hd) in memory.
torch::Tensor rotary_fused(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin, double sign);

// Whether qkv_rotary() applies to qkv (B, T, 3D) of `heads` heads: CUDA, fp32 or bf16, the head
// dimension a multiple of 8, the last dimension contiguous, the data 16-byte aligned and the
// strides multiples of 4 elements.
bool fused_qkv_rotary(const torch::Tensor& qkv, int64_t heads);
// {q, k, v} (B, H, T, hd) from a fused projection's output qkv: q and k rotated by the tables (T,
// hd) in qkv's dtype (rotary_tables()), in one launch; v a view of qkv. The backward writes qkv's
// gradient in one kernel (q's and k's rotated back, v's beside them), where the op-by-op path
// rotates each back and concatenates the three.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv_rotary(const torch::Tensor& qkv,
                                                                   const torch::Tensor& cos,
                                                                   const torch::Tensor& sin,
                                                                   int64_t heads);

// The mean cross-entropy of logits (..., 256) against targets (...) int64: what
// torch::cross_entropy_loss(logits.reshape({-1, 256}).to(torch::kFloat), targets.reshape(-1))
// computes, in fp32 from the logits as they are (bf16 or fp32), in two kernels forward and one
// backward on CUDA; that expression elsewhere. On CUDA a row whose target is outside 0..255 counts
// for nothing (-100 as torch's ignore_index; torch stops with an error on other such targets).
torch::Tensor token_loss(const torch::Tensor& logits, const torch::Tensor& targets);

// Whether this build has the fused decoding kernels and they apply to tensors like `x` (CUDA,
// fp32).
bool fused_decode(const torch::Tensor& x);

// qkv (B, 1, 3D) = the new token's query, key and value of H heads; cos, sin (capacity, hd): the
// level's rotary tables (rotary_tables()); slot (1) int64: the row to write. Rotates query and key,
// writes key and value into row slot of k_cache and v_cache (B, H, capacity, hd) and returns the
// rotated query (B, H, 1, hd).
torch::Tensor rotary_kv_step(const torch::Tensor& qkv, const torch::Tensor& cos,
                             const torch::Tensor& sin, const torch::Tensor& slot,
                             torch::Tensor& k_cache, torch::Tensor& v_cache);

// Whether this build has the fused LayerNorm for x (and delta, when defined: x's shape) with these
// parameters: CUDA, x and delta fp32 or bf16 (16-byte aligned), a multiple of 4 features up to
// 1024, weight and bias fp32, and autocast off or in bf16.
bool fused_layer_norm(const torch::Tensor& x, const torch::Tensor& delta,
                      const torch::Tensor& weight, const torch::Tensor& bias);
// {h, y}: h = x + delta (undefined when delta is), y = LayerNorm(h) over the last dimension, in
// one pass each way (autograd included). y is in autocast's dtype under autocast (what the next
// matrix product would cast it to), else in h's. delta may also be (B, Td, D) contiguous with
// Td > T for x (B, T, D): its first T rows of each sequence are added (an upsampled tensor of
// whole groups, without the narrowed copy), and its gradient has zeros in the other rows.
std::pair<torch::Tensor, torch::Tensor> layer_norm_fused(const torch::Tensor& x,
                                                         const torch::Tensor& delta,
                                                         const torch::Tensor& weight,
                                                         const torch::Tensor& bias, double eps);

// bf16 copies of a model's fp32 weights for one pass under bf16 autocast on CUDA (in a build with
// the kernels), made in one launch where autocast casts each weight in a kernel of its own when a
// product reads it. While a scope lives, bf16_weight(w) on its thread returns w's copy, and the
// products that find one (linear_rows, mlp_fused) read it and make the weight's gradient in fp32
// out of their own product, without autocast's cast of a bf16 gradient back. Scopes nest; one
// where this does not apply holds nothing. The copies are made when the scope is: a weight changed
// after that is not seen until the next scope.
class Bf16Weights {
 public:
  explicit Bf16Weights(const std::vector<torch::Tensor>& weights);
  // Whether a scope would hold copies for a pass over `like` (CUDA under bf16 autocast, a build
  // with the kernels): the caller need not gather the weights otherwise.
  static bool wanted(const torch::Tensor& like);
  ~Bf16Weights();
  Bf16Weights(const Bf16Weights&) = delete;
  Bf16Weights& operator=(const Bf16Weights&) = delete;
  bool active() const { return active_; }
  torch::Tensor find(const torch::Tensor& w) const;

 private:
  std::vector<std::pair<const void*, torch::Tensor>> copies_;  // (weight's impl, its copy)
  Bf16Weights* previous_ = nullptr;
  bool active_ = false;
};
// w's copy in the innermost live scope of this thread, or an undefined tensor.
torch::Tensor bf16_weight(const torch::Tensor& w);

// Whether shorten_input() applies: CUDA under bf16 autocast, in a build with the kernels, first
// and second (B, T, D) alike, contiguous, fp32 or bf16 each, D a multiple of 4.
bool fused_shorten_input(const torch::Tensor& first, const torch::Tensor& second);
// {h, g}: h = first + second (B, T, D) (bf16 only when both are) and g (B, group_rows, D) bf16,
// the rows of h shifted down by `shift` with zero rows before them: what a level's linear
// shortening reads, as (B, m, k D) with shift k - 1 and group_rows m k. One pass each way (autograd
// included), where the op-by-op path adds, concatenates the zeros, narrows and casts, and back.
std::pair<torch::Tensor, torch::Tensor> shorten_input(const torch::Tensor& first,
                                                      const torch::Tensor& second, int64_t shift,
                                                      int64_t group_rows);

// A LayerNorm over the last dimension, to apply to a product's input: fp32 weight and bias (k).
struct RowNorm {
  torch::Tensor weight, bias;
  double eps = 1e-5;
};

// LayerNorm(x) over the last dimension: layer_norm_fused where it applies, else torch's.
torch::Tensor apply_layer_norm(const torch::Tensor& x, const RowNorm& norm);

// x (..., k) W^T for W (n, k), then GELU when `gelu`, then residual + that when residual is
// defined; with a norm (weight defined), x is layer-normalized first. One kernel for at most 16
// rows of fp32 on CUDA without autograd or autocast (decoding), where cuBLAS reads the weights at
// a fraction of the memory bandwidth; the op-by-op torch::layer_norm, linear, gelu and add
// otherwise.
torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& weight, bool gelu = false,
                          const torch::Tensor& residual = {}, const RowNorm& norm = {});

// Whether mlp_fused() applies: CUDA under bf16 autocast (training), in a build with the kernels,
// x (..., D) fp32 or bf16, fc (H, D) and proj (D_out, H) fp32, every size a multiple of 8, and
// HOURGLASS_FUSED_MLP not 0 (the way to measure without it).
bool fused_mlp(const torch::Tensor& x, const torch::Tensor& fc, const torch::Tensor& proj);
// x fc^T, GELU, proj^T: (..., D_out) bf16, with its own backward. The GELU runs inside the first
// product (cuBLASLt's epilogue, which writes the pre-activation beside it) and its gradient
// inside the product that makes the hidden gradient, so neither reads nor writes the (rows, H)
// activations again; the weight gradients come out of their products in fp32. cuBLASLt's GELU
// may be the tanh approximation, which differs from the exact GELU of the other paths by at most
// 5e-4 (at x = -2.7): noise next to bf16 training's.
torch::Tensor mlp_fused(const torch::Tensor& x, const torch::Tensor& fc, const torch::Tensor& proj);

// Whether decode_attention() has a kernel for the query q (B, H, 1, hd): fused_decode(q) and hd
// 16, 32, 64 or 128.
bool fused_decode_attention(const torch::Tensor& q);
// Softmax attention of q (B, H, 1, hd) over rows 0 .. slot of the caches (B, H, capacity, hd),
// scaled by 1/sqrt(hd): (B, H, 1, hd), in one kernel that reads only the rows written so far.
// counters: decode_attention_counters(B, H, ...), kept with the caches (the kernel's blocks count
// themselves there and leave it zero).
torch::Tensor decode_attention_counters(int64_t batch, int64_t heads,
                                        const torch::TensorOptions& options);
torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& k_cache,
                               const torch::Tensor& v_cache, const torch::Tensor& slot,
                               torch::Tensor& counters);

// Whether pick_tokens() has a kernel for logits on this device (CUDA, in a build with the kernels).
bool fused_pick(const torch::Device& device);
// What the device's picks read and write, on the logits' device; length positions of n sequences.
struct PickBuffers {
  torch::Tensor uniforms;     // (length, n) double: sample s's draw at position p (where sampled)
  torch::Tensor forced;       // (length) int32: the token forced at p, or -1
  torch::Tensor position;     // (1) int64: the position picked next; each pick advances it
  torch::Tensor done;         // (1) int32, zero: the kernel's count of its blocks
  torch::Tensor tokens;       // (length, n) int32: the tokens picked
  torch::Tensor probs;        // (length, n) float: their probabilities (1 where forced)
  torch::Tensor logits_ring;  // (ring, n, 256) float, or undefined: logits of p at p % ring
  PickBuffers(int64_t length, int64_t n, int64_t ring, const torch::Device& device);
};
// The tokens at position *b.position from logits (n, 256) fp32, as pick_token() (sampler.h) picks
// them with o's temperature, top_k and top_p, in one kernel: into b and into next_tokens (n)
// int64, the next step's input.
void pick_tokens(const torch::Tensor& logits, const SampleOptions& o, PickBuffers& b,
                 torch::Tensor& next_tokens);

}  // namespace hg
