// The decoding loop. Random numbers come from one std::mt19937_64 per sample, drawn once per
// sampled position on the CPU, so that both decoding paths consume them identically.
#include "model/decode/sampler.h"

#include <ATen/Parallel.h>
#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>

#include "model/core/config.h"
#include "model/decode/step_decoder.h"
#include "model/kernels/fused_ops.h"
#include "model/nn/memory.h"

namespace hg {

void validate(const SampleOptions& o) {
  auto fail = [](const std::string& m) { throw std::invalid_argument(m); };
  if (o.n < 1 || o.n > 4096) fail("--n " + std::to_string(o.n) + " must be in 1..4096");
  if (o.length < 1) fail("--length " + std::to_string(o.length) + " must be at least 1");
  // The draws, tokens and probabilities of every position are kept: bound what one request holds.
  constexpr int64_t kMostTokens = int64_t{1} << 24;
  if (o.length > kMostTokens / o.n)
    fail("--length " + std::to_string(o.length) + " x --n " + std::to_string(o.n) +
         " is more than the " + std::to_string(kMostTokens) +
         " tokens one request may decode. HINT: a shorter --length or fewer samples");
  if (!(o.temperature >= 0.0)) fail("--temperature must be 0 or more");
  if (o.top_k < 0 || o.top_k > kVocabSize) fail("--top-k must be in 0..256 (0: off)");
  if (!(o.top_p > 0.0 && o.top_p <= 1.0)) fail("--top-p must be in (0, 1]");
  if (o.stop_byte < -1 || o.stop_byte > 255) fail("stop byte must be -1 (none) or 0..255");
}

std::pair<int, float> pick_token(const float* raw, const SampleOptions& o, double u) {
  // NaN (a diverged model) counts as -inf: no mass, last in order, so every id keeps one rank.
  std::array<float, kVocabSize> clean;
  for (int i = 0; i < kVocabSize; ++i)
    clean[i] = std::isnan(raw[i]) ? -std::numeric_limits<float>::infinity() : raw[i];
  const float* logits = clean.data();
  const bool truncated = (o.top_k > 0 && o.top_k < kVocabSize) || o.top_p < 1.0;
  if (o.temperature == 0.0) {  // the most likely token, the lowest id among equals
    return {static_cast<int>(std::max_element(logits, logits + kVocabSize) - logits), 1.0f};
  }
  if (!truncated) {
    // The whole distribution: no order is needed, so none is made (this runs for every sample
    // at every position, while the GPU waits).
    const double top = *std::max_element(logits, logits + kVocabSize);
    std::array<double, kVocabSize> p;
    double sum = 0.0;
    for (int i = 0; i < kVocabSize; ++i) sum += p[i] = std::exp((logits[i] - top) / o.temperature);
    const double target = u * sum;
    double acc = 0.0;
    int last = 0;  // the last token with any mass: where rounding may leave acc just below target
    for (int i = 0; i < kVocabSize; ++i) {
      acc += p[i];
      if (p[i] > 0.0) last = i;
      if (target < acc) return {i, static_cast<float>(p[i] / sum)};
    }
    return {last, static_cast<float>(p[last] / sum)};
  }
  std::vector<int> order(kVocabSize);
  std::iota(order.begin(), order.end(), 0);
  // Stable order by logit, ties by token id, so that both decoding paths agree exactly.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  std::vector<double> p(kVocabSize);
  const double top = logits[order[0]];
  double sum = 0.0;
  for (int i = 0; i < kVocabSize; ++i)
    sum += p[i] = std::exp((logits[order[i]] - top) / o.temperature);
  int keep = o.top_k > 0 ? o.top_k : kVocabSize;
  double mass = 0.0;
  for (int i = 0; i < keep; ++i) {
    mass += p[i] / sum;
    if (mass >= o.top_p) {
      keep = i + 1;
      break;
    }
  }
  double kept = 0.0;
  for (int i = 0; i < keep; ++i) kept += p[i];
  double target = u * kept, acc = 0.0;
  for (int i = 0; i < keep; ++i) {
    acc += p[i];
    if (target < acc || i == keep - 1) return {order[i], static_cast<float>(p[i] / kept)};
  }
  return {order[0], 1.0f};
}

namespace {

// The model's kTopAlternatives most likely tokens, from raw logits (softmax at temperature 1).
std::array<TokenProb, kTopAlternatives> top_tokens(const float* logits) {
  const float top = *std::max_element(logits, logits + kVocabSize);
  double sum = 0.0;
  for (int i = 0; i < kVocabSize; ++i) sum += std::exp(static_cast<double>(logits[i] - top));
  std::array<int, kVocabSize> order;
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(
      order.begin(), order.begin() + kTopAlternatives, order.end(),
      [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  std::array<TokenProb, kTopAlternatives> result;
  for (int i = 0; i < kTopAlternatives; ++i)
    result[i] = {order[i],
                 static_cast<float>(std::exp(static_cast<double>(logits[order[i]] - top)) / sum)};
  return result;
}

// Decoding with the picks on the device (CUDA graphs and the fused pick kernel): the uniforms are
// drawn ahead, each step's graph picks the next token itself, and the host enqueues chunks of
// positions (32, fewer for more than 256 sequences: the logits ring's size) and reads each
// chunk's tokens back while the device works on the next, so the device never waits for the
// host. The host polls each chunk's event (a spin, as the CUDA runtime's own wait). `take` gets
// every position from `prompt` on (logits only when `keep_logits`) and returns false to stop.
using TakePosition =
    std::function<bool(int64_t pos, const int* tokens, const float* probs, const float* logits)>;

void decode_with_device_picks(StepDecoder& stepper, const SampleRequest& request, int64_t prompt,
                              std::vector<std::mt19937_64>& rngs, bool keep_logits,
                              const TakePosition& take) {
  const SampleOptions& o = request.options;
  const int n = o.n;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(32, 8192 / n));
  c10::StreamGuard guard(stepper.stream());  // everything below is ordered with the steps
  const auto device = stepper.next_tokens().device();
  PickBuffers picks(o.length, n, keep_logits ? chunk : 0, device);
  // However this ends (a stop, the callback throwing), the steps enqueued finish before the
  // buffers they use go (declared after them, this waits before they are freed).
  struct WaitOnExit {
    c10::Stream stream;
    ~WaitOnExit() {
      try {
        stream.synchronize();
      } catch (...) {  // a failing device fails the next call too; nothing to add here
      }
    }
  } wait_on_exit{stepper.stream()};
  std::vector<int> forced(o.length, -1);
  auto uniforms = torch::zeros({o.length, n}, torch::kDouble);
  auto* u = uniforms.data_ptr<double>();
  for (int64_t pos = 0; pos < o.length; ++pos) {
    if (pos < static_cast<int64_t>(request.known.size())) forced[pos] = request.known[pos];
    if (pos >= prompt && forced[pos] < 0)  // drawn as the host loop draws them
      for (int s = 0; s < n; ++s)
        u[pos * n + s] = std::uniform_real_distribution<double>(0.0, 1.0)(rngs[s]);
  }
  picks.uniforms.copy_(uniforms);
  picks.forced.copy_(torch::tensor(forced, torch::kInt));
  stepper.next_tokens().fill_(kBosToken);
  stepper.set_after_step(
      [&](const torch::Tensor& logits) { pick_tokens(logits, o, picks, stepper.next_tokens()); });

  struct Chunk {
    int64_t begin, end;
    torch::Tensor tokens, probs, logits;  // pinned host copies
    c10::Event copied{c10::DeviceType::CUDA};
  };
  auto to_host = [](const torch::Tensor& t) {
    auto host = torch::empty(t.sizes(), t.options().device(torch::kCPU).pinned_memory(true));
    host.copy_(t, /*non_blocking=*/true);
    return host;
  };
  int64_t enqueued = 0;
  auto enqueue = [&] {
    auto c = std::make_unique<Chunk>();
    c->begin = enqueued;
    c->end = std::min(o.length, enqueued + chunk);
    for (; enqueued < c->end; ++enqueued) stepper.advance();
    c->tokens = to_host(picks.tokens.slice(0, c->begin, c->end));
    c->probs = to_host(picks.probs.slice(0, c->begin, c->end));
    if (keep_logits) c->logits = to_host(picks.logits_ring.slice(0, 0, c->end - c->begin));
    c->copied.record(stepper.stream());
    return c;
  };
  auto pending = enqueue();
  for (bool going = true; going && pending;) {
    auto next = enqueued < o.length ? enqueue() : nullptr;  // runs while this one is read
    while (!pending->copied.query()) std::this_thread::yield();
    for (int64_t pos = std::max(prompt, pending->begin); going && pos < pending->end; ++pos) {
      const int64_t row = pos - pending->begin;
      going =
          take(pos, pending->tokens.data_ptr<int>() + row * n,
               pending->probs.data_ptr<float>() + row * n,
               keep_logits ? pending->logits.data_ptr<float>() + row * n * kVocabSize : nullptr);
    }
    pending = std::move(next);
  }
}

}  // namespace

double sampling_memory_bytes(const ModelConfig& config, const SampleOptions& o, int64_t prompt) {
  const Hierarchy hierarchy = config.parsed_hierarchy();
  const double n = o.n, d = config.d_model, heads = config.n_heads, f32 = 4.0;
  const double positions = static_cast<double>(o.length) + 1.0;  // BOS first
  const double pass = o.full_recompute ? positions : static_cast<double>(prompt) + 1.0;
  double caches = 0.0, scores = 0.0;
  for (const Level& level : hierarchy.levels) {
    const int layers = level.pre_layers + level.post_layers;
    if (layers == 0) continue;
    const double rows = std::ceil(positions / level.factor);
    if (!o.full_recompute) caches += layers * 2.0 * n * rows * d * f32;  // keys and values
    const double chunk = std::ceil(pass / level.factor);
    scores = std::max(scores, n * heads * chunk * chunk * f32);  // (n, H, T, T), one at a time
  }
  return caches + scores + n * pass * kVocabSize * f32;  // + the pass's logits (n, T, 256)
}

SampleResult sample(Hourglass& model, const SampleRequest& request,
                    const SampleCallback& on_token) {
  const SampleOptions& o = request.options;
  validate(o);
  if (static_cast<int64_t>(request.known.size()) > o.length)
    throw std::invalid_argument("the prompt (" + std::to_string(request.known.size()) +
                                " tokens) is longer than --length " + std::to_string(o.length));
  torch::NoGradGuard no_grad;
  model->eval();
  const auto device = model->parameters().front().device();
  const int n = o.n;
  int64_t prompt = 0;
  while (prompt < static_cast<int64_t>(request.known.size()) && request.known[prompt] >= 0)
    ++prompt;

  check_memory(device, sampling_memory_bytes(model->config(), o, prompt),
               "sampling " + std::to_string(n) + " x " + std::to_string(o.length) +
                   " tokens (a prompt of " + std::to_string(prompt) + ")",
               "a shorter prompt or length, or fewer samples");

  SampleResult result;
  result.tokens.assign(n, {});
  result.probs.assign(n, {});
  std::vector<std::mt19937_64> rngs;
  for (int i = 0; i < n; ++i) rngs.emplace_back(o.seed * 1000003ull + static_cast<uint64_t>(i));
  std::vector<bool> stopped(n, false);
  for (int s = 0; s < n; ++s)
    for (int64_t i = 0; i < prompt; ++i) {
      result.tokens[s].push_back(static_cast<uint8_t>(request.known[i]));
      result.probs[s].push_back(1.0f);
    }
  if (prompt == o.length) return result;

  // What every loop does with a position's picks: keep them, report them; false: stop here.
  auto take = [&](int64_t pos, const int* chosen, const float* chosen_p, const float* logits) {
    for (int s = 0; s < n; ++s) {
      if (!stopped[s]) {
        result.tokens[s].push_back(static_cast<uint8_t>(chosen[s]));
        result.probs[s].push_back(chosen_p[s]);
        if (chosen[s] == o.stop_byte) stopped[s] = true;
      }
    }
    ++result.decoded;
    if (on_token) {
      SampleStep step;
      step.position = pos;
      step.tokens.assign(chosen, chosen + n);
      step.probs.assign(chosen_p, chosen_p + n);
      for (int s = 0; s < n; ++s) step.top.push_back(top_tokens(logits + s * kVocabSize));
      if (!on_token(step)) return false;
    }
    if (std::all_of(stopped.begin(), stopped.end(), [](bool b) { return b; })) return false;
    return pos + 1 < o.length;
  };

  // On CUDA, token-by-token steps replayed as CUDA graphs (step_decoder.h), picking on the device
  // where this build can; elsewhere the prompt in one chunk, then a chunk per token. Every way
  // gives the same logits and picks (tests).
  std::unique_ptr<StepDecoder> stepper;
  if (!o.full_recompute && device.is_cuda() && StepDecoder::supported(model->config()))
    stepper = std::make_unique<StepDecoder>(model, n, o.length + 1, /*use_graphs=*/true);
  if (stepper && stepper->graphs() && !request.host_picks && can_pick_on_device(device)) {
    result.device_picks = true;
    decode_with_device_picks(*stepper, request, prompt, rngs, static_cast<bool>(on_token), take);
    return result;
  }

  // Sequence so far, BOS first: (n, 1 + prompt).
  auto seq = torch::full({n, 1 + prompt}, kBosToken, torch::kLong);
  for (int64_t i = 0; i < prompt; ++i) seq.select(1, i + 1).fill_(request.known[i]);
  DecodeState state = model->make_state();
  // Logits for the next position, from the prompt.
  torch::Tensor next;
  if (stepper) {
    for (int64_t i = 0; i <= prompt; ++i) {
      auto column = seq.select(1, i).contiguous();
      next = stepper->step(
          std::vector<int64_t>(column.data_ptr<int64_t>(), column.data_ptr<int64_t>() + n));
    }
  } else {
    next = o.full_recompute ? model(seq.to(device)).select(1, prompt)
                            : model->forward_chunk(seq.to(device), state).select(1, prompt);
  }
  for (int64_t pos = prompt; pos < o.length; ++pos) {
    auto logits = next.to(torch::kCPU, torch::kFloat).contiguous();  // (n, 256)
    std::vector<int> chosen(n);
    std::vector<float> chosen_p(n);
    const int forced = pos < static_cast<int64_t>(request.known.size()) ? request.known[pos] : -1;
    if (forced >= 0) {
      std::fill(chosen.begin(), chosen.end(), forced);
      std::fill(chosen_p.begin(), chosen_p.end(), 1.0f);
    } else {
      // One draw per sample from its own generator, then the picks side by side: each is 256
      // exponentials, and the GPU waits for all of them before its next step.
      std::vector<double> u(n);
      for (int s = 0; s < n; ++s) u[s] = std::uniform_real_distribution<double>(0.0, 1.0)(rngs[s]);
      const float* rows = logits.data_ptr<float>();
      at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t s = begin; s < end; ++s)
          std::tie(chosen[s], chosen_p[s]) = pick_token(rows + s * kVocabSize, o, u[s]);
      });
    }
    if (!take(pos, chosen.data(), chosen_p.data(), logits.data_ptr<float>())) break;
    if (stepper) {
      next = stepper->step(std::vector<int64_t>(chosen.begin(), chosen.end()));  // (n, 256)
      continue;
    }
    auto column = torch::tensor(std::vector<int64_t>(chosen.begin(), chosen.end())).view({n, 1});
    if (o.full_recompute) {
      seq = torch::cat({seq, column}, 1);  // (n, t+1)
      next = model(seq.to(device)).select(1, -1);
    } else {
      next = model->forward_chunk(column.to(device), state).select(1, 0);  // (n, 256)
    }
  }
  return result;
}

}  // namespace hg
