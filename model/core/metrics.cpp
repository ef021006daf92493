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
    return m;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace hg
