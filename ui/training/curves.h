// The live training curves (the Training panel's plot): train/val loss and bits per token, learning
// rate, tokens/s and memory of several runs overlaid, against steps, time, tokens or training
// FLOPs, one plot per data kind, drawn with ImGui draw lists (no ImPlot).
// CurvesSnapshot is plain data the GUI model hands over; CurvesView is the visualizer (its own UI
// state + draw(), in curves_view.cpp). The pure helpers (curves.cpp) need no GL or ImGui context.
#pragma once

#include <imgui.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/core/metrics.h"

struct CurvePoint {
  double step = 0.0;
  double time_s = 0.0;
  double value = 0.0;
  double tokens = 0.0;  // tokens trained on so far; 0 where unknown (hg::Metrics::tokens)
  double flops = 0.0;   // training FLOPs so far
};

struct CurveSeries {
  std::string run;                     // run label; several runs are overlaid
  std::string metric;                  // one of the kMetric* names below
  std::vector<CurvePoint> points;      // in order of step
  std::map<double, std::string> eval;  // by step: how a val point was evaluated, where said
};

struct CurvesSnapshot {
  std::vector<CurveSeries> series;
  // Run -> its data kind ("text, 128 tokens/sample"); runs of different kinds are drawn on plots
  // of their own, since their losses are not comparable. A run without an entry is of kind "".
  std::map<std::string, std::string> run_kind;
};

// Metric names as they appear in CurveSeries::metric and in the CSV.
inline constexpr const char* kMetricTrainLoss = "train loss";
inline constexpr const char* kMetricValLoss = "val loss";
inline constexpr const char* kMetricTrainBits = "train bits/token";
inline constexpr const char* kMetricValBits = "val bits/token";
inline constexpr const char* kMetricLr = "lr";
inline constexpr const char* kMetricTokensPerS = "tokens/s";
inline constexpr const char* kMetricMemory = "memory";  // MiB of peak memory

// Adds one metrics line of `run`: a train line gives train loss, train bits/token, lr, tokens/s
// and memory (only when mem_bytes > 0, i.e. measured); a val line gives val loss and val
// bits/token (with its eval protocol, if the line says). Every point keeps the line's tokens and
// FLOPs. A step at or before the series' last step (a run resumed from an older checkpoint)
// first drops the points it replaces, so x stays increasing.
void append_metrics(CurvesSnapshot& snapshot, const std::string& run, const hg::Metrics& m);

// Reduces a polyline whose x is in pixels and non-decreasing to at most 4 points per pixel column
// (floor(x)): the first, the minimum, the maximum and the last, in x order, so spikes survive
// and tens of thousands of points draw in a few thousand segments.
std::vector<ImVec2> decimate(const std::vector<ImVec2>& points);

// decimate() as a stream, for callers that make points on the fly (the view maps 10^5 data points
// to the screen each frame without a copy): add points in x order, then finish() once.
class ColumnDecimator {
 public:
  void add(ImVec2 p);
  std::vector<ImVec2> finish();

 private:
  struct Kept {
    ImVec2 p;
    int order;  // position within the column
  };
  void flush();

  std::vector<ImVec2> out_;
  float column_ = 0.0f;
  int count_ = 0;
  Kept first_{}, lo_{}, hi_{}, last_{};
};

// TensorBoard's smoothing: an exponential moving average debiased for its start, so a constant
// stays constant. weight in [0, 1); 0 returns the values unchanged. Non-finite values pass through
// without entering the average.
std::vector<double> smooth_ema(const std::vector<double>& values, float weight);

// "Nice" tick positions (1, 2, 5 × 10^k steps) covering [lo, hi], at most about max_ticks.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);

// Log-axis ticks as log10 values for a range given in log10: whole decades over two decades or
// more, else 1-2-5 (or 1..9) times a power of ten, at most about max_ticks.
std::vector<double> nice_log_ticks(double lo, double hi, int max_ticks);

// Axis tick label: decimals as the tick spacing needs; k/M suffixes or the exponent form chosen
// from the largest magnitude on the axis (axis_max), so one axis uses one form.
std::string tick_label(double v, double spacing, double axis_max);
// A read-out value: whole numbers for big ones (tokens/s), else four significant digits.
std::string value_label(double v);

// All points of the snapshot as "run,metric,step,time_s,value,tokens,flops\n" lines after that
// header line.
std::string curves_csv(const CurvesSnapshot& snapshot);

// A number with an SI prefix and a unit: "1.30 TFLOP", "768 k", "181 MiB" is not this (binary).
std::string si_label(double v, const char* unit);

// What a run has reached, for its legend entry: "val 2.410 bits/token · 2m05s · 1.30 TFLOP ·
// 181 MiB peak" from its series (the last val point, the latest time and FLOPs, the highest
// memory); parts not known yet are left out.
std::string run_summary(const CurvesSnapshot& snapshot, const std::string& run);

struct CurvesView {
  enum MetricGroup { kLoss = 0, kBitsPerToken, kLearningRate, kTokensPerS, kMemory, kGroupCount };
  // The x axis: optimizer steps, training time, tokens trained on, training FLOPs. Tokens and
  // FLOPs put a hierarchy and its vanilla twin on the paper's footing: loss per compute.
  enum XAxis { kXStep = 0, kXTime, kXTokens, kXFlops, kXAxisCount };

  int metric_group = kLoss;      // the combo in the view's toolbar row
  float smoothing = 0.6f;        // EMA weight, TensorBoard-style
  bool log_y = false;            // non-positive values are skipped
  int x_axis = kXStep;           // an XAxis
  std::set<std::string> hidden;  // runs toggled off in the legend (every metric of the run)

  // Called from inside draw() (i.e. inside paintGL) when the user clicks an export button: defer
  // file dialogs and QOpenGLWidget::grabFramebuffer() with QTimer::singleShot(0, ...).
  std::function<void(const std::string& csv)> on_export_csv;  // gets csv(snapshot)
  std::function<void()> on_export_png;

  // Toolbar row (metric, smoothing, log, step/time, export CSV/PNG), then the plot filling the
  // rest of the current window, with legend and hover read-out.
  void draw(const CurvesSnapshot& snapshot);
  std::string csv(const CurvesSnapshot& snapshot) const { return curves_csv(snapshot); }

  static const char* group_name(int group);
  static const char* x_axis_name(int axis);  // "step", "time", "tokens", "FLOPs"
  // The metrics a group shows, e.g. kLoss -> {"train loss", "val loss"}.
  static std::vector<std::string> group_metrics(int group);
  // Whether the smoothing applies to a group's train curves (not to lr and memory).
  static bool group_smoothed(int group);

 private:
  // One series as plotted: x in the axis unit, y smoothed and log-mapped, and its ranges. Rebuilt
  // only when the series or a setting changes; redoing 10^5 points each frame would cost frames.
  struct Plotted {
    size_t size = 0;  // with first/last: detects a grown or replaced series
    CurvePoint first, last;
    float smoothing = -1.0f;
    bool log_y = false;
    int x_axis = kXStep;
    double time_unit = 1.0;                         // seconds per unit of the time axis
    std::vector<double> x, smoothed, raw, line;     // raw/line: plotted y, NaN where not plottable
    double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;  // over plottable raw points; lo > hi if none
  };
  const Plotted& plotted(const CurveSeries& series, const std::string& key, float smoothing_used,
                         double time_unit);

  void draw_toolbar(const CurvesSnapshot& snapshot);
  // One plot per data kind, stacked; each draws the runs of its kind.
  void draw_plots(const CurvesSnapshot& snapshot);
  void draw_plot(const CurvesSnapshot& snapshot, const std::string& kind, ImVec2 size, bool titled);

  std::map<std::string, Plotted> plotted_;       // by "run\tmetric"
  std::map<std::string, Plotted> plotted_next_;  // this frame's entries: dropped series vanish
};
