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
  int64_t mem_bytes = 0;  // peak CUDA memory; 0 on the CPU
  std::string to_json_line() const;
};

// Parses one line; nullopt for a line that is not a complete metrics object (e.g. cut short by
// a crash or still being written).
std::optional<Metrics> parse_metrics_line(const std::string& line);

}  // namespace hg
