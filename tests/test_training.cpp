// Training, checkpoints and sampling: resume gives the same curve, metrics lines carry their
// fields, checkpoints round-trip and refuse other architectures, a NaN stops the run without
// losing what was saved, and cached decoding samples what full recomputation samples.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "model/decode/sampler.h"
#include "model/nn/device.h"
#include "model/nn/memory.h"
#include "model/train/checkpoint.h"
#include "model/train/optim.h"
#include "model/train/run_dir.h"
#include "model/train/trainer.h"
#include "tests/temp_dir.h"

namespace hg {
namespace {
namespace fs = std::filesystem;

// 24 KB of word salad: structured enough to learn from, made here so the test needs no package.
std::string write_text(const TempDir& dir) {
  const char* words[] = {"the ",      "hourglass ", "shortens ", "and ",   "lengthens ", "a ",
                         "sequence ", "of ",        "tokens.\n", "model ", "learns ",    "bytes "};
  std::mt19937 rng(42);
  std::string text;
  while (text.size() < 24000) text += words[rng() % 12];
  const std::string path = dir / "corpus.txt";
  std::ofstream(path) << text;
  return path;
}

// A model of a few thousand parameters, for the checkpoint tests.
ModelConfig small_model() {
  ModelConfig c;
  c.hierarchy = "1@1 1@2 1@1";
  c.d_model = 16;
  c.n_heads = 2;
  return c;
}

RunConfig tiny_run(const std::string& data) {
  RunConfig c;
  c.model.hierarchy = "1@1 1@3 1@1";
  c.model.d_model = 32;
  c.model.n_heads = 2;
  c.model.seq_len = 48;
  c.model.dropout = 0.1;  // dropout on, so resume must repeat its random draws too
  c.train.data = data;
  c.train.steps = 12;
  c.train.batch = 4;
  c.train.grad_accum = 2;
  c.train.warmup_steps = 3;
  c.train.eval_every = 4;
  c.train.eval_batches = 2;
  c.train.save_every = 6;
  c.train.sample_every = 100;
  c.train.device = "cpu";
  return c;
}

std::vector<nlohmann::json> read_metrics(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::map<int64_t, double> train_losses(const std::string& run_dir) {
  std::map<int64_t, double> out;
  for (const auto& j : read_metrics(run_dir))
    if (j["split"] == "train") out[j["step"].get<int64_t>()] = j["loss"].get<double>();
  return out;
}

TEST(Training, ResumeGivesTheSameCurve) {
  TempDir dir;
  const RunConfig config = tiny_run(write_text(dir));
  Trainer::create(config, dir / "whole", false)->run(nullptr, nullptr);

  {  // Interrupted after the step-6 checkpoint, with two more steps whose lines must vanish.
    auto trainer = Trainer::create(config, dir / "split", false);
    std::atomic<bool> stop{false};
    trainer->run(&stop, [&](const Metrics& m) {
      if (m.step == 6) stop = true;
    });
    ASSERT_EQ(trainer->step(), 6);
  }
  std::ofstream(dir / "split/metrics.jsonl", std::ios::app)
      << "{\"step\": 7, \"split\": \"train\", \"loss\": 99}\n{\"step\": 8, \"spl";
  Trainer::resume(dir / "split")->run(nullptr, nullptr);

  const auto whole = train_losses(dir / "whole"), split = train_losses(dir / "split");
  ASSERT_EQ(whole.size(), 12u);
  ASSERT_EQ(split.size(), 12u);
  for (const auto& [step, loss] : whole)
    EXPECT_DOUBLE_EQ(split.at(step), loss) << "step " << step;  // bit-identical on the CPU
  EXPECT_LT(whole.at(12), whole.at(1));                         // and it learned something
}

// A stop that comes while a step's validation pass runs (the studio's Stop on a slow CPU) ends the
// pass after its first batch: no val line for that step, a checkpoint at it, and resuming gives the
// same curve as a run never stopped.
TEST(Training, AStopDuringAnEvaluationEndsItAndResumeRepeatsTheCurve) {
  TempDir dir;
  const RunConfig config = tiny_run(write_text(dir));
  Trainer::create(config, dir / "whole", false)->run(nullptr, nullptr);
  {
    auto trainer = Trainer::create(config, dir / "stopped", false);
    std::atomic<bool> stop{false};
    trainer->run(&stop, [&](const Metrics& m) {
      if (m.step == 4 && m.split == "train") stop = true;  // step 4 evaluates next (2 batches)
    });
    ASSERT_EQ(trainer->step(), 4);
  }
  for (const auto& j : read_metrics(dir / "stopped")) EXPECT_NE(j["split"], "val") << j.dump();
  EXPECT_TRUE(fs::exists(dir / "stopped/checkpoints/step_00000004.json"));
  Trainer::resume(dir / "stopped")->run(nullptr, nullptr);
  EXPECT_EQ(train_losses(dir / "stopped"), train_losses(dir / "whole"));
}

// On CUDA the step is captured once and replayed as a graph (graph_step.h), its gradients the
// graph's own tensors: the curve is the eager step's, with one micro-batch and with two.
TEST(TrainingCuda, GraphedStepsFollowTheEagerCurve) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  TempDir dir;
  for (int accum : {1, 2}) {
    RunConfig config = tiny_run(write_text(dir));
    config.model.dropout = 0.0;  // graphs need it off
    config.train.device = "cuda";
    config.train.grad_accum = accum;
    std::map<int64_t, double> curves[2];
    for (int graphed = 0; graphed < 2; ++graphed) {
      config.train.cuda_graph = graphed == 1;
      const std::string run = dir / ("run" + std::to_string(accum) + std::to_string(graphed));
      Trainer::create(config, run, false)->run(nullptr, nullptr);
      curves[graphed] = train_losses(run);
    }
    ASSERT_EQ(curves[0].size(), 12u);
    ASSERT_EQ(curves[1].size(), 12u);
    for (const auto& [step, loss] : curves[0])  // the same kernels; bf16 sums may differ in order
      EXPECT_NEAR(curves[1].at(step), loss, 2e-3 * loss) << "step " << step << " accum " << accum;
    EXPECT_LT(curves[1].at(12), curves[1].at(1));
  }
}

#if HOURGLASS_HAS_FUSED_ADAMW
// On CUDA the update is ATen's fused AdamW with the clipping inside it; it moves the weights as
// the loop over parameters does on the CPU, with the clipping active and not.
TEST(TrainingCuda, FusedAdamWUpdatesAsTheLoopDoes) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const double clip : {0.05, 1e9}) {
    TrainConfig config;
    config.grad_clip = clip;
    config.weight_decay = 0.1;
    torch::manual_seed(3);
    std::vector<std::pair<std::string, torch::Tensor>> cpu = {{"w", torch::randn({16, 8})},
                                                              {"b", torch::randn({8})}};
    std::vector<std::pair<std::string, torch::Tensor>> cuda;
    for (const auto& [name, p] : cpu) cuda.emplace_back(name, p.to(torch::kCUDA));
    AdamW on_cpu(cpu, config), on_cuda(cuda, config);
    ASSERT_FALSE(on_cpu.fused());
    if (!on_cuda.fused()) GTEST_SKIP() << "this libtorch has no fused AdamW";
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < cpu.size(); ++i) {
        auto g = torch::randn(cpu[i].second.sizes()) * (step + 1);
        cpu[i].second.mutable_grad() = g;
        cuda[i].second.mutable_grad() = g.to(torch::kCUDA);
      }
      const double norm_cpu = on_cpu.step(1e-2), norm_cuda = on_cuda.step(1e-2);
      EXPECT_NEAR(norm_cuda, norm_cpu, 1e-4 * norm_cpu);
    }
    for (size_t i = 0; i < cpu.size(); ++i)
      EXPECT_TRUE(torch::allclose(cuda[i].second.cpu(), cpu[i].second, 1e-5, 1e-6))
          << cpu[i].first << " clip " << clip << ": "
          << (cuda[i].second.cpu() - cpu[i].second).abs().max().item<double>();
  }
}
#endif

TEST(Training, MetricsLinesCarryTheirFields) {
  TempDir dir;
  Trainer::create(tiny_run(write_text(dir)), dir / "run", false)->run(nullptr, nullptr);
  const auto lines = read_metrics(dir / "run");
  int val = 0;
  double last_time = -1;
  for (const auto& j : lines) {
    for (const char* key :
         {"step", "time_s", "split", "loss", "bits_per_token", "tokens_per_s", "lr"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << j.dump();
    EXPECT_NEAR(j["bits_per_token"].get<double>(), j["loss"].get<double>() / std::log(2.0), 1e-9);
    EXPECT_GE(j["time_s"].get<double>(), last_time);
    last_time = j["time_s"];
    val += j["split"] == "val";
  }
  EXPECT_EQ(val, 3);  // steps 4, 8 and 12
  EXPECT_TRUE(fs::exists(dir / "run/config.json"));
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints/step_00000012.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints/step_00000006.optim.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "run/samples/step_00000012.txt"));
}

TEST(Training, ExistingRunDirIsRefusedAndKept) {
  TempDir dir;
  const RunConfig config = tiny_run(write_text(dir));
  fs::create_directories(dir / "run");
  std::ofstream(dir / "run/notes.txt") << "precious";
  try {
    Trainer::create(config, dir / "run", false);
    FAIL() << "an existing run directory was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  // --force only deletes run directories, never some other folder.
  EXPECT_THROW(Trainer::create(config, dir / "run", true), std::invalid_argument);
  std::ifstream in(dir / "run/notes.txt");
  std::string kept;
  in >> kept;
  EXPECT_EQ(kept, "precious");
}

// --force never deletes a file, nor a folder that is not a run, whatever it holds.
TEST(Training, ForceKeepsFilesAndFoldersThatAreNotRuns) {
  TempDir dir;
  const RunConfig config = tiny_run(write_text(dir));
  std::ofstream(dir / "important.txt") << "precious";
  EXPECT_THROW(Trainer::create(config, dir / "important.txt", true), std::invalid_argument);
  fs::create_directories(dir / "project");
  std::ofstream(dir / "project/config.json") << R"({"name": "app"})";  // another program's
  std::ofstream(dir / "project/index.js") << "code";
  fs::create_directories(dir / "project/checkpoints");
  try {
    Trainer::create(config, dir / "project", true);
    FAIL() << "--force replaced a folder that is not a run";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not a Hourglass run directory"), std::string::npos)
        << e.what();
  }
  std::string kept;
  std::ifstream(dir / "important.txt") >> kept;
  EXPECT_EQ(kept, "precious");
  EXPECT_TRUE(fs::exists(dir / "project/index.js"));
  EXPECT_FALSE(is_run_directory(dir / "project"));
}

// --out is normalised first; the empty path, the root, home and the current folder (or one above
// it) are refused.
TEST(Training, OutRefusesTheEmptyPathRootHomeAndTheCurrentFolder) {
  TempDir dir;
  for (const std::string out : {"", "/", ".", "..", "./", "a/.."})
    EXPECT_THROW(checked_run_path(out), std::invalid_argument) << "--out '" << out << "'";
  EXPECT_THROW(checked_run_path(fs::current_path().string() + "/."), std::invalid_argument);
  if (const char* home = std::getenv("HOME"); home && *home && fs::path(home) != "/")
    EXPECT_THROW(checked_run_path(home), std::invalid_argument);
  EXPECT_EQ(checked_run_path(dir / "run/."), checked_run_path(dir / "run"));
  EXPECT_EQ(checked_run_path(dir / "run"), fs::weakly_canonical(dir.path() / "run"));
}

// --force replaces a run: the new one is made beside it and swapped in, nothing else is left.
TEST(Training, ForceReplacesARunWithTheNewOne) {
  TempDir dir;
  RunConfig config = tiny_run(write_text(dir));
  config.train.steps = 2;
  Trainer::create(config, dir / "run", false)->run(nullptr, nullptr);
  ASSERT_TRUE(is_run_directory(dir / "run"));
  config.train.steps = 1;
  Trainer::create(config, dir / "run/.", true)->run(nullptr, nullptr);
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints/step_00000001.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "run/checkpoints/step_00000002.safetensors"));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"corpus.txt", "run"}));
}

// --force keeps the old run until the new one has a checkpoint: the new one is written beside it
// (RUN.new-PID), swapped in by the first save, and removed if it fails before then.
TEST(Training, ForceSwapsInTheNewRunAtItsFirstCheckpoint) {
  TempDir dir;
  RunConfig config = tiny_run(write_text(dir));
  config.train.steps = 2;
  Trainer::create(config, dir / "run", false)->run(nullptr, nullptr);
  const fs::path old_checkpoint = dir / "run/checkpoints/step_00000002.safetensors";
  auto names = [&] {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir.path()))
      found.push_back(entry.path().filename().string());
    std::sort(found.begin(), found.end());
    return found;
  };
  {
    auto failing = Trainer::create(config, dir / "run", true);
    failing->train_step();
    EXPECT_TRUE(fs::exists(old_checkpoint)) << "the old run went before the new one saved";
    EXPECT_EQ(names().size(), 3u);  // corpus.txt, run and the new run beside it
    const std::string said = failing->discard_unsaved();
    EXPECT_NE(said.find("is as it was"), std::string::npos) << said;
  }
  EXPECT_TRUE(fs::exists(old_checkpoint));
  EXPECT_EQ(names(), (std::vector<std::string>{"corpus.txt", "run"}));

  auto trainer = Trainer::create(config, dir / "run", true);
  trainer->train_step();
  const CheckpointInfo saved = trainer->save();
  EXPECT_FALSE(fs::exists(old_checkpoint));
  EXPECT_EQ(saved.weights, dir / "run/checkpoints/step_00000001.safetensors");
  EXPECT_TRUE(fs::exists(saved.weights));
  EXPECT_EQ(names(), (std::vector<std::string>{"corpus.txt", "run"}));
  EXPECT_EQ(trainer->discard_unsaved(), "");  // a run with a checkpoint is kept
  trainer->run(nullptr, nullptr);
  EXPECT_EQ(latest_checkpoint(dir / "run/checkpoints")->step, 2);
  EXPECT_TRUE(fs::exists(dir / "run/metrics.jsonl"));
}

// What a --force killed mid-swap left beside the run (RUN.new-PID, RUN.old-PID of a process that
// is gone) goes at the next start; the same names of a live process, or not runs, stay.
TEST(Training, OrphansOfAKilledForceAreRemovedAtTheNextStart) {
  TempDir dir;
  RunConfig config = tiny_run(write_text(dir));
  config.train.steps = 1;
  Trainer::create(config, dir / "run", false)->run(nullptr, nullptr);
  const std::string gone = "999999999";  // above pid_max: no such process
  fs::copy(dir / "run", dir / ("run.new-" + gone), fs::copy_options::recursive);
  fs::copy(dir / "run", dir / ("run.old-" + gone), fs::copy_options::recursive);
  fs::copy(dir / "run", dir / ("run.new-" + std::to_string(getppid())),
           fs::copy_options::recursive);
  fs::create_directories(dir / ("run.old-" + gone + "x"));
  fs::create_directories(dir / ("run.new-1/notes"));  // not a run, whatever its name says
  Trainer::create(config, dir / "run", true)->run(nullptr, nullptr);
  EXPECT_FALSE(fs::exists(dir / ("run.new-" + gone)));
  EXPECT_FALSE(fs::exists(dir / ("run.old-" + gone)));
  EXPECT_TRUE(fs::exists(dir / ("run.new-" + std::to_string(getppid()))));  // alive
  EXPECT_TRUE(fs::exists(dir / ("run.old-" + gone + "x")));
  EXPECT_TRUE(fs::exists(dir / "run.new-1/notes"));
}

// A new run that fails before its first checkpoint leaves nothing: the folders it made go, and a
// folder that was there and empty is empty again.
TEST(Training, ARunWithoutACheckpointIsRemoved) {
  TempDir dir;
  const RunConfig config = tiny_run(write_text(dir));
  {
    auto trainer = Trainer::create(config, dir / "new/deeper/run", false);
    trainer->train_step();
    ASSERT_TRUE(fs::exists(dir / "new/deeper/run/metrics.jsonl"));
    const std::string said = trainer->discard_unsaved();
    EXPECT_NE(said.find("was removed"), std::string::npos) << said;
  }
  EXPECT_FALSE(fs::exists(dir / "new"));
  fs::create_directories(dir / "empty");
  Trainer::create(config, dir / "empty", false)->train_step();  // dropped without a save
  EXPECT_TRUE(fs::is_directory(dir / "empty"));
  EXPECT_TRUE(fs::is_empty(dir / "empty"));
  // Stopped before its first step, a run still saves: it is kept.
  std::atomic<bool> stop{true};
  Trainer::create(config, dir / "stopped", false)->run(&stop, nullptr);
  EXPECT_EQ(latest_checkpoint(dir / "stopped/checkpoints")->step, 0);
}

TEST(Training, BadDataPathLeavesTheOldRunAlone) {
  TempDir dir;
  RunConfig config = tiny_run(write_text(dir));
  config.train.steps = 2;
  Trainer::create(config, dir / "run", false)->run(nullptr, nullptr);
  config.train.data = dir / "missing.txt";
  EXPECT_THROW(Trainer::create(config, dir / "run", true), std::runtime_error);
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints/step_00000002.safetensors"));
}

TEST(Training, NanLossStopsAndKeepsTheLastCheckpoint) {
  TempDir dir;
  auto trainer = Trainer::create(tiny_run(write_text(dir)), dir / "run", false);
  trainer->train_step();
  trainer->save();
  {
    torch::NoGradGuard no_grad;
    trainer->model()->parameters()[3].fill_(std::numeric_limits<float>::quiet_NaN());
  }
  try {
    trainer->train_step();
    FAIL() << "a NaN loss went unnoticed";
  } catch (const TrainingDiverged& e) {
    EXPECT_NE(std::string(e.what()).find("step 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--lr"), std::string::npos) << e.what();
  }
  EXPECT_EQ(latest_checkpoint(dir / "run/checkpoints")->step, 1);
}

// After the warm-up, a validation loss above a uniform guess's ends the run with an error that
// names the last good checkpoint; nothing of the diverged step is saved.
TEST(Training, DivergedValidationLossIsAnError) {
  TempDir dir;
  RunConfig config = tiny_run(write_text(dir));
  config.model.dropout = 0.0;
  config.train.warmup_steps = 0;
  config.train.lr = 1e-9;  // the weights stay as they are set below
  config.train.eval_every = 1;
  config.train.save_every = 1;
  config.train.steps = 4;
  auto trainer = Trainer::create(config, dir / "run", false);
  trainer->train_step();
  trainer->save();  // step 1: the last good checkpoint
  {
    torch::NoGradGuard no_grad;  // confident and wrong: the logits 200 times as far apart
    trainer->model()->named_parameters()["ln_final.weight"].mul_(200.0);
  }
  try {
    trainer->run(nullptr, nullptr);
    FAIL() << "a diverged run finished";
  } catch (const TrainingDiverged& e) {
    EXPECT_NE(std::string(e.what()).find("validation loss"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(step 1)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(latest_checkpoint(dir / "run/checkpoints")->step, 1);
}

// The newest complete checkpoint wins: an empty or corrupt newer description, or one whose
// weights are gone, is passed over; orphan temporary files go at the next start.
TEST(Checkpoint, AnIncompleteNewestCheckpointFallsBackToThePreviousOne) {
  TempDir dir;
  RunConfig config = tiny_run(write_text(dir));
  config.train.steps = 2;
  config.train.save_every = 1;
  Trainer::create(config, dir / "run", false)->run(nullptr, nullptr);
  const std::string checkpoints = dir / "run/checkpoints";
  std::ofstream(checkpoints + "/step_00000005.json");                    // empty
  std::ofstream(checkpoints + "/step_00000007.json") << "{\"step\": 7";  // cut short
  EXPECT_EQ(latest_checkpoint(checkpoints)->step, 2);
  fs::remove(checkpoints + "/step_00000002.safetensors");
  EXPECT_EQ(latest_checkpoint(checkpoints)->step, 1);
  std::ofstream(checkpoints + "/step_00000003.safetensors.tmp-123-4") << "half";
  std::ofstream(dir / "run/config.json.tmp-123-5") << "half";
  auto resumed = Trainer::resume(dir / "run", 3);
  EXPECT_EQ(resumed->step(), 1);
  EXPECT_FALSE(fs::exists(checkpoints + "/step_00000003.safetensors.tmp-123-4"));
  EXPECT_FALSE(fs::exists(dir / "run/config.json.tmp-123-5"));
}

// Weights with NaN or infinite values refuse to load, and leave the model as it was.
TEST(Checkpoint, NonFiniteWeightsRefuseToLoad) {
  TempDir dir;
  const ModelConfig c = small_model();
  Hourglass a(c);
  {
    torch::NoGradGuard no_grad;
    a->parameters()[2].view(-1)[0] = std::numeric_limits<float>::infinity();
  }
  save_weights(dir / "a.safetensors", a);
  Hourglass b(c);
  const auto before = b->parameters()[0].clone();
  try {
    load_weights(b, dir / "a.safetensors");
    FAIL() << "loaded infinite weights";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN or infinite"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(before, b->parameters()[0]));
}

// A float tensor relabelled as integers in the file's header is refused, not converted.
TEST(Checkpoint, IntegerTensorsRefuseToLoadAsWeights) {
  TempDir dir;
  const ModelConfig c = small_model();
  Hourglass a(c);
  save_weights(dir / "a.safetensors", a);
  SafetensorsFile file = read_safetensors(dir / "a.safetensors");
  file.tensors[0].dtype = DType::kI32;  // the same bytes, read as int32
  write_safetensors(dir / "relabelled.safetensors", file.tensors, file.metadata);
  try {
    load_weights(a, dir / "relabelled.safetensors");
    FAIL() << "loaded int32 data as weights";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("I32, not a floating-point type"), std::string::npos)
        << e.what();
  }
}

TEST(Checkpoint, WeightsRoundTripInFp32AndBf16) {
  TempDir dir;
  const ModelConfig c = small_model();
  torch::manual_seed(1);
  Hourglass a(c);
  save_weights(dir / "a.safetensors", a);
  torch::manual_seed(2);
  Hourglass b(c);
  load_weights(b, dir / "a.safetensors");
  for (size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  EXPECT_EQ(to_json(read_checkpoint_config(dir / "a.safetensors")), to_json(c));

  // bf16 copies: a tensor survives the trip exactly as bf16.
  auto bf = torch::randn({3, 5}).to(torch::kBFloat16);
  write_safetensors(dir / "bf.safetensors", {to_raw("x", bf)});
  auto back = from_raw(read_safetensors(dir / "bf.safetensors").tensors[0]);
  EXPECT_EQ(back.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(back, bf));
}

TEST(Checkpoint, AnotherArchitectureIsRefusedWithoutChangingTheModel) {
  TempDir dir;
  const ModelConfig c = small_model();
  Hourglass a(c);
  save_weights(dir / "a.safetensors", a);
  ModelConfig other = c;
  other.shorten = ShortenKind::kAttention;  // extra tensors
  Hourglass b(other);
  auto before = b->parameters()[0].clone();
  try {
    load_weights(b, dir / "a.safetensors");
    FAIL() << "loaded a checkpoint of another architecture";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another architecture"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(before, b->parameters()[0]));
  // A file that is not a checkpoint at all.
  std::ofstream(dir / "junk.safetensors") << "not a checkpoint";
  EXPECT_THROW(load_weights(b, dir / "junk.safetensors"), std::runtime_error);
}

Hourglass sampling_model(const std::string& hierarchy, ShortenKind s, UpsampleKind u) {
  ModelConfig c;
  c.hierarchy = hierarchy;
  c.shorten = s;
  c.upsample = u;
  c.d_model = 32;
  c.n_heads = 2;
  torch::manual_seed(5);
  Hourglass model(c);
  {  // Larger weights than the init gives, so the distributions are far from uniform.
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters())
      if (p.dim() >= 2) p.mul_(8.0);
  }
  return model;
}

TEST(Sampler, CachedDecodingSamplesWhatFullRecomputationSamples) {
  for (auto [s, u] : {std::pair{ShortenKind::kLinear, UpsampleKind::kLinear},
                      std::pair{ShortenKind::kAttention, UpsampleKind::kAttention},
                      std::pair{ShortenKind::kAvg, UpsampleKind::kRepeat}}) {
    auto model = sampling_model("1@1 1@2 1@6 1@2 1@1", s, u);
    SampleRequest request;
    request.known = {'T', 'h', 'e', ' '};
    request.options.n = 3;
    request.options.length = 40;
    request.options.seed = 77;
    request.options.top_p = 0.95;
    const SampleResult fast = sample(model, request);
    request.options.full_recompute = true;
    const SampleResult slow = sample(model, request);
    EXPECT_EQ(fast.tokens, slow.tokens) << to_string(s) << "/" << to_string(u);
    EXPECT_EQ(fast.tokens[0].size(), 40u);
    EXPECT_NE(fast.tokens[0], fast.tokens[1]);  // independent samples differ
  }
}

// A request whose attention scores or caches cannot fit is refused before anything is allocated,
// with one line naming the size and the device's free memory. A prompt of 2^24 - 8 tokens, in one
// chunk, needs (2^24)^2 scores per head: petabytes on any machine.
TEST(Sampler, ARequestTooLargeForMemoryIsRefusedBeforeItStarts) {
  auto model = sampling_model("1@1 1@2 1@1", ShortenKind::kAvg, UpsampleKind::kRepeat);
  SampleRequest request;
  request.options.length = int64_t{1} << 24;
  request.known.assign(request.options.length - 8, 'a');
  const ModelConfig& config = model->config();
  EXPECT_GT(sampling_memory_bytes(config, request.options, request.known.size()), 1e15);
  SampleOptions small;
  small.length = 64;
  EXPECT_LT(sampling_memory_bytes(config, small, 8), 1e7);
  const double cached = sampling_memory_bytes(config, small, 8);
  small.full_recompute = true;  // the whole sequence in every pass: its scores, no caches
  EXPECT_GT(sampling_memory_bytes(config, small, 8), cached);
  try {
    sample(model, request);
    FAIL() << "a request of petabytes was attempted";
  } catch (const OutOfMemory& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("out of memory: sampling 1 x 16777216 tokens", 0), 0u) << message;
    EXPECT_NE(message.find("GB free. HINT: "), std::string::npos) << message;
  }
}

TEST(Memory, TheMessageNamesTheWorkTheSizesAndAHint) {
  EXPECT_EQ(out_of_memory_message("sampling", 1843.4e9, 23.14e9, "fewer samples"),
            "out of memory: sampling needs 1843 GB, the device has 23.1 GB free. HINT: fewer "
            "samples");
  EXPECT_NE(out_of_memory_message("x", 0.01234e9, 1e9, "").find("needs 0.0123 GB"),
            std::string::npos);
  check_memory(torch::kCPU, 1.0, "one byte", "");  // fits anywhere: no throw
  if (available_memory_bytes(torch::kCPU) >= 0) {
    EXPECT_GT(available_memory_bytes(torch::kCPU), 1 << 20);
    EXPECT_THROW(check_memory(torch::kCPU, 1e18, "an exabyte", "less"), OutOfMemory);
  }
}

TEST(Sampler, CompletionKeepsKnownTokensAndSeedsRepeat) {
  auto model = sampling_model("1@1 1@3 1@1", ShortenKind::kLinear, UpsampleKind::kLinear);
  SampleRequest request;
  request.options.n = 2;
  request.options.length = 30;
  request.options.seed = 3;
  request.known.assign(30, -1);
  for (int i = 0; i < 6; ++i) request.known[i] = 10 * i;  // the prompt
  request.known[17] = 200, request.known[18] = 201;       // known pixels further on
  const SampleResult a = sample(model, request);
  for (const auto& tokens : a.tokens) {
    for (int i = 0; i < 6; ++i) EXPECT_EQ(tokens[i], 10 * i);
    EXPECT_EQ(tokens[17], 200);
    EXPECT_EQ(tokens[18], 201);
  }
  EXPECT_EQ(sample(model, request).tokens, a.tokens);  // same seed, same samples
  request.options.seed = 4;
  EXPECT_NE(sample(model, request).tokens, a.tokens);
}

TEST(Sampler, TopKOneIsGreedyAndStopByteEnds) {
  auto model = sampling_model("1@1 1@2 1@1", ShortenKind::kAvg, UpsampleKind::kLinear);
  SampleRequest request;
  request.options.length = 25;
  request.options.top_k = 1;
  const auto greedy_k = sample(model, request).tokens;
  request.options.top_k = 0;
  request.options.temperature = 0.0;
  EXPECT_EQ(sample(model, request).tokens, greedy_k);
  // Stop at the 5th token's value: the sample ends right there.
  request.options.stop_byte = greedy_k[0][4];
  const auto stopped = sample(model, request).tokens[0];
  EXPECT_LE(stopped.size(), 5u);
  EXPECT_EQ(stopped.back(), greedy_k[0][4]);
}

TEST(Sampler, CallbackReportsEachPositionWithTheModelsTopAlternatives) {
  auto model = sampling_model("1@1 1@3 1@1", ShortenKind::kLinear, UpsampleKind::kLinear);
  SampleRequest request;
  request.known = {'a', 'b', -1, -1, 'x'};  // a prompt, then a forced token further on
  request.options.n = 2;
  request.options.length = 12;
  request.options.temperature = 0.0;  // greedy: the chosen token is the model's first choice
  std::vector<SampleStep> steps;
  const SampleResult result = sample(model, request, [&](const SampleStep& step) {
    steps.push_back(step);
    return true;
  });
  ASSERT_EQ(steps.size(), 10u);  // positions 2..11: the prompt is not reported
  for (const SampleStep& step : steps) {
    ASSERT_EQ(step.tokens.size(), 2u);
    ASSERT_EQ(step.top.size(), 2u);
    for (int s = 0; s < 2; ++s) {
      EXPECT_EQ(step.tokens[s], result.tokens[s][step.position]);
      float sum = 0.0f;
      for (int i = 0; i < kTopAlternatives; ++i) {
        sum += step.top[s][i].prob;
        if (i > 0) EXPECT_GE(step.top[s][i - 1].prob, step.top[s][i].prob);
      }
      EXPECT_LE(sum, 1.0f + 1e-5f);
      if (step.position == 4) {
        EXPECT_EQ(step.tokens[s], 'x');
        EXPECT_EQ(step.probs[s], 1.0f);
      } else {
        EXPECT_EQ(step.tokens[s], step.top[s][0].token);
      }
    }
  }
  // Returning false stops after that position.
  int calls = 0;
  const SampleResult stopped =
      sample(model, request, [&](const SampleStep&) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(stopped.tokens[0].size(), 5u);  // 2 prompt tokens + 3 positions
}

// On CUDA, each step's graph picks its tokens on the device (where the build has the kernels):
// the same tokens, probabilities and reports as the host's picks of the same logits, including
// forced tokens, a stop byte and a callback that stops early. Skipped without CUDA.
TEST(SamplerCuda, DevicePicksSampleWhatHostPicksSample) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto model = sampling_model("1@1 1@2 1@6 1@2 1@1", ShortenKind::kLinear, UpsampleKind::kLinear);
  model->to(torch::kCUDA);
  struct Case {
    double temperature;
    int top_k;
    double top_p;
    bool stop_byte;  // stop at the byte sample 0 has at position 10
    int stop_after;  // the callback returns false at this call (0: never)
    int n = 3;       // samples (300: batches of 27 positions; 1: one stream)
  };
  for (const Case& c :
       {Case{1.0, 0, 1.0, false, 0}, Case{0.8, 0, 0.9, false, 0}, Case{0.0, 0, 1.0, false, 0},
        Case{0.7, 5, 1.0, false, 0}, Case{1.2, 40, 0.6, true, 0}, Case{1.0, 0, 1.0, false, 37},
        Case{0.9, 0, 0.95, false, 0, 1}, Case{1.0, 0, 1.0, false, 0, 300}}) {
    SampleRequest request;
    request.known.assign(70, -1);
    for (int i = 0; i < 4; ++i) request.known[i] = "The "[i];
    request.known[40] = 'Q', request.known[41] = 'u';  // forced further on
    request.options.n = c.n;
    request.options.length = 90;  // three or four batches of positions
    request.options.seed = 21;
    request.options.temperature = c.temperature;
    request.options.top_k = c.top_k;
    request.options.top_p = c.top_p;
    if (c.stop_byte) request.options.stop_byte = sample(model, request).tokens[0][10];
    auto run = [&](bool host_picks, std::vector<SampleStep>& steps) {
      request.host_picks = host_picks;
      return sample(model, request, [&](const SampleStep& step) {
        steps.push_back(step);
        return c.stop_after == 0 || static_cast<int>(steps.size()) < c.stop_after;
      });
    };
    std::vector<SampleStep> on_host, on_device;
    const SampleResult host = run(true, on_host);
    const SampleResult device = run(false, on_device);
    const std::string what = "n " + std::to_string(c.n) + " temperature " +
                             std::to_string(c.temperature) + " top-k " + std::to_string(c.top_k) +
                             " top-p " + std::to_string(c.top_p);
    EXPECT_FALSE(host.device_picks);
    if (!device.device_picks) GTEST_SKIP() << "this build picks on the host only";
    EXPECT_EQ(device.tokens, host.tokens) << what;
    EXPECT_EQ(device.decoded, host.decoded) << what;
    ASSERT_EQ(on_device.size(), on_host.size()) << what;
    for (size_t i = 0; i < on_host.size(); ++i) {
      EXPECT_EQ(on_device[i].position, on_host[i].position);
      EXPECT_EQ(on_device[i].tokens, on_host[i].tokens) << what << " position " << i;
      for (int s = 0; s < c.n; ++s) {
        EXPECT_NEAR(on_device[i].probs[s], on_host[i].probs[s], 1e-6) << what;
        EXPECT_EQ(on_device[i].top[s][0].token, on_host[i].top[s][0].token) << what;
      }
    }
    for (size_t s = 0; s < host.probs.size(); ++s)
      for (size_t i = 0; i < host.probs[s].size(); ++i)
        EXPECT_NEAR(device.probs[s][i], host.probs[s][i], 1e-6) << what;
    if (c.stop_after > 0) EXPECT_EQ(on_device.size(), static_cast<size_t>(c.stop_after));
    if (c.stop_byte) EXPECT_LE(host.tokens[0].size(), 11u);
  }
}

// A diverged model's NaN logits count as -inf: never picked, last in order, and every mode still
// returns a real token (the device's picks read them the same way).
TEST(Sampler, PickTokenReadsNanAsMinusInfinity) {
  std::vector<float> logits(256, -1.0f);
  logits[7] = 3.0f, logits[0] = NAN, logits[9] = NAN;
  SampleOptions o;
  o.temperature = 0.0;
  EXPECT_EQ(pick_token(logits.data(), o, 0.5).first, 7);
  o.temperature = 1.0;
  for (double u : {0.0, 0.5, 0.999999}) {
    const auto [t, p] = pick_token(logits.data(), o, u);
    EXPECT_TRUE(t != 0 && t != 9 && t >= 0 && t < 256) << t;
    EXPECT_GT(p, 0.0f);
  }
  o.top_k = 2;  // 7, then the lowest id among the equal rest: 1 (0 is NaN)
  EXPECT_EQ(pick_token(logits.data(), o, 0.999999).first, 1);
  std::fill(logits.begin(), logits.end(), NAN);  // nothing but NaN: still a token
  o.top_k = 0;
  EXPECT_EQ(pick_token(logits.data(), o, 0.5).first, 0);
}

TEST(Sampler, PickTokenRespectsTopKAndTopP) {
  std::vector<float> logits(256, -10.0f);
  logits[7] = 3.0f, logits[9] = 2.0f, logits[11] = 1.0f;
  SampleOptions o;
  o.top_k = 2;
  for (double u : {0.0, 0.3, 0.6, 0.999}) {
    const int t = pick_token(logits.data(), o, u).first;
    EXPECT_TRUE(t == 7 || t == 9) << t;
  }
  o.top_k = 0;
  o.top_p = 0.5;  // token 7 alone holds ~66%
  EXPECT_EQ(pick_token(logits.data(), o, 0.99).first, 7);
  EXPECT_FLOAT_EQ(pick_token(logits.data(), o, 0.99).second, 1.0f);
}

}  // namespace
}  // namespace hg
