// The measurements behind `hourglass bench`. Each model is built, measured and freed before the
// next, so peak memory is its own. A model's block:
//   config, hierarchy, levels (cost model), params, params_allocated,
//   flops_per_token {forward, train (3x forward), nanogpt_train (6N + 12 L D T, for reference)},
//   forward {step_s, tokens_per_s, peak_mem_bytes},
//   train {step_s, tokens_per_s, flops_per_s, mfu?, peak_mem_bytes, cuda_graph}: as the trainer
//   steps (a CUDA graph where it can), train_eager: the same without the graph,
//   sample? {text, image: {length, batch, dtype (fp32: as hg::sample runs), speedup?,
//            incremental, full_recompute?: {seconds, tokens_per_s, images_per_s?,
//            peak_mem_bytes}}}.
// With a profile folder, train, train_eager and sample.*.incremental also hold "profile": the
// GPU kernels per training step or per decoded position (profile.h).
#include "model/tools/bench.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "model/core/cost.h"
#include "model/core/run_config.h"
#include "model/decode/sampler.h"
#include "model/kernels/fused_ops.h"
#include "model/nn/compat.h"
#include "model/nn/device.h"
#include "model/nn/hourglass.h"
#include "model/tools/profile.h"
#include "model/train/graph_step.h"
#include "model/train/optim.h"

namespace hg {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kH200Bf16Tflops = 989.0;  // dense bf16 peak of one H200 (NVIDIA data sheet)

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Mean seconds per call over `iters` calls, after `warmup` untimed ones.
double seconds_per_call(const std::function<void()>& fn, int warmup, int iters,
                        const torch::Device& device) {
  for (int i = 0; i < warmup; ++i) fn();
  synchronize(device);
  const auto start = Clock::now();
  for (int i = 0; i < iters; ++i) fn();
  synchronize(device);
  return seconds_since(start) / iters;
}

// Random tokens behind a BOS, as the batcher makes them.
torch::Tensor random_tokens(int64_t batch, int64_t length, const torch::Device& device) {
  auto tokens = torch::randint(0, kVocabSize, {batch, length + 1}, torch::kLong);  // (B, T+1)
  tokens.select(1, 0).fill_(kBosToken);
  return tokens.to(device);  // (B, T+1)
}

double ratio(double a, double b) { return b > 0.0 ? a / b : 0.0; }
json ratio_or_null(double a, double b) { return b > 0.0 && a > 0.0 ? json(a / b) : json(); }

// The peak MFU is measured against; 0 when there is none to compare with.
double peak_tflops(const BenchOptions& o, const torch::Device& device) {
  if (o.peak_tflops >= 0.0) return o.peak_tflops;
  return device.is_cuda() && o.bf16 ? kH200Bf16Tflops : 0.0;
}

// Where a profile's trace goes: DIR/<model or vanilla>-<what>.json.
std::string trace_path(const BenchOptions& o, const std::string& label, const std::string& what) {
  return (std::filesystem::path(o.profile_dir) / (label + "-" + what + ".json")).string();
}

// The whole sequence without gradients, as evaluation runs it.
json measure_forward(Hourglass& model, const BenchOptions& o, const torch::Device& device,
                     bool bf16) {
  const int64_t batch = o.batch, t = o.model.seq_len;
  auto inputs = random_tokens(batch, t, device).narrow(1, 0, t);  // (B, T)
  model->eval();
  reset_peak_memory(device);
  const double s = seconds_per_call(
      [&] {
        torch::NoGradGuard no_grad;
        CudaAutocast autocast(bf16);
        model(inputs);  // (B, T, 256)
      },
      o.warmup, o.iters, device);
  return {{"step_s", s},
          {"tokens_per_s", batch * t / s},
          {"peak_mem_bytes", peak_memory_bytes(device)}};
}

// Forward, loss, backward and an AdamW step (default TrainConfig settings: the cost of a step does
// not depend on them), eagerly and, where the trainer would, replayed as a CUDA graph. "train" is
// what the trainer runs (the graph when there is one); "train_eager" the eager step beside it.
json measure_train(Hourglass& model, const BenchOptions& o, const torch::Device& device, bool bf16,
                   double flops_per_token, double peak, const std::string& label) {
  const int64_t batch = o.batch, t = o.model.seq_len;
  TrainConfig train;
  train.cuda_graph = o.cuda_graph;
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (auto& item : model->named_parameters()) params.emplace_back(item.key(), item.value());
  reset_peak_memory(device);
  AdamW optimizer(params, train);
  auto tokens = random_tokens(batch, t, device);                           // (B, T+1)
  auto inputs = tokens.narrow(1, 0, t), targets = tokens.narrow(1, 1, t);  // (B, T)
  model->train();
  auto figures = [&](double s) {
    const double tokens_per_s = batch * t / s;
    json j = {{"step_s", s},
              {"tokens_per_s", tokens_per_s},
              {"flops_per_s", tokens_per_s * flops_per_token},
              {"peak_mem_bytes", peak_memory_bytes(device)}};
    if (peak > 0.0) j["mfu"] = tokens_per_s * flops_per_token / (peak * 1e12);
    return j;
  };
  auto eager_step = [&] {
    torch::Tensor loss;
    {
      CudaAutocast autocast(bf16);
      auto logits = model(inputs);         // (B, T, 256)
      loss = token_loss(logits, targets);  // ()
    }
    loss.backward();
    optimizer.step(train.lr);
    optimizer.zero_grad();
  };
  json eager = figures(seconds_per_call(eager_step, o.warmup, o.iters, device));
  eager["cuda_graph"] = false;
  if (!o.profile_dir.empty())
    eager["profile"] = profile_gpu(eager_step, 2, 1.0, device, trace_path(o, label, "train-eager"));
  std::string why;
  if (!GraphedStep::supported(model->config(), train, device, optimizer, &why)) {
    eager["cuda_graph_unused"] = why;
    return {{"train", eager}, {"train_eager", eager}};
  }
  reset_peak_memory(device);
  GraphedStep graphed(model, optimizer, train, bf16, 1, static_cast<int>(batch), t, device);
  json graph =
      figures(seconds_per_call([&] { graphed.step(tokens, train.lr); },
                               std::max(o.warmup, GraphedStep::kWarmupSteps + 1), o.iters, device));
  graph["cuda_graph"] = true;
  if (!o.profile_dir.empty())
    graph["profile"] = profile_gpu([&] { graphed.step(tokens, train.lr); }, 3, 1.0, device,
                                   trace_path(o, label, "train"));
  return {{"train", graph}, {"train_eager", eager}};
}

// One sampling run of `length` tokens for `n` sequences, as hg::sample runs it (in the weights'
// fp32: decoding in bf16 measured slower, its single-token matrix products gaining nothing);
// a short untimed run first.
json measure_decoding(Hourglass& model, int64_t length, int n, bool full_recompute, bool host_picks,
                      bool image, const BenchOptions& o, const torch::Device& device,
                      const std::string& label) {
  SampleRequest request;
  request.host_picks = host_picks;
  request.options.n = n;
  request.options.seed = o.seed;
  request.options.full_recompute = full_recompute;
  if (o.warmup > 0) {
    request.options.length = std::min<int64_t>(length, 32);
    sample(model, request);
  }
  request.options.length = length;
  synchronize(device);
  reset_peak_memory(device);
  const auto start = Clock::now();
  const SampleResult result = sample(model, request);
  synchronize(device);
  const double s = seconds_since(start);
  json j = {{"seconds", s},
            {"tokens_per_s", static_cast<double>(result.decoded) * n / s},
            {"peak_mem_bytes", peak_memory_bytes(device)},
            {"picks", result.device_picks ? "device" : "host"}};
  if (image) j["images_per_s"] = n / s;
  if (!o.profile_dir.empty() && !full_recompute && !host_picks) {
    // A shorter run; its first steps capture the graphs, so the figures per position slightly
    // overstate a long run's.
    request.options.length = std::min<int64_t>(length, 256);
    j["profile"] =
        profile_gpu([&] { sample(model, request); }, 1, static_cast<double>(request.options.length),
                    device, trace_path(o, label, image ? "sample-image" : "sample-text"));
  }
  return j;
}

json measure_sampling(Hourglass& model, int64_t length, int n, bool image, const BenchOptions& o,
                      const torch::Device& device, const std::string& label) {
  json j = {{"length", length}, {"batch", n}, {"dtype", "fp32"}};
  j["incremental"] = measure_decoding(model, length, n, false, false, image, o, device, label);
  if (j["incremental"]["picks"] == "device") {  // the same decoding with the host's picks
    j["incremental_host_picks"] =
        measure_decoding(model, length, n, false, true, image, o, device, label);
    j["device_picks_speedup"] = ratio(j["incremental"]["tokens_per_s"].get<double>(),
                                      j["incremental_host_picks"]["tokens_per_s"].get<double>());
  }
  if (o.full_recompute) {
    j["full_recompute"] = measure_decoding(model, length, n, true, false, image, o, device, label);
    j["speedup"] = ratio(j["incremental"]["tokens_per_s"].get<double>(),
                         j["full_recompute"]["tokens_per_s"].get<double>());
  }
  return j;
}

struct SampleSizes {
  int64_t text_length;
  int text_batch;
  int64_t image_length;
  int image_batch;
};

// BenchOptions' sampling sizes with the zeros (automatic) filled in for this device.
SampleSizes sample_sizes(const BenchOptions& o, const torch::Device& device) {
  const bool gpu = device.is_cuda();
  auto given_or = [](auto given, auto fallback) { return given > 0 ? given : fallback; };
  return {given_or(o.text_length, int64_t{gpu ? 2048 : 128}), given_or(o.text_batch, 1),
          given_or(o.image_length, int64_t{gpu ? 3072 : 192}),
          given_or(o.image_batch, gpu ? 16 : 2)};
}

// Builds one model, measures it and frees it.
json measure_model(const ModelConfig& config, const BenchOptions& o, const torch::Device& device,
                   const std::string& label) {
  const bool bf16 = device.is_cuda() && o.bf16;
  const Hierarchy hierarchy = config.parsed_hierarchy();
  const ModelCost cost = model_cost(config);
  torch::manual_seed(o.seed);
  Hourglass model(config);
  model->to(device);

  json levels = json::array();
  for (const LevelCost& level : cost.levels)
    levels.push_back({{"factor", level.factor},
                      {"layers", level.layers},
                      {"params", level.params},
                      {"flops_per_token", level.flops_per_token}});
  const double nanogpt = 6.0 * static_cast<double>(cost.params) +
                         12.0 * hierarchy.num_layers() * config.d_model * config.seq_len;
  json j = {{"config", to_json(config)},
            {"hierarchy", hierarchy.to_string()},
            {"levels", levels},
            {"params", cost.params},
            {"params_allocated", model->num_parameters()},
            {"flops_per_token",
             {{"forward", cost.flops_per_token},
              {"train", 3.0 * cost.flops_per_token},
              {"nanogpt_train", nanogpt}}}};
  if (!o.sample_only) {
    // Forward first: its peak memory then holds the weights but no optimizer state or gradients.
    j["forward"] = measure_forward(model, o, device, bf16);
    const json train = measure_train(model, o, device, bf16, 3.0 * cost.flops_per_token,
                                     peak_tflops(o, device), label);
    j["train"] = train["train"];
    j["train_eager"] = train["train_eager"];
  }
  if (o.sample) {
    const SampleSizes n = sample_sizes(o, device);
    j["sample"] = {
        {"text", measure_sampling(model, n.text_length, n.text_batch, false, o, device, label)},
        {"image", measure_sampling(model, n.image_length, n.image_batch, true, o, device, label)}};
  }
  return j;
}

json ratios(const json& h, const json& v) {
  auto get = [](const json& j, const char* a, const char* b) { return j[a][b].get<double>(); };
  json r = {{"flops_per_token",
             ratio(get(h, "flops_per_token", "forward"), get(v, "flops_per_token", "forward"))},
            {"params", ratio(h["params"].get<double>(), v["params"].get<double>())}};
  if (h.contains("train"))
    r.update(json{{"train_tokens_per_s",
                   ratio(get(h, "train", "tokens_per_s"), get(v, "train", "tokens_per_s"))},
                  {"forward_tokens_per_s",
                   ratio(get(h, "forward", "tokens_per_s"), get(v, "forward", "tokens_per_s"))},
                  // null on the CPU, where there is no allocator peak to compare
                  {"train_peak_mem", ratio_or_null(get(h, "train", "peak_mem_bytes"),
                                                   get(v, "train", "peak_mem_bytes"))},
                  {"forward_peak_mem", ratio_or_null(get(h, "forward", "peak_mem_bytes"),
                                                     get(v, "forward", "peak_mem_bytes"))}});
  if (h.contains("sample"))
    for (const char* kind : {"text", "image"})
      for (const char* mode : {"incremental", "full_recompute"})
        if (h["sample"][kind].contains(mode))
          r["sample_" + std::string(kind) + "_" + mode + "_tokens_per_s"] =
              ratio(h["sample"][kind][mode]["tokens_per_s"].get<double>(),
                    v["sample"][kind][mode]["tokens_per_s"].get<double>());
  return r;
}

}  // namespace

void BenchOptions::validate() const {
  auto fail = [](const std::string& field, double value, const std::string& valid) {
    std::ostringstream text;
    text << "bench: " << field << " = " << value << " must be " << valid;
    throw std::invalid_argument(text.str());
  };
  model.validate();
  if (batch < 1) fail("batch", batch, "at least 1");
  if (device != "auto" && device != "cpu" && device != "cuda")
    throw std::invalid_argument("bench: device = '" + device + "' must be one of auto, cpu, cuda");
  if (threads < 0) fail("threads", threads, "0 (all) or more");
  if (warmup < 0) fail("warmup", warmup, "0 or more");
  if (iters < 1) fail("iters", iters, "at least 1");
  if (text_length < 0) fail("text_length", static_cast<double>(text_length), "0 (auto) or more");
  if (text_batch < 0) fail("text_batch", text_batch, "0 (auto) or more");
  if (image_length < 0) fail("image_length", static_cast<double>(image_length), "0 (auto) or more");
  if (image_batch < 0) fail("image_batch", image_batch, "0 (auto) or more");
  if (sample_only && !sample)
    throw std::invalid_argument("bench: sample_only (--sample-only) needs sample (--sample)");
  if (!std::isfinite(peak_tflops))
    fail("peak_tflops", peak_tflops, "a number (< 0: automatic, 0: no MFU)");
}

json run_bench(const BenchOptions& options) {
  options.validate();
  const torch::Device device = resolve_device(options.device);
  set_cpu_threads(options.threads);
  const bool bf16 = device.is_cuda() && options.bf16;
  json out = {{"device", describe_device(device)},
              {"dtype", bf16 ? "bf16 autocast" : "fp32"},
              {"batch", options.batch},
              {"seq_len", options.model.seq_len},
              {"warmup", options.warmup},
              {"iters", options.iters}};
  const double peak = peak_tflops(options, device);
  if (peak > 0.0) out["peak_tflops"] = peak;
  if (!options.profile_dir.empty()) {
    if (!can_profile())
      throw std::invalid_argument(
          "bench: --profile needs the CUDA build (packaging/gpu-build.sh); this one has no "
          "kernel profiler");
    if (!device.is_cuda())
      throw std::invalid_argument("bench: --profile profiles GPU kernels; run it on CUDA");
    std::filesystem::create_directories(options.profile_dir);
    out["profile_dir"] = options.profile_dir;
  }
  out["model"] = measure_model(options.model, options, device, "model");
  if (options.vs_vanilla) {
    out["vanilla"] = measure_model(options.model.vanilla_twin(), options, device, "vanilla");
    out["ratio"] = ratios(out["model"], out["vanilla"]);
  }
  return out;
}

}  // namespace hg
