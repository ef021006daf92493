// AdamW (Loshchilov & Hutter 2019) as torch.optim.AdamW computes it, with global-norm clipping.
#include "model/train/optim.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#if HOURGLASS_HAS_FUSED_ADAMW
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/_fused_adamw.h>

#include <optional>
#endif

namespace hg {

double learning_rate(const TrainConfig& c, int64_t step) {
  if (step < c.warmup_steps) return c.lr * static_cast<double>(step + 1) / (c.warmup_steps + 1);
  const double span = std::max<int64_t>(1, c.steps - c.warmup_steps);
  const double progress = std::min(1.0, (step - c.warmup_steps) / span);
  const double min_lr = c.lr * c.min_lr_ratio;
  return min_lr + 0.5 * (c.lr - min_lr) * (1.0 + std::cos(M_PI * progress));
}

AdamW::AdamW(const std::vector<std::pair<std::string, torch::Tensor>>& named_params,
             const TrainConfig& config)
    : config_(config) {
  for (const auto& [name, p] : named_params)
    slots_.push_back({name, p, torch::zeros_like(p), torch::zeros_like(p), p.dim() >= 2});
#if HOURGLASS_HAS_FUSED_ADAMW
  fused_ = !slots_.empty() && std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) {
    return s.param.is_cuda() && s.param.scalar_type() == torch::kFloat;
  });
  if (fused_) {
    step_count_ = torch::zeros({}, slots_.front().param.options());
    lr_ = torch::zeros({}, slots_.front().param.options());
  }
#endif
}

void AdamW::zero_grad() {
  for (auto& s : slots_)
    if (s.param.grad().defined()) s.param.mutable_grad() = torch::Tensor();
}

double AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
#if HOURGLASS_HAS_FUSED_ADAMW
  if (fused_) {
    for (auto& s : slots_)
      if (!s.param.grad().defined()) s.param.mutable_grad() = torch::zeros_like(s.param);
    return fused_step(lr);
  }
#endif
  std::vector<torch::Tensor> grads;
  for (auto& s : slots_)
    grads.push_back(s.param.grad().defined() ? s.param.grad() : torch::zeros_like(s.param));
  std::vector<torch::Tensor> norms;
  for (const auto& g : grads) norms.push_back(g.to(torch::kFloat).norm());
  const double norm = torch::stack(norms).norm().item<double>();
  const double clip =
      (config_.grad_clip > 0 && norm > config_.grad_clip) ? config_.grad_clip / (norm + 1e-6) : 1.0;
  ++steps_;
  const double b1 = config_.beta1, b2 = config_.beta2;
  const double bias1 = 1.0 - std::pow(b1, steps_), bias2 = 1.0 - std::pow(b2, steps_);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    auto g = clip != 1.0 ? grads[i] * clip : grads[i];
    if (s.decay && config_.weight_decay > 0) s.param.mul_(1.0 - lr * config_.weight_decay);
    s.exp_avg.mul_(b1).add_(g, 1.0 - b1);
    s.exp_avg_sq.mul_(b2).addcmul_(g, g, 1.0 - b2);
    auto denom = (s.exp_avg_sq / bias2).sqrt_().add_(1e-8);
    s.param.addcdiv_(s.exp_avg, denom, -lr / bias1);
  }
  return norm;
}

#if HOURGLASS_HAS_FUSED_ADAMW
// The same update in a handful of kernels: per-tensor norms in one _foreach_norm, and ATen's fused
// AdamW kernel, which also clips (its grad_scale: a divisor computed on the device; decoupled
// decay, bias corrections from the step count it reads on the device) once for the decayed
// matrices and once for the rest. The host reads the norm only after the update is queued.
double AdamW::fused_step(double lr) {
  lr_.fill_(lr);
  const torch::Tensor norm = device_step(lr_);
  count_step();
  return norm.item<double>();
}

torch::Tensor AdamW::device_step(const torch::Tensor& lr) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (auto& s : slots_) grads.push_back(s.param.grad());
  auto norm = torch::stack(at::_foreach_norm(grads)).norm();  // ()
  // Clipping inside the optimizer's pass, which divides each gradient by grad_scale as it reads
  // it, where a separate multiply would read and write every gradient once more.
  std::optional<torch::Tensor> grad_scale;
  if (config_.grad_clip > 0) grad_scale = ((norm + 1e-6) / config_.grad_clip).clamp_min(1.0);
  step_count_.add_(1.0);
  for (const bool decay : {true, false}) {
    std::vector<torch::Tensor> params, g, m, v, steps;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].decay != decay) continue;
      params.push_back(slots_[i].param);
      g.push_back(grads[i]);
      m.push_back(slots_[i].exp_avg);
      v.push_back(slots_[i].exp_avg_sq);
      steps.push_back(step_count_);
    }
    if (params.empty()) continue;
    at::_fused_adamw_(params, g, m, v, /*max_exp_avg_sqs=*/{}, steps, lr, config_.beta1,
                      config_.beta2, decay ? config_.weight_decay : 0.0, /*eps=*/1e-8,
                      /*amsgrad=*/false, /*maximize=*/false, grad_scale);
  }
  return norm;
}
#endif

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& s : slots_) {
    out.emplace_back("exp_avg." + s.name, s.exp_avg);
    out.emplace_back("exp_avg_sq." + s.name, s.exp_avg_sq);
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state,
                       int64_t steps_taken) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    for (auto* target : {&s.exp_avg, &s.exp_avg_sq}) {
      const std::string key = (target == &s.exp_avg ? "exp_avg." : "exp_avg_sq.") + s.name;
      auto it = by_name.find(key);
      if (it == by_name.end())
        throw std::runtime_error("optimizer state has no tensor '" + key + "'");
      if (it->second.sizes() != target->sizes())
        throw std::runtime_error("optimizer state tensor '" + key + "' has the wrong shape");
      target->copy_(it->second);
    }
  }
  steps_ = steps_taken;
#if HOURGLASS_HAS_FUSED_ADAMW
  if (fused_) step_count_.fill_(static_cast<double>(steps_));
#endif
}

}  // namespace hg
