// `hourglass inspect` and `hourglass bench` as library calls: the inspection writes every file with
// its shape, its logits are the model's, its attention rows are distributions that stop exactly at
// the causal limit, the spans meta.json states are the model's real dependencies; the benchmark
// JSON carries its fields. Formats only: no test here asserts a speed.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "model/core/run_config.h"
#include "model/io/inspection_files.h"
#include "model/io/tensor_io.h"
#include "model/nn/hourglass.h"
#include "model/nn/memory.h"
#include "model/tools/bench.h"
#include "model/tools/inspect.h"
#include "model/tools/profile.h"
#include "tests/temp_dir.h"

namespace hg {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kLogitTol = 1e-5;   // fp32: the traced (explicit) path against the plain forward
constexpr double kRowSumTol = 1e-5;  // fp32 softmax rows
constexpr double kSameTol = 1e-6;    // fp32: activations that a later token must not move
constexpr int kStep = 3;             // the shortening of "1@1 1@3 1@1"

ModelConfig tiny_config() {
  ModelConfig c;
  c.hierarchy = "1@1 1@3 1@1";
  c.shorten = ShortenKind::kAttention;
  c.upsample = UpsampleKind::kAttention;
  c.d_model = 16;
  c.n_heads = 2;
  c.mlp_ratio = 2;
  c.seq_len = 16;
  return c;
}

Hourglass tiny_model() {
  torch::manual_seed(7);
  return Hourglass(tiny_config());
}

std::vector<uint8_t> bytes(const std::string& text) { return {text.begin(), text.end()}; }

std::vector<float> floats(const RawTensor& t) {
  EXPECT_EQ(t.dtype, DType::kF32) << t.name;
  std::vector<float> out(t.numel());
  std::memcpy(out.data(), t.data.data(), out.size() * sizeof(float));
  return out;
}

json read_meta(const std::string& folder) {
  std::ifstream in(fs::path(folder) / "meta.json");
  return json::parse(in);
}

// "hello worl": T = 11 positions (BOS + 10), level 1 has floor(10/3) + 1 = 4 rows.
const std::string kText = "hello worl";
constexpr int64_t kT = 11, kT1 = 4, kHeads = 2, kWidth = 16;

const std::map<std::string, std::vector<int64_t>>& expected_files() {
  static const std::map<std::string, std::vector<int64_t>> files = {
      {"logits.npy", {kT, kVocabSize}},
      {"attention/level0_layer0.npy", {kHeads, kT, kT}},
      {"attention/level0_shorten.npy", {kHeads, kT1, kT + kStep - 1}},  // keys: shifted rows
      {"attention/level1_layer0.npy", {kHeads, kT1, kT1}},
      {"attention/level0_upsample.npy", {kHeads, kT, kT1}},
      {"attention/level0_layer1.npy", {kHeads, kT, kT}},
      {"activations/level0.npy", {kT, kWidth}},
      {"activations/level1.npy", {kT1, kWidth}},
  };
  return files;
}

TEST(Inspect, WritesEveryFileWithItsShapeAndMetaNamesThem) {
  Hourglass model = tiny_model();
  TempDir dir("hg_inspect");
  const std::string out = dir / "out/nested";  // folders are created
  write_inspection(inspect(model, bytes(kText)), out);

  for (const auto& [file, shape] : expected_files()) {
    ASSERT_TRUE(fs::exists(fs::path(out) / file)) << file;
    EXPECT_EQ(read_npy((fs::path(out) / file).string()).shape, shape) << file;
  }
  const json meta = read_meta(out);
  std::set<std::string> named;
  for (const auto& f : meta.at("files")) named.insert(f.get<std::string>());
  std::set<std::string> on_disk;
  for (const auto& entry : fs::recursive_directory_iterator(out))
    if (entry.path().extension() == ".npy")
      on_disk.insert(fs::relative(entry.path(), out).generic_string());
  std::set<std::string> expected;
  for (const auto& item : expected_files()) expected.insert(item.first);
  EXPECT_EQ(named, expected);
  EXPECT_EQ(on_disk, expected);

  // Each attention entry describes its file: shape, kind, resolutions, a limit per query.
  ASSERT_EQ(meta.at("attention").size(), 5u);
  for (const auto& a : meta.at("attention")) {
    const auto file = a.at("file").get<std::string>();
    EXPECT_EQ(a.at("shape").get<std::vector<int64_t>>(), expected_files().at(file)) << file;
    EXPECT_EQ(a.at("key_limit").size(), a.at("queries").at("count").get<size_t>()) << file;
    const auto kind = a.at("kind").get<std::string>();
    if (kind == "shorten") {
      EXPECT_EQ(a.at("queries").at("factor"), kStep);
      EXPECT_EQ(a.at("keys").at("factor"), 1);
      EXPECT_EQ(a.at("keys").at("padding"), kStep - 1);
    } else if (kind == "upsample") {
      EXPECT_EQ(a.at("queries").at("factor"), 1);
      EXPECT_EQ(a.at("keys").at("factor"), kStep);
    } else {
      EXPECT_EQ(kind, "self");
    }
  }
  ASSERT_EQ(meta.at("activations").size(), 2u);
  EXPECT_EQ(meta.at("input").at("tokens").get<std::vector<int>>(),
            std::vector<int>(kText.begin(), kText.end()));
  EXPECT_EQ(meta.at("model").at("hierarchy"), "1@1 1@3 1@1");
  EXPECT_EQ(meta.at("positions").at("count"), kT);
  const auto& levels = meta.at("hierarchy").at("levels");
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_EQ(levels[1].at("covers").get<std::vector<std::vector<int64_t>>>(),
            (std::vector<std::vector<int64_t>>{{0, 0}, {1, 3}, {4, 6}, {7, 9}}));
}

TEST(Inspect, LogitsAreTheModelsAndTheTrainingModeIsRestored) {
  Hourglass model = tiny_model();
  model->train();
  TempDir dir("hg_inspect");
  write_inspection(inspect(model, bytes(kText)), dir / "out");
  EXPECT_TRUE(model->is_training());

  model->eval();
  std::vector<int64_t> ids = {kBosToken};
  for (char c : kText) ids.push_back(static_cast<uint8_t>(c));
  torch::NoGradGuard no_grad;
  auto expected = model(torch::tensor(ids).view({1, kT}))[0].contiguous();  // (T, 256)
  const auto written = floats(read_npy(dir / "out/logits.npy"));
  ASSERT_EQ(static_cast<int64_t>(written.size()), expected.numel());
  auto got = torch::from_blob(const_cast<float*>(written.data()), {kT, kVocabSize});  // (T, 256)
  EXPECT_LT((got - expected).abs().max().item<double>(), kLogitTol);
}

// The last key each query may see, from docs/MODEL.md rather than from the code under test.
int64_t causal_limit(const std::string& kind, int64_t a) {
  if (kind == "shorten") return a * kStep + kStep - 1;  // shifted rows <= jk + k - 1
  if (kind == "upsample") return a / kStep;             // shortened rows <= floor(i / k)
  return a;                                             // self: causal
}

TEST(Inspect, AttentionRowsSumToOneAndStopAtTheCausalLimit) {
  Hourglass model = tiny_model();
  TempDir dir("hg_inspect");
  write_inspection(inspect(model, bytes(kText)), dir / "out");
  const json meta = read_meta(dir / "out");
  for (const auto& a : meta.at("attention")) {
    const auto file = a.at("file").get<std::string>(), kind = a.at("kind").get<std::string>();
    const RawTensor t = read_npy(dir / ("out/" + file));
    const auto w = floats(t);
    const int64_t heads = t.shape[0], tq = t.shape[1], tk = t.shape[2];
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t q = 0; q < tq; ++q) {
        const int64_t limit = causal_limit(kind, q);
        EXPECT_EQ(a.at("key_limit")[q].get<int64_t>(), limit) << file << " query " << q;
        double sum = 0.0;
        for (int64_t k = 0; k < tk; ++k) {
          const float v = w[(h * tq + q) * tk + k];
          sum += v;
          // Masked scores are -inf, so what lies beyond the limit is exactly zero, and softmax
          // gives every allowed key some weight.
          if (k > limit) {
            EXPECT_EQ(v, 0.0f) << file << " head " << h << " query " << q << " key " << k;
          } else {
            EXPECT_GT(v, 0.0f) << file << " head " << h << " query " << q << " key " << k;
          }
        }
        EXPECT_NEAR(sum, 1.0, kRowSumTol) << file << " head " << h << " query " << q;
      }
  }
}

// meta.json's spans are the model's dependencies: changing the token at position p moves the
// level-1 row whose span holds p, and none whose span ends before p.
TEST(Inspect, LevelSpansAreWhatEachRowDependsOn) {
  Hourglass model = tiny_model();
  const InspectResult base = inspect(model, bytes(kText));
  ASSERT_EQ(base.levels.size(), 2u);
  const LevelRows& level1 = base.levels[1];
  ASSERT_EQ(level1.count, kT1);
  for (int64_t p = 1; p < kT; ++p) {
    auto tokens = bytes(kText);
    tokens[p - 1] ^= 0x55;
    const InspectResult changed = inspect(model, tokens);
    const auto& before = base.activations[1].values;
    const auto& after = changed.activations[1].values;
    for (int64_t j = 0; j < level1.count; ++j) {
      double diff = 0.0;
      for (int64_t d = 0; d < kWidth; ++d)
        diff = std::max<double>(diff, std::abs(before[j * kWidth + d] - after[j * kWidth + d]));
      const PositionSpan span = level1.covers[j];
      if (span.last < p) {
        EXPECT_LT(diff, kSameTol) << "row " << j << " moved when position " << p << " changed";
      }
      if (span.first <= p && p <= span.last) {
        EXPECT_GT(diff, kSameTol) << "row " << j << " ignored position " << p << " it covers";
      }
    }
  }
}

TEST(Inspect, TruncatesToTheModelsSequenceLength) {
  Hourglass model = tiny_model();
  const InspectResult r = inspect(model, bytes(std::string(40, 'x')));
  EXPECT_EQ(r.input_length, 40);
  EXPECT_EQ(r.tokens.size(), 16u);  // logits row i predicts tokens[i]: BOS + 15 seen, 16 rows
  EXPECT_EQ(r.positions, 16);
  EXPECT_EQ(r.logits.size(), 16u * kVocabSize);
}

// Every attention map is kept: an input whose maps cannot fit is refused before the pass, with
// one line that names the size and the device's free memory.
TEST(Inspect, AnInputTooLargeForMemoryIsRefusedBeforeThePass) {
  ModelConfig config = tiny_config();
  config.seq_len = 1 << 20;  // 2 layers x 2 heads x (2^20)^2 floats at full resolution: ~17 TB
  torch::manual_seed(7);
  Hourglass model(config);
  EXPECT_GT(inspection_memory_bytes(config, config.seq_len), 1e13);
  EXPECT_LT(inspection_memory_bytes(tiny_config(), 16), 1e6);
  try {
    inspect(model, std::vector<uint8_t>(config.seq_len, 'x'));
    FAIL() << "an inspection of 2^20 positions was attempted";
  } catch (const OutOfMemory& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("out of memory: inspecting 1048576 positions", 0), 0u) << message;
    EXPECT_NE(message.find("GB free. HINT: "), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(Inspect, RejectsEmptyInputAndUnwritableFolders) {
  Hourglass model = tiny_model();
  EXPECT_THROW(inspect(model, {}), std::invalid_argument);
  TempDir dir("hg_inspect");
  { std::ofstream(dir / "file") << "in the way"; }
  try {
    write_inspection(inspect(model, bytes(kText)), dir / "file/out");
    FAIL() << "wrote below a regular file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "file"), std::string::npos) << e.what();
  }
}

BenchOptions tiny_bench() {
  BenchOptions o;
  o.model = tiny_config();
  o.model.shorten = ShortenKind::kLinear;
  o.model.upsample = UpsampleKind::kLinear;
  o.model.seq_len = 24;
  o.batch = 2;
  o.device = "cpu";
  o.warmup = 1;
  o.iters = 1;
  o.text_length = 8;
  o.image_length = 12;
  o.image_batch = 2;
  return o;
}

void expect_model_block(const json& m, const std::string& hierarchy, bool sample) {
  EXPECT_EQ(m.at("hierarchy"), hierarchy);
  EXPECT_EQ(m.at("params").get<int64_t>(), m.at("params_allocated").get<int64_t>());
  const auto& flops = m.at("flops_per_token");
  EXPECT_GT(flops.at("forward").get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(flops.at("train").get<double>(), 3.0 * flops.at("forward").get<double>());
  EXPECT_GT(flops.at("nanogpt_train").get<double>(), 0.0);
  for (const char* part : {"forward", "train"}) {
    EXPECT_GT(m.at(part).at("tokens_per_s").get<double>(), 0.0) << part;
    // On the CPU the peak is of the tensors torch allocates (model/nn/device.h): some, at least.
    EXPECT_GT(m.at(part).at("peak_mem_bytes").get<int64_t>(), 0) << part;
  }
  EXPECT_FALSE(m.at("train").contains("mfu")) << "no peak to compare with on the CPU";
  EXPECT_EQ(m.contains("sample"), sample);
  if (!sample) return;
  for (const char* kind : {"text", "image"}) {
    const auto& s = m.at("sample").at(kind);
    for (const char* mode : {"incremental", "full_recompute"})
      EXPECT_GT(s.at(mode).at("tokens_per_s").get<double>(), 0.0) << kind << " " << mode;
    EXPECT_GT(s.at("speedup").get<double>(), 0.0) << kind;
  }
  EXPECT_GT(m.at("sample").at("image").at("incremental").at("images_per_s").get<double>(), 0.0);
  EXPECT_EQ(m.at("sample").at("image").at("batch"), 2);
}

TEST(Bench, ReportsBothModelsTheirRatiosAndSamplingOnTheCpu) {
  BenchOptions o = tiny_bench();
  o.vs_vanilla = true;
  o.sample = true;
  const json j = run_bench(o);
  EXPECT_EQ(j.at("seq_len"), 24);
  EXPECT_EQ(j.at("batch"), 2);
  EXPECT_EQ(j.at("dtype"), "fp32");
  EXPECT_FALSE(j.contains("peak_tflops"));
  expect_model_block(j.at("model"), "1@1 1@3 1@1", true);
  expect_model_block(j.at("vanilla"), "3@1", true);
  const auto& r = j.at("ratio");
  for (const char* key : {"train_tokens_per_s", "forward_tokens_per_s", "flops_per_token"})
    EXPECT_GT(r.at(key).get<double>(), 0.0) << key;
  EXPECT_LT(r.at("flops_per_token").get<double>(), 1.0) << "shortening must save FLOPs";
  EXPECT_GT(r.at("train_peak_mem").get<double>(), 0.0);  // CPU tensors are counted too
  EXPECT_TRUE(r.contains("sample_image_incremental_tokens_per_s"));
}

TEST(Bench, LeavesOutWhatWasNotAskedForAndGivesMfuAgainstAGivenPeak) {
  BenchOptions o = tiny_bench();
  o.peak_tflops = 1.0;
  const json j = run_bench(o);
  EXPECT_FALSE(j.contains("vanilla"));
  EXPECT_FALSE(j.contains("ratio"));
  EXPECT_FALSE(j.at("model").contains("sample"));
  EXPECT_EQ(j.at("peak_tflops"), 1.0);
  EXPECT_GT(j.at("model").at("train").at("mfu").get<double>(), 0.0);
}

TEST(Bench, SamplingAloneWithoutTheBaseline) {
  BenchOptions o = tiny_bench();
  o.vs_vanilla = true;
  o.sample = true;
  o.sample_only = true;
  o.full_recompute = false;
  const json j = run_bench(o);
  for (const char* model : {"model", "vanilla"}) {
    const json& m = j.at(model);
    EXPECT_FALSE(m.contains("train") || m.contains("forward")) << model;
    for (const char* kind : {"text", "image"}) {
      const json& s = m.at("sample").at(kind);
      EXPECT_GT(s.at("incremental").at("tokens_per_s").get<double>(), 0.0) << model << kind;
      EXPECT_FALSE(s.contains("full_recompute") || s.contains("speedup")) << model << kind;
      // The CPU picks on the host, so there is no host-picks twin to compare with.
      EXPECT_EQ(s.at("incremental").at("picks"), "host") << model << kind;
      EXPECT_FALSE(s.contains("incremental_host_picks")) << model << kind;
    }
  }
  const json& r = j.at("ratio");
  EXPECT_FALSE(r.contains("train_tokens_per_s"));
  EXPECT_GT(r.at("sample_text_incremental_tokens_per_s").get<double>(), 0.0);
  EXPECT_FALSE(r.contains("sample_text_full_recompute_tokens_per_s"));
}

// The kernel profiler on a real GPU: a matrix product shows up as at least one kernel per call.
TEST(BenchCuda, ProfilesKernels) {
  if (!torch::cuda::is_available() || !can_profile()) GTEST_SKIP() << "no CUDA profiler here";
  const torch::Device device(torch::kCUDA, 0);
  auto a = torch::randn({512, 512}, torch::TensorOptions().device(device));
  const auto path = std::filesystem::temp_directory_path() / "hourglass-profile-test.json";
  const json p = profile_gpu([&] { torch::mm(a, a); }, 4, 2.0, device, path.string());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(p.at("units"), 8.0);
  EXPECT_GE(p.at("kernels_per_unit").get<double>(), 0.5);  // one product per call, 2 units a call
  EXPECT_GT(p.at("gpu_us_per_unit").get<double>(), 0.0);
  ASSERT_FALSE(p.at("top").empty());
  EXPECT_FALSE(p.at("top")[0].at("name").get<std::string>().empty());
  std::filesystem::remove(path);
}

TEST(Bench, RejectsBadOptions) {
  BenchOptions o = tiny_bench();
  o.iters = 0;
  EXPECT_THROW(run_bench(o), std::invalid_argument);
  o = tiny_bench();
  o.device = "tpu";
  EXPECT_THROW(run_bench(o), std::invalid_argument);
  o = tiny_bench();
  o.model.d_model = 15;  // not divisible by the heads
  EXPECT_THROW(run_bench(o), std::invalid_argument);
  o = tiny_bench();
  o.sample_only = true;  // without sampling there would be nothing to measure
  EXPECT_THROW(run_bench(o), std::invalid_argument);
  o = tiny_bench();
  o.profile_dir = (std::filesystem::temp_directory_path() / "hourglass-no-profile").string();
  if (!can_profile()) {  // the Debian build: a clear no, and no folder made
    try {
      run_bench(o);
      ADD_FAILURE() << "profiling a CPU-only build must fail";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("CUDA build"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(o.profile_dir));
  } else {  // a CUDA build asked to profile the CPU
    EXPECT_THROW(run_bench(o), std::invalid_argument);
  }
}

}  // namespace
}  // namespace hg
