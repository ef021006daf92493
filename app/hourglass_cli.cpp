// `hourglass`: the command-line tool (DESIGN.md §7) — train, resume, eval, sample, inspect, bench.
// Every error a user can cause ends as one line on stderr and exit status 1; CLI11's own usage
// errors keep its status (non-zero). Not the studio: that is hourglass-studio.
#include <torch/torch.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/build_info.h"
#include "app/launch.h"
#include "model/tools/bench.h"
#include "model/train/checkpoint.h"
#include "model/core/cost.h"
#include "model/nn/device.h"
#include "model/train/distributed.h"
#include "model/io/image_io.h"
#include "model/io/inspection_files.h"
#include "model/tools/inspect.h"
#include "model/decode/sampler.h"
#include "model/train/trainer.h"

namespace {

namespace fs = std::filesystem;
using hg::RunConfig;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

// Model and training options shared by `train` and `bench`; unset ones keep the preset's values.
struct ModelOptions {
  std::string preset, hierarchy, shorten, upsample, device;
  std::optional<int> d_model, heads, seq_len, batch;
  std::optional<double> lr;

  void add_to(CLI::App* app) {
    app->add_option("--preset", preset, "Start from assets/presets/NAME.json (e.g. tiny-cpu)");
    app->add_option("--hierarchy", hierarchy,
                    "Layers@factor pairs, a palindrome: \"2@1 4@3 2@1\"; \"8@1\" is vanilla");
    app->add_option("--shorten", shorten, "Shortening: avg, linear or attention")
        ->check(CLI::IsMember({"avg", "linear", "attention"}));
    app->add_option("--upsample", upsample, "Upsampling: repeat, linear or attention")
        ->check(CLI::IsMember({"repeat", "linear", "attention"}));
    app->add_option("--d-model", d_model, "Model width D")->check(CLI::PositiveNumber);
    app->add_option("--heads", heads, "Attention heads (must divide D)")
        ->check(CLI::PositiveNumber);
    app->add_option("--seq-len", seq_len,
                    "Tokens per sequence, BOS included (images: set "
                    "from the data)")
        ->check(CLI::PositiveNumber);
    app->add_option("--batch", batch, "Sequences per optimizer step")->check(CLI::PositiveNumber);
    app->add_option("--lr", lr, "Peak learning rate")->check(CLI::PositiveNumber);
    app->add_option("--device", device, "auto, cpu or cuda")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  }

  RunConfig resolve() const {
    RunConfig c = preset.empty() ? RunConfig{} : hg::load_preset(preset);
    if (!hierarchy.empty()) c.model.hierarchy = hierarchy;
    if (!shorten.empty()) c.model.shorten = hg::parse_shorten(shorten);
    if (!upsample.empty()) c.model.upsample = hg::parse_upsample(upsample);
    if (d_model) c.model.d_model = *d_model;
    if (heads) c.model.n_heads = *heads;
    if (seq_len) c.model.seq_len = *seq_len;
    if (batch) c.train.batch = *batch;
    if (lr) c.train.lr = *lr;
    if (!device.empty()) c.train.device = device;
    c.model.validate();
    return c;
  }
};

std::string human_duration(double seconds) {
  char buffer[32];
  const int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%dh%02dm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%dm%02ds", s / 60, s % 60);
  return buffer;
}

// Trains until done or Ctrl-C, with a progress line on stderr (from rank 0 alone when several
// processes train together).
void train_loop(hg::Trainer& trainer) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (!trainer.writes()) {
    trainer.run(&g_stop, nullptr);
    return;
  }
  const auto& cfg = trainer.config();
  std::cerr << "run " << trainer.run_dir() << ": " << trainer.data().description << "; model "
            << cfg.model.hierarchy << " (" << hg::to_string(cfg.model.shorten) << "/"
            << hg::to_string(cfg.model.upsample) << "), D " << cfg.model.d_model << ", "
            << hg::model_cost(cfg.model).params << " parameters, on "
            << hg::describe_device(trainer.device());
  if (trainer.world_size() > 1)
    std::cerr << " x " << trainer.world_size() << " data-parallel processes (batch "
              << cfg.train.batch << " each, " << cfg.train.batch * trainer.world_size()
              << " in all)";
  std::cerr << "\n";
  if (trainer.data().skipped > 0) {
    std::cerr << "skipped " << trainer.data().skipped << " unreadable file(s), e.g. "
              << trainer.data().skipped_files.front() << "\n";
  }
  const bool tty = isatty(STDERR_FILENO);
  const int64_t first = trainer.step();
  const double start_time = trainer.time_s();
  trainer.run(&g_stop, [&](const hg::Metrics& m) {
    if (m.split != "train") {
      std::cerr << (tty ? "\r\033[K" : "") << "step " << m.step << "  val loss " << m.loss << "  ("
                << m.bits_per_token << " bits/token)\n";
      return;
    }
    const double done = static_cast<double>(m.step - first);
    const double left =
        done > 0 ? (m.time_s - start_time) / done * (cfg.train.steps - m.step) : 0.0;
    if (!tty && m.step % 10 != 0 && m.step != cfg.train.steps) return;
    char line[200];
    std::snprintf(line, sizeof line, "step %lld/%lld  loss %.4f  %.0f tok/s  lr %.2e  left %s",
                  static_cast<long long>(m.step), static_cast<long long>(cfg.train.steps), m.loss,
                  m.tokens_per_s, m.lr, human_duration(left).c_str());
    std::cerr << (tty ? "\r\033[K" : "") << line << (tty ? "" : "\n") << std::flush;
  });
  std::cerr << (tty ? "\n" : "") << (g_stop ? "stopped" : "finished") << " at step "
            << trainer.step() << "; checkpoint saved in " << trainer.run_dir() << "/checkpoints\n";
}

// Data-parallel training (issue 9). Before starting `gpus` workers: says why it cannot, or on a
// machine without CUDA that the workers will be CPU processes talking through Gloo.
void check_workers_possible(const std::string& device_name, int gpus) {
  const torch::Device device = hg::resolve_device(device_name);
  std::string why;
  if (!hg::distributed_available(device, &why))
    throw std::invalid_argument("--gpus " + std::to_string(gpus) + ": " + why);
  if (device.is_cuda()) {
    const int count = static_cast<int>(torch::cuda::device_count());
    if (gpus > count)
      throw std::invalid_argument("--gpus " + std::to_string(gpus) + ": this machine has " +
                                  std::to_string(count) + " GPU(s). HINT: --gpus " +
                                  std::to_string(count) + ", or launch several machines (README)");
  } else {
    std::cerr << "--gpus " << gpus << ": "
              << (torch::hasCUDA() ? "no GPU is visible" : "this libtorch has no CUDA") << "; "
              << gpus << " CPU processes train together through Gloo instead\n";
  }
}

// A trainer from `open` (create or resume): alone, or as this process's rank of a data-parallel
// world started by `--gpus` or by a launcher.
std::unique_ptr<hg::Trainer> open_trainer(
    const std::optional<hg::WorldInfo>& world, const std::string& device_name,
    const std::function<std::unique_ptr<hg::Trainer>(std::shared_ptr<hg::ProcessGroup>)>& open) {
  if (!world) return open(nullptr);
  const torch::Device device = hg::resolve_device(device_name, world->local_rank);
  return hg::Trainer::join(hg::ProcessGroup::connect(*world, device, std::chrono::minutes(10)),
                           open);
}

// A model and its weights from a run directory or a .safetensors file, on the chosen device.
hg::Hourglass open_model(const hg::ModelSource& source, const std::string& device) {
  hg::Hourglass model(source.config);
  hg::load_weights(model, source.weights);
  model->to(hg::resolve_device(device));
  model->eval();
  return model;
}

int image_channels_or_throw(const hg::ModelConfig& config) {
  if (const int channels = hg::image_channels(config)) return channels;
  throw std::invalid_argument("this model's sequences are " + std::to_string(config.seq_len) +
                              " tokens, not a 32x32 image (1024 or 3072). HINT: sample text "
                              "into a .txt file");
}

std::string extension_of(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hourglass: train, sample and dissect Hourglass models (hierarchical transformers)"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version,
               "Print the version, libtorch, device, build options and assets folder");

  // train
  auto* train = app.add_subcommand("train", "Train a new run into RUN_DIR");
  ModelOptions train_model;
  train_model.add_to(train);
  std::string data, format, out;
  std::optional<int64_t> steps, eval_every, save_every;
  std::optional<uint64_t> seed;
  bool force = false;
  train->add_option("--data", data,
                    "Dataset: a text file or folder, IDX, CIFAR batches, or a "
                    "folder of PNG/JPEG (default: the preset's)");
  train->add_option("--format", format, "text, idx, cifar or images (guessed from the path)")
      ->check(CLI::IsMember({"text", "idx", "cifar", "images"}));
  train->add_option("--steps", steps, "Optimizer steps")->check(CLI::PositiveNumber);
  std::optional<double> max_time;
  train->add_option("--max-time", max_time, "Stop after this many seconds of training")
      ->check(CLI::PositiveNumber);
  train->add_option("--seed", seed, "One seed for weights, data order and dropout");
  train->add_option("--eval-every", eval_every, "Steps between validation passes (0: at the end)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--save-every", save_every, "Steps between checkpoints (0: at the end)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--out", out, "The run directory to create")->required();
  train->add_flag("--force", force, "Replace an existing run directory");
  bool no_cuda_graph = false;
  train->add_flag("--no-cuda-graph", no_cuda_graph,
                  "Run the training step eagerly on CUDA instead of replaying it as a CUDA graph");
  int gpus = 1;
  train
      ->add_option("--gpus", gpus,
                   "Data-parallel processes, one per GPU (CPU processes through Gloo without "
                   "CUDA); --batch is per process")
      ->check(CLI::Range(1, 4096));

  // resume
  auto* resume = app.add_subcommand("resume", "Continue a run from its newest checkpoint");
  std::string resume_dir;
  std::optional<int64_t> resume_steps;
  resume->add_option("RUN_DIR", resume_dir, "The run directory")->required();
  resume->add_option("--steps", resume_steps, "Raise the run's total step count")
      ->check(CLI::PositiveNumber);
  std::optional<int> resume_gpus;
  resume
      ->add_option("--gpus", resume_gpus,
                   "Data-parallel processes (default: as many as trained the run)")
      ->check(CLI::Range(1, 4096));

  // eval
  auto* eval = app.add_subcommand("eval", "Loss and bits per token on a split; one JSON line");
  std::string eval_source, eval_data, eval_split = "val", eval_device = "auto";
  int eval_batches = 50;
  eval->add_option("SOURCE", eval_source, "A run directory or a .safetensors checkpoint")
      ->required();
  eval->add_option("--data", eval_data, "Dataset (default: the run's)");
  eval->add_option("--split", eval_split, "val or test")->check(CLI::IsMember({"val", "test"}));
  eval->add_option("--batches", eval_batches, "At most this many batches")
      ->check(CLI::PositiveNumber);
  eval->add_option("--device", eval_device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));

  // sample
  auto* sample = app.add_subcommand("sample", "Generate text (.txt) or 32x32 images (.png)");
  std::string sample_source, prompt, prime, sample_out, sample_device = "auto";
  int keep_rows = 16;
  hg::SampleOptions options;
  bool length_given = false;
  sample->add_option("SOURCE", sample_source, "A run directory or a .safetensors checkpoint")
      ->required();
  auto* prompt_opt = sample->add_option("--prompt", prompt, "Text to continue");
  auto* prime_opt =
      sample->add_option("--prime", prime, "A PNG whose top rows the samples complete");
  prompt_opt->excludes(prime_opt);
  sample->add_option("--keep-rows", keep_rows, "Rows of --prime to keep (0..32)")
      ->check(CLI::Range(0, 32));
  sample->add_option("--n", options.n, "Number of samples")->check(CLI::Range(1, 4096));
  sample
      ->add_option("--length", options.length,
                   "Tokens per sample, prompt included "
                   "(images: always the whole image)")
      ->check(CLI::PositiveNumber)
      ->each([&](const std::string&) { length_given = true; });
  sample->add_option("--temperature", options.temperature, "Softmax temperature (0: greedy)")
      ->check(CLI::NonNegativeNumber);
  sample->add_option("--top-k", options.top_k, "Keep the k most likely tokens (0: all)")
      ->check(CLI::Range(0, 256));
  sample->add_option("--top-p", options.top_p, "Nucleus sampling mass")
      ->check(CLI::Range(0.0, 1.0));
  sample->add_option("--seed", options.seed, "Sampling seed");
  sample->add_flag("--full-recompute", options.full_recompute,
                   "Recompute the whole sequence per token (the slow reference path)");
  sample->add_option("--device", sample_device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sample->add_option("--out", sample_out, "Output .txt or .png")->required();

  // inspect
  auto* inspect = app.add_subcommand("inspect", "Export logits, attention and activations (.npy)");
  std::string inspect_source, inspect_text, inspect_image, inspect_out;
  inspect->add_option("SOURCE", inspect_source, "A run directory or a .safetensors checkpoint")
      ->required();
  auto* text_opt = inspect->add_option("--text", inspect_text, "A text to inspect");
  auto* image_opt = inspect->add_option("--image", inspect_image, "A PNG to inspect");
  text_opt->excludes(image_opt);
  inspect->add_option("--out", inspect_out, "Output folder")->required();

  // bench
  auto* bench = app.add_subcommand("bench", "Measure training and sampling speed; JSON out");
  ModelOptions bench_model;
  bench_model.add_to(bench);
  hg::BenchOptions bench_options;
  bench->add_flag("--vs-vanilla", bench_options.vs_vanilla,
                  "Also measure the vanilla transformer of equal depth and width");
  bench->add_flag("--sample", bench_options.sample,
                  "Also measure sampling: incremental decoding vs full recompute");
  bench->add_option("--iters", bench_options.iters, "Timed iterations")->check(CLI::PositiveNumber);
  bench->add_option("--warmup", bench_options.warmup, "Untimed iterations first")
      ->check(CLI::NonNegativeNumber);
  bench->add_option("--text-length", bench_options.text_length, "Tokens per text sample")
      ->check(CLI::PositiveNumber);
  bench->add_option("--text-batch", bench_options.text_batch, "Text samples decoded together")
      ->check(CLI::PositiveNumber);
  bench
      ->add_option("--image-length", bench_options.image_length,
                   "Tokens per image sample (3072: 32x32 RGB)")
      ->check(CLI::PositiveNumber);
  bench->add_option("--image-batch", bench_options.image_batch, "Images decoded together")
      ->check(CLI::PositiveNumber);
  bench->add_option("--peak-tflops", bench_options.peak_tflops,
                    "Device peak TFLOP/s for MFU (default: 989 on CUDA with bf16)");
  bench->add_flag("!--no-bf16", bench_options.bf16, "Measure in fp32 on CUDA");
  bench->add_flag("!--no-cuda-graph", bench_options.cuda_graph,
                  "Measure the eager training step only");
  bench->add_flag("--sample-only", bench_options.sample_only,
                  "With --sample: measure sampling alone (no forward pass or training step)");
  bench->add_flag("!--no-full-recompute", bench_options.full_recompute,
                  "With --sample: leave out the full-recompute baseline (slow for long samples)");
  bench->add_option("--profile", bench_options.profile_dir,
                    "Also profile the GPU kernels (CUDA build): traces into this folder, a "
                    "summary per step and per decoded token in the JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (version) {
      hg::set_cpu_threads(0);  // as `train` would, so the device line shows the threads it uses
      std::cout << hg::to_text(hg::build_info());
      return 0;
    }
    if (app.get_subcommands().empty()) {
      std::cerr << app.help();
      return 1;
    }
    if (*train) {
      RunConfig config = train_model.resolve();
      if (!data.empty()) config.train.data = data;
      if (config.train.data.empty())
        throw std::invalid_argument("--data is required (or a --preset that names data)");
      if (!format.empty()) config.train.format = format;
      if (steps) config.train.steps = *steps;
      if (seed) config.train.seed = *seed;
      if (max_time) config.train.max_time_s = *max_time;
      if (eval_every) config.train.eval_every = *eval_every;
      if (save_every) config.train.save_every = *save_every;
      if (no_cuda_graph) config.train.cuda_graph = false;
      const auto world = hg::world_from_environment();
      if (!world && hg::workers_requested(gpus)) {
        check_workers_possible(config.train.device, gpus);
        return hg::run_workers(gpus, argv);
      }
      const auto trainer = open_trainer(world, config.train.device, [&](auto group) {
        return hg::Trainer::create(config, out, force, group);
      });
      train_loop(*trainer);
    } else if (*resume) {
      const auto world = hg::world_from_environment();
      // What the run was trained with (a missing or bad config.json: resume() says what is wrong).
      const fs::path config_path = fs::path(resume_dir) / "config.json";
      std::optional<hg::TrainConfig> saved;
      if (fs::is_regular_file(config_path))
        saved = hg::run_config_from_json(hg::read_json_file(config_path.string())).train;
      const std::string device = saved ? saved->device : "auto";
      if (!world) {
        // As many processes as trained the run, unless --gpus says otherwise (resume() then
        // explains why that cannot be).
        const int processes = resume_gpus.value_or(saved ? saved->gpus : 1);
        if (hg::workers_requested(processes)) {
          check_workers_possible(device, processes);
          return hg::run_workers(processes, argv);
        }
      }
      const auto trainer = open_trainer(world, device, [&](auto group) {
        return hg::Trainer::resume(resume_dir, resume_steps, group);
      });
      if (trainer->done()) {
        if (trainer->writes())
          std::cerr << resume_dir << " is complete at step " << trainer->step()
                    << ". HINT: pass --steps N to train further\n";
        return 0;
      }
      train_loop(*trainer);
    } else if (*eval) {
      const hg::ModelSource source = hg::resolve_model_source(eval_source);
      RunConfig config;
      if (!source.run_dir.empty())
        config = hg::run_config_from_json(
            hg::read_json_file((fs::path(source.run_dir) / "config.json").string()));
      config.model = source.config;
      if (!eval_data.empty()) config.train.data = eval_data, config.train.format = "";
      if (config.train.data.empty())
        throw std::invalid_argument("--data is required with a bare checkpoint");
      config.train.device = eval_device;
      config.train.eval_batches = eval_batches;
      hg::Trainer trainer(
          config, std::make_shared<const hg::Dataset>(hg::load_dataset(
                      config.train.data,
                      config.train.format.empty()
                          ? std::nullopt
                          : std::optional<hg::DataFormat>(hg::parse_format(config.train.format)))));
      hg::load_weights(trainer.model(), source.weights);
      const hg::Metrics m =
          trainer.evaluate(eval_split == "test" ? hg::Split::kTest : hg::Split::kVal);
      std::cout << nlohmann::json{{"source", eval_source},
                                  {"step", source.step},
                                  {"split", eval_split},
                                  {"loss", m.loss},
                                  {"bits_per_token", m.bits_per_token},
                                  {"tokens_per_s", m.tokens_per_s}}
                       .dump()
                << "\n";
    } else if (*sample) {
      const hg::ModelSource source = hg::resolve_model_source(sample_source);
      hg::Hourglass model = open_model(source, sample_device);
      hg::SampleRequest request;
      request.options = options;
      const std::string ext = extension_of(sample_out);
      if (ext == ".png") {
        const int channels = image_channels_or_throw(source.config);
        request.options.length = source.config.seq_len;
        if (!prime.empty()) {
          const hg::Image image = hg::load_image_32(prime, channels);
          request.known.assign(image.pixels.begin(),
                               image.pixels.begin() + keep_rows * 32 * channels);
        }
        const hg::SampleResult result = hg::sample(model, request);
        std::vector<uint8_t> pixels;
        for (const auto& t : result.tokens) pixels.insert(pixels.end(), t.begin(), t.end());
        hg::write_png(sample_out, hg::grid(pixels.data(), options.n, 32, 32, channels));
      } else if (ext == ".txt") {
        if (!prime.empty()) throw std::invalid_argument("--prime is for .png output");
        request.known.assign(prompt.begin(), prompt.end());
        if (!length_given)
          request.options.length =
              std::min<int64_t>(static_cast<int64_t>(prompt.size()) + 256, source.config.seq_len);
        const hg::SampleResult result = hg::sample(model, request);
        std::string text;
        for (size_t i = 0; i < result.tokens.size(); ++i) {
          if (result.tokens.size() > 1) text += "=== sample " + std::to_string(i + 1) + " ===\n";
          text.append(result.tokens[i].begin(), result.tokens[i].end());
          if (result.tokens.size() > 1) text += "\n";
        }
        hg::write_file_atomic(sample_out, text);
      } else {
        throw std::invalid_argument("--out " + sample_out + ": write .txt (text) or .png (images)");
      }
      std::cerr << "wrote " << sample_out << "\n";
    } else if (*inspect) {
      const hg::ModelSource source = hg::resolve_model_source(inspect_source);
      hg::Hourglass model = open_model(source, "cpu");
      std::vector<uint8_t> tokens;
      if (!inspect_image.empty()) {
        tokens = hg::image_tokens(inspect_image, source.config);
      } else if (!inspect_text.empty()) {
        tokens.assign(inspect_text.begin(), inspect_text.end());
      } else {
        throw std::invalid_argument("inspect needs --text TEXT or --image PNG");
      }
      hg::write_inspection(hg::inspect(model, tokens), inspect_out);
      std::cerr << "wrote " << inspect_out << "/meta.json and its .npy files\n";
    } else if (*bench) {
      const RunConfig config = bench_model.resolve();
      bench_options.model = config.model;
      bench_options.batch = config.train.batch;
      bench_options.device = config.train.device;
      std::cout << hg::run_bench(bench_options).dump(2) << "\n";
    }
  } catch (const hg::PeerFailed&) {
    return 1;  // rank 0 has said what went wrong
  } catch (const std::exception& e) {
    std::string message = e.what();
    // c10::Error carries a C++ backtrace after the first line; a user needs the first line.
    if (auto cut = message.find("\nException raised from"); cut != std::string::npos)
      message.resize(cut);
    std::cerr << "hourglass: error: " << message << "\n";
    return 1;
  }
  return 0;
}
