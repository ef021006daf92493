// One CUDA graph per phase of HourglassImpl::step. A phase's first step runs eagerly (warm-up:
// cuBLAS handles, the allocator); its second is captured, and every later one replays the graph.
#include "model/decode/step_decoder.h"

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <stdexcept>

#include "model/nn/compat.h"

#if defined(HOURGLASS_WITH_CUDA) && HOURGLASS_HAS_SDPA
#define HOURGLASS_HAS_STEP_GRAPHS 1
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#else
#define HOURGLASS_HAS_STEP_GRAPHS 0
#endif

namespace hg {

struct StepDecoder::State {
  Hourglass model{nullptr};
  StaticDecodeState decode;
  torch::Tensor tokens_host;  // (B, 1) int64, pinned on CUDA
  torch::Tensor tokens;       // (B, 1) int64 on the device: the graphs' input
  std::string why_no_graphs;
  std::map<int64_t, int> steps_per_phase;  // (graphs only)
  std::function<void(const torch::Tensor&)> after_step;
  torch::Tensor logits;  // (B, 256): the last step's
#if HOURGLASS_HAS_STEP_GRAPHS
  std::unique_ptr<c10::cuda::CUDAStream> stream;
  struct Captured {
    std::unique_ptr<at::cuda::CUDAGraph> graph;
    torch::Tensor logits;  // (B, 256): the graph's output
  };
  std::map<int64_t, Captured> graphs;
#endif
};

bool StepDecoder::supported(const ModelConfig& config, std::string* why) {
  return HourglassImpl::supports_step(config, why);
}

StepDecoder::StepDecoder(Hourglass model, int64_t batch, int64_t capacity, bool use_graphs)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.model = model;
  s.decode = s.model->make_static_state(batch, capacity);
  const auto device = model->parameters().front().device();
  s.tokens_host = torch::zeros({batch, 1}, torch::kLong);
  s.tokens = torch::zeros({batch, 1}, torch::dtype(torch::kLong).device(device));
  if (!use_graphs)
    s.why_no_graphs = "not asked for";
  else if (!device.is_cuda())
    s.why_no_graphs = "not on CUDA";
  else if (!HOURGLASS_HAS_STEP_GRAPHS)
    s.why_no_graphs = "this libtorch has no CUDA graphs";
#if HOURGLASS_HAS_STEP_GRAPHS
  if (s.why_no_graphs.empty()) {
    s.tokens_host = s.tokens_host.pin_memory();
    s.stream = std::make_unique<c10::cuda::CUDAStream>(
        c10::cuda::getStreamFromPool(false, device.index()));
    // The buffers were just filled on the current stream; the steps run on the side stream, which
    // must see them filled (else a step may read the buffers before their first values land).
    at::cuda::CUDAEvent filled;
    filled.record(c10::cuda::getCurrentCUDAStream(device.index()));
    filled.block(*s.stream);
  }
#endif
}

StepDecoder::~StepDecoder() = default;

int64_t StepDecoder::position() const { return state_->decode.n; }
bool StepDecoder::graphs() const { return state_->why_no_graphs.empty(); }
const std::string& StepDecoder::why_no_graphs() const { return state_->why_no_graphs; }

void StepDecoder::set_after_step(std::function<void(const torch::Tensor& logits)> after) {
  if (state_->decode.n != 0)
    throw std::logic_error("StepDecoder::set_after_step: set it before the first step");
  state_->after_step = std::move(after);
}

torch::Tensor& StepDecoder::next_tokens() { return state_->tokens; }

c10::Stream StepDecoder::stream() const {
#if HOURGLASS_HAS_STEP_GRAPHS
  if (graphs()) return *state_->stream;
#endif
  const auto device = state_->tokens.device();  // the current stream, as plain steps use
  return c10::impl::VirtualGuardImpl(device.type()).getStream(device);
}

torch::Tensor StepDecoder::step(const std::vector<int64_t>& tokens) {
  State& s = *state_;
  if (static_cast<int64_t>(tokens.size()) != s.tokens.size(0))
    throw std::invalid_argument("StepDecoder::step: " + std::to_string(tokens.size()) +
                                " tokens for a batch of " + std::to_string(s.tokens.size(0)));
  torch::NoGradGuard no_grad;
  std::copy(tokens.begin(), tokens.end(), s.tokens_host.data_ptr<int64_t>());
  c10::StreamGuard guard(stream());                          // graphs are captured on a side stream
  s.tokens.copy_(s.tokens_host, /*non_blocking=*/graphs());  // pinned when graphs are used
  advance();
  return s.logits.to(torch::kCPU, torch::kFloat);  // after the step on its stream; waits for it
}

void StepDecoder::advance() {
  State& s = *state_;
  torch::NoGradGuard no_grad;
  c10::StreamGuard guard(stream());
  s.model->prepare_step(s.decode);
  auto run = [&] {
    auto logits = s.model->step(s.tokens, s.decode);  // (B, 256)
    if (s.after_step) s.after_step(logits);
    return logits;
  };
  s.logits = torch::Tensor();
#if HOURGLASS_HAS_STEP_GRAPHS
  if (graphs()) {
    const int64_t phase = s.model->step_phase(s.decode.n);
    const int seen = s.steps_per_phase[phase]++;
    auto found = s.graphs.find(phase);
    if (found == s.graphs.end() && seen >= 1) {  // the phase's first step was its warm-up
      State::Captured captured;
      captured.graph = std::make_unique<at::cuda::CUDAGraph>();
      captured.graph->capture_begin();
      captured.logits = run();  // recorded, not run: replayed below
      captured.graph->capture_end();
      found = s.graphs.emplace(phase, std::move(captured)).first;
    }
    if (found != s.graphs.end()) {
      found->second.graph->replay();
      s.logits = found->second.logits;
    }
  }
#endif
  if (!s.logits.defined()) s.logits = run();
  ++s.decode.n;
}

}  // namespace hg
