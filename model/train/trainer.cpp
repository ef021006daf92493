// The training loop and the run directory it writes (docs/ARCHITECTURE.md).
#include "model/train/trainer.h"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "model/core/cost.h"
#include "model/decode/sampler.h"
#include "model/io/image_io.h"
#include "model/kernels/fused_ops.h"
#include "model/nn/compat.h"
#include "model/nn/device.h"
#include "model/nn/memory.h"
#include "model/train/run_dir.h"

namespace hg {
namespace fs = std::filesystem;
namespace {

std::string checkpoints_dir(const std::string& run_dir) {
  return (fs::path(run_dir) / "checkpoints").string();
}

std::shared_ptr<const Dataset> open_data(const TrainConfig& train) {
  std::optional<DataFormat> format;
  if (!train.format.empty()) format = parse_format(train.format);
  return std::make_shared<const Dataset>(load_dataset(train.data, format));
}

// Keeps only the metrics lines up to `step`: what came after the checkpoint is recomputed.
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() > step) continue;
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut short by a crash
    }
    kept += line + "\n";
  }
  in.close();
  write_file_atomic(path, kept);
}

}  // namespace

namespace {

// A lower bound of what training needs, against what the device has: the weights with their
// gradients and AdamW's two moments (16 bytes a parameter), and a few D-wide fp32 rows a token and
// layer for the activations. Only a config that cannot fit is refused, before anything is made.
void check_memory_for_training(const RunConfig& config, const torch::Device& device) {
  const ModelConfig& m = config.model;
  const double params = static_cast<double>(model_cost(m).params);
  const double tokens =
      static_cast<double>(config.train.batch / config.train.grad_accum) * m.seq_len;
  const double layers = parse_hierarchy(m.hierarchy).num_layers();
  std::ostringstream what;
  what.precision(3);
  what << "training this model (" << params / 1e6 << " M parameters, batch " << config.train.batch
       << " of " << m.seq_len << " tokens)";
  check_memory(device, 16.0 * params + 8.0 * 4.0 * tokens * m.d_model * layers, what.str(),
               "lower --batch, --seq-len, --d-model or the layers");
}

}  // namespace

Trainer::Trainer(RunConfig config, std::shared_ptr<const Dataset> data,
                 std::shared_ptr<ProcessGroup> group)
    : config_(std::move(config)),
      data_(std::move(data)),
      device_(resolve_device(config_.train.device, group ? group->local_rank() : 0)),
      group_(std::move(group)) {
  config_.train.gpus = world_size();
  config_.train.validate();
  if (data_->is_image()) config_.model.seq_len = static_cast<int>(data_->image_bytes());
  config_.model.validate();
  check_memory_for_training(config_, device_);
  // CPU processes training together share the machine's cores unless told otherwise.
  int threads = config_.train.threads;
  if (group_ && threads == 0 && !device_.is_cuda())
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                              std::max(1, group_->local_size()));
  set_cpu_threads(threads);
  // Peak memory counts from here: what this run's batches, model and optimizer hold.
  reset_peak_memory(device_);
  batcher_ = std::make_unique<Batcher>(*data_, config_.model.seq_len);
  torch::manual_seed(config_.train.seed);
  model_ = Hourglass(config_.model);
  model_->to(device_);
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (auto& item : model_->named_parameters()) params.emplace_back(item.key(), item.value());
  optimizer_ = std::make_unique<AdamW>(params, config_.train);
  started_ = std::chrono::steady_clock::now();
}

std::unique_ptr<Trainer> Trainer::create(RunConfig config, const std::string& run_dir, bool force,
                                         std::shared_ptr<ProcessGroup> group) {
  config.train.validate();
  config.model.validate();
  const fs::path target = checked_run_path(run_dir);
  std::error_code error;
  const bool taken = fs::exists(fs::symlink_status(target, error)) &&
                     !(fs::is_directory(target, error) && fs::is_empty(target, error));
  if (taken) {
    if (!fs::is_directory(target, error))
      throw std::invalid_argument("--out " + run_dir +
                                  " is a file, not a run directory; nothing was changed. HINT: "
                                  "pick another --out (--force replaces only run directories)");
    if (!force)
      throw std::invalid_argument("run directory " + run_dir +
                                  " already exists. HINT: continue it with `hourglass resume " +
                                  run_dir + "`, pick another --out, or pass --force to replace it");
    std::string why;
    if (!is_run_directory(target, &why))
      throw std::invalid_argument("--force: " + run_dir + " is not a Hourglass run directory (" +
                                  why + "); refusing to delete it. HINT: pick another --out");
  }
  // Load the data before touching the disk: a bad path must not cost the old run. The new run is
  // kept, and replaces the old one, only once it has a checkpoint (save()).
  auto trainer = std::make_unique<Trainer>(config, open_data(config.train), std::move(group));
  auto made = std::make_unique<NewRunDir>(target, taken);
  fs::create_directories(made->path() / "checkpoints");
  fs::create_directories(made->path() / "samples");
  write_file_atomic((made->path() / "config.json").string(),
                    to_json(trainer->config_).dump(2) + "\n");
  trainer->metrics_.open(made->path() / "metrics.jsonl", std::ios::app);
  trainer->run_dir_ = run_dir;
  trainer->new_run_ = std::move(made);
  return trainer;
}

std::string Trainer::discard_unsaved() {
  if (!new_run_) return "";
  metrics_.close();
  return new_run_->discard();
}

std::string Trainer::writing_dir() const {
  return new_run_ && !new_run_->committed() ? new_run_->path().string() : run_dir_;
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& run_dir, std::optional<int64_t> steps,
                                         std::shared_ptr<ProcessGroup> group) {
  const std::string config_path = (fs::path(run_dir) / "config.json").string();
  if (!fs::is_regular_file(config_path))
    throw std::invalid_argument(run_dir +
                                " is not a run directory (no config.json). HINT: start "
                                "one with `hourglass train --out " +
                                run_dir + "`");
  remove_orphan_temporaries(run_dir);  // what a killed process was writing
  RunConfig config = run_config_from_json(read_json_file(config_path));
  const auto checkpoint = latest_checkpoint(checkpoints_dir(run_dir));
  if (!checkpoint)
    throw std::invalid_argument(run_dir +
                                " has no checkpoint to resume from. HINT: start it "
                                "again with `hourglass train ... --out " +
                                run_dir + " --force`");
  if (checkpoint->config_hash != architecture_hash(config.model))
    throw std::invalid_argument(checkpoint->weights + " belongs to another architecture than " +
                                config_path + " describes");
  if (steps) {
    if (*steps <= checkpoint->step)
      throw std::invalid_argument("--steps " + std::to_string(*steps) +
                                  " is not beyond the checkpoint's step " +
                                  std::to_string(checkpoint->step));
    config.train.steps = *steps;
  }
  const int processes = group ? group->size() : 1;
  if (processes != config.train.gpus)
    throw std::invalid_argument(run_dir + " was trained by " + std::to_string(config.train.gpus) +
                                " data-parallel process(es) of batch " +
                                std::to_string(config.train.batch) + " each; continuing with " +
                                std::to_string(processes) +
                                " would change its batch and its curve. HINT: resume with --gpus " +
                                std::to_string(config.train.gpus));
  auto trainer = std::make_unique<Trainer>(config, open_data(config.train), std::move(group));
  load_weights(trainer->model_, checkpoint->weights);
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (auto& [name, tensor] : load_tensors(checkpoint->optimizer))
    state.emplace_back(name, tensor.to(trainer->device_));
  trainer->optimizer_->load_state(state, checkpoint->step);
  trainer->step_ = checkpoint->step;
  trainer->time_before_ = checkpoint->time_s;
  trainer->last_good_checkpoint_ = checkpoint->step;
  trainer->run_dir_ = run_dir;
  if (steps) write_file_atomic(config_path, to_json(trainer->config_).dump(2) + "\n");
  const std::string metrics_path = (fs::path(run_dir) / "metrics.jsonl").string();
  truncate_metrics(metrics_path, checkpoint->step);
  trainer->metrics_.open(metrics_path, std::ios::app);
  return trainer;
}

std::unique_ptr<Trainer> Trainer::join(
    std::shared_ptr<ProcessGroup> group,
    const std::function<std::unique_ptr<Trainer>(std::shared_ptr<ProcessGroup>)>& open) {
  const std::string key = "hourglass/setup";
  std::unique_ptr<Trainer> trainer;
  if (group->rank() == 0) {
    try {
      trainer = open(group);
    } catch (const std::exception& e) {
      // The store lives in this process: wait until every rank has read the news before leaving.
      group->publish(key, std::string("error\n") + e.what());
      for (int r = 1; r < group->size(); ++r) group->receive(key + "/seen/" + std::to_string(r));
      throw;
    }
    group->publish(key, "ok\n" + to_json(trainer->config_).dump());
  } else {
    const std::string reply = group->receive(key);
    const size_t newline = reply.find('\n');
    const std::string body = newline == std::string::npos ? "" : reply.substr(newline + 1);
    if (reply.compare(0, newline, "ok") != 0) {
      group->publish(key + "/seen/" + std::to_string(group->rank()), "1");
      throw PeerFailed("rank 0 could not start the run: " + body);
    }
    RunConfig config = run_config_from_json(nlohmann::json::parse(body));
    trainer = std::make_unique<Trainer>(config, open_data(config.train), group);
  }
  trainer->synchronize_replicas();
  return trainer;
}

void Trainer::synchronize_replicas() {
  if (!group_) return;
  std::vector<torch::Tensor> tensors;
  for (const auto& p : model_->parameters()) tensors.push_back(p);
  for (const auto& b : model_->buffers()) tensors.push_back(b);
  const auto state = optimizer_->state();
  for (const auto& [name, t] : state) tensors.push_back(t);
  auto counters = torch::tensor({static_cast<double>(step_), time_before_,
                                 static_cast<double>(last_good_checkpoint_),
                                 static_cast<double>(optimizer_->steps_taken())},
                                torch::kDouble)
                      .to(device_);  // exact for counts below 2^53
  tensors.push_back(counters);
  group_->broadcast(tensors);
  counters = counters.cpu();
  step_ = static_cast<int64_t>(counters[0].item<double>());
  time_before_ = counters[1].item<double>();
  last_good_checkpoint_ = static_cast<int64_t>(counters[2].item<double>());
  optimizer_->load_state(state, static_cast<int64_t>(counters[3].item<double>()));
}

int Trainer::agree(int decision) {
  if (!group_) return decision;
  auto value = torch::tensor({static_cast<int64_t>(decision)}, torch::kLong).to(device_);
  group_->broadcast({value});
  return static_cast<int>(value.cpu().item<int64_t>());
}

double Trainer::time_s() const {
  return time_before_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

torch::Tensor Trainer::loss_of(const torch::Tensor& tokens) {
  auto batch = tokens.to(device_, /*non_blocking=*/true);
  const int64_t t = batch.size(1) - 1;
  auto inputs = batch.narrow(1, 0, t), targets = batch.narrow(1, 1, t);  // (B, T)
  CudaAutocast autocast(device_.is_cuda() && config_.train.bf16);
  auto logits = model_(inputs);        // (B, T, 256)
  return token_loss(logits, targets);  // ()
}

std::string Trainer::divergence(double val_loss) const {
  // After the warm-up, a model that predicts worse than a uniform guess over the 256 tokens (by a
  // nat, so noise near the start does not count) has diverged: its curve only climbs from there.
  const double uniform = std::log(static_cast<double>(kVocabSize));
  if (step_ <= config_.train.warmup_steps || (std::isfinite(val_loss) && val_loss <= uniform + 1.0))
    return {};
  std::ostringstream out;
  out << "the run diverged: validation loss " << val_loss << " nats/token at step " << step_
      << " is above a uniform guess's " << uniform << " + 1; training stopped and "
      << (last_good_checkpoint_ >= 0
              ? "the last good checkpoint (step " + std::to_string(last_good_checkpoint_) +
                    ") is kept in " + checkpoints_dir(run_dir_)
              : std::string("no checkpoint had been saved yet"))
      << ". HINT: lower the learning rate (--lr), raise the warm-up or clip the gradients";
  return out.str();
}

void Trainer::throw_if_diverged(double loss) const {
  if (std::isfinite(loss)) return;
  const std::string kept = last_good_checkpoint_ >= 0
                               ? "the last good checkpoint (step " +
                                     std::to_string(last_good_checkpoint_) + ") is kept in " +
                                     checkpoints_dir(run_dir_)
                               : "no checkpoint had been saved yet";
  throw TrainingDiverged("the training loss became " + std::to_string(loss) + " at step " +
                         std::to_string(step_ + 1) + "; training stopped and " + kept +
                         ". HINT: lower the learning rate (--lr) or raise the warm-up");
}

double Trainer::eager_step(double lr) {
  const int micro = config_.train.batch / config_.train.grad_accum;
  const int world = world_size(), rank = group_ ? group_->rank() : 0;
  double loss_sum = 0.0;
  optimizer_->zero_grad();
  for (int m = 0; m < config_.train.grad_accum; ++m) {
    if (m > 0) throw_if_interrupted();  // the step is dropped whole: no update, step_ unchanged
    // This rank's rows of the whole data-parallel micro-batch.
    auto tokens =
        batcher_->train_rows(micro * world, rank * micro, micro, config_.train.seed, step_, m);
    auto loss = loss_of(tokens);
    (loss / config_.train.grad_accum).backward();
    loss_sum += loss.item<double>();
  }
  if (group_) {  // gradients and loss become their means over the ranks
    std::vector<torch::Tensor> shared;
    for (auto& p : model_->parameters()) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      shared.push_back(p.grad());
    }
    auto loss_sum_t = torch::tensor({loss_sum}, torch::kDouble).to(device_);
    shared.push_back(loss_sum_t);
    group_->average(shared);
    loss_sum = loss_sum_t.cpu().item<double>();
  }
  const double loss = loss_sum / config_.train.grad_accum;
  throw_if_diverged(loss);
  optimizer_->step(lr);
  return loss;
}

Metrics Trainer::train_step() {
  const auto t0 = std::chrono::steady_clock::now();
  model_->train();
  // Dropout draws from a generator seeded by (seed, step): a resumed run repeats them.
  torch::manual_seed(config_.train.seed * 1000003ull + static_cast<uint64_t>(step_));
  if (!graph_decided_) {
    graph_decided_ = true;
    // Several processes step eagerly: with the gradient average captured inside the graph, two
    // GPUs trained slower than eagerly (docs/PERFORMANCE.md).
    if (!group_ &&
        GraphedStep::supported(config_.model, config_.train, device_, *optimizer_, nullptr))
      graphed_ = std::make_unique<GraphedStep>(
          model_, *optimizer_, config_.train, device_.is_cuda() && config_.train.bf16,
          config_.train.grad_accum, config_.train.batch / config_.train.grad_accum,
          batcher_->seq_len(), device_);
  }
  const double lr = learning_rate(config_.train, step_);
  double loss;
  if (graphed_) {
    const int micro = config_.train.batch / config_.train.grad_accum;
    std::vector<torch::Tensor> parts;
    for (int m = 0; m < config_.train.grad_accum; ++m)
      parts.push_back(batcher_->train_batch(micro, config_.train.seed, step_, m));
    loss = graphed_->step(torch::cat(parts, 0), lr);  // (the update is already done)
    throw_if_diverged(loss);
  } else {
    loss = eager_step(lr);
  }
  ++step_;
  if (device_.is_cuda()) torch::cuda::synchronize();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Metrics m;
  m.step = step_;
  m.time_s = time_s();
  m.split = "train";
  m.loss = loss;
  m.bits_per_token = bits_from_nats(loss);
  m.tokens_per_s =
      config_.train.batch * static_cast<double>(world_size()) * batcher_->seq_len() / seconds;
  m.lr = lr;
  m.mem_bytes = peak_memory_bytes(device_);
  count_compute(m);
  return m;
}

Metrics Trainer::evaluate(Split split) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto t0 = std::chrono::steady_clock::now();
  double nats = 0.0;
  int64_t tokens = 0;
  for (int i = 0; i < config_.train.eval_batches; ++i) {
    if (i > 0) throw_if_interrupted();
    // The whole data-parallel batch (rank 0 evaluates alone), so the figure does not depend on
    // how many processes trained.
    auto batch = batcher_->eval_batch(split, config_.train.batch * world_size(), i);
    if (batch.size(0) == 0) break;
    const int64_t n = batch.size(0) * (batch.size(1) - 1);
    nats += loss_of(batch).item<double>() * n;
    tokens += n;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Metrics m;
  m.step = step_;
  m.time_s = time_s();
  m.split = split == Split::kVal ? "val" : split == Split::kTest ? "test" : "train";
  m.loss = tokens > 0 ? nats / tokens : 0.0;
  m.bits_per_token = bits_from_nats(m.loss);
  m.tokens_per_s = tokens / std::max(seconds, 1e-9);
  m.lr = learning_rate(config_.train, std::max<int64_t>(0, step_ - 1));
  m.mem_bytes = peak_memory_bytes(device_);
  count_compute(m);
  // The protocol, so this quick figure is never taken for a whole-split one (model/tools/
  // full_eval.h): N disjoint windows of seq_len tokens, each from BOS.
  m.eval = "windows " + std::to_string(tokens / batcher_->seq_len()) + "x" +
           std::to_string(batcher_->seq_len());
  return m;
}

CheckpointInfo Trainer::save() {
  if (run_dir_.empty()) throw std::logic_error("Trainer::save: this trainer has no run directory");
  const bool first = new_run_ && !new_run_->committed();
  auto info =
      save_checkpoint(checkpoints_dir(writing_dir()), step_, time_s(), model_, optimizer_->state());
  last_good_checkpoint_ = step_;
  if (first) {  // the run has something to keep: it is kept (and replaces the old run)
    new_run_->commit();
    info = *latest_checkpoint(checkpoints_dir(run_dir_));
  }
  return info;
}

void Trainer::write_sample(const std::atomic<bool>* cancel) {
  if (run_dir_.empty()) return;
  // A stop during a scheduled sample drops it (the studio writes one of the stopped model).
  auto interrupted = [&] { return cancel != nullptr ? cancel->load() : this->interrupted(); };
  const SampleCallback until_interrupted = [&](const SampleStep&) { return !interrupted(); };
  SampleRequest request;
  request.options.seed = config_.train.seed + static_cast<uint64_t>(step_);
  request.options.temperature = 1.0;
  const fs::path samples = fs::path(writing_dir()) / "samples";
  fs::create_directories(samples);
  if (data_->is_image()) {
    request.options.n = 4;
    request.options.length = config_.model.seq_len;
    auto result = sample(model_, request, until_interrupted);
    if (interrupted()) return;
    std::vector<uint8_t> pixels;
    for (const auto& tokens : result.tokens)
      pixels.insert(pixels.end(), tokens.begin(), tokens.end());
    write_png((samples / (step_stem(step_) + ".png")).string(),
              grid(pixels.data(), request.options.n, data_->height, data_->width, data_->channels));
  } else {
    // A prompt from the start of the validation text, continued for 256 bytes.
    const size_t prompt = std::min<size_t>(32, data_->val.size());
    request.known.assign(data_->val.begin(), data_->val.begin() + prompt);
    request.options.length = std::min<int64_t>(prompt + 256, config_.model.seq_len);
    auto result = sample(model_, request, until_interrupted);
    if (interrupted()) return;
    write_file_atomic((samples / (step_stem(step_) + ".txt")).string(),
                      std::string(result.tokens[0].begin(), result.tokens[0].end()));
  }
  last_sample_step_ = step_;
}

bool Trainer::interrupted() const { return !group_ && stop_ != nullptr && stop_->load(); }

void Trainer::throw_if_interrupted() const {
  if (interrupted()) throw Interrupted();
}

void Trainer::count_compute(Metrics& m) const {
  // From the step, not summed per step, so a resumed run counts exactly as an unbroken one.
  fill_compute(m, tokens_per_step(config_), training_flops_per_token(config_.model));
}

void Trainer::append_metrics(const Metrics& m) {
  if (!metrics_.is_open()) return;
  metrics_ << m.to_json_line() << '\n';
  metrics_.flush();  // a studio following the run sees every line as it is written
}

void Trainer::run(const std::atomic<bool>* stop,
                  const std::function<void(const Metrics&)>& on_metrics) {
  const auto& t = config_.train;
  auto emit = [&](const Metrics& m) {
    append_metrics(m);
    if (on_metrics) on_metrics(m);
  };
  const int64_t sample_every = t.sample_every > 0 ? t.sample_every : t.save_every;
  const double started = time_s();
  // Alone (not data-parallel, where every rank must take the same steps), a stop also ends a step
  // between its micro-batches, an evaluation between its batches and a scheduled sample, so that
  // a long step on a CPU stops within about a micro-batch.
  stop_ = stop;
  struct Forget {
    const std::atomic<bool>** stop;
    ~Forget() { *stop = nullptr; }
  } forget{&stop_};
  enum Decision { kGoOn = 0, kStop = 1, kOutOfTime = 2, kDiverged = 3 };
  std::string diverged;  // rank 0's verdict on the last validation loss, when it diverged
  bool any_diverged = false;
  while (!done()) {
    // Rank 0's clock, stop flag and verdict decide for every rank, so all leave the loop together.
    const int decision = agree(!diverged.empty()                                        ? kDiverged
                               : stop && stop->load()                                   ? kStop
                               : t.max_time_s > 0 && time_s() - started >= t.max_time_s ? kOutOfTime
                                                                                        : kGoOn);
    if (decision == kDiverged) {
      any_diverged = true;
      break;
    }
    if (decision == kStop) break;
    if (decision == kOutOfTime) {
      try {
        if (writes() && (t.eval_every == 0 || step_ % t.eval_every != 0))
          emit(evaluate(Split::kVal));
      } catch (const Interrupted&) {
      }
      break;
    }
    Metrics m;
    try {
      m = train_step();
    } catch (const Interrupted&) {
      break;  // stopped between micro-batches: the step was not taken
    }
    if (writes()) emit(m);
    const bool last = done();
    if (writes() && ((t.eval_every > 0 && step_ % t.eval_every == 0) || last)) {
      Metrics val;
      try {
        val = evaluate(Split::kVal);
      } catch (const Interrupted&) {
        break;  // stopped inside a long evaluation: the step is kept, its val line is not
      }
      emit(val);
      diverged = divergence(val.loss);
    }
    if (!diverged.empty()) continue;  // nothing of this step is saved; the loop's top decides
    if (!run_dir_.empty()) {
      if ((t.save_every > 0 && step_ % t.save_every == 0) || last) save();
      if ((sample_every > 0 && step_ % sample_every == 0) || last) write_sample();
    }
  }
  if (any_diverged || !diverged.empty())
    throw TrainingDiverged(diverged.empty() ? "rank 0 found that the run diverged" : diverged);
  if (!run_dir_.empty() && last_good_checkpoint_ != step_) save();
}

}  // namespace hg
