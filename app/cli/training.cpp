// Training from the command line, for `train` and `resume` (app/cli/training.h): the progress
// line, Ctrl-C as a clean stop, and the checks before data-parallel workers start.
#include "app/cli/training.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "model/core/cost.h"
#include "model/nn/device.h"

namespace hg::cli {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

std::string human_duration(double seconds) {
  char buffer[32];
  const int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%dh%02dm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%dm%02ds", s / 60, s % 60);
  return buffer;
}

void run_with_progress(Trainer& trainer) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, on_signal);  // a closed terminal or a dropped ssh saves like Ctrl-C
  if (!trainer.writes()) {
    trainer.run(&g_stop, nullptr);
    return;
  }
  const auto& cfg = trainer.config();
  std::cerr << "run " << trainer.run_dir() << ": " << trainer.data().description << "; model "
            << cfg.model.hierarchy << " (" << to_string(cfg.model.shorten) << "/"
            << to_string(cfg.model.upsample) << "), D " << cfg.model.d_model << ", "
            << model_cost(cfg.model).params << " parameters, on "
            << describe_device(trainer.device());
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
  trainer.run(&g_stop, [&](const Metrics& m) {
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

}  // namespace

void train_loop(Trainer& trainer) {
  try {
    run_with_progress(trainer);
  } catch (...) {
    // A new run that failed before its first checkpoint is removed; the error says so.
    const std::string removed = trainer.discard_unsaved();
    if (removed.empty()) throw;
    std::throw_with_nested(std::runtime_error(removed));
  }
}

void check_workers_possible(const std::string& device_name, int gpus) {
  const torch::Device device = resolve_device(device_name);
  std::string why;
  if (!distributed_available(device, &why))
    throw std::invalid_argument("--gpus " + std::to_string(gpus) + ": " + why);
  if (device.is_cuda()) {
    const int count = static_cast<int>(torch::cuda::device_count());
    if (gpus > count)
      throw std::invalid_argument("--gpus " + std::to_string(gpus) + ": this machine has " +
                                  std::to_string(count) + " GPU(s). HINT: --gpus " +
                                  std::to_string(count) + ", or launch several machines (README)");
  } else {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (gpus > cores)
      throw std::invalid_argument("--gpus " + std::to_string(gpus) + ": no GPU here, and " +
                                  std::to_string(gpus) + " CPU processes are more than the " +
                                  std::to_string(cores) + " cores. HINT: --gpus " +
                                  std::to_string(cores) + " or fewer");
    std::cerr << "--gpus " << gpus << ": "
              << (torch::hasCUDA() ? "no GPU is visible" : "this libtorch has no CUDA") << "; "
              << gpus << " CPU processes train together through Gloo instead\n";
  }
}

std::unique_ptr<Trainer> open_trainer(
    const std::optional<WorldInfo>& world, const std::string& device_name,
    const std::function<std::unique_ptr<Trainer>(std::shared_ptr<ProcessGroup>)>& open) {
  if (!world) return open(nullptr);
  const torch::Device device = resolve_device(device_name, world->local_rank);
  return Trainer::join(ProcessGroup::connect(*world, device, std::chrono::minutes(10)), open);
}

}  // namespace hg::cli
