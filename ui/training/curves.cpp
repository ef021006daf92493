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
  series.eval.erase(series.eval.lower_bound(point.step), series.eval.end());
  points.push_back(point);
}

// The last point of a run's series of `metric`, or null.
const CurvePoint* last_point(const CurvesSnapshot& snapshot, const std::string& run,
                             const char* metric) {
  for (const CurveSeries& s : snapshot.series)
    if (s.run == run && s.metric == metric && !s.points.empty()) return &s.points.back();
  return nullptr;
}

// "45 s", "2m05s", "1h02m".
std::string duration_label(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char buffer[32];
  if (s < 60)
    std::snprintf(buffer, sizeof buffer, "%d s", s);
  else if (s < 3600)
    std::snprintf(buffer, sizeof buffer, "%dm%02ds", s / 60, s % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%dh%02dm", s / 3600, (s / 60) % 60);
  return buffer;
}

}  // namespace

void append_metrics(CurvesSnapshot& snapshot, const std::string& run, const hg::Metrics& m) {
  const double step = static_cast<double>(m.step);
  auto add = [&](const char* metric, double value) {
    CurveSeries& series = series_for(snapshot, run, metric);
    append_point(series, CurvePoint{step, m.time_s, value, static_cast<double>(m.tokens), m.flops});
    if (!m.eval.empty()) series.eval[step] = m.eval;
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
  std::string csv = "run,metric,step,time_s,value,tokens,flops\n";
  for (const CurveSeries& s : snapshot.series) {
    const std::string prefix = csv_field(s.run) + "," + csv_field(s.metric) + ",";
    for (const CurvePoint& p : s.points)
      csv += prefix + number_text(p.step, "%.17g") + "," + number_text(p.time_s, "%.10g") + "," +
             number_text(p.value, "%.10g") + "," + number_text(p.tokens, "%.17g") + "," +
             number_text(p.flops, "%.10g") + "\n";
  }
  return csv;
}

std::string si_label(double v, const char* unit) {
  static constexpr const char* kPrefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  int power = 0;
  double scaled = v;
  while (std::abs(scaled) >= 999.5 && power + 1 < static_cast<int>(std::size(kPrefixes))) {
    scaled /= 1000.0;
    ++power;
  }
  const char* format = std::abs(scaled) >= 99.95   ? "%.0f"
                       : std::abs(scaled) >= 9.995 ? "%.1f"
                                                   : "%.2f";
  std::string text = number_text(scaled, format);
  const std::string suffix = std::string(kPrefixes[power]) + unit;
  return suffix.empty() ? text : text + " " + suffix;
}

std::string run_summary(const CurvesSnapshot& snapshot, const std::string& run) {
  std::vector<std::string> parts;
  if (const CurvePoint* val = last_point(snapshot, run, kMetricValBits))
    parts.push_back("val " + number_text(val->value, "%.3f") + " bits/token");
  double time_s = 0.0, flops = 0.0, memory = 0.0;
  for (const CurveSeries& s : snapshot.series) {
    if (s.run != run || s.points.empty()) continue;
    time_s = std::max(time_s, s.points.back().time_s);
    flops = std::max(flops, s.points.back().flops);
    if (s.metric == kMetricMemory)
      for (const CurvePoint& p : s.points) memory = std::max(memory, p.value);
  }
  if (time_s > 0.0) parts.push_back(duration_label(time_s));
  if (flops > 0.0) parts.push_back(si_label(flops, "FLOP"));
  if (memory > 0.0) parts.push_back(number_text(memory, "%.0f") + " MiB peak");
  std::string text;
  for (const std::string& part : parts) text += (text.empty() ? "" : " · ") + part;
  return text;
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

// Tick label with as many decimals as the tick spacing needs. The k/M/G/T/P suffix and the
// exponent form are chosen from the largest value on the axis (axis_max), so one axis uses one
// form.
std::string tick_label(double v, double spacing, double axis_max) {
  if (std::abs(v) < spacing * 1e-6) return "0";  // -0.0 and 1e-17 from float steps
  if (axis_max >= 1e18) return number_text(v, "%.1e");
  if (axis_max >= 1e15) return number_text(v / 1e15, "%gP");  // training FLOPs
  if (axis_max >= 1e12) return number_text(v / 1e12, "%gT");
  if (axis_max >= 1e9) return number_text(v / 1e9, "%gG");
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

const char* CurvesView::x_axis_name(int axis) {
  static constexpr const char* kNames[kXAxisCount] = {"step", "time", "tokens", "FLOPs"};
  return axis >= 0 && axis < kXAxisCount ? kNames[axis] : "?";
}

bool CurvesView::group_smoothed(int group) {
  return group != kLearningRate && group != kMemory;  // schedules and peaks: shown as they are
}
