// CurvesView: the live curves drawn with ImGui draw lists: toolbar, one plot per data kind with
// axes, grid, curves decimated per pixel column, a legend of runs and a hover read-out. The numbers
// it draws come from curves.cpp's pure helpers; it neither reads runs nor writes exports (its owner
// does).
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "ui/training/curves.h"

namespace {

constexpr int kMaxPolylinePoints = 4000;  // anti-aliased lines take 4 vertices a point: stay
                                          // far below ImDrawList's 16-bit index range per call

ImU32 run_color(size_t run_index) {
  // Tableau 10: distinct hues that stay readable on a dark background.
  static constexpr ImU32 kPalette[] = {IM_COL32(31, 119, 180, 255),  IM_COL32(255, 127, 14, 255),
                                       IM_COL32(44, 160, 44, 255),   IM_COL32(214, 39, 40, 255),
                                       IM_COL32(148, 103, 189, 255), IM_COL32(140, 86, 75, 255),
                                       IM_COL32(227, 119, 194, 255), IM_COL32(127, 127, 127, 255),
                                       IM_COL32(188, 189, 34, 255),  IM_COL32(23, 190, 207, 255)};
  return kPalette[run_index % std::size(kPalette)];
}

// Val points: white markers ringed in the run's colour on a dashed line, so they stand out from
// the train curve of any run (on the dark plot white contrasts with every hue of the palette).
constexpr ImU32 kValFill = IM_COL32(250, 250, 250, 255);

ImU32 with_alpha(ImU32 color, float alpha) {
  ImVec4 c = ImGui::ColorConvertU32ToFloat4(color);
  c.w = alpha;
  return ImGui::ColorConvertFloat4ToU32(c);
}

// One visible series, ready to draw: x in the chosen axis, y smoothed and log-mapped as needed.
struct PreparedSeries {
  const CurveSeries* series = nullptr;
  ImU32 color = 0;         // the run's
  bool hidden = false;     // its run is toggled off in the legend
  bool sparse = false;     // val curves: a point every eval interval, drawn with markers
  bool plottable = false;  // some point has a value on this x axis (old runs may lack FLOPs)
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

// A dashed polyline: val curves, told from train curves by more than their colour.
void draw_dashed(ImDrawList* draw, const std::vector<ImVec2>& points, ImU32 color, float width) {
  constexpr float kDash = 6.0f, kGap = 4.0f;
  float phase = 0.0f;  // distance into the current dash+gap period, carried across segments
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    const ImVec2 a = points[i], b = points[i + 1];
    const float length = std::hypot(b.x - a.x, b.y - a.y);
    if (length <= 0.0f) continue;
    for (float t = 0.0f; t < length;) {
      const bool on = phase < kDash;
      const float step = std::min(length - t, on ? kDash - phase : kDash + kGap - phase);
      if (on) {
        const float t0 = t / length, t1 = (t + step) / length;
        draw->AddLine(ImVec2(a.x + (b.x - a.x) * t0, a.y + (b.y - a.y) * t0),
                      ImVec2(a.x + (b.x - a.x) * t1, a.y + (b.y - a.y) * t1), color, width);
      }
      t += step;
      phase = std::fmod(phase + step, kDash + kGap);
    }
  }
}

// A val point: white, ringed in the run's colour.
void draw_val_marker(ImDrawList* draw, ImVec2 at, ImU32 run_color, float radius) {
  draw->AddCircleFilled(at, radius, kValFill);
  draw->AddCircle(at, radius, run_color, 0, 1.5f);
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

// Legend in the top right corner: one row per run (its colour, name and what it has reached:
// run_summary), then a key to the train line and the val markers when both are shown. A click on
// a run's row hides or shows all its curves. Returns whether the mouse is over it (then the hover
// read-out stays away).
bool draw_legend(ImDrawList* draw, const PlotFrame& frame, const CurvesSnapshot& snapshot,
                 const std::vector<PreparedSeries>& all, bool plot_hovered,
                 std::set<std::string>& hidden) {
  struct Row {
    std::string run, summary;
    ImU32 color;
    bool hidden;
  };
  std::vector<Row> rows;
  bool any_val = false, any_train = false;
  for (const PreparedSeries& p : all) {
    (p.sparse ? any_val : any_train) = true;
    const std::string& run = p.series->run;
    if (std::none_of(rows.begin(), rows.end(), [&](const Row& r) { return r.run == run; }))
      rows.push_back({run, run_summary(snapshot, run), p.color, p.hidden});
  }
  const bool key = any_val && any_train;
  const ImGuiStyle& style = ImGui::GetStyle();
  const float text_h = ImGui::GetTextLineHeight();
  const float swatch = text_h * 0.8f;
  const float gap = style.ItemInnerSpacing.x;
  float name_w = 0.0f, summary_w = 0.0f;
  for (const Row& r : rows) {
    name_w = std::max(name_w, ImGui::CalcTextSize(r.run.c_str()).x);
    summary_w = std::max(summary_w, ImGui::CalcTextSize(r.summary.c_str()).x);
  }
  const char* const kTrainKey = "train";
  const char* const kValKey = "val";
  const float key_w = 2.0f * swatch + 4.0f * gap + ImGui::CalcTextSize(kTrainKey).x +
                      ImGui::CalcTextSize(kValKey).x + 2.0f * swatch;
  const float legend_w =
      std::max(swatch + 3.0f * gap + name_w + (summary_w > 0.0f ? 2.0f * gap + summary_w : 0.0f),
               key ? key_w + 2.0f * gap : 0.0f);
  const size_t lines = rows.size() + (key ? 1 : 0);
  const ImVec2 l0(std::max(frame.p0.x + 4.0f, frame.p1.x - legend_w - 8.0f), frame.p0.y + 8.0f);
  const ImVec2 l1(frame.p1.x - 8.0f, l0.y + lines * text_h + 2.0f * style.ItemInnerSpacing.y);
  draw->AddRectFilled(l0, l1, ImGui::GetColorU32(ImGuiCol_WindowBg, 0.85f), 3.0f);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const ImVec2 row(l0.x + gap, l0.y + style.ItemInnerSpacing.y + i * text_h);
    const ImVec2 s0(row.x, row.y + (text_h - swatch) * 0.5f);
    const ImVec2 s1(s0.x + swatch, s0.y + swatch);
    if (r.hidden)
      draw->AddRect(s0, s1, r.color);
    else
      draw->AddRectFilled(s0, s1, r.color);
    const float name_x = s1.x + gap;
    draw->AddText(ImVec2(name_x, row.y),
                  ImGui::GetColorU32(r.hidden ? ImGuiCol_TextDisabled : ImGuiCol_Text),
                  r.run.c_str());
    draw->AddText(ImVec2(name_x + name_w + 2.0f * gap, row.y),
                  ImGui::GetColorU32(ImGuiCol_TextDisabled), r.summary.c_str());
    if (plot_hovered && ImGui::IsMouseHoveringRect(row, ImVec2(l1.x, row.y + text_h)) &&
        ImGui::IsMouseClicked(0)) {
      if (r.hidden)
        hidden.erase(r.run);
      else
        hidden.insert(r.run);
    }
  }
  if (key) {  // "—— train   (o) val"
    const ImVec2 row(l0.x + gap, l0.y + style.ItemInnerSpacing.y + rows.size() * text_h);
    const float mid = row.y + text_h * 0.5f;
    const ImU32 text = ImGui::GetColorU32(ImGuiCol_TextDisabled);
    draw->AddLine(ImVec2(row.x, mid), ImVec2(row.x + 2.0f * swatch, mid), text, 2.0f);
    float x = row.x + 2.0f * swatch + gap;
    draw->AddText(ImVec2(x, row.y), text, kTrainKey);
    x += ImGui::CalcTextSize(kTrainKey).x + 3.0f * gap;
    draw_dashed(draw, {ImVec2(x, mid), ImVec2(x + 2.0f * swatch, mid)}, text, 1.5f);
    draw_val_marker(draw, ImVec2(x + swatch, mid), text, swatch * 0.4f);
    draw->AddText(ImVec2(x + 2.0f * swatch + gap, row.y), text, kValKey);
  }
  return ImGui::IsMouseHoveringRect(l0, l1);
}

// Hover read-out: a vertical line at the mouse, a dot on each visible series at its point
// nearest to that x, and a tooltip with their values.
void draw_hover(ImDrawList* draw, const PlotFrame& frame, const std::vector<PreparedSeries>& all,
                const char* x_name, int x_axis, bool show_raw) {
  const float mouse_x = ImGui::GetIO().MousePos.x;
  if (mouse_x < frame.p0.x || mouse_x > frame.p1.x) return;
  const double x =
      frame.x.lo + (mouse_x - frame.p0.x) / (frame.p1.x - frame.p0.x) * (frame.x.hi - frame.x.lo);
  draw->AddLine(ImVec2(mouse_x, frame.p0.y), ImVec2(mouse_x, frame.p1.y),
                ImGui::GetColorU32(ImGuiCol_Text, 0.5f));
  const float text_h = ImGui::GetTextLineHeight();
  const float swatch = text_h * 0.8f;
  ImGui::BeginTooltip();
  if (x_axis == CurvesView::kXTokens || x_axis == CurvesView::kXFlops)
    ImGui::Text("%s %s", x_name, si_label(x, "").c_str());
  else
    ImGui::Text(x_axis == CurvesView::kXTime ? "%s %.2f" : "%s %.0f", x_name, x);
  ImGui::Separator();
  for (const PreparedSeries& p : all) {
    if (p.hidden || !p.plottable) continue;
    const size_t i = nearest_index(*p.x, x);
    const double y = (*p.line)[i];
    if (!std::isnan(y)) {
      if (p.sparse)
        draw_val_marker(draw, frame.to_screen((*p.x)[i], y), p.color, 5.0f);
      else
        draw->AddCircleFilled(frame.to_screen((*p.x)[i], y), 3.5f, p.color);
    }
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
    if (x_axis != CurvesView::kXStep) {
      ImGui::SameLine();
      ImGui::TextDisabled("step %.0f", point.step);
    }
    if (p.sparse)  // how the val figure was measured, where the run says
      if (const auto eval = p.series->eval.find(point.step); eval != p.series->eval.end())
        ImGui::TextDisabled("    eval: %s", eval->second.c_str());
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
    if (p.hidden || !p.plottable) continue;
    if (show_raw && !p.sparse)
      draw_curve(draw, screen_points(p, *p.raw), with_alpha(p.color, 0.25f), 1.0f);
    const std::vector<ImVec2> line = screen_points(p, *p.line);
    if (!p.sparse) {
      draw_curve(draw, line, p.color, 2.0f);
      continue;
    }
    draw_dashed(draw, line, p.color, 1.5f);
    // Markers on every val point; smaller where they would crowd each other.
    const float radius = line.size() * 12.0f < frame.p1.x - frame.p0.x ? 4.0f : 2.5f;
    for (const ImVec2& v : line) draw_val_marker(draw, v, p.color, radius);
  }
  draw->PopClipRect();
}

}  // namespace

void CurvesView::draw(const CurvesSnapshot& snapshot) {
  metric_group = std::clamp(metric_group, 0, kGroupCount - 1);  // e.g. restored from settings
  ImGui::PushID(this);
  draw_toolbar(snapshot);
  draw_plots(snapshot);
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
  for (int axis = 0; axis < kXAxisCount; ++axis) {
    next_item(toggle_w(x_axis_name(axis)));
    if (ImGui::RadioButton(x_axis_name(axis), x_axis == axis)) x_axis = axis;
  }
  next_item(button_w("Export CSV"));
  if (ImGui::Button("Export CSV") && on_export_csv) on_export_csv(csv(snapshot));
  next_item(button_w("Export PNG"));
  if (ImGui::Button("Export PNG") && on_export_png) on_export_png();
}

const CurvesView::Plotted& CurvesView::plotted(const CurveSeries& series, const std::string& key,
                                               float smoothing_used, double time_unit) {
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
        c.smoothing == smoothing_used && c.log_y == log_y && c.x_axis == x_axis &&
        c.time_unit == time_unit) {
      p = std::move(cached->second);
      return p;
    }
  }
  p = Plotted{series.points.size(),
              first,
              last,
              smoothing_used,
              log_y,
              x_axis,
              time_unit,
              {},
              {},
              {},
              {},
              {}};
  std::vector<double> values;
  std::vector<bool> placed;  // whether the point has a value on this axis
  values.reserve(p.size);
  p.x.reserve(p.size);
  for (const CurvePoint& point : series.points) {
    // A point past step 0 without tokens comes from a run whose config could not be read: it has
    // no place on the compute axes. It keeps its neighbour's x, so x stays sorted.
    const bool known = point.tokens > 0.0 || point.step == 0.0;
    const double x = x_axis == kXTime     ? point.time_s / time_unit
                     : x_axis == kXTokens ? point.tokens
                     : x_axis == kXFlops  ? point.flops
                                          : point.step;
    const bool here = x_axis == kXStep || x_axis == kXTime || known;
    p.x.push_back(here ? x : (p.x.empty() ? 0.0 : p.x.back()));
    placed.push_back(here);
    values.push_back(point.value);
  }
  // Smooth the values themselves, then map to log: the mean of a loss, not of its logarithm.
  p.smoothed = smoothing_used > 0.0f ? smooth_ema(values, smoothing_used) : values;
  Range x_range, y_range;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t i = 0; i < values.size(); ++i) {
    p.raw.push_back(placed[i] ? plotted_y(values[i], log_y) : nan);
    p.line.push_back(placed[i] ? plotted_y(p.smoothed[i], log_y) : nan);
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

void CurvesView::draw_plots(const CurvesSnapshot& snapshot) {
  // The data kinds in the order their runs first appear; one plot each, stacked (only kinds with
  // a series of this group: an image run without memory figures adds no empty memory plot).
  const std::vector<std::string> metrics = group_metrics(metric_group);
  std::vector<std::string> kinds;
  for (const CurveSeries& s : snapshot.series) {
    if (std::find(metrics.begin(), metrics.end(), s.metric) == metrics.end()) continue;
    const auto kind = snapshot.run_kind.find(s.run);
    const std::string name = kind == snapshot.run_kind.end() ? std::string() : kind->second;
    if (std::find(kinds.begin(), kinds.end(), name) == kinds.end()) kinds.push_back(name);
  }
  if (kinds.empty()) kinds.push_back("");
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float gap = ImGui::GetStyle().ItemSpacing.y;
  const float height = (avail.y - gap * (kinds.size() - 1)) / kinds.size();
  plotted_next_.clear();
  for (const std::string& kind : kinds) {
    ImGui::PushID(kind.c_str());
    draw_plot(snapshot, kind, ImVec2(avail.x, height), kinds.size() > 1);
    ImGui::PopID();
  }
  plotted_.swap(plotted_next_);
}

void CurvesView::draw_plot(const CurvesSnapshot& snapshot, const std::string& kind, ImVec2 avail,
                           bool titled) {
  const ImVec2 origin = ImGui::GetCursorScreenPos();
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
  for (const CurveSeries& s : snapshot.series) {
    if (s.points.empty() || std::find(metrics.begin(), metrics.end(), s.metric) == metrics.end())
      continue;
    const auto run_kind = snapshot.run_kind.find(s.run);
    if ((run_kind == snapshot.run_kind.end() ? std::string() : run_kind->second) != kind) continue;
    const std::string key = s.run + "\t" + s.metric;
    if (plotted_next_.count(key)) continue;  // a repeated series: the first one is drawn
    const bool hide = hidden.count(s.run) > 0;
    const bool sparse = s.metric.rfind("val ", 0) == 0;
    const size_t run_index = std::find(runs.begin(), runs.end(), s.run) - runs.begin();
    // Val points are few and each already averages many batches: they stay as measured.
    const float smoothing_used = smoothed_group && !sparse ? smoothing : 0.0f;
    const Plotted& data = plotted(s, key, smoothing_used, unit.seconds);
    const bool plottable = data.x_lo <= data.x_hi;
    if (!hide && plottable) frame.include(data.x_lo, data.x_hi, data.y_lo, data.y_hi);
    prepared.push_back({&s, run_color(run_index), hide, sparse, plottable, &data.x, &data.smoothed,
                        &data.raw, &data.line});
  }
  const bool have_data = !frame.x.empty() && !frame.y.empty();
  const YTicks y_ticks = place_frame(frame, origin, size, log_y);
  draw->AddRectFilled(frame.p0, frame.p1, ImGui::GetColorU32(ImGuiCol_FrameBg));
  static constexpr const char* kAxisNames[kGroupCount] = {
      "loss (nats/token)", "bits per token", "learning rate", "tokens/s", "peak memory (MiB)"};
  static constexpr const char* kXTitles[kXAxisCount] = {"step", "", "tokens trained on",
                                                        "training FLOPs (cost model)"};
  const char* x_title = x_axis == kXTime ? unit.label : kXTitles[std::clamp(x_axis, 0, 3)];
  std::string y_title = std::string(kAxisNames[metric_group]) + (log_y ? "  [log]" : "");
  if (titled) y_title += "   ·   " + (kind.empty() ? std::string("runs of unknown data") : kind);
  draw_titles(draw, frame, origin.y, y_title, x_title);
  if (!have_data) {
    // Runs without config.json have no tokens or FLOPs to place their points by.
    const bool unplaced =
        (x_axis == kXTokens || x_axis == kXFlops) &&
        std::any_of(prepared.begin(), prepared.end(),
                    [](const PreparedSeries& p) { return !p.hidden && !p.plottable; });
    const std::string empty =
        unplaced
            ? std::string("no ") + x_axis_name(x_axis) + " counts for these runs (no config.json)"
            : std::string("no ") + group_name(metric_group) + " data yet";
    const ImVec2 empty_size = ImGui::CalcTextSize(empty.c_str());
    draw->AddText(ImVec2((frame.p0.x + frame.p1.x - empty_size.x) * 0.5f,
                         (frame.p0.y + frame.p1.y - empty_size.y) * 0.5f),
                  ImGui::GetColorU32(ImGuiCol_TextDisabled), empty.c_str());
    return;
  }

  draw_grid(draw, frame, y_ticks, x_axis == kXTime);
  const bool show_raw = smoothed_group && smoothing > 0.0f;
  draw_curves(draw, frame, prepared, show_raw);
  const bool over_legend = draw_legend(draw, frame, snapshot, prepared, hovered, hidden);
  if (hovered && !over_legend) draw_hover(draw, frame, prepared, x_title, x_axis, show_raw);
}
