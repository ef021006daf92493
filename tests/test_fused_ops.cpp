// The fused CUDA operations (model/kernels/fused_ops.h) against the op-by-op computations they
// replace: LayerNorm with its residual add (forward and every gradient, fp32 and bf16, with and
// without autocast), the few-row matrix product and one-query decoding attention. Skipped without
// CUDA; on a build without the kernels they check the fallbacks.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#if defined(HOURGLASS_TEST_CUDA_GRAPHS)
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define HG_TEST_GRAPHS 1
#else
#define HG_TEST_GRAPHS 0
#endif

#include "model/decode/sampler.h"
#include "model/kernels/fused_ops.h"
#include "model/nn/attention.h"
#include "model/nn/compat.h"

namespace hg {
namespace {

struct NormCase {
  int64_t d;
  torch::ScalarType x_dtype;
  torch::ScalarType delta_dtype;  // Undefined: no residual add
  bool autocast;
};

// h, y and the gradients of x, delta, weight and bias (fp32 on the CPU) for a loss that weighs
// both outputs, either fused or computed op by op.
std::vector<torch::Tensor> norm_results(const NormCase& c, bool fused) {
  const torch::Device cuda(torch::kCUDA, 0);
  torch::manual_seed(11);
  const int64_t rows = 600;  // several rows per warp in the backward pass
  auto x = (torch::randn({2, rows / 2, c.d}) * 2.0 + 0.5).to(cuda, c.x_dtype).requires_grad_(true);
  const bool add = c.delta_dtype != torch::ScalarType::Undefined;
  torch::Tensor delta;
  if (add) delta = torch::randn({2, rows / 2, c.d}).to(cuda, c.delta_dtype).requires_grad_(true);
  auto weight = (torch::rand({c.d}) + 0.5).to(cuda).requires_grad_(true);
  auto bias = (torch::randn({c.d}) * 0.1).to(cuda).requires_grad_(true);
  auto wy = torch::randn({2, rows / 2, c.d}).to(cuda),
       wh = torch::randn({2, rows / 2, c.d}).to(cuda);
  torch::Tensor h, y;
  if (fused) {
    CudaAutocast autocast(c.autocast);
    EXPECT_TRUE(can_fuse_layer_norm(x, delta, weight, bias));
    std::tie(h, y) = layer_norm_fused(x, delta, weight, bias, 1e-5);
  } else {
    h = add ? x + delta : x;
    const auto y_dtype = c.autocast ? torch::kBFloat16 : h.scalar_type();
    y = torch::layer_norm(h.to(torch::kFloat), {c.d}, weight, bias, 1e-5).to(y_dtype);
  }
  if (!add) h = x;
  EXPECT_EQ(y.scalar_type(), c.autocast ? torch::kBFloat16 : h.scalar_type());
  auto loss = (y.to(torch::kFloat) * wy).sum();
  if (add) loss = loss + (h.to(torch::kFloat) * wh).sum();
  loss.backward();
  auto cpu = [](const torch::Tensor& t) {
    return t.defined() ? t.detach().to(torch::kCPU, torch::kFloat) : torch::zeros({1});
  };
  return {
      cpu(h),          cpu(y), cpu(x.grad()), add ? cpu(delta.grad()) : cpu({}), cpu(weight.grad()),
      cpu(bias.grad())};
}

TEST(FusedCuda, LayerNormMatchesTheOpByOpNormForwardAndBackward) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (!can_fuse_layer_norm(torch::zeros({1, 8}, torch::kCUDA), {}, torch::ones({8}, torch::kCUDA),
                           torch::zeros({8}, torch::kCUDA)))
    GTEST_SKIP() << "this build has no fused kernels";
  const auto f32 = torch::kFloat, bf16 = torch::kBFloat16, none = torch::ScalarType::Undefined;
  const char* names[] = {"h", "y", "dx", "ddelta", "dweight", "dbias"};
  for (const NormCase& c : {NormCase{384, f32, none, false}, NormCase{1024, f32, f32, false},
                            NormCase{40, f32, bf16, true}, NormCase{512, bf16, bf16, true},
                            NormCase{384, bf16, none, false}, NormCase{96, bf16, f32, false},
                            NormCase{512, f32, f32, true}, NormCase{1024, f32, bf16, true},
                            NormCase{640, bf16, bf16, true}, NormCase{768, f32, none, true}}) {
    const auto fused = norm_results(c, true), reference = norm_results(c, false);
    const bool low = c.x_dtype == bf16 || c.delta_dtype == bf16 || c.autocast;
    for (size_t i = 0; i < fused.size(); ++i) {
      // bf16 outputs may round the other way; the weight gradients sum 600 rows of them.
      const double tol = !low ? 1e-4 : (i >= 4 ? 0.2 : 3e-2);
      EXPECT_TRUE(torch::allclose(fused[i], reference[i], tol, tol))
          << names[i] << " d " << c.d << " x " << c.x_dtype << " delta " << c.delta_dtype
          << " autocast " << c.autocast << ": "
          << (fused[i] - reference[i]).abs().max().item<double>();
    }
    EXPECT_GT(fused[2].abs().max().item<double>(), 0.01);
  }
  // Widths the kernels do not take (not a multiple of 4) go to the module.
  EXPECT_FALSE(can_fuse_layer_norm(torch::zeros({2, 30}, torch::kCUDA), {},
                                   torch::ones({30}, torch::kCUDA),
                                   torch::zeros({30}, torch::kCUDA)));
}

// A delta with more rows per sequence than x (an upsampled tensor of whole groups): its first rows
// are added, and its gradient is zero in the others.
TEST(FusedCuda, LayerNormAddsTheFirstRowsOfALongerDelta) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  for (const auto x_dtype : {torch::kFloat, torch::kBFloat16}) {
    torch::manual_seed(5);
    auto x = torch::randn({3, 100, 64}).to(cuda, x_dtype).requires_grad_(true);
    auto delta = torch::randn({3, 102, 64}).to(cuda, torch::kBFloat16).requires_grad_(true);
    auto weight = (torch::rand({64}) + 0.5).to(cuda).requires_grad_(true);
    auto bias = (torch::randn({64}) * 0.1).to(cuda).requires_grad_(true);
    auto wy = torch::randn({3, 100, 64}).to(cuda), wh = torch::randn({3, 100, 64}).to(cuda);
    if (!can_fuse_layer_norm(x, delta, weight, bias)) GTEST_SKIP() << "no fused kernels";
    std::vector<torch::Tensor> results[2];
    for (bool fused : {true, false}) {
      torch::Tensor h, y;
      {
        CudaAutocast autocast(true);
        if (fused) {
          std::tie(h, y) = layer_norm_fused(x, delta, weight, bias, 1e-5);
        } else {
          h = x + delta.narrow(1, 0, 100);
          y = torch::layer_norm(h.to(torch::kFloat), {64}, weight, bias, 1e-5).to(torch::kBFloat16);
        }
      }
      ((y.to(torch::kFloat) * wy).sum() + (h.to(torch::kFloat) * wh).sum()).backward();
      for (const auto& t : {h, y, x.grad(), delta.grad(), weight.grad(), bias.grad()})
        results[fused ? 0 : 1].push_back(t.detach().to(torch::kCPU, torch::kFloat).clone());
      for (auto* t : {&x, &delta, &weight, &bias}) t->mutable_grad().reset();
    }
    const char* names[] = {"h", "y", "dx", "ddelta", "dweight", "dbias"};
    for (size_t i = 0; i < 6; ++i) {
      const double tol = i >= 4 ? 0.2 : 3e-2;
      EXPECT_TRUE(torch::allclose(results[0][i], results[1][i], tol, tol))
          << names[i] << " x " << x_dtype << ": "
          << (results[0][i] - results[1][i]).abs().max().item<double>();
    }
    EXPECT_EQ(results[0][3].narrow(1, 100, 2).abs().max().item<double>(), 0.0);
    EXPECT_GT(results[0][3].narrow(1, 0, 100).abs().max().item<double>(), 0.01);
  }
}

// The shortening's input in one kernel (sum, shift by k - 1, groups in bf16) against the op-by-op
// add, concatenation of zeros, narrowing and cast, forward and both gradients.
TEST(FusedCuda, ShortenInputMatchesTheOpByOpShiftAndItsGradients) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  const auto f32 = torch::kFloat, bf16 = torch::kBFloat16;
  struct Case {
    torch::ScalarType first, second;
    int64_t tokens, d, k;
  };
  for (const Case& c : {Case{f32, bf16, 301, 64, 3}, Case{bf16, bf16, 300, 96, 2},
                        Case{f32, f32, 37, 32, 4}, Case{bf16, f32, 64, 16, 4}}) {
    torch::manual_seed(7);
    auto first = torch::randn({2, c.tokens, c.d}).to(cuda, c.first).requires_grad_(true);
    auto second = torch::randn({2, c.tokens, c.d}).to(cuda, c.second).requires_grad_(true);
    const int64_t m = (c.tokens - 1) / c.k + 1, rows = m * c.k;
    auto wh = torch::randn({2, c.tokens, c.d}).to(cuda), wg = torch::randn({2, rows, c.d}).to(cuda);
    std::vector<torch::Tensor> results[2];
    for (bool fused : {true, false}) {
      torch::Tensor h, g;
      {
        CudaAutocast autocast(true);
        if (!can_fuse_shorten_input(first, second)) GTEST_SKIP() << "no fused kernels";
        if (fused) {
          std::tie(h, g) = shorten_input(first, second, c.k - 1, rows);
        } else {
          h = first + second;
          auto ext = torch::cat({torch::zeros({2, c.k - 1, c.d}, h.options()), h}, 1);
          g = ext.narrow(1, 0, rows).to(bf16);
        }
      }
      EXPECT_EQ(g.scalar_type(), bf16);
      EXPECT_EQ(g.size(1), rows);
      ((h.to(f32) * wh).sum() + (g.to(f32) * wg).sum()).backward();
      EXPECT_EQ(first.grad().scalar_type(), c.first);
      EXPECT_EQ(second.grad().scalar_type(), c.second);
      for (const auto& t : {h, g, first.grad(), second.grad()})
        results[fused ? 0 : 1].push_back(t.detach().to(torch::kCPU, f32).clone());
      first.mutable_grad().reset();
      second.mutable_grad().reset();
    }
    const char* names[] = {"h", "g", "dfirst", "dsecond"};
    for (size_t i = 0; i < 4; ++i)  // the same sums, rounded the same way
      EXPECT_TRUE(torch::allclose(results[0][i], results[1][i], 1e-6, 1e-6))
          << names[i] << " tokens " << c.tokens << " k " << c.k << ": "
          << (results[0][i] - results[1][i]).abs().max().item<double>();
    EXPECT_EQ(results[0][1].narrow(1, 0, c.k - 1).abs().max().item<double>(), 0.0);
  }
}

// Products that read the weights' bf16 copies (one launch for all, Bf16Weights) against autocast's
// own casts: the same outputs and gradients, the weight's gradient now straight out of its product
// in fp32. Outside the scope there are no copies.
TEST(FusedCuda, Bf16WeightCopiesGiveAutocastsProducts) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  torch::manual_seed(3);
  auto x = torch::randn({2, 37, 64}).to(cuda).requires_grad_(true);
  auto w = (torch::randn({96, 64}) * 0.1).to(cuda).requires_grad_(true);
  auto fc = (torch::randn({128, 64}) * 0.1).to(cuda).requires_grad_(true);
  auto proj = (torch::randn({64, 128}) * 0.1).to(cuda).requires_grad_(true);
  auto odd = torch::randn({3, 5}).to(cuda);  // 15 elements: a copy's tail of single elements
  auto wy = torch::randn({2, 37, 96}).to(cuda), wz = torch::randn({2, 37, 64}).to(cuda);
  std::vector<torch::Tensor> results[2];
  for (bool copies : {true, false}) {
    torch::Tensor y, z;
    {
      CudaAutocast autocast(true);
      Bf16Weights scope(copies ? std::vector<torch::Tensor>{w, fc, proj, odd}
                               : std::vector<torch::Tensor>{});
      if (copies) {
        if (!scope.active()) GTEST_SKIP() << "no fused kernels";
        for (const auto* t : {&w, &fc, &proj, &odd})
          EXPECT_TRUE(torch::equal(bf16_weight(*t), t->to(torch::kBFloat16)));
      }
      y = linear_rows(x, w);
      if (copies)  // the copy's product with its own backward, not autocast's linear
        EXPECT_NE(y.grad_fn()->name().find("LinearFunction"), std::string::npos)
            << y.grad_fn()->name();
      z = can_fuse_mlp(x, fc, proj) ? mlp_fused(x, fc, proj)
                                    : linear_rows(linear_rows(x, fc, true), proj);
    }
    EXPECT_FALSE(bf16_weight(w).defined());
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    ((y.to(torch::kFloat) * wy).sum() + (z.to(torch::kFloat) * wz).sum()).backward();
    for (const auto& t : {y, z, x.grad(), w.grad(), fc.grad(), proj.grad()})
      results[copies ? 0 : 1].push_back(t.detach().to(torch::kCPU, torch::kFloat).clone());
    EXPECT_EQ(w.grad().scalar_type(), torch::kFloat);
    for (auto* t : {&x, &w, &fc, &proj}) t->mutable_grad().reset();
  }
  const char* names[] = {"y", "z", "dx", "dw", "dfc", "dproj"};
  for (size_t i = 0; i < 6; ++i) {
    const double scale = results[1][i].abs().max().item<double>();
    EXPECT_LT((results[0][i] - results[1][i]).abs().max().item<double>(), 2e-2 * scale) << names[i];
    EXPECT_GT(scale, 0.01) << names[i];
  }
}

// The query's and key's rotation in one launch and the projection's whole gradient in one kernel,
// against the chunked projection rotated op by op (fp32 and bf16, 3 heads of 32 and 2 of 64).
TEST(FusedCuda, QkvRotaryMatchesTheChunkedRotationAndItsGradient) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    for (const int64_t heads : {3, 2}) {
      const int64_t hd = heads == 3 ? 32 : 64, d = heads * hd, t = 45;
      torch::manual_seed(2);
      auto qkv = torch::randn({2, t, 3 * d}).to(cuda, dtype).requires_grad_(true);
      if (!can_fuse_qkv_rotary(qkv, heads)) GTEST_SKIP() << "no fused kernels";
      auto positions = torch::arange(t, torch::dtype(torch::kFloat).device(cuda)) * 3.0;
      auto [cos, sin] = rotary_tables(positions, hd, 10000.0, dtype);
      auto w = torch::randn({3, 2, heads, t, hd}).to(cuda);
      std::vector<torch::Tensor> results[2];
      for (bool fused : {true, false}) {
        torch::Tensor q, k, v;
        if (fused) {
          std::tie(q, k, v) = qkv_rotary(qkv, cos, sin, heads);
        } else {
          auto parts = qkv.chunk(3, -1);
          auto split = [&](const torch::Tensor& x) {
            return x.view({2, t, heads, hd}).transpose(1, 2);
          };
          q = rotate(split(parts[0]), cos, sin), k = rotate(split(parts[1]), cos, sin);
          v = split(parts[2]);
        }
        auto loss = (q.to(torch::kFloat) * w[0]).sum() + (k.to(torch::kFloat) * w[1]).sum() +
                    (v.to(torch::kFloat) * w[2]).sum();
        loss.backward();
        for (const auto& x : {q, k, v, qkv.grad()})
          results[fused ? 0 : 1].push_back(x.detach().to(torch::kCPU, torch::kFloat).clone());
        qkv.mutable_grad().reset();
      }
      const double tol = dtype == torch::kFloat ? 1e-5 : 2e-2;
      const char* names[] = {"q", "k", "v", "dqkv"};
      for (size_t i = 0; i < 4; ++i)
        EXPECT_TRUE(torch::allclose(results[0][i], results[1][i], tol, tol))
            << names[i] << " " << dtype << " heads " << heads << ": "
            << (results[0][i] - results[1][i]).abs().max().item<double>();
    }
  }
}

// The fused cross-entropy against torch's (on fp32 copies of the logits): the loss and its
// gradient, bf16 and fp32 logits, a scaled upstream gradient, and rows without a target (-100).
TEST(FusedCuda, TokenLossMatchesTorchsCrossEntropy) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  for (const auto dtype : {torch::kBFloat16, torch::kFloat}) {
    torch::manual_seed(8);
    auto logits = (torch::randn({3, 333, 256}) * 3.0).to(cuda, dtype).requires_grad_(true);
    auto targets = torch::randint(0, 256, {3, 333}, torch::kLong);
    targets.narrow(1, 0, 5).fill_(-100);  // ignored, as torch's default ignore_index
    targets = targets.to(cuda);
    std::vector<torch::Tensor> results[2];
    for (bool fused : {true, false}) {
      auto loss = fused ? token_loss(logits, targets)
                        : torch::cross_entropy_loss(logits.reshape({-1, 256}).to(torch::kFloat),
                                                    targets.reshape(-1));
      EXPECT_EQ(loss.dim(), 0);
      (loss * 0.5).backward();
      results[fused ? 0 : 1] = {loss.detach().cpu(), logits.grad().to(torch::kCPU, torch::kFloat)};
      logits.mutable_grad().reset();
    }
    EXPECT_NEAR(results[0][0].item<double>(), results[1][0].item<double>(), 1e-5) << dtype;
    const double tol = dtype == torch::kFloat ? 1e-7 : 1e-5;
    EXPECT_TRUE(torch::allclose(results[0][1], results[1][1], 1e-2, tol))
        << dtype << ": " << (results[0][1] - results[1][1]).abs().max().item<double>();
    EXPECT_EQ(results[0][1].narrow(1, 0, 5).abs().max().item<double>(), 0.0);
  }
}

// A CUDA graph captured after a warm-up reads the cached positions and rotary tables; churning
// the caches afterwards (and refilling the freed memory) must not change what its replays compute.
TEST(FusedCuda, GraphsKeepTheCachedRotaryTablesTheyRead) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#if HG_TEST_GRAPHS
  const torch::Device cuda(torch::kCUDA, 0);
  auto stream = c10::cuda::getStreamFromPool(false, 0);
  c10::cuda::CUDAStreamGuard guard(stream);
  const int64_t t = 333;
  auto x = torch::randn({2, 4, t, 64}, torch::dtype(torch::kFloat).device(cuda));
  auto eager = apply_rotary(x, level_positions(0, t, 7, cuda), 10000.0);  // fills the caches
  stream.synchronize();
  at::cuda::CUDAGraph graph;
  torch::Tensor replayed;
  graph.capture_begin();
  replayed = apply_rotary(x, level_positions(0, t, 7, cuda), 10000.0);
  graph.capture_end();
  for (int64_t n = 1; n <= 40; ++n) {  // other spans push the captured ones out of the caches
    auto small = torch::randn({1, 1, n, 64}, x.options());
    apply_rotary(small, level_positions(0, n, 7, cuda), 10000.0);
  }
  std::vector<torch::Tensor> filler;
  for (int i = 0; i < 64; ++i) filler.push_back(torch::full({t, 64}, 1e4, x.options()));
  graph.replay();
  stream.synchronize();
  EXPECT_TRUE(torch::allclose(replayed, eager, 1e-5, 1e-5))
      << (replayed - eager).abs().max().item<double>();
#else
  GTEST_SKIP() << "this libtorch has no CUDA graphs";
#endif
}

TEST(FusedCuda, LinearRowsMatchesTorchLinear) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  at::globalContext().setAllowTF32CuBLAS(false);
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  struct Shape {
    int64_t n, k;
  };
  for (const Shape s : {Shape{5, 12}, Shape{512, 512}, Shape{1536, 2048}, Shape{7, 36}}) {
    auto w = torch::randn({s.n, s.k});
    for (int64_t m : {1, 2, 3, 5, 8, 13, 16, 17}) {
      auto x = torch::randn({m, 1, s.k});
      auto expected = torch::linear(x, w);
      auto got = linear_rows(x.to(torch::kCUDA), w.to(torch::kCUDA)).cpu();
      ASSERT_EQ(got.sizes(), expected.sizes());
      EXPECT_TRUE(torch::allclose(got, expected, 1e-4, 1e-4))
          << "m " << m << " n " << s.n << " k " << s.k << ": "
          << (got - expected).abs().max().item<double>();
      // With the epilogues: GELU, then a residual added (the MLP's last product in a block).
      auto residual = torch::randn(expected.sizes());
      auto fused = linear_rows(x.to(torch::kCUDA), w.to(torch::kCUDA), /*gelu=*/true,
                               residual.to(torch::kCUDA))
                       .cpu();
      auto reference = residual + torch::gelu(expected);
      EXPECT_TRUE(torch::allclose(fused, reference, 1e-4, 1e-4))
          << "gelu + residual, m " << m << " n " << s.n << " k " << s.k << ": "
          << (fused - reference).abs().max().item<double>();
      // With a LayerNorm of x first (a block's norm inside its first product); x off centre.
      const RowNorm norm{torch::rand({s.k}) + 0.5, torch::randn({s.k}) * 0.1, 1e-5};
      x = x * 3.0 + 2.0;
      auto normed = linear_rows(x.to(torch::kCUDA), w.to(torch::kCUDA), false, {},
                                {norm.weight.to(torch::kCUDA), norm.bias.to(torch::kCUDA), 1e-5})
                        .cpu();
      auto normed_ref = torch::linear(torch::layer_norm(x, {s.k}, norm.weight, norm.bias, 1e-5), w);
      EXPECT_TRUE(torch::allclose(normed, normed_ref, 1e-4, 1e-4))
          << "norm, m " << m << " n " << s.n << " k " << s.k << ": "
          << (normed - normed_ref).abs().max().item<double>();
    }
  }
  // A slice of the rows of a weight (the decoding step of linear upsampling).
  auto w = torch::randn({3 * 64, 64}), x = torch::randn({4, 1, 64});
  auto got = linear_rows(x.to(torch::kCUDA), w.to(torch::kCUDA).narrow(0, 64, 64)).cpu();
  EXPECT_TRUE(torch::allclose(got, torch::linear(x, w.narrow(0, 64, 64)), 1e-4, 1e-4));
}

TEST(FusedCuda, DecodeAttentionReadsRowsUpToTheSlot) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(9);
  struct Shape {
    int64_t batch, heads;  // 6 (sequence, head) pairs take 8 passes per split, 64 take 16
  };
  for (const Shape shape : {Shape{2, 3}, Shape{16, 4}})
    for (int64_t hd : {64, 32, 128, 16}) {
      const int64_t capacity = 300, b = shape.batch, h = shape.heads;
      auto q = torch::randn({b, h, 1, hd}), k = torch::randn({b, h, capacity, hd}) * 2.0,
           v = torch::randn({b, h, capacity, hd});
      if (!can_fuse_decode_attention(q.to(torch::kCUDA))) GTEST_SKIP() << "no fused kernels";
      auto counters =
          decode_attention_counters(b, h, torch::dtype(torch::kFloat).device(torch::kCUDA));
      for (int64_t slot : {0, 1, 63, 64, 127, 128, 200, 299}) {
        auto keys = k.narrow(2, 0, slot + 1), values = v.narrow(2, 0, slot + 1);
        auto weights = torch::softmax(torch::matmul(q, keys.transpose(2, 3)) / std::sqrt(hd), -1);
        auto expected = torch::matmul(weights, values);  // (B, H, 1, hd)
        // Rows past the slot hold garbage that must not be read.
        auto k_gpu = k.to(torch::kCUDA), v_gpu = v.to(torch::kCUDA);
        if (slot + 1 < capacity) {
          k_gpu.narrow(2, slot + 1, capacity - slot - 1).fill_(1e4);
          v_gpu.narrow(2, slot + 1, capacity - slot - 1).fill_(NAN);
        }
        const auto slot_t = torch::full({1}, slot, torch::dtype(torch::kLong).device(torch::kCUDA));
        auto got = decode_attention(q.to(torch::kCUDA), k_gpu, v_gpu, slot_t, counters).cpu();
        // Its blocks leave the counters at zero for the next call (this loop reuses them).
        EXPECT_EQ(counters.abs().sum().item<int64_t>(), 0);
        EXPECT_TRUE(torch::allclose(got, expected, 1e-5, 1e-5))
            << b << "x" << h << " hd " << hd << " slot " << slot << ": "
            << (got - expected).abs().max().item<double>();
      }
    }
}

TEST(FusedOps, LinearRowsFallsBackToTorchLinear) {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({3, 1, 10}), w = torch::randn({6, 10});  // k not a multiple of 4
  EXPECT_TRUE(torch::allclose(linear_rows(x, w), torch::linear(x, w)));
  auto r = torch::randn({3, 1, 6});
  EXPECT_TRUE(torch::allclose(linear_rows(x, w, true, r), r + torch::gelu(torch::linear(x, w))));
  const RowNorm norm{torch::rand({10}) + 0.5, torch::randn({10}), 1e-5};
  EXPECT_TRUE(
      torch::allclose(linear_rows(x, w, false, {}, norm),
                      torch::linear(torch::layer_norm(x, {10}, norm.weight, norm.bias), w)));
  EXPECT_FALSE(can_fuse_layer_norm(x, {}, torch::ones({10}), torch::zeros({10})));  // the CPU
  EXPECT_FALSE(can_pick_on_device(torch::kCPU));  // the sampler picks on the host there
  EXPECT_FALSE(can_fuse_mlp(torch::randn({2, 3, 8}), torch::randn({32, 8}), torch::randn({8, 32})));
}

// The MLP with its GELU inside cuBLASLt's products (bf16 training) against autocast's op-by-op
// MLP: the output and the gradients of x and both weights, for row counts that fill no tile.
TEST(FusedCuda, MlpMatchesTheOpByOpMlpAndItsGradients) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  for (const auto& [rows, d] :
       std::vector<std::pair<int64_t, int64_t>>{{3, 64}, {301, 128}, {2048, 384}}) {
    torch::manual_seed(5);
    const int64_t hidden = 4 * d;
    auto x0 = torch::randn({rows, d}).to(cuda, torch::kBFloat16);
    auto fc0 = (torch::randn({hidden, d}) / std::sqrt(static_cast<double>(d))).to(cuda);
    auto proj0 = (torch::randn({d, hidden}) / std::sqrt(static_cast<double>(hidden))).to(cuda);
    auto weights = torch::randn({rows, d}).to(cuda);
    std::vector<torch::Tensor> results[2];
    for (int fused = 0; fused < 2; ++fused) {
      auto x = x0.clone().requires_grad_(true), fc = fc0.clone().requires_grad_(true),
           proj = proj0.clone().requires_grad_(true);
      torch::Tensor y;
      {
        CudaAutocast autocast(true);
        if (fused) {
          if (!can_fuse_mlp(x, fc, proj)) GTEST_SKIP() << "this build has no fused MLP";
          y = mlp_fused(x, fc, proj);
        } else {
          y = torch::linear(torch::gelu(torch::linear(x, fc)), proj);
        }
      }
      EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
      if (fused) {  // without autograd the GELU's product keeps no pre-activations: same output
        torch::NoGradGuard no_grad;
        CudaAutocast autocast(true);
        const auto plain = mlp_fused(x, fc, proj).to(torch::kFloat);
        EXPECT_LT((plain - y.to(torch::kFloat)).abs().max().item<double>(),
                  1e-2 * y.to(torch::kFloat).abs().max().item<double>());
      }
      (y.to(torch::kFloat) * weights).sum().backward();
      EXPECT_EQ(fc.grad().scalar_type(), torch::kFloat);
      EXPECT_EQ(x.grad().scalar_type(), torch::kBFloat16);
      for (const auto& t : {y, x.grad(), fc.grad(), proj.grad()})
        results[fused].push_back(t.to(torch::kCPU, torch::kFloat));
    }
    const char* names[] = {"y", "dx", "dfc", "dproj"};
    for (size_t i = 0; i < 4; ++i) {
      const auto& got = results[1][i];
      const auto& expected = results[0][i];
      // bf16 products summed in other orders, and a GELU within 5e-4 of the exact one.
      const double scale = expected.abs().max().item<double>();
      const double error = (got - expected).abs().max().item<double>();
      EXPECT_GT(scale, 1e-3) << names[i];
      EXPECT_LT(error, 3e-2 * scale) << names[i] << " rows " << rows << " d " << d;
      const double mean_error = (got - expected).abs().mean().item<double>();
      EXPECT_LT(mean_error, 1e-2 * expected.abs().mean().item<double>() + 1e-6)
          << names[i] << " rows " << rows << " d " << d;
    }
  }
}

// The device's picks equal pick_token()'s on the same logits and uniforms: every sampling mode,
// rows with ties, a forced position; the position advances and the block count returns to zero.
TEST(FusedCuda, PickTokensPicksWhatTheHostPicks) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  if (!can_pick_on_device(cuda)) GTEST_SKIP() << "no fused kernels";
  torch::manual_seed(8);
  const int64_t n = 48, length = 3;
  auto base = torch::randn({n, 256}) * 3.0;
  base.narrow(0, 0, 8).copy_(torch::round(base.narrow(0, 0, 8)));  // ties
  base[8][0] = NAN, base[9][17] = NAN, base[10][5] = INFINITY, base[11][3] = -INFINITY;
  base[12].fill_(NAN);  // a diverged model: still a real token
  // Each position its own logits, so that the ring's rows can be told apart.
  std::vector<torch::Tensor> logits;
  for (int64_t pos = 0; pos < length; ++pos) logits.push_back(base * (1.0 + 0.25 * pos));
  auto u = torch::rand({length, n}, torch::kDouble);
  for (const SampleOptions& o : [] {
         std::vector<SampleOptions> all(6);
         all[1].temperature = 0.0;
         all[2].temperature = 0.7, all[2].top_k = 5;
         all[3].temperature = 1.3, all[3].top_p = 0.9;
         all[4].top_k = 40, all[4].top_p = 0.5;
         all[5].top_k = 1;
         return all;
       }()) {
    PickBuffers b(length, n, 2, cuda);
    b.uniforms.copy_(u);
    b.forced.select(0, 1).fill_(65);  // position 1 is forced
    auto next = torch::zeros({n, 1}, torch::dtype(torch::kLong).device(cuda));
    for (int64_t pos = 0; pos < length; ++pos) pick_tokens(logits[pos].to(cuda), o, b, next);
    EXPECT_EQ(b.position.item<int64_t>(), length);
    EXPECT_EQ(b.done.item<int>(), 0);
    const auto tokens = b.tokens.cpu(), probs = b.probs.cpu();
    for (int64_t pos = 0; pos < length; ++pos)
      for (int64_t s = 0; s < n; ++s) {
        int want = 65;
        float want_p = 1.0f;
        if (pos != 1)
          std::tie(want, want_p) = pick_token(logits[pos][s].contiguous().data_ptr<float>(), o,
                                              u[pos][s].item<double>());
        ASSERT_EQ(tokens[pos][s].item<int>(), want)
            << "position " << pos << " row " << s << " temperature " << o.temperature << " top-k "
            << o.top_k << " top-p " << o.top_p;
        const float got_p = probs[pos][s].item<float>();
        EXPECT_TRUE(got_p == want_p || (std::isnan(got_p) && std::isnan(want_p)))
            << got_p << " vs " << want_p << " row " << s;
      }
    EXPECT_TRUE(torch::equal(next.view({n}).to(torch::kInt).cpu(), tokens[length - 1]));
    // Position 2 went to row 0 of the ring, position 1 to row 1 (raw, NaN included).
    EXPECT_TRUE(torch::allclose(b.logits_ring[0].cpu(), logits[2], 0.0, 0.0, /*equal_nan=*/true));
    EXPECT_TRUE(torch::allclose(b.logits_ring[1].cpu(), logits[1], 0.0, 0.0, /*equal_nan=*/true));
  }
}

}  // namespace
}  // namespace hg
