// CurvesView: the live curves drawn with ImGui draw lists: toolbar, axes, grid, curves decimated
// per pixel column, legend and hover read-out. The numbers it draws come from curves.cpp's pure
// helpers; it neither reads runs nor writes exports (its owner does).
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "ui/training/curves.h"

namespace {

constexpr int kMaxPolylinePoints = 4000;  // anti-aliased lines take 4 vertices a point: stay
                                          // far below ImDrawList's 16-bit index range per call

ImU32 run_color(size_t run_index, bool lighter) {
  // Tableau 10: distinct hues that stay readable on a dark background.
  static constexpr ImU32 kPalette[] = {IM_COL32(31, 119, 180, 255),  IM_COL32(255, 127, 14, 255),
                                       IM_COL32(44, 160, 44, 255),   IM_COL32(214, 39, 40, 255),
                                       IM_COL32(148, 103, 189, 255), IM_COL32(140, 86, 75, 255),
                                       IM_COL32(227, 119, 194, 255), IM_COL32(127, 127, 127, 255),
                                       IM_COL32(188, 189, 34, 255),  IM_COL32(23, 190, 207, 255)};
  ImVec4 c = ImGui::ColorConvertU32ToFloat4(kPalette[run_index % std::size(kPalette)]);
  if (lighter) {  // val curves: the run's hue, mixed towards white
    c.x += (1.0f - c.x) * 0.5f;
    c.y += (1.0f - c.y) * 0.5f;
    c.z += (1.0f - c.z) * 0.5f;
  }
  return ImGui::ColorConvertFloat4ToU32(c);
}

ImU32 with_alpha(ImU32 color, float alpha) {
  ImVec4 c = ImGui::ColorConvertU32ToFloat4(color);
  c.w = alpha;
  return ImGui::ColorConvertFloat4ToU32(c);
}

// One visible series, ready to draw: x in the chosen axis, y smoothed and log-mapped as needed.
struct PreparedSeries {
  const CurveSeries* series = nullptr;
  std::string key;  // "run\tmetric", the legend's toggle key
  ImU32 color = 0;
  bool hidden = false;
  bool sparse = false;  // val curves: a point every eval interval, drawn with markers
  // CurvesView::Plotted's vectors: x in the axis unit, smoothed values, plotted raw and smoothed.
  const std::vector<double>* x = nullptr;
  const std::vector<double>* smoothed = nullptr;
  const std::vector<double>* raw = nullptr;
  const std::vector<double>* line = nullptr;
};

double plotted_y(double v, bool log_y) {
  if (!std::isfinite(v)) return std::numeric_limits<double>::quiet_NaN();
  if (!log_y) return v;
  return v > 0.0 ? std::log10(v) : std::numeric_limits<double>::quiet_NaN();
}

// Time axis unit, chosen from the span so tick labels stay short.
struct TimeUnit {
  double seconds;
  const char* label;
};
TimeUnit time_unit(double span_s) {
  if (span_s > 3 * 3600.0) return {3600.0, "time (h)"};
  if (span_s > 180.0) return {60.0, "time (min)"};
  return {1.0, "time (s)"};
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
  // Pads by a fraction of the span; a flat range gets a span of its own size (or 1).
  void pad(double fraction) {
    if (hi - lo <= 0.0) {
      const double half = std::abs(lo) > 0.0 ? std::abs(lo) * 0.1 : 0.5;
      lo -= half;
      hi += half;
    }
    const double margin = (hi - lo) * fraction;
    lo -= margin;
    hi += margin;
  }
};

// Index of the point nearest to x (x sorted).
size_t nearest_index(const std::vector<double>& xs, double x) {
  const auto it = std::lower_bound(xs.begin(), xs.end(), x);
  if (it == xs.begin()) return 0;
  if (it == xs.end()) return xs.size() - 1;
  const size_t i = static_cast<size_t>(it - xs.begin());
  return (x - xs[i - 1] <= xs[i] - x) ? i - 1 : i;
}

// Draws decimated points. Where a curve is dense and noisy (over three points per pixel column
// on average), a line strip would paint each column's min-max span several times over, with
// anti-aliased fringes: a software rasteriser (Xvfb's llvmpipe) then spends most of each frame
// on them.
// Those curves are drawn as one 1-px rectangle per column instead, spanning its min and max and
// the previous column's last point (so the curve stays connected): the same pixels, once.
void draw_curve(ImDrawList* draw, const std::vector<ImVec2>& points, ImU32 color, float width) {
  if (points.size() < 2) return;
  const float columns = std::floor(points.back().x) - std::floor(points.front().x) + 1.0f;
  if (static_cast<float>(points.size()) <= 3.0f * columns) {
    for (size_t start = 0; start + 1 < points.size(); start += kMaxPolylinePoints - 1) {
      const size_t count = std::min<size_t>(kMaxPolylinePoints, points.size() - start);
      draw->AddPolyline(points.data() + start, static_cast<int>(count), color, 0, width);
    }
    return;
  }
  const float half = 0.5f * width;
  size_t begin = 0;
  float previous_last = points.front().y;
  while (begin < points.size()) {
    const float column = std::floor(points[begin].x);
    float lo = previous_last, hi = previous_last;
    size_t end = begin;
    for (; end < points.size() && std::floor(points[end].x) == column; ++end) {
      lo = std::min(lo, points[end].y);
      hi = std::max(hi, points[end].y);
    }
    draw->AddRectFilled(ImVec2(column, lo - half), ImVec2(column + 1.0f, hi + half), color);
    previous_last = points[end - 1].y;
    begin = end;
  }
}

// The plot rectangle and the data ranges it shows, after padding.
struct PlotFrame {
  ImVec2 p0, p1;  // screen corners, top left and bottom right
  Range x, y;
  void include(double x_lo, double x_hi, double y_lo, double y_hi) {
    x.add(x_lo);
    x.add(x_hi);
    y.add(y_lo);
    y.add(y_hi);
  }
  ImVec2 to_screen(double data_x, double data_y) const {
    return ImVec2(p0.x + static_cast<float>((data_x - x.lo) / (x.hi - x.lo)) * (p1.x - p0.x),
                  p1.y - static_cast<float>((data_y - y.lo) / (y.hi - y.lo)) * (p1.y - p0.y));
  }
};

// Legend in the top right corner; a click on a row toggles that series in `hidden`. Returns
// whether the mouse is over it (then the hover read-out stays away).
bool draw_legend(ImDrawList* draw, const PlotFrame& frame, const std::vector<PreparedSeries>& all,
                 bool plot_hovered, std::set<std::string>& hidden) {
  const ImGuiStyle& style = ImGui::GetStyle();
  const float text_h = ImGui::GetTextLineHeight();
  const float swatch = text_h * 0.8f;
  float legend_w = 0.0f;
  for (const PreparedSeries& p : all)
    legend_w = std::max(legend_w,
                        ImGui::CalcTextSize((p.series->run + "  " + p.series->metric).c_str()).x);
  legend_w += swatch + 3.0f * style.ItemInnerSpacing.x;
  const ImVec2 l0(frame.p1.x - legend_w - 8.0f, frame.p0.y + 8.0f);
  const ImVec2 l1(frame.p1.x - 8.0f, l0.y + all.size() * text_h + 2.0f * style.ItemInnerSpacing.y);
  draw->AddRectFilled(l0, l1, ImGui::GetColorU32(ImGuiCol_WindowBg, 0.85f), 3.0f);
  for (size_t i = 0; i < all.size(); ++i) {
    const PreparedSeries& p = all[i];
    const ImVec2 row(l0.x + style.ItemInnerSpacing.x, l0.y + style.ItemInnerSpacing.y + i * text_h);
    const ImVec2 s0(row.x, row.y + (text_h - swatch) * 0.5f);
    const ImVec2 s1(s0.x + swatch, s0.y + swatch);
    if (p.hidden)
      draw->AddRect(s0, s1, p.color);
    else
      draw->AddRectFilled(s0, s1, p.color);
    const std::string label = p.series->run + "  " + p.series->metric;
    draw->AddText(ImVec2(s1.x + style.ItemInnerSpacing.x, row.y),
                  ImGui::GetColorU32(p.hidden ? ImGuiCol_TextDisabled : ImGuiCol_Text),
                  label.c_str());
    if (plot_hovered && ImGui::IsMouseHoveringRect(row, ImVec2(l1.x, row.y + text_h)) &&
        ImGui::IsMouseClicked(0)) {
      if (p.hidden)
        hidden.erase(p.key);
      else
        hidden.insert(p.key);
    }
  }
  return ImGui::IsMouseHoveringRect(l0, l1);
}

// Hover read-out: a vertical line at the mouse, a dot on each visible series at its point
// nearest to that x, and a tooltip with their values.
void draw_hover(ImDrawList* draw, const PlotFrame& frame, const std::vector<PreparedSeries>& all,
                const char* x_name, bool x_is_time, bool show_raw) {
  const float mouse_x = ImGui::GetIO().MousePos.x;
  if (mouse_x < frame.p0.x || mouse_x > frame.p1.x) return;
  const double x =
      frame.x.lo + (mouse_x - frame.p0.x) / (frame.p1.x - frame.p0.x) * (frame.x.hi - frame.x.lo);
  draw->AddLine(ImVec2(mouse_x, frame.p0.y), ImVec2(mouse_x, frame.p1.y),
                ImGui::GetColorU32(ImGuiCol_Text, 0.5f));
  const float text_h = ImGui::GetTextLineHeight();
  const float swatch = text_h * 0.8f;
  ImGui::BeginTooltip();
  ImGui::Text(x_is_time ? "%s %.2f" : "%s %.0f", x_name, x);
  ImGui::Separator();
  for (const PreparedSeries& p : all) {
    if (p.hidden) continue;
    const size_t i = nearest_index(*p.x, x);
    const double y = (*p.line)[i];
    if (!std::isnan(y)) draw->AddCircleFilled(frame.to_screen((*p.x)[i], y), 3.5f, p.color);
    const ImVec2 at = ImGui::GetCursorScreenPos();
    ImGui::GetWindowDrawList()->AddRectFilled(
        ImVec2(at.x, at.y + (text_h - swatch) * 0.5f),
        ImVec2(at.x + swatch, at.y + (text_h + swatch) * 0.5f), p.color);
    ImGui::Dummy(ImVec2(swatch, text_h));
    ImGui::SameLine();
    ImGui::Text("%s  %s: %s", p.series->run.c_str(), p.series->metric.c_str(),
                value_label((*p.smoothed)[i]).c_str());
    const CurvePoint& point = p.series->points[i];
    if (show_raw && !p.sparse) {
      ImGui::SameLine();
      ImGui::TextDisabled("(raw %s)", value_label(point.value).c_str());
    }
    if (x_is_time) {
      ImGui::SameLine();
      ImGui::TextDisabled("step %.0f", point.step);
    }
  }
  ImGui::EndTooltip();
}

// The runs in order of first appearance: a run keeps its colour as data arrives.
std::vector<std::string> run_order(const CurvesSnapshot& snapshot) {
  std::vector<std::string> runs;
  for (const CurveSeries& s : snapshot.series)
    if (std::find(runs.begin(), runs.end(), s.run) == runs.end()) runs.push_back(s.run);
  return runs;
}

// The latest training time of any series: it picks the time axis's unit.
double latest_time(const CurvesSnapshot& snapshot) {
  double max_time = 0.0;
  for (const CurveSeries& s : snapshot.series)
    if (!s.points.empty()) max_time = std::max(max_time, s.points.back().time_s);
  return max_time;
}

// The y axis's ticks and their labels, in one form for the whole axis.
struct YTicks {
  std::vector<double> ticks;
  double spacing = 1.0;
  double axis_max = 0.0;  // the largest magnitude on the axis: picks the label form
  bool log = false;

  std::string label(double t) const {
    if (!log) return tick_label(t, spacing, axis_max);
    const double v = std::pow(10.0, t);
    return tick_label(v, v, axis_max);  // log ticks are 1..9 × 10^k: decimals of their own size
  }
  // The widest label: the plot's left margin.
  float label_width() const {
    float width = ImGui::CalcTextSize("0.0").x;
    for (double t : ticks) width = std::max(width, ImGui::CalcTextSize(label(t).c_str()).x);
    return width;
  }
};

YTicks y_ticks_for(const Range& y, bool log_y, int max_ticks) {
  YTicks out;
  out.log = log_y;
  out.axis_max = log_y ? std::pow(10.0, y.hi) : std::max(std::abs(y.lo), std::abs(y.hi));
  if (log_y) {
    out.ticks = nice_log_ticks(y.lo, y.hi, max_ticks);
  } else {
    out.ticks = nice_ticks(y.lo, y.hi, max_ticks);
    if (out.ticks.size() > 1) out.spacing = out.ticks[1] - out.ticks[0];
  }
  return out;
}

// Pads the data ranges (when there are any), picks the y ticks, and places the plot rectangle in
// the box of `size` at `origin`: the y labels' width on the left, room for the titles above and
// below.
YTicks place_frame(PlotFrame& frame, ImVec2 origin, ImVec2 size, bool log_y) {
  const float text_h = ImGui::GetTextLineHeight();
  const float top = origin.y + text_h + 6.0f;
  const float bottom = origin.y + size.y - 2.0f * text_h - 8.0f;
  YTicks y_ticks;
  if (!frame.x.empty() && !frame.y.empty()) {
    frame.x.pad(0.02);
    frame.y.pad(0.05);
    y_ticks = y_ticks_for(frame.y, log_y,
                          std::max(2, static_cast<int>((bottom - top) / (2.5f * text_h))));
  }
  frame.p0 = ImVec2(origin.x + y_ticks.label_width() + 10.0f, top);
  frame.p1 = ImVec2(origin.x + size.x - 14.0f, bottom);
  return y_ticks;
}

// The y axis's title at `top`, above the plot; the x axis's centred under its tick labels.
void draw_titles(ImDrawList* draw, const PlotFrame& frame, float top, const std::string& y_title,
                 const char* x_title) {
  const ImU32 text_color = ImGui::GetColorU32(ImGuiCol_Text);
  draw->AddText(ImVec2(frame.p0.x, top), text_color, y_title.c_str());
  draw->AddText(ImVec2((frame.p0.x + frame.p1.x - ImGui::CalcTextSize(x_title).x) * 0.5f,
                       frame.p1.y + ImGui::GetTextLineHeight() + 6),
                text_color, x_title);
}

// Grid lines with their tick labels on both axes, and the plot's border.
void draw_grid(ImDrawList* draw, const PlotFrame& frame, const YTicks& y_ticks, bool x_time) {
  const ImVec2 p0 = frame.p0, p1 = frame.p1;
  const float text_h = ImGui::GetTextLineHeight();
  const ImU32 text_color = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 grid = ImGui::GetColorU32(ImGuiCol_Border, 0.6f);
  for (double t : y_ticks.ticks) {
    const float y = frame.to_screen(frame.x.lo, t).y;
    draw->AddLine(ImVec2(p0.x, y), ImVec2(p1.x, y), grid);
    const std::string label = y_ticks.label(t);
    draw->AddText(ImVec2(p0.x - 6.0f - ImGui::CalcTextSize(label.c_str()).x, y - text_h * 0.5f),
                  text_color, label.c_str());
  }
  const double x_max = std::max(std::abs(frame.x.lo), std::abs(frame.x.hi));
  const float x_label_w = ImGui::CalcTextSize(x_time ? "000.0" : "000000").x;
  const std::vector<double> x_ticks = nice_ticks(
      frame.x.lo, frame.x.hi, std::max(2, static_cast<int>((p1.x - p0.x) / (x_label_w * 2.0f))));
  const double x_spacing = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1.0;
  for (double t : x_ticks) {
    const float x = frame.to_screen(t, frame.y.lo).x;
    draw->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), grid);
    const std::string label = tick_label(t, x_spacing, x_max);
    const float w = ImGui::CalcTextSize(label.c_str()).x;
    draw->AddText(ImVec2(std::min(x - w * 0.5f, p1.x + 12.0f - w), p1.y + 4.0f), text_color,
                  label.c_str());
  }
  draw->AddRect(p0, p1, ImGui::GetColorU32(ImGuiCol_Border));
}

// Curves, decimated per pixel column; the raw train curve faint behind the smoothed one.
void draw_curves(ImDrawList* draw, const PlotFrame& frame, const std::vector<PreparedSeries>& all,
                 bool show_raw) {
  draw->PushClipRect(frame.p0, frame.p1, true);
  auto screen_points = [&](const PreparedSeries& p, const std::vector<double>& ys) {
    ColumnDecimator decimator;
    for (size_t i = 0; i < ys.size(); ++i)
      if (!std::isnan(ys[i])) decimator.add(frame.to_screen((*p.x)[i], ys[i]));
    return decimator.finish();
  };
  for (const PreparedSeries& p : all) {
    if (p.hidden) continue;
    if (show_raw && !p.sparse)
      draw_curve(draw, screen_points(p, *p.raw), with_alpha(p.color, 0.25f), 1.0f);
    const std::vector<ImVec2> line = screen_points(p, *p.line);
    draw_curve(draw, line, p.color, 2.0f);
    if (p.sparse && line.size() * 6.0f < frame.p1.x - frame.p0.x)
      for (const ImVec2& v : line) draw->AddCircleFilled(v, 2.5f, p.color);
  }
  draw->PopClipRect();
}

}  // namespace

void CurvesView::draw(const CurvesSnapshot& snapshot) {
  metric_group = std::clamp(metric_group, 0, kGroupCount - 1);  // e.g. restored from settings
  ImGui::PushID(this);
  draw_toolbar(snapshot);
  draw_plot(snapshot);
  ImGui::PopID();
}

void CurvesView::draw_toolbar(const CurvesSnapshot& snapshot) {
  const ImGuiStyle& style = ImGui::GetStyle();
  const float em = ImGui::GetFontSize();
  const float box = ImGui::GetFrameHeight();  // a checkbox's or radio button's square
  auto text_w = [](const char* label) { return ImGui::CalcTextSize(label).x; };
  // Stays on the row when the next item of this width fits, else wraps (narrow docks).
  auto next_item = [&](float width) {
    const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
    if (ImGui::GetItemRectMax().x + style.ItemSpacing.x + width <= right) ImGui::SameLine();
  };
  auto button_w = [&](const char* label) { return text_w(label) + 2.0f * style.FramePadding.x; };
  auto toggle_w = [&](const char* label) { return box + style.ItemInnerSpacing.x + text_w(label); };

  ImGui::SetNextItemWidth(9.0f * em);
  if (ImGui::BeginCombo("##metric", group_name(metric_group))) {
    for (int g = 0; g < kGroupCount; ++g)
      if (ImGui::Selectable(group_name(g), g == metric_group)) metric_group = g;
    ImGui::EndCombo();
  }
  next_item(8.0f * em + style.ItemInnerSpacing.x + text_w("smoothing"));
  ImGui::BeginDisabled(!group_smoothed(metric_group));
  ImGui::SetNextItemWidth(8.0f * em);
  ImGui::SliderFloat("smoothing", &smoothing, 0.0f, 0.999f, "%.3f");
  ImGui::EndDisabled();
  next_item(toggle_w("log"));
  ImGui::Checkbox("log", &log_y);
  next_item(toggle_w("step"));
  if (ImGui::RadioButton("step", !x_time)) x_time = false;
  next_item(toggle_w("time"));
  if (ImGui::RadioButton("time", x_time)) x_time = true;
  next_item(button_w("Export CSV"));
  if (ImGui::Button("Export CSV") && on_export_csv) on_export_csv(csv(snapshot));
  next_item(button_w("Export PNG"));
  if (ImGui::Button("Export PNG") && on_export_png) on_export_png();
}

const CurvesView::Plotted& CurvesView::plotted(const CurveSeries& series, const std::string& key,
                                               float smoothing_used, double x_unit) {
  const CurvePoint& first = series.points.front();
  const CurvePoint& last = series.points.back();
  auto same = [](const CurvePoint& a, const CurvePoint& b) {
    return a.step == b.step && a.time_s == b.time_s && a.value == b.value;
  };
  Plotted& p = plotted_next_[key];
  const auto cached = plotted_.find(key);
  if (cached != plotted_.end()) {
    const Plotted& c = cached->second;
    if (c.size == series.points.size() && same(c.first, first) && same(c.last, last) &&
        c.smoothing == smoothing_used && c.log_y == log_y && c.x_unit == x_unit) {
      p = std::move(cached->second);
      return p;
    }
  }
  p = Plotted{series.points.size(), first, last, smoothing_used, log_y, x_unit, {}, {}, {}, {}};
  std::vector<double> values;
  values.reserve(p.size);
  p.x.reserve(p.size);
  for (const CurvePoint& point : series.points) {
    p.x.push_back(x_unit > 0.0 ? point.time_s / x_unit : point.step);
    values.push_back(point.value);
  }
  // Smooth the values themselves, then map to log: the mean of a loss, not of its logarithm.
  p.smoothed = smoothing_used > 0.0f ? smooth_ema(values, smoothing_used) : values;
  Range x_range, y_range;
  for (size_t i = 0; i < values.size(); ++i) {
    p.raw.push_back(plotted_y(values[i], log_y));
    p.line.push_back(plotted_y(p.smoothed[i], log_y));
    if (std::isnan(p.raw[i])) continue;
    x_range.add(p.x[i]);
    y_range.add(p.raw[i]);
  }
  p.x_lo = x_range.lo;
  p.x_hi = x_range.hi;
  p.y_lo = y_range.lo;
  p.y_hi = y_range.hi;
  return p;
}

void CurvesView::draw_plot(const CurvesSnapshot& snapshot) {
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 size(std::max(avail.x, 120.0f), std::max(avail.y, 90.0f));
  ImGui::InvisibleButton("##plot", size);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* draw = ImGui::GetWindowDrawList();

  // Visible series, coloured by the run's first appearance so colours stay put as data arrives.
  const std::vector<std::string> metrics = group_metrics(metric_group);
  const bool smoothed_group = group_smoothed(metric_group);
  const std::vector<std::string> runs = run_order(snapshot);
  const TimeUnit unit = time_unit(latest_time(snapshot));
  std::vector<PreparedSeries> prepared;
  PlotFrame frame;
  plotted_next_.clear();
  for (const CurveSeries& s : snapshot.series) {
    if (s.points.empty() || std::find(metrics.begin(), metrics.end(), s.metric) == metrics.end())
      continue;
    const std::string key = s.run + "\t" + s.metric;
    if (plotted_next_.count(key)) continue;  // a repeated series: the first one is drawn
    const bool hide = hidden.count(key) > 0;
    const bool sparse = s.metric.rfind("val ", 0) == 0;
    const size_t run_index = std::find(runs.begin(), runs.end(), s.run) - runs.begin();
    // Val points are few and each already averages many batches: they stay as measured.
    const float smoothing_used = smoothed_group && !sparse ? smoothing : 0.0f;
    const Plotted& data = plotted(s, key, smoothing_used, x_time ? unit.seconds : 0.0);
    if (!hide && data.x_lo <= data.x_hi) frame.include(data.x_lo, data.x_hi, data.y_lo, data.y_hi);
    prepared.push_back({&s, key, run_color(run_index, sparse), hide, sparse, &data.x,
                        &data.smoothed, &data.raw, &data.line});
  }
  plotted_.swap(plotted_next_);

  const bool have_data = !frame.x.empty() && !frame.y.empty();
  const YTicks y_ticks = place_frame(frame, origin, size, log_y);
  draw->AddRectFilled(frame.p0, frame.p1, ImGui::GetColorU32(ImGuiCol_FrameBg));
  static constexpr const char* kAxisNames[kGroupCount] = {
      "loss (nats/token)", "bits per token", "learning rate", "tokens/s", "peak memory (MiB)"};
  const char* x_title = x_time ? unit.label : "step";
  draw_titles(draw, frame, origin.y,
              std::string(kAxisNames[metric_group]) + (log_y ? "  [log]" : ""), x_title);
  if (!have_data) {
    const std::string empty = std::string("no ") + group_name(metric_group) + " data yet";
    const ImVec2 empty_size = ImGui::CalcTextSize(empty.c_str());
    draw->AddText(ImVec2((frame.p0.x + frame.p1.x - empty_size.x) * 0.5f,
                         (frame.p0.y + frame.p1.y - empty_size.y) * 0.5f),
                  ImGui::GetColorU32(ImGuiCol_TextDisabled), empty.c_str());
    return;
  }

  draw_grid(draw, frame, y_ticks, x_time);
  const bool show_raw = smoothed_group && smoothing > 0.0f;
  draw_curves(draw, frame, prepared, show_raw);
  const bool over_legend = draw_legend(draw, frame, prepared, hovered, hidden);
  if (hovered && !over_legend) draw_hover(draw, frame, prepared, x_title, x_time, show_raw);
}
