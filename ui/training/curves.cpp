// The curves' data side: series built from metrics lines and the pure helpers the view draws
// with (per-column decimation, TensorBoard smoothing, ticks and their labels, CSV). No drawing
// and no ImGui context here (curves_view.cpp draws), so all of it is tested without a display.
#include "ui/training/curves.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace {

constexpr double kBytesPerMiB = 1024.0 * 1024.0;

std::string number_text(double v, const char* format) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

// RFC 4180: quote a field that holds a comma, a quote or a line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

CurveSeries& series_for(CurvesSnapshot& snapshot, const std::string& run, const char* metric) {
  for (CurveSeries& s : snapshot.series)
    if (s.run == run && s.metric == metric) return s;
  snapshot.series.push_back(CurveSeries{run, metric, {}});
  return snapshot.series.back();
}

void append_point(CurveSeries& series, const CurvePoint& point) {
  auto& points = series.points;
  // A resumed run re-logs steps after its checkpoint: its new points replace the old ones.
  while (!points.empty() && points.back().step >= point.step) points.pop_back();
  points.push_back(point);
}

}  // namespace

void append_metrics(CurvesSnapshot& snapshot, const std::string& run, const hg::Metrics& m) {
  const double step = static_cast<double>(m.step);
  auto add = [&](const char* metric, double value) {
    append_point(series_for(snapshot, run, metric), CurvePoint{step, m.time_s, value});
  };
  if (m.split == "val") {
    add(kMetricValLoss, m.loss);
    add(kMetricValBits, m.bits_per_token);
    return;
  }
  add(kMetricTrainLoss, m.loss);
  add(kMetricTrainBits, m.bits_per_token);
  add(kMetricLr, m.lr);
  add(kMetricTokensPerS, m.tokens_per_s);
  if (m.mem_bytes > 0) add(kMetricMemory, static_cast<double>(m.mem_bytes) / kBytesPerMiB);
}

std::vector<ImVec2> decimate(const std::vector<ImVec2>& points) {
  ColumnDecimator decimator;
  for (const ImVec2& p : points) decimator.add(p);
  return decimator.finish();
}

std::vector<double> smooth_ema(const std::vector<double>& values, float weight) {
  std::vector<double> out(values.size());
  const double w = std::clamp(static_cast<double>(weight), 0.0, 0.999);
  double last = 0.0;
  double weight_power = 1.0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      out[i] = values[i];
      continue;
    }
    last = last * w + (1.0 - w) * values[i];
    // Debias: the average starts at 0, so early values are divided by the weight they carry.
    weight_power *= w;  // w^count
    const double debias = 1.0 - weight_power;
    out[i] = debias > 0.0 ? last / debias : values[i];
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo) return {};
  const double rough = (hi - lo) / std::max(1, max_ticks);
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  const double normalized = rough / magnitude;
  const double nice = normalized <= 1.0   ? 1.0
                      : normalized <= 2.0 ? 2.0
                      : normalized <= 5.0 ? 5.0
                                          : 10.0;
  const double spacing = nice * magnitude;
  std::vector<double> ticks;
  // Multiplying, not accumulating, keeps 0.1 * 3 from drifting.
  for (double k = std::ceil(lo / spacing); k * spacing <= hi + spacing * 1e-9; k += 1.0)
    ticks.push_back(k * spacing);
  return ticks;
}

std::vector<double> nice_log_ticks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo) return {};
  const int max_count = std::max(2, max_ticks);
  if (hi - lo >= 2.0) {  // whole decades, every k-th so they fit
    const double k = std::max(1.0, std::ceil((hi - lo) / max_count));
    std::vector<double> ticks;
    for (double d = std::ceil(lo / k) * k; d <= hi + 1e-9; d += k) ticks.push_back(d);
    return ticks;
  }
  // Within a decade or two: mantissas {1, 2, 5}, or all of 1..9 when those are too few.
  auto with_mantissas = [&](std::initializer_list<int> mantissas) {
    std::vector<double> ticks;
    for (double decade = std::floor(lo); decade <= std::ceil(hi); decade += 1.0)
      for (int m : mantissas) {
        const double t = decade + std::log10(static_cast<double>(m));
        if (t >= lo - 1e-9 && t <= hi + 1e-9) ticks.push_back(t);
      }
    return ticks;
  };
  std::vector<double> ticks = with_mantissas({1, 2, 5});
  if (ticks.size() < 3) {
    std::vector<double> all = with_mantissas({1, 2, 3, 4, 5, 6, 7, 8, 9});
    if (static_cast<int>(all.size()) <= max_count) ticks = all;
  }
  return ticks;
}

std::string curves_csv(const CurvesSnapshot& snapshot) {
  std::string csv = "run,metric,step,time_s,value\n";
  for (const CurveSeries& s : snapshot.series) {
    const std::string prefix = csv_field(s.run) + "," + csv_field(s.metric) + ",";
    for (const CurvePoint& p : s.points)
      csv += prefix + number_text(p.step, "%.17g") + "," + number_text(p.time_s, "%.10g") + "," +
             number_text(p.value, "%.10g") + "\n";
  }
  return csv;
}

void ColumnDecimator::add(ImVec2 p) {
  if (count_ > 0 && std::floor(p.x) != column_) flush();
  if (count_ == 0) {
    column_ = std::floor(p.x);
    first_ = lo_ = hi_ = last_ = {p, 0};
  }
  const Kept kept{p, count_++};
  if (p.y < lo_.p.y) lo_ = kept;
  if (p.y > hi_.p.y) hi_ = kept;
  last_ = kept;
}

std::vector<ImVec2> ColumnDecimator::finish() {
  if (count_ > 0) flush();
  return std::move(out_);
}

void ColumnDecimator::flush() {
  // First, min, max, last, in their original order; `order` drops a point kept twice.
  const bool lo_first = lo_.order <= hi_.order;
  const Kept keep[4] = {first_, lo_first ? lo_ : hi_, lo_first ? hi_ : lo_, last_};
  for (int i = 0; i < 4; ++i)
    if (i == 0 || keep[i].order != keep[i - 1].order) out_.push_back(keep[i].p);
  count_ = 0;
}

// A read-out value: whole numbers for big ones (tokens/s), else four significant digits.
std::string value_label(double v) {
  return number_text(v, std::abs(v) >= 1e4 && std::abs(v) < 1e12 ? "%.0f" : "%.4g");
}

// Tick label with as many decimals as the tick spacing needs. The k/M suffix and the exponent
// form are chosen from the largest value on the axis (axis_max), so one axis uses one form.
std::string tick_label(double v, double spacing, double axis_max) {
  if (std::abs(v) < spacing * 1e-6) return "0";  // -0.0 and 1e-17 from float steps
  if (axis_max >= 1e6) return number_text(v / 1e6, "%gM");
  if (axis_max >= 1e4) return number_text(v / 1e3, "%gk");
  if (axis_max < 1e-2) return number_text(v, "%.1e");
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(spacing) + 1e-9)), 0, 8);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

const char* CurvesView::group_name(int group) {
  static constexpr const char* kNames[kGroupCount] = {"loss", "bits/token", "learning rate",
                                                      "tokens/s", "memory"};
  return group >= 0 && group < kGroupCount ? kNames[group] : "?";
}

std::vector<std::string> CurvesView::group_metrics(int group) {
  switch (group) {
    case kLoss:
      return {kMetricTrainLoss, kMetricValLoss};
    case kBitsPerToken:
      return {kMetricTrainBits, kMetricValBits};
    case kLearningRate:
      return {kMetricLr};
    case kTokensPerS:
      return {kMetricTokensPerS};
    case kMemory:
      return {kMetricMemory};
    default:
      return {};
  }
}

bool CurvesView::group_smoothed(int group) {
  return group != kLearningRate && group != kMemory;  // schedules and peaks: shown as they are
}
