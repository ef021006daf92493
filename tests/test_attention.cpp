// The attention paths agree with each other; rotary positions encode relative distance only.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "model/nn/attention.h"
#include "model/nn/compat.h"

namespace hg {
namespace {

constexpr double kTol = 1e-5;  // fp32, small sizes

struct Qkv {
  torch::Tensor q, k, v;
};

Qkv random_qkv(int64_t tq, int64_t tk) {
  torch::manual_seed(7);
  return {torch::randn({2, 3, tq, 8}), torch::randn({2, 3, tk, 8}), torch::randn({2, 3, tk, 8})};
}

// A causal reference written from the definition, one query at a time.
torch::Tensor reference(const Qkv& x, const torch::Tensor& allowed) {
  auto out = torch::zeros_like(x.q);
  for (int64_t i = 0; i < x.q.size(2); ++i) {
    for (int64_t b = 0; b < x.q.size(0); ++b) {
      for (int64_t h = 0; h < x.q.size(1); ++h) {
        auto keep = allowed[i].nonzero().squeeze(1);
        auto keys = x.k[b][h].index_select(0, keep);  // (n, hd)
        auto scores = torch::mv(keys, x.q[b][h][i]) / std::sqrt(8.0);
        out[b][h][i] = torch::mv(x.v[b][h].index_select(0, keep).t(), torch::softmax(scores, 0));
      }
    }
  }
  return out;
}

TEST(Attention, CausalPathsAgreeWithTheDefinition) {
  const Qkv x = random_qkv(9, 9);
  const auto causal = torch::ones({9, 9}, torch::kBool).tril();
  const auto expected = reference(x, causal);
  const AttentionMask mask{true, {}};
  EXPECT_TRUE(torch::allclose(attend(x.q, x.k, x.v, mask, 0.0, AttentionPath::kExplicit), expected,
                              kTol, kTol));
  auto [out, weights] = attend_with_weights(x.q, x.k, x.v, mask);
  EXPECT_TRUE(torch::allclose(out, expected, kTol, kTol));
  EXPECT_TRUE(torch::allclose(weights.sum(-1), torch::ones({2, 3, 9}), kTol, kTol));
  EXPECT_EQ(weights.index({0, 0, 2, 3}).item<float>(), 0.0f);  // the future gets no weight
  if (kHasSdpa) {
    EXPECT_TRUE(torch::allclose(attend(x.q, x.k, x.v, mask, 0.0, AttentionPath::kSdpa), expected,
                                kTol, kTol));
  } else {
    EXPECT_THROW(attend(x.q, x.k, x.v, mask, 0.0, AttentionPath::kSdpa), c10::Error);
  }
}

TEST(Attention, ExplicitMaskPathsAgree) {
  const Qkv x = random_qkv(4, 11);
  // Query a may see keys <= 2a + 2 (the shape of the shortening masks).
  auto allowed = torch::arange(11).unsqueeze(0) <= (torch::arange(4) * 2 + 2).unsqueeze(1);
  const auto expected = reference(x, allowed);
  const AttentionMask mask{false, allowed};
  EXPECT_TRUE(torch::allclose(attend(x.q, x.k, x.v, mask, 0.0, AttentionPath::kExplicit), expected,
                              kTol, kTol));
  EXPECT_TRUE(
      torch::allclose(attend_with_weights(x.q, x.k, x.v, mask).first, expected, kTol, kTol));
  if (kHasSdpa)
    EXPECT_TRUE(torch::allclose(attend(x.q, x.k, x.v, mask, 0.0, AttentionPath::kSdpa), expected,
                                kTol, kTol));
}

TEST(Rotary, ScoresDependOnDistanceOnly) {
  torch::manual_seed(3);
  auto q = torch::randn({1, 1, 1, 16}), k = torch::randn({1, 1, 1, 16});
  auto score = [&](float pq, float pk) {
    auto rq = apply_rotary(q, torch::tensor({pq}), 10000.0);
    auto rk = apply_rotary(k, torch::tensor({pk}), 10000.0);
    return (rq * rk).sum().item<double>();
  };
  EXPECT_NEAR(score(5, 2), score(105, 102), 1e-4);
  EXPECT_NEAR(score(9, 0), score(27, 18), 1e-4);
  EXPECT_GT(std::abs(score(5, 2) - score(5, 4)), 1e-3);  // a different distance does change it
  // Rotation keeps the norm.
  auto r = apply_rotary(q, torch::tensor({37.0f}), 10000.0);
  EXPECT_NEAR(r.norm().item<double>(), q.norm().item<double>(), 1e-4);
}

// apply_rotary has a backward of its own (the inverse rotation): it must equal what autograd
// derives from the rotation's arithmetic.
TEST(Rotary, GradientEqualsAutograd) {
  torch::manual_seed(4);
  auto positions = torch::arange(7, torch::kFloat) * 3.0;
  auto x = torch::randn({2, 3, 7, 16}, torch::requires_grad());
  auto w = torch::randn({2, 3, 7, 16});
  (apply_rotary(x, positions, 10000.0) * w).sum().backward();
  auto [cos, sin] = rotary_tables(positions, 16, 10000.0, torch::kFloat);
  auto y = x.detach().clone().requires_grad_(true);
  (rotate(y, cos, sin) * w).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(torch::allclose(x.grad(), y.grad(), 1e-5, 1e-5))
      << (x.grad() - y.grad()).abs().max().item<double>();
  EXPECT_GT(x.grad().abs().max().item<double>(), 0.1);
}

// On CUDA the rotation and its backward are one fused kernel each (fused_ops.h, when built with
// nvcc): the same values and gradients as the CPU, for a strided view like the attention's
// queries (fp32), and close in bf16.
// Head dimension 16 takes the packed kernel (four pairs per thread), 6 the one pair per thread.
class RotaryCuda : public ::testing::TestWithParam<int> {};

TEST_P(RotaryCuda, MatchesTheCpuForwardAndBackward) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(5);
  const int hd = GetParam();
  auto positions = torch::arange(9, torch::kFloat) * 3.0;
  auto base = torch::randn({2, 9, 3 * 4, hd});  // (B, T, 3H, hd): like the qkv projection
  auto w = torch::randn({2, 4, 9, hd});
  auto run = [&](const torch::Device& device, torch::ScalarType dtype) {
    auto leaf = base.to(device, dtype).detach().requires_grad_(true);
    auto x = leaf.narrow(2, 4, 4).transpose(1, 2);  // (B, H, T, hd), strided
    auto y = apply_rotary(x, positions.to(device), 10000.0);
    (y.to(torch::kFloat) * w.to(device)).sum().backward();
    return std::make_pair(y.to(torch::kCPU, torch::kFloat),
                          leaf.grad().to(torch::kCPU, torch::kFloat));
  };
  const auto [y_cpu, g_cpu] = run(torch::kCPU, torch::kFloat);
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    const double tol = dtype == torch::kFloat ? 1e-5 : 3e-2;
    const auto [y, g] = run(torch::Device(torch::kCUDA, 0), dtype);
    EXPECT_TRUE(torch::allclose(y, y_cpu, tol, tol)) << (y - y_cpu).abs().max().item<double>();
    EXPECT_TRUE(torch::allclose(g, g_cpu, tol, tol)) << (g - g_cpu).abs().max().item<double>();
  }
  EXPECT_GT(g_cpu.abs().max().item<double>(), 0.1);
}

INSTANTIATE_TEST_SUITE_P(HeadDims, RotaryCuda, ::testing::Values(16, 6));

}  // namespace
}  // namespace hg
