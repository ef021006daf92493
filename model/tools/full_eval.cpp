// Whole-split evaluation (full_eval.h): the windows, their batches, and the sum of the scored
// tokens' losses. The windows all have one length, so every batch is one forward pass of the
// same shape.
#include "model/tools/full_eval.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "model/core/config.h"
#include "model/core/metrics.h"
#include "model/nn/compat.h"

namespace hg {
namespace {

std::string field(const char* name, int64_t value) {
  return std::string(name) + " = " + std::to_string(value);
}

}  // namespace

std::vector<ScoredWindow> sliding_windows(int64_t length, int64_t context, int64_t stride) {
  if (context < 1)
    throw std::invalid_argument("sliding_windows: " + field("context", context) +
                                " must be at least 1");
  if (stride < 1 || stride > context)
    throw std::invalid_argument("sliding_windows: " + field("stride", stride) +
                                " must be between 1 and the context, " + std::to_string(context));
  std::vector<ScoredWindow> windows;
  if (length <= 0) return windows;
  const int64_t first_end = std::min(length, context);
  windows.push_back({0, 0, first_end});
  for (int64_t done = first_end; done < length;) {
    const int64_t end = std::min(done + stride, length);
    windows.push_back({end - context, done, end});  // end > context here, so start > 0
    done = end;
  }
  return windows;
}

FullEvalResult evaluate_full(Hourglass& model, const Dataset& data, Split split,
                             const FullEvalOptions& options,
                             const std::function<bool(int64_t, int64_t)>& progress) {
  const ModelConfig& config = model->config();
  const std::vector<uint8_t>& bytes = data.split(split);
  FullEvalResult result;
  std::vector<ScoredWindow> windows;
  if (data.is_image()) {
    // Every image whole, from BOS: the sequences the model was trained on.
    const auto image = static_cast<int64_t>(data.image_bytes());
    if (config.seq_len != image)
      throw std::invalid_argument("evaluate_full: the model reads " +
                                  std::to_string(config.seq_len) + " tokens but one image of " +
                                  data.path + " is " + std::to_string(image) +
                                  ". HINT: evaluate it on the data it was trained on");
    const auto count = static_cast<int64_t>(data.count(split));
    for (int64_t i = 0; i < count; ++i) windows.push_back({i * image, i * image, (i + 1) * image});
    result.context = result.stride = image;
    result.protocol = "whole " + std::to_string(count) + "x" + std::to_string(image);
  } else {
    if (options.context < 0 || options.stride < 0)
      throw std::invalid_argument("evaluate_full: " +
                                  (options.context < 0 ? field("--context", options.context)
                                                       : field("--stride", options.stride)) +
                                  " must be positive (or 0 for the default)");
    result.context = options.context > 0 ? options.context : config.seq_len;
    result.stride = options.stride > 0 ? options.stride : std::max<int64_t>(1, result.context / 2);
    if (result.stride > result.context)
      throw std::invalid_argument("evaluate_full: " + field("--stride", result.stride) +
                                  " is more than the context, " + std::to_string(result.context) +
                                  ": bytes between the windows would not be scored. HINT: use " +
                                  "--stride " + std::to_string(result.context) + " or less");
    windows = sliding_windows(static_cast<int64_t>(bytes.size()), result.context, result.stride);
    result.protocol =
        "sliding " + std::to_string(result.context) + "/" + std::to_string(result.stride);
  }
  if (options.batch < 1)
    throw std::invalid_argument("evaluate_full: " + field("--batch", options.batch) +
                                " must be at least 1");

  const torch::Device device = model->parameters().front().device();
  const bool was_training = model->is_training();
  torch::NoGradGuard no_grad;
  model->eval();
  CudaAutocast autocast(device.is_cuda() && options.bf16);
  const auto started = std::chrono::steady_clock::now();
  const int64_t length = windows.empty() ? 0 : windows.front().end - windows.front().start;
  const auto total = static_cast<int64_t>(windows.size());
  double nats = 0.0;
  result.complete = true;
  for (int64_t first = 0; first < total; first += options.batch) {
    const int64_t rows = std::min(options.batch, total - first);
    auto tokens = torch::empty({rows, length + 1}, torch::kLong);  // (B, T+1): BOS, then bytes
    auto scored = torch::zeros({rows, length}, torch::kBool);      // (B, T): which targets count
    int64_t* token = tokens.data_ptr<int64_t>();
    bool* mask = scored.data_ptr<bool>();
    for (int64_t r = 0; r < rows; ++r, token += length + 1, mask += length) {
      const ScoredWindow& w = windows[first + r];
      token[0] = kBosToken;
      for (int64_t i = 0; i < length; ++i) {
        token[i + 1] = bytes[w.start + i];
        mask[i] = w.start + i >= w.first_scored;
      }
      result.tokens += w.end - w.first_scored;
    }
    auto batch = tokens.to(device);
    auto inputs = batch.narrow(1, 0, length), targets = batch.narrow(1, 1, length);  // (B, T)
    auto logits = model(inputs);                                                     // (B, T, 256)
    auto nll = torch::nn::functional::cross_entropy(
        logits.reshape({-1, kVocabSize}).to(torch::kFloat), targets.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // (B*T)
    nats +=
        nll.masked_select(scored.reshape({-1}).to(device)).to(torch::kDouble).sum().item<double>();
    result.windows += rows;
    if (progress && !progress(first + rows, total)) {
      result.complete = first + rows >= total;
      break;
    }
  }
  if (was_training) model->train();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.loss = result.tokens > 0 ? nats / static_cast<double>(result.tokens) : 0.0;
  result.bits = bits_from_nats(result.loss);
  return result;
}

}  // namespace hg
