// metrics.jsonl lines to and from JSON.
#include "model/core/metrics.h"

#include <nlohmann/json.hpp>

namespace hg {

std::string Metrics::to_json_line() const {
  nlohmann::json j = {{"step", step},
                      {"time_s", time_s},
                      {"split", split},
                      {"loss", loss},
                      {"bits_per_token", bits_per_token},
                      {"tokens_per_s", tokens_per_s},
                      {"lr", lr}};
  if (mem_bytes > 0) j["mem_bytes"] = mem_bytes;
  if (tokens > 0) {
    j["tokens"] = tokens;
    j["flops"] = flops;
  }
  if (!eval.empty()) {  // written back as it was read: a JSON value stays one
    auto value = nlohmann::json::parse(eval, nullptr, /*allow_exceptions=*/false);
    j["eval"] = value.is_discarded() ? nlohmann::json(eval) : value;
  }
  return j.dump();
}

std::optional<Metrics> parse_metrics_line(const std::string& line) {
  try {
    const auto j = nlohmann::json::parse(line);
    Metrics m;
    m.step = j.at("step").get<int64_t>();
    m.time_s = j.at("time_s").get<double>();
    m.split = j.at("split").get<std::string>();
    m.loss = j.at("loss").get<double>();
    m.bits_per_token = j.value("bits_per_token", bits_from_nats(m.loss));
    m.tokens_per_s = j.value("tokens_per_s", 0.0);
    m.lr = j.value("lr", 0.0);
    m.mem_bytes = j.value("mem_bytes", int64_t{0});
    m.tokens = j.value("tokens", int64_t{0});
    m.flops = j.value("flops", 0.0);
    if (const auto eval = j.find("eval"); eval != j.end())
      m.eval = eval->is_string() ? eval->get<std::string>() : eval->dump();
    return m;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

void fill_compute(Metrics& m, int64_t tokens_per_step, double flops_per_token) {
  if (m.tokens > 0) return;
  m.tokens = m.step * tokens_per_step;
  m.flops = static_cast<double>(m.tokens) * flops_per_token;
}

}  // namespace hg
