// Hierarchy notation, config validation, JSON round trips, and the cost model's parameter counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/core/config.h"
#include "model/core/cost.h"
#include "model/core/run_config.h"

namespace hg {
namespace {

// Runs f, expects std::invalid_argument, and returns its message.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument was thrown";
  return "";
}

TEST(Hierarchy, ParsesThePapersNotation) {
  const Hierarchy h = parse_hierarchy("2@1 4@3 2@1");
  ASSERT_EQ(h.levels.size(), 2u);
  EXPECT_EQ(h.levels[0].factor, 1);
  EXPECT_EQ(h.levels[0].shorten_factor, 3);
  EXPECT_EQ(h.levels[0].pre_layers, 2);
  EXPECT_EQ(h.levels[0].post_layers, 2);
  EXPECT_EQ(h.levels[1].factor, 3);
  EXPECT_EQ(h.levels[1].pre_layers, 4);
  EXPECT_EQ(h.num_layers(), 8);
  EXPECT_EQ(h.total_factor(), 3);
  EXPECT_EQ(h.to_string(), "2@1 4@3 2@1");
}

TEST(Hierarchy, ParsesNestedAndVanilla) {
  const Hierarchy nested = parse_hierarchy("  2@1 2@3   4@9 2@3 2@1 ");
  ASSERT_EQ(nested.levels.size(), 3u);
  EXPECT_EQ(nested.levels[1].shorten_factor, 3);
  EXPECT_EQ(nested.levels[2].factor, 9);
  EXPECT_EQ(nested.total_factor(), 9);
  const Hierarchy vanilla = parse_hierarchy("8@1");
  ASSERT_EQ(vanilla.levels.size(), 1u);
  EXPECT_EQ(vanilla.levels[0].pre_layers, 8);
  EXPECT_EQ(vanilla.levels[0].shorten_factor, 1);
}

TEST(Hierarchy, BadStringsNameTheBadPair) {
  EXPECT_NE(error_of([] { parse_hierarchy(""); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { parse_hierarchy("2@1 4@3"); }).find("odd number"), std::string::npos);
  const std::string mirror = error_of([] { parse_hierarchy("2@1 4@3 3@1"); });
  EXPECT_NE(mirror.find("not a palindrome"), std::string::npos) << mirror;
  EXPECT_NE(mirror.find("'3@1'"), std::string::npos) << mirror;
  const std::string divide = error_of([] { parse_hierarchy("2@1 2@2 2@3 2@2 2@1"); });
  EXPECT_NE(divide.find("pair 3 '2@3'"), std::string::npos) << divide;
  EXPECT_NE(divide.find("multiple"), std::string::npos) << divide;
  EXPECT_NE(error_of([] { parse_hierarchy("2@2 4@4 2@2"); }).find("factor 1"), std::string::npos);
  EXPECT_NE(error_of([] { parse_hierarchy("2x1"); }).find("LAYERS@FACTOR"), std::string::npos);
  EXPECT_NE(error_of([] { parse_hierarchy("a@1"); }).find("not a whole number"), std::string::npos);
  EXPECT_NE(error_of([] { parse_hierarchy("0@1"); }).find("at least 1 layer"), std::string::npos);
  EXPECT_NE(error_of([] { parse_hierarchy("2@1 2@1 2@1"); }).find("larger multiple"),
            std::string::npos);
}

// Sizes a user types have limits, and the message names the value and the limit.
TEST(Hierarchy, SizesHaveLimits) {
  const std::string layers = error_of([] { parse_hierarchy("999999@1"); });
  EXPECT_NE(layers.find("999999 is more than the 1024 allowed"), std::string::npos) << layers;
  const std::string factor = error_of([] { parse_hierarchy("1@1 1@1000000 1@1"); });
  EXPECT_NE(factor.find("1000000 is more than the 65536 allowed"), std::string::npos) << factor;
  EXPECT_NE(error_of([] { parse_hierarchy("600@1 600@2 600@1"); }).find("at most 1024"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_hierarchy("99999999999999999999@1"); }).find("allowed"),
            std::string::npos);
}

// Numbers in JSON are taken as written: no fractions, booleans or values that wrap around.
TEST(ModelConfig, JsonNumbersAreCheckedNotConverted) {
  const auto model_with = [](const nlohmann::json& d_model) {
    nlohmann::json j = to_json(ModelConfig{});
    j["d_model"] = d_model;
    return model_config_from_json(j);
  };
  EXPECT_EQ(model_with(64).d_model, 64);
  for (const nlohmann::json bad : {nlohmann::json(4294967328ull), nlohmann::json(32.9),
                                   nlohmann::json(true), nlohmann::json(-4294967264ll)}) {
    const std::string message = error_of([&] { model_with(bad); });
    EXPECT_NE(message.find("d_model"), std::string::npos) << message;
    EXPECT_NE(message.find(bad.dump()), std::string::npos) << message;
  }
  nlohmann::json seq = to_json(ModelConfig{});
  seq["seq_len"] = 1e12;
  EXPECT_NE(error_of([&] { model_config_from_json(seq); }).find("seq_len"), std::string::npos);
  nlohmann::json train = to_json(RunConfig{});
  train["train"]["batch"] = 4294967312ull;
  EXPECT_NE(error_of([&] { run_config_from_json(train); }).find("'batch'"), std::string::npos);
  train["train"]["batch"] = 16;
  train["train"]["steps"] = 2.5;
  EXPECT_NE(error_of([&] { run_config_from_json(train); }).find("'steps'"), std::string::npos);
}

TEST(ModelConfig, ImpossibleConfigsNameTheField) {
  ModelConfig c;
  c.d_model = 100;
  c.n_heads = 3;
  EXPECT_NE(error_of([&] { c.validate(); }).find("n_heads = 3"), std::string::npos);
  c.n_heads = 20;  // head size 5: odd, no rotary
  EXPECT_NE(error_of([&] { c.validate(); }).find("odd head size"), std::string::npos);
  c = ModelConfig();
  c.dropout = 1.5;
  EXPECT_NE(error_of([&] { c.validate(); }).find("dropout"), std::string::npos);
  c = ModelConfig();
  c.hierarchy = "2@1 4@3";
  EXPECT_NE(error_of([&] { c.validate(); }).find("palindrome"), std::string::npos);
  c = ModelConfig();
  c.seq_len = 1;
  EXPECT_NE(error_of([&] { c.validate(); }).find("seq_len"), std::string::npos);
}

TEST(ModelConfig, JsonRoundTripAndUnknownKeys) {
  ModelConfig c;
  c.hierarchy = "1@1 2@4 1@1";
  c.shorten = ShortenKind::kAttention;
  c.upsample = UpsampleKind::kRepeat;
  c.d_model = 48;
  c.n_heads = 6;
  c.dropout = 0.125;
  c.tie_embeddings = false;
  const ModelConfig back = model_config_from_json(nlohmann::json::parse(to_json(c).dump()));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(architecture_hash(back), architecture_hash(c));

  auto j = to_json(c);
  j["d_modle"] = 64;
  EXPECT_NE(error_of([&] { model_config_from_json(j); }).find("unknown key 'd_modle'"),
            std::string::npos);
  j = to_json(c);
  j["d_model"] = "wide";
  EXPECT_NE(error_of([&] { model_config_from_json(j); }).find("'d_model'"), std::string::npos);
  j = to_json(c);
  j["shorten"] = "max";
  EXPECT_NE(error_of([&] { model_config_from_json(j); }).find("avg, linear, attention"),
            std::string::npos);
}

TEST(ModelConfig, ArchitectureHashSeesShapesOnly) {
  ModelConfig a, b;
  b.dropout = 0.3;  // not a shape
  EXPECT_EQ(architecture_hash(a), architecture_hash(b));
  b.d_model = 128;
  EXPECT_NE(architecture_hash(a), architecture_hash(b));
  b = a;
  b.resample_norm = true;  // two LayerNorms per shortening level
  EXPECT_NE(architecture_hash(a), architecture_hash(b));
  b = a;
  b.shorten = ShortenKind::kAttentionLinear;
  EXPECT_NE(architecture_hash(a), architecture_hash(b));
}

TEST(ModelConfig, AttentionBasesAndTheNormRoundTrip) {
  // Every name parses back to itself; the base-naming aliases mean the plain attention kinds.
  for (const std::string& name : shorten_names()) EXPECT_EQ(to_string(parse_shorten(name)), name);
  for (const std::string& name : upsample_names()) EXPECT_EQ(to_string(parse_upsample(name)), name);
  EXPECT_EQ(parse_shorten("attention+avg"), ShortenKind::kAttention);
  EXPECT_EQ(parse_upsample("attention+repeat"), UpsampleKind::kAttention);
  EXPECT_NE(error_of([] { parse_upsample("attention+avg"); }).find("attention+linear"),
            std::string::npos);

  ModelConfig c;
  c.shorten = ShortenKind::kAttentionLinear;
  c.upsample = UpsampleKind::kAttentionLinear;
  c.resample_norm = true;
  const ModelConfig back = model_config_from_json(nlohmann::json::parse(to_json(c).dump()));
  EXPECT_EQ(back.shorten, ShortenKind::kAttentionLinear);
  EXPECT_EQ(back.upsample, UpsampleKind::kAttentionLinear);
  EXPECT_TRUE(back.resample_norm);
  // A config written before the option existed reads as without it.
  auto old = to_json(c);
  old.erase("resample_norm");
  EXPECT_FALSE(model_config_from_json(old).resample_norm);
  old["resample_norm"] = 1;
  EXPECT_NE(error_of([&] { model_config_from_json(old); }).find("resample_norm"),
            std::string::npos);
}

TEST(Cost, AttentionOverALinearBaseCostsBoth) {
  ModelConfig attention, linear, both;
  attention.shorten = ShortenKind::kAttention;
  linear.shorten = ShortenKind::kLinear;
  both.shorten = ShortenKind::kAttentionLinear;
  const ModelConfig none = [] {
    ModelConfig c;
    c.shorten = ShortenKind::kAvg;
    return c;
  }();
  // The linear base adds exactly what linear shortening adds over the average.
  EXPECT_EQ(model_cost(both).params - model_cost(attention).params,
            model_cost(linear).params - model_cost(none).params);
  EXPECT_NEAR(model_cost(both).flops_per_token - model_cost(attention).flops_per_token,
              model_cost(linear).flops_per_token - model_cost(none).flops_per_token, 1.0);
  ModelConfig normed = attention;
  normed.resample_norm = true;  // one (weight, bias) pair each way per shortening level
  EXPECT_EQ(model_cost(normed).params - model_cost(attention).params, 4 * normed.d_model);
}

TEST(Cost, VanillaTwinAndShorteningSavings) {
  ModelConfig c;
  c.hierarchy = "2@1 8@3 2@1";
  c.d_model = 512;
  c.n_heads = 8;
  c.seq_len = 2048;
  const ModelCost hier = model_cost(c);
  const ModelCost vanilla = model_cost(c.vanilla_twin());
  EXPECT_EQ(c.vanilla_twin().hierarchy, "12@1");
  ASSERT_EQ(hier.levels.size(), 2u);
  EXPECT_EQ(hier.levels[1].factor, 3);
  // The 8 middle layers run on a third of the tokens: the hierarchy must be well under vanilla,
  // but above the 4 full-resolution layers alone.
  EXPECT_LT(hier.flops_per_token, 0.6 * vanilla.flops_per_token);
  EXPECT_GT(hier.flops_per_token, 4.0 / 12.0 * vanilla.flops_per_token);
  // Linear shortening and upsampling add 2 * 3 * D^2 parameters over the vanilla twin.
  EXPECT_EQ(hier.params - vanilla.params, 2 * 3 * 512 * 512);
}

}  // namespace
}  // namespace hg

namespace hg {
namespace {

// Every preset shipped in assets/presets loads, validates and describes itself.
TEST(Presets, EveryShippedPresetLoads) {
  const std::filesystem::path dir = std::filesystem::path(assets_dir()) / "presets";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    RunConfig config;
    ASSERT_NO_THROW(config = load_preset(name));
    EXPECT_EQ(config.train.preset, name);
    const auto json = read_json_file(entry.path().string());
    ASSERT_TRUE(json.contains("description"));
    EXPECT_GT(json["description"].get<std::string>().size(), 20u);
    ++count;
  }
  EXPECT_GE(count, 6);
}

// The paper presets are the authors' configurations (hierarchy, width, resampling, dropout).
TEST(Presets, PaperPresetsAreThePapersModels) {
  struct Expected {
    const char* name;
    const char* hierarchy;
    ShortenKind shorten;
    UpsampleKind upsample;
    double dropout;
    int seq_len;
  };
  for (const Expected& e :
       {Expected{"paper-enwik8", "5@1 24@3 5@1", ShortenKind::kAttention, UpsampleKind::kAttention,
                 0.2, 2048},
        Expected{"paper-cifar10", "1@1 8@3 1@1", ShortenKind::kAttentionLinear,
                 UpsampleKind::kAttentionLinear, 0.0, 3072},
        Expected{"paper-imagenet32", "3@1 24@3 3@1", ShortenKind::kAttentionLinear,
                 UpsampleKind::kAttentionLinear, 0.01, 3072}}) {
    SCOPED_TRACE(e.name);
    const RunConfig c = load_preset(e.name);
    EXPECT_EQ(parse_hierarchy(c.model.hierarchy).to_string(), e.hierarchy);
    EXPECT_EQ(c.model.shorten, e.shorten);
    EXPECT_EQ(c.model.upsample, e.upsample);
    EXPECT_TRUE(c.model.resample_norm);
    EXPECT_EQ(c.model.d_model, 512);
    EXPECT_EQ(c.model.n_heads, 8);
    EXPECT_EQ(c.model.mlp_ratio, 4);
    EXPECT_DOUBLE_EQ(c.model.dropout, e.dropout);
    EXPECT_EQ(c.model.seq_len, e.seq_len);
    EXPECT_TRUE(c.train.data.empty()) << "the paper's data is not in Debian: --data names it";
    // Its small twin resamples the same way, on data that is.
    const RunConfig twin = load_preset(std::string(e.name) + "-small");
    EXPECT_EQ(twin.model.shorten, e.shorten);
    EXPECT_EQ(twin.model.upsample, e.upsample);
    EXPECT_TRUE(twin.model.resample_norm);
    EXPECT_FALSE(twin.train.data.empty());
  }
}

}  // namespace
}  // namespace hg
