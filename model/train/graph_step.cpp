// CUDA graph capture of the training step. Only the CUDA build of libtorch >= 2.2 has what it needs
// (ATen's CUDAGraph, graph-safe fused AdamW with the learning rate in a tensor); elsewhere
// supported() says so and nothing is built.
#include "model/train/graph_step.h"

#include <stdexcept>

#include "model/kernels/fused_ops.h"
#include "model/nn/compat.h"

#if defined(HOURGLASS_WITH_CUDA) && HOURGLASS_HAS_FUSED_ADAMW
#define HOURGLASS_HAS_GRAPH_STEP 1
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#else
#define HOURGLASS_HAS_GRAPH_STEP 0
#endif

namespace hg {

bool GraphedStep::supported(const ModelConfig& model, const TrainConfig& train,
                            const torch::Device& device, const AdamW& optimizer, std::string* why) {
  std::string reason;
  if (!train.cuda_graph)
    reason = "turned off (train.cuda_graph = false)";
  else if (!device.is_cuda())
    reason = "not on CUDA";
  else if (!HOURGLASS_HAS_GRAPH_STEP)
    reason = "this libtorch has no CUDA graphs with a fused optimizer (needs CUDA libtorch >= 2.2)";
  else if (model.dropout > 0.0)
    reason = "the model has dropout (its random numbers are drawn per step on the host)";
#if HOURGLASS_HAS_FUSED_ADAMW
  else if (!optimizer.fused())
    reason = "the optimizer is not the fused CUDA one";
#endif
  if (why) *why = reason;
  return reason.empty();
}

#if HOURGLASS_HAS_GRAPH_STEP

struct GraphedStep::State {
  Hourglass model{nullptr};
  AdamW* optimizer = nullptr;
  bool bf16 = false;
  int micro_batches = 1;
  c10::cuda::CUDAStream stream;
  torch::Tensor tokens;    // (micro_batches, rows, T+1) on the device: the graph's input
  torch::Tensor lr;        // () float on the device
  torch::Tensor loss_sum;  // () float: sum over micro-batches of their mean loss
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  int calls = 0;

  explicit State(c10::cuda::CUDAStream s) : stream(s) {}

  // The whole step as kernels on the current stream, with no host synchronisation.
  void body() {
    // The first backward hands each parameter the gradient it computed (the graph's own tensor,
    // at the same address on every replay) rather than adding it into zeroed ones: no zeroing,
    // no adds.
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    loss_sum.zero_();
    const int64_t t = tokens.size(2) - 1;
    for (int m = 0; m < micro_batches; ++m) {
      auto batch = tokens.select(0, m);                                      // (rows, T+1)
      auto inputs = batch.narrow(1, 0, t), targets = batch.narrow(1, 1, t);  // (rows, T)
      torch::Tensor loss;
      {
        CudaAutocast autocast(bf16);
        auto logits = model(inputs);         // (rows, T, 256)
        loss = token_loss(logits, targets);  // ()
      }
      (loss / micro_batches).backward();
      loss_sum.add_(loss.detach());
    }
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters())  // a parameter the loss does not reach
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    optimizer->device_step(lr);
  }
};

GraphedStep::GraphedStep(Hourglass model, AdamW& optimizer, const TrainConfig& train, bool bf16,
                         int micro_batches, int rows, int64_t seq_len, const torch::Device& device)
    : state_(std::make_unique<State>(c10::cuda::getStreamFromPool(false, device.index()))) {
  std::string why;
  if (!supported(model->config(), train, device, optimizer, &why))
    throw std::invalid_argument("GraphedStep: " + why);
  State& s = *state_;
  s.model = model;
  s.optimizer = &optimizer;
  s.bf16 = bf16;
  s.micro_batches = micro_batches;
  auto on_device = torch::TensorOptions().device(device);
  s.tokens = torch::zeros({micro_batches, rows, seq_len + 1}, on_device.dtype(torch::kLong));
  s.lr = torch::zeros({}, on_device.dtype(torch::kFloat));
  s.loss_sum = torch::zeros({}, on_device.dtype(torch::kFloat));
}

GraphedStep::~GraphedStep() = default;

double GraphedStep::step(const torch::Tensor& tokens, double lr) {
  State& s = *state_;
  s.model->train();
  // Everything on the side stream (capture needs one); .item() at the end waits for it.
  c10::cuda::CUDAStreamGuard guard(s.stream);
  s.tokens.copy_(tokens.view(s.tokens.sizes()), /*non_blocking=*/true);
  s.lr.fill_(lr);
  // Autocast's cache of bf16 weight copies must not outlive a capture (its tensors would be the
  // graph's); without it the casts are part of the graph.
  const bool cache = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(false);
  try {
    if (s.calls < kWarmupSteps) {
      s.body();
    } else {
      if (!s.graph) {
        s.stream.synchronize();
        c10::cuda::CUDACachingAllocator::emptyCache();  // the warm-up's activations
        s.graph = std::make_unique<at::cuda::CUDAGraph>();
        s.graph->capture_begin();
        s.body();
        s.graph->capture_end();
      }
      s.graph->replay();
    }
  } catch (...) {
    at::autocast::set_autocast_cache_enabled(cache);
    throw;
  }
  at::autocast::set_autocast_cache_enabled(cache);
  ++s.calls;
  s.optimizer->count_step();
  return s.loss_sum.item<double>() / s.micro_batches;
}

#else

struct GraphedStep::State {};

GraphedStep::GraphedStep(Hourglass model, AdamW& optimizer, const TrainConfig& train, bool, int,
                         int, int64_t, const torch::Device& device) {
  std::string why;
  supported(model->config(), train, device, optimizer, &why);
  throw std::invalid_argument("GraphedStep: " + why);
}
GraphedStep::~GraphedStep() = default;
double GraphedStep::step(const torch::Tensor&, double) {
  throw std::logic_error("GraphedStep: not built");
}

#endif

}  // namespace hg
