// One line of a run's metrics.jsonl (docs/ARCHITECTURE.md): what the trainer appends and what the
// studio and other tools read back. Torch-free, so the GUI can parse a run that another machine
// writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hg {

// Bits per token from nats per token.
inline double bits_from_nats(double nats) { return nats / 0.6931471805599453; }

// One line of metrics.jsonl.
struct Metrics {
  int64_t step = 0;     // optimizer steps done
  double time_s = 0.0;  // training time since the run started (across resumes)
  std::string split;    // "train" or "val"
  double loss = 0.0;    // nats per token
  double bits_per_token = 0.0;
  double tokens_per_s = 0.0;
  double lr = 0.0;
  // Peak memory of the run so far (model/nn/device.h, peak_memory_bytes): CUDA, torch's peak
  // allocated bytes; CPU, the peak bytes of libtorch tensors. 0 where not measured.
  int64_t mem_bytes = 0;
  // Compute so far, so curves can be drawn against it (written since the curves gained these
  // axes; older lines get them from fill_compute). tokens: optimizer steps x batch x processes x
  // seq_len. flops: tokens x the cost model's training FLOPs per token (model/core/cost.h).
  int64_t tokens = 0;
  double flops = 0.0;
  // How a val line was evaluated, where the writer says: a JSON string as its text, any other
  // JSON value as its compact JSON; empty when absent. Shown, never interpreted.
  std::string eval;
  std::string to_json_line() const;
};

// Sets tokens and flops from the step, for lines written before those fields existed (tokens
// 0): the run's tokens per step and training FLOPs per token, from its config and the cost
// model (model/core/cost.h: tokens_per_step, training_flops_per_token).
void fill_compute(Metrics& m, int64_t tokens_per_step, double flops_per_token);

// Parses one line; nullopt for a line that is not a complete metrics object (e.g. cut short by
// a crash or still being written).
std::optional<Metrics> parse_metrics_line(const std::string& line);

}  // namespace hg
