// The network's defining properties: causality for every shortening x upsampling x hierarchy,
// ragged lengths, the weight-returning path, parameter counts, cached decoding, and learning.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/core/cost.h"
#include "model/decode/step_decoder.h"
#include "model/kernels/fused_ops.h"
#include "model/nn/compat.h"
#include "model/nn/hourglass.h"

namespace hg {
namespace {

constexpr double kCausalTol = 1e-5;  // fp32: logits before t must not move
constexpr double kCacheTol = 1e-4;   // fp32: cached decoding vs the full pass (docs/MODEL.md)

const char* const kHierarchies[] = {
    "2@1",                   // one level: the vanilla transformer
    "1@1 1@2 1@1",           // two levels, k = 2
    "1@1 1@3 1@1",           // two levels, k = 3
    "1@1 1@4 1@1",           // two levels, k = 4
    "1@1 1@2 1@4 1@2 1@1",   // three levels, k = 2, 2
    "1@1 1@3 2@6 1@3 1@1",   // three levels, k = 3, 2
    "1@1 1@4 1@12 1@4 1@1",  // three levels, k = 4, 3
};

// The hierarchies whose variants are also built with resample_norm (a LayerNorm on every
// resampled vector): one level of shortening, and three levels with ragged groups.
const char* const kNormHierarchies[] = {"1@1 1@2 1@1", "1@1 1@3 2@6 1@3 1@1"};

struct Variant {
  std::string hierarchy;
  ShortenKind shorten;
  UpsampleKind upsample;
  bool norm = false;  // resample_norm
};

std::string describe(const Variant& v) {
  return '"' + v.hierarchy + "\" " + to_string(v.shorten) + "/" + to_string(v.upsample) +
         (v.norm ? " +norm" : "");
}

void PrintTo(const Variant& v, std::ostream* os) { *os << describe(v); }

// Every shortening x upsampling over every hierarchy (the vanilla one once: it resamples
// nothing), then again with resample_norm over kNormHierarchies.
std::vector<Variant> all_variants() {
  std::vector<Variant> out;
  auto add_kinds = [&](const std::string& h, bool norm) {
    for (const std::string& s : shorten_names())
      for (const std::string& u : upsample_names())
        out.push_back({h, parse_shorten(s), parse_upsample(u), norm});
  };
  for (const char* h : kHierarchies) {
    if (parse_hierarchy(h).levels.size() == 1)
      out.push_back({h, ShortenKind::kLinear, UpsampleKind::kLinear});
    else
      add_kinds(h, false);
  }
  for (const char* h : kNormHierarchies) add_kinds(h, true);
  return out;
}

std::string variant_name(const testing::TestParamInfo<Variant>& info) {
  std::string name = info.param.hierarchy + "_" + to_string(info.param.shorten) + "_" +
                     to_string(info.param.upsample) + (info.param.norm ? "_norm" : "");
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

ModelConfig tiny_config(const Variant& v) {
  ModelConfig c;
  c.hierarchy = v.hierarchy;
  c.shorten = v.shorten;
  c.upsample = v.upsample;
  c.resample_norm = v.norm;
  c.d_model = 16;
  c.n_heads = 2;
  c.mlp_ratio = 2;
  c.seq_len = 64;
  return c;
}

Hourglass tiny_model(const Variant& v, uint64_t seed = 1) {
  torch::manual_seed(seed);
  Hourglass model(tiny_config(v));
  model->eval();
  return model;
}

torch::Tensor random_tokens(int64_t b, int64_t t, uint64_t seed) {
  torch::manual_seed(seed);
  auto tokens = torch::randint(0, kVocabSize, {b, t}, torch::kLong);  // (B, T)
  tokens.select(1, 0).fill_(kBosToken);
  return tokens;
}

class EveryVariant : public testing::TestWithParam<Variant> {};

TEST_P(EveryVariant, ChangingTokenTLeavesEarlierLogitsAlone) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(GetParam());
  const int64_t t_len = 29;  // a multiple of no factor: the ragged last group is covered too
  // Row 0 is the base sequence; row t + 1 differs from it at position t only.
  auto base = random_tokens(1, t_len, 11);
  auto batch = base.repeat({t_len + 1, 1});  // (T+1, T)
  for (int64_t t = 0; t < t_len; ++t)
    batch[t + 1][t] = (batch[t + 1][t].item<int64_t>() + 1 + 37 * t) % kVocabSize;
  auto logits = model(batch);  // (T+1, T, 256)
  for (int64_t t = 0; t < t_len; ++t) {
    auto diff = (logits[t + 1] - logits[0]).abs().amax(-1);  // (T)
    if (t > 0)
      EXPECT_LT(diff.narrow(0, 0, t).max().item<double>(), kCausalTol) << "changed token " << t;
    EXPECT_GT(diff.narrow(0, t, t_len - t).max().item<double>(), 1e-4) << "changed token " << t;
  }
}

TEST_P(EveryVariant, RaggedLengthEqualsThePaddedSequence) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(GetParam());
  auto padded = random_tokens(2, 36, 5);  // 36: a multiple of every total factor used here
  for (int64_t t_len : {1, 7, 23, 35}) {
    auto short_logits = model(padded.narrow(1, 0, t_len));
    auto long_logits = model(padded).narrow(1, 0, t_len);
    EXPECT_TRUE(torch::allclose(short_logits, long_logits, kCausalTol, kCausalTol))
        << "length " << t_len;
  }
}

TEST_P(EveryVariant, ParameterCountMatchesTheCostModel) {
  for (bool tied : {true, false}) {
    ModelConfig c = tiny_config(GetParam());
    c.tie_embeddings = tied;
    Hourglass model(c);
    EXPECT_EQ(model->num_parameters(), model_cost(c).params) << "tied " << tied;
  }
}

TEST_P(EveryVariant, CachedDecodingEqualsTheFullPass) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(GetParam());
  auto tokens = random_tokens(2, 50, 9);  // many groups of the largest factor (12)
  auto full = model(tokens);              // (B, T, 256)
  // One token at a time, and in ragged chunks (a prompt, then pieces that straddle groups).
  for (std::vector<int64_t> chunks :
       {std::vector<int64_t>(50, 1), std::vector<int64_t>{7, 1, 2, 5, 1, 11, 3, 20}}) {
    auto state = model->make_state();
    int64_t at = 0;
    for (int64_t c : chunks) {
      auto logits = model->forward_chunk(tokens.narrow(1, at, c), state);  // (B, c, 256)
      auto expected = full.narrow(1, at, c);
      EXPECT_TRUE(torch::allclose(logits, expected, kCacheTol, kCacheTol))
          << "chunk at " << at << " of size " << c << ", max diff "
          << (logits - expected).abs().max().item<double>();
      at += c;
    }
    EXPECT_EQ(state.position(), 50);
  }
}

// Token-by-token decoding into fixed buffers (what the CUDA graphs replay) gives the full pass's
// logits; variants with attention resampling say they cannot.
TEST_P(EveryVariant, StepDecodingEqualsTheFullPass) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(GetParam());
  std::string why;
  if (!HourglassImpl::supports_step(model->config(), &why)) {
    EXPECT_NE(why.find("attention"), std::string::npos) << why;
    EXPECT_THROW(model->make_static_state(2, 8), std::invalid_argument);
    return;
  }
  EXPECT_TRUE(why.empty()) << why;
  auto tokens = random_tokens(2, 50, 9);
  auto full = model(tokens);  // (B, T, 256)
  StepDecoder decoder(model, 2, 50, /*use_graphs=*/false);
  for (int64_t at = 0; at < 50; ++at) {
    auto column = tokens.select(1, at).contiguous();
    auto logits = decoder.step(std::vector<int64_t>(column.data_ptr<int64_t>(),
                                                    column.data_ptr<int64_t>() + 2));  // (B, 256)
    auto expected = full.select(1, at);
    ASSERT_TRUE(torch::allclose(logits, expected, kCacheTol, kCacheTol))
        << "token " << at << ", max diff " << (logits - expected).abs().max().item<double>();
  }
  EXPECT_EQ(decoder.position(), 50);
  EXPECT_FALSE(decoder.graphs());
  EXPECT_THROW(decoder.step({1, 2}), std::exception) << "a 51st token is beyond the buffers";
  EXPECT_THROW(decoder.step({1}), std::invalid_argument) << "one token for a batch of two";
}

INSTANTIATE_TEST_SUITE_P(Network, EveryVariant, testing::ValuesIn(all_variants()), variant_name);

TEST(Network, WeightPathGivesTheSameLogitsAndNamesEveryAttention) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model({"1@1 1@3 1@1", ShortenKind::kAttention, UpsampleKind::kAttention});
  auto tokens = random_tokens(1, 17, 2);
  Trace trace;
  auto traced = model(tokens, &trace);
  EXPECT_TRUE(torch::allclose(traced, model(tokens), kCausalTol, kCausalTol));
  std::vector<std::string> names;
  for (const auto& [name, weights] : trace.attention) names.push_back(name);
  const std::vector<std::string> expected = {"level0_layer0", "level0_shorten", "level1_layer0",
                                             "level0_upsample", "level0_layer1"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(trace.attention[1].second.sizes(), (std::vector<int64_t>{1, 2, 6, 19}));
  EXPECT_EQ(trace.attention[3].second.sizes(), (std::vector<int64_t>{1, 2, 17, 6}));
  ASSERT_EQ(trace.activations.size(), 2u);
  EXPECT_EQ(trace.activations[1].second.sizes(), (std::vector<int64_t>{1, 6, 16}));
}

TEST(Network, ExplicitPathMatchesSdpaInTheModel) {
  if (!kHasSdpa) GTEST_SKIP() << "no scaled_dot_product_attention in libtorch " << TORCH_VERSION;
  torch::NoGradGuard no_grad;
  auto model = tiny_model({"1@1 1@2 1@1", ShortenKind::kAttention, UpsampleKind::kAttention});
  auto tokens = random_tokens(2, 21, 3);
  model->set_attention_path(AttentionPath::kSdpa);
  auto sdpa = model(tokens);
  model->set_attention_path(AttentionPath::kExplicit);
  EXPECT_TRUE(torch::allclose(sdpa, model(tokens), kCausalTol, kCausalTol));
}

// The model finds the weights its products read once (Bf16Weights copies them on CUDA): moving it
// keeps each parameter's tensor (to() swaps the data underneath), so that list stays true.
TEST(Network, ParametersKeepTheirTensorsWhenTheModelMoves) {
  auto model = tiny_model(all_variants()[4]);
  std::vector<const void*> before;
  for (const auto& p : model->parameters()) before.push_back(p.unsafeGetTensorImpl());
  model->to(torch::kDouble);
  model->to(torch::kFloat);
  const auto after = model->parameters();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i].unsafeGetTensorImpl(), before[i]);
  EXPECT_EQ(after[0].scalar_type(), torch::kFloat);
}

TEST(Network, TinyModelOverfitsOneBatch) {
  // 2 x 48 bytes of text; from ln(256) = 5.55 nats the loss must fall below 0.1 in 150 steps.
  const std::string text =
      "Hierarchical transformers shorten the sequence, then lengthen it again before predicting.";
  auto tokens = torch::empty({2, 49}, torch::kLong);
  tokens.select(1, 0).fill_(kBosToken);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 48; ++i) tokens[b][i + 1] = static_cast<uint8_t>(text[b * 40 + i]);
  ModelConfig c;
  c.hierarchy = "1@1 2@3 1@1";
  c.d_model = 64;
  c.n_heads = 4;
  c.seq_len = 48;
  torch::manual_seed(0);
  Hourglass model(c);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(3e-3));
  auto inputs = tokens.narrow(1, 0, 48), targets = tokens.narrow(1, 1, 48);
  double first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    auto logits = model(inputs);  // (B, T, 256)
    auto loss = torch::cross_entropy_loss(logits.reshape({-1, kVocabSize}), targets.reshape(-1));
    opt.zero_grad();
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_GT(first, 5.0);
  EXPECT_LT(last, 0.1);
}

}  // namespace
}  // namespace hg

namespace hg {
namespace {

// On a machine with CUDA (the GPU build), the same model gives the same logits there, through
// SDPA, and cached decoding still equals the full pass. Skipped on CPU-only libtorch.
TEST(NetworkCuda, MatchesTheCpuAndDecodesIncrementally) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  at::globalContext().setAllowTF32CuBLAS(false);  // compare fp32 with fp32
  torch::NoGradGuard no_grad;
  for (const Variant& v : all_variants()) {
    auto model = tiny_model(v);
    auto tokens = random_tokens(2, 40, 4);
    auto cpu = model(tokens);
    model->to(torch::kCUDA);
    auto gpu_tokens = tokens.to(torch::kCUDA);
    auto gpu = model(gpu_tokens).cpu();
    EXPECT_TRUE(torch::allclose(gpu, cpu, kCacheTol, kCacheTol)) << describe(v);
    auto state = model->make_state();
    auto first = model->forward_chunk(gpu_tokens.narrow(1, 0, 13), state);
    std::vector<torch::Tensor> pieces{first};
    for (int64_t i = 13; i < 40; ++i)
      pieces.push_back(model->forward_chunk(gpu_tokens.narrow(1, i, 1), state));
    EXPECT_TRUE(torch::allclose(torch::cat(pieces, 1).cpu(), cpu, kCacheTol, kCacheTol))
        << describe(v);
    if (!StepDecoder::supported(tiny_config(v))) continue;
    // Token-by-token steps replayed as CUDA graphs (one per phase) give the same logits.
    StepDecoder decoder(model, 2, 40, /*use_graphs=*/true);
    for (int64_t i = 0; i < 40; ++i) {
      auto column = tokens.select(1, i).contiguous();
      auto logits = decoder.step(
          std::vector<int64_t>(column.data_ptr<int64_t>(), column.data_ptr<int64_t>() + 2));
      ASSERT_TRUE(torch::allclose(logits, cpu.select(1, i), kCacheTol, kCacheTol))
          << describe(v) << " token " << i << ": "
          << (logits - cpu.select(1, i)).abs().max().item<double>();
    }
    EXPECT_TRUE(decoder.graphs()) << decoder.why_no_graphs();
  }
}

// The bf16 training pass on CUDA (autocast: the fused norms, MLP and shortening input, the
// upsampled groups added inside the post blocks' first norm) against the fp32 pass of the same
// weights: the same loss and gradients up to bf16 rounding, and no logit that sees a later token.
TEST(NetworkCuda, Bf16PassIsCausalAndFollowsTheFp32Pass) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  at::globalContext().setAllowTF32CuBLAS(false);
  const torch::Device cuda(torch::kCUDA, 0);
  for (const Variant& v : all_variants()) {
    const std::string name = describe(v);
    auto model = tiny_model(v);
    model->to(cuda);
    model->train();
    const int64_t t_len = 40;
    auto tokens = random_tokens(2, t_len + 1, 4).to(cuda);
    auto inputs = tokens.narrow(1, 0, t_len), targets = tokens.narrow(1, 1, t_len);
    auto pass = [&](bool bf16) {
      model->zero_grad();
      torch::Tensor loss;
      {
        CudaAutocast autocast(bf16);
        loss = token_loss(model(inputs), targets);  // the trainer's loss (fused on CUDA)
      }
      loss.backward();
      std::vector<torch::Tensor> grads;
      for (const auto& p : model->parameters()) grads.push_back(p.grad().detach().clone());
      return std::make_pair(loss.item<double>(), grads);
    };
    const auto fp32 = pass(false);
    const auto bf16 = pass(true);
    EXPECT_NEAR(bf16.first, fp32.first, 0.02 * fp32.first) << name;
    const auto names = model->named_parameters().keys();
    for (size_t i = 0; i < fp32.second.size(); ++i) {
      const auto a = fp32.second[i].flatten(), b = bf16.second[i].flatten();
      const double norm = a.norm().item<double>();
      if (norm < 1e-6) continue;  // a parameter this loss barely reaches
      const double cosine = (a * b).sum().item<double>() / (norm * b.norm().item<double>() + 1e-30);
      EXPECT_GT(cosine, 0.98) << name << " " << names[i];
    }
    // Changing token 25 leaves the bf16 logits of positions 0..24 as they were.
    torch::NoGradGuard no_grad;
    CudaAutocast autocast(true);
    auto changed = inputs.clone();
    changed.select(1, 25).add_(1).remainder_(kVocabSize);
    auto before = model(inputs).to(torch::kFloat), after = model(changed).to(torch::kFloat);
    EXPECT_LT((after - before).narrow(1, 0, 25).abs().max().item<double>(), 1e-5) << name;
    EXPECT_GT((after - before).narrow(1, 25, t_len - 25).abs().max().item<double>(), 1e-3) << name;
  }
}

}  // namespace
}  // namespace hg
