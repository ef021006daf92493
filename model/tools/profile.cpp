// The Kineto profiler from C++: torch/csrc/autograd/profiler_kineto.h. The summary is read back
// from the saved Chrome trace (its format is stable across libtorch versions; KinetoEvent's
// accessors are not).
#include "model/tools/profile.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#if defined(HOURGLASS_WITH_CUDA)
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>
#define HOURGLASS_HAS_PROFILER 1
#else
#define HOURGLASS_HAS_PROFILER 0
#endif

namespace hg {

using json = nlohmann::json;

bool can_profile() { return HOURGLASS_HAS_PROFILER != 0; }

#if HOURGLASS_HAS_PROFILER
namespace {

// GPU activity in a Chrome trace: kernels, copies and fills.
bool is_gpu_event(const json& event) {
  if (!event.contains("cat") || !event.contains("dur") || event.value("ph", "") != "X")
    return false;
  const std::string cat = event["cat"].get<std::string>();
  return cat == "kernel" || cat == "gpu_memcpy" || cat == "gpu_memset";
}

json summarize(const std::string& trace_path, double units, int top) {
  std::ifstream in(trace_path);
  if (!in) throw std::runtime_error("profile: the profiler wrote no trace at " + trace_path);
  const json trace = json::parse(in, nullptr, /*allow_exceptions=*/true);
  struct Sum {
    double us = 0.0;
    int64_t launches = 0;
  };
  std::map<std::string, Sum> by_name;
  double total_us = 0.0, first = 0.0, last = 0.0;
  int64_t launches = 0;
  for (const json& event : trace.value("traceEvents", json::array())) {
    if (!is_gpu_event(event)) continue;
    const double ts = event["ts"].get<double>(), dur = event["dur"].get<double>();
    if (launches == 0 || ts < first) first = ts;
    last = std::max(last, ts + dur);
    total_us += dur;
    ++launches;
    Sum& sum = by_name[event["name"].get<std::string>().substr(0, 160)];
    sum.us += dur;
    ++sum.launches;
  }
  std::vector<std::pair<std::string, Sum>> sorted(by_name.begin(), by_name.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.us > b.second.us; });
  json list = json::array();
  for (size_t i = 0; i < sorted.size() && static_cast<int>(i) < top; ++i)
    list.push_back({{"name", sorted[i].first},
                    {"us_per_unit", sorted[i].second.us / units},
                    {"launches_per_unit", static_cast<double>(sorted[i].second.launches) / units},
                    {"share", total_us > 0.0 ? sorted[i].second.us / total_us : 0.0}});
  return {{"trace", trace_path},
          {"units", units},
          {"kernels_per_unit", static_cast<double>(launches) / units},
          {"distinct_kernels", by_name.size()},
          {"gpu_us_per_unit", total_us / units},
          {"span_us_per_unit", launches > 0 ? (last - first) / units : 0.0},
          {"top", list}};
}

}  // namespace
#endif

json profile_gpu(const std::function<void()>& fn, int calls, double units_per_call,
                 const torch::Device& device, const std::string& trace_path, int top) {
  if (calls < 1 || !(units_per_call > 0.0))
    throw std::invalid_argument("profile: calls and units per call must be positive");
#if HOURGLASS_HAS_PROFILER
  if (!device.is_cuda()) throw std::invalid_argument("profile: kernel profiles are for CUDA");
  namespace kineto = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
  const std::set<ActivityType> activities{ActivityType::CPU, ActivityType::CUDA};
  torch::cuda::synchronize(device.index());
  kineto::prepareProfiler(config, activities);
  kineto::enableProfiler(config, activities);
  const auto start = std::chrono::steady_clock::now();
  try {
    for (int i = 0; i < calls; ++i) fn();
    torch::cuda::synchronize(device.index());
  } catch (...) {
    kineto::disableProfiler();
    throw;
  }
  const double wall_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  kineto::disableProfiler()->save(trace_path);
  const double units = calls * units_per_call;
  json summary = summarize(trace_path, units, top);
  summary["wall_us_per_unit"] = wall_us / units;
  return summary;
#else
  (void)fn, (void)device, (void)trace_path, (void)top, (void)units_per_call;
  throw std::invalid_argument(
      "profile: this build has no kernel profiler (it needs the CUDA build: "
      "packaging/gpu-build.sh)");
#endif
}

}  // namespace hg
