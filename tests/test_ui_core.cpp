// The visualizers' pure parts, without a display or a GL context: the curves' per-pixel
// decimation, TensorBoard smoothing, tick placement, the CSV export and the metrics-to-series
// mapping; the inspector's per-level values at each position and its tooltips and captions; the run
// follower's reading of metrics.jsonl.
// Drawing itself is checked under Xvfb by the studio's Qt tests.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "model/core/inspection.h"
#include "tests/temp_dir.h"
#include "ui/inspector/inspector_explain.h"
#include "ui/inspector/inspector_figures.h"
#include "ui/training/curves.h"
#include "ui/training/run_follower.h"

namespace {

// 10^5 points over 800 pixel columns with noise and one spike per column somewhere.
std::vector<ImVec2> noisy_line(int n, float width) {
  std::vector<ImVec2> points;
  uint32_t state = 12345;
  for (int i = 0; i < n; ++i) {
    state = state * 1664525u + 1013904223u;  // LCG: deterministic noise
    const float noise = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
    const float y = 300.0f - 0.002f * i + 40.0f * noise + (i % 997 == 0 ? 250.0f : 0.0f);
    points.push_back(ImVec2(10.0f + width * i / n, y));
  }
  return points;
}

TEST(Decimate, KeepsAtMostFourPointsPerColumnAndEachColumnsExtremes) {
  const std::vector<ImVec2> points = noisy_line(100000, 800.0f);
  const std::vector<ImVec2> kept = decimate(points);

  std::map<int, std::pair<float, float>> in_minmax, out_minmax;
  std::map<int, int> out_count;
  for (const ImVec2& p : points) {
    auto [it, fresh] = in_minmax.try_emplace(static_cast<int>(std::floor(p.x)), p.y, p.y);
    it->second.first = std::min(it->second.first, p.y);
    it->second.second = std::max(it->second.second, p.y);
  }
  for (const ImVec2& p : kept) {
    const int column = static_cast<int>(std::floor(p.x));
    ++out_count[column];
    auto [it, fresh] = out_minmax.try_emplace(column, p.y, p.y);
    it->second.first = std::min(it->second.first, p.y);
    it->second.second = std::max(it->second.second, p.y);
  }
  EXPECT_LE(kept.size(), 4u * in_minmax.size());
  for (const auto& [column, count] : out_count) EXPECT_LE(count, 4) << "column " << column;
  ASSERT_EQ(out_minmax.size(), in_minmax.size());
  for (const auto& [column, range] : in_minmax) {
    EXPECT_EQ(out_minmax[column].first, range.first) << "min of column " << column;
    EXPECT_EQ(out_minmax[column].second, range.second) << "max of column " << column;
  }
  for (size_t i = 1; i < kept.size(); ++i) EXPECT_LE(kept[i - 1].x, kept[i].x) << i;
  EXPECT_EQ(kept.front().x, points.front().x);  // the ends stay where they were
  EXPECT_EQ(kept.back().y, points.back().y);
}

TEST(Decimate, LeavesSparseLinesAlone) {
  const std::vector<ImVec2> points = {{0.5f, 1}, {3.2f, 2}, {7.9f, 0}};
  const std::vector<ImVec2> kept = decimate(points);
  ASSERT_EQ(kept.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(kept[i].y, points[i].y);
  EXPECT_TRUE(decimate({}).empty());
}

TEST(SmoothEma, ConstantStaysConstant) {
  const std::vector<double> values(500, 2.5);
  for (float weight : {0.0f, 0.6f, 0.99f})
    for (double v : smooth_ema(values, weight)) EXPECT_NEAR(v, 2.5, 1e-12) << weight;
}

TEST(SmoothEma, StepConvergesAndLags) {
  std::vector<double> values(200, 1.0);
  std::fill(values.begin() + 100, values.end(), 3.0);
  const std::vector<double> s = smooth_ema(values, 0.9f);
  EXPECT_NEAR(s[99], 1.0, 1e-12);
  EXPECT_GT(s[100], 1.0);  // moves towards the new level ...
  EXPECT_LT(s[100], 2.0);  // ... without jumping to it
  for (size_t i = 101; i < 200; ++i) EXPECT_GE(s[i], s[i - 1]);
  EXPECT_NEAR(s[199], 3.0, 1e-3);  // 0.9^99 * 2 ≈ 6e-5
  const std::vector<double> none = smooth_ema(values, 0.0f);
  EXPECT_EQ(none, values);
}

TEST(SmoothEma, NonFiniteValuesPassThroughWithoutPoisoningTheAverage) {
  const std::vector<double> s = smooth_ema({1.0, NAN, 1.0}, 0.5f);
  EXPECT_NEAR(s[0], 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(s[1]));
  EXPECT_NEAR(s[2], 1.0, 1e-12);
}

TEST(NiceTicks, UseOneTwoFiveSteps) {
  EXPECT_EQ(nice_ticks(0.0, 10.0, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  const std::vector<double> t = nice_ticks(0.13, 0.87, 4);  // spacing 0.2
  ASSERT_EQ(t.size(), 4u);
  EXPECT_NEAR(t[0], 0.2, 1e-12);
  EXPECT_NEAR(t[3], 0.8, 1e-12);
  EXPECT_TRUE(nice_ticks(1.0, 1.0, 5).empty());
}

TEST(NiceLogTicks, DecadesForWideRangesMantissasForNarrowOnes) {
  EXPECT_EQ(nice_log_ticks(-4.2, 0.3, 10), (std::vector<double>{-4, -3, -2, -1, 0}));
  EXPECT_EQ(nice_log_ticks(-6.0, 6.0, 4), (std::vector<double>{-6, -3, 0, 3, 6}));  // every 3rd
  // A loss between 0.7 and 6: 1, 2, 5 (log10 values), not the lone decade at 1.
  const std::vector<double> narrow = nice_log_ticks(std::log10(0.7), std::log10(6.0), 10);
  ASSERT_EQ(narrow.size(), 3u);
  EXPECT_NEAR(std::pow(10.0, narrow[0]), 1.0, 1e-9);
  EXPECT_NEAR(std::pow(10.0, narrow[1]), 2.0, 1e-9);
  EXPECT_NEAR(std::pow(10.0, narrow[2]), 5.0, 1e-9);
  // Less than a factor 2: 1..9 steps.
  EXPECT_EQ(nice_log_ticks(std::log10(3.5), std::log10(6.5), 10).size(), 3u);  // 4, 5, 6
}

TEST(TickLabel, OneFormPerAxis) {
  EXPECT_EQ(tick_label(5000, 5000, 50000), "5k");  // not "5000" beside "10k"
  EXPECT_EQ(tick_label(12500, 500, 14500), "12.5k");
  EXPECT_EQ(tick_label(2.5e6, 5e5, 3e6), "2.5M");
  EXPECT_EQ(tick_label(0.25, 0.05, 6.0), "0.25");
  EXPECT_EQ(tick_label(3.0, 0.5, 6.0), "3.0");
  EXPECT_EQ(tick_label(1.5e-4, 5e-5, 3e-4), "1.5e-04");  // learning rates
  EXPECT_EQ(tick_label(1e-17, 0.5, 6.0), "0");           // float noise at zero
  EXPECT_EQ(value_label(12345.6), "12346");
  EXPECT_EQ(value_label(1.23456), "1.235");
}

TEST(CurvesCsv, HeaderThenOneLinePerPointQuotingWhereNeeded) {
  CurvesSnapshot snapshot;
  snapshot.series.push_back({"run a", "train loss", {{1, 0.5, 4.25}, {2, 1.0, 3.5}}});
  snapshot.series.push_back({"b,\"c\"", "lr", {{10, 2.25, 0.0003}}});
  snapshot.series.back().points.back().tokens = 7680;
  snapshot.series.back().points.back().flops = 1.5e12;
  EXPECT_EQ(curves_csv(snapshot),
            "run,metric,step,time_s,value,tokens,flops\n"
            "run a,train loss,1,0.5,4.25,0,0\n"
            "run a,train loss,2,1,3.5,0,0\n"
            "\"b,\"\"c\"\"\",lr,10,2.25,0.0003,7680,1.5e+12\n");
  EXPECT_EQ(CurvesView().csv(snapshot), curves_csv(snapshot));
}

const CurveSeries* find(const CurvesSnapshot& s, const std::string& run,
                        const std::string& metric) {
  for (const CurveSeries& c : s.series)
    if (c.run == run && c.metric == metric) return &c;
  return nullptr;
}

TEST(AppendMetrics, MapsTrainAndValLinesToTheirSeries) {
  CurvesSnapshot snapshot;
  hg::Metrics train;
  train.step = 10;
  train.time_s = 5.0;
  train.split = "train";
  train.loss = 2.0;
  train.bits_per_token = 2.0 / std::log(2.0);
  train.tokens_per_s = 1000.0;
  train.lr = 3e-4;
  train.mem_bytes = 64 * 1024 * 1024;
  append_metrics(snapshot, "r1", train);
  hg::Metrics val = train;
  val.split = "val";
  val.loss = 2.5;
  val.bits_per_token = 3.6;
  append_metrics(snapshot, "r1", val);
  append_metrics(snapshot, "r2", train);

  ASSERT_NE(find(snapshot, "r1", kMetricTrainLoss), nullptr);
  EXPECT_EQ(find(snapshot, "r1", kMetricTrainLoss)->points.at(0).value, 2.0);
  EXPECT_EQ(find(snapshot, "r1", kMetricTrainLoss)->points.at(0).step, 10.0);
  EXPECT_EQ(find(snapshot, "r1", kMetricTrainLoss)->points.at(0).time_s, 5.0);
  EXPECT_EQ(find(snapshot, "r1", kMetricTrainBits)->points.at(0).value, train.bits_per_token);
  EXPECT_EQ(find(snapshot, "r1", kMetricLr)->points.at(0).value, 3e-4);
  EXPECT_EQ(find(snapshot, "r1", kMetricTokensPerS)->points.at(0).value, 1000.0);
  EXPECT_EQ(find(snapshot, "r1", kMetricMemory)->points.at(0).value, 64.0);  // MiB
  EXPECT_EQ(find(snapshot, "r1", kMetricValLoss)->points.at(0).value, 2.5);
  EXPECT_EQ(find(snapshot, "r1", kMetricValBits)->points.at(0).value, 3.6);
  EXPECT_EQ(find(snapshot, "r1", kMetricValLoss)->points.size(), 1u);  // val adds no lr etc.
  EXPECT_EQ(find(snapshot, "r1", kMetricLr)->points.size(), 1u);
  EXPECT_NE(find(snapshot, "r2", kMetricTrainLoss), nullptr);
  EXPECT_EQ(snapshot.series.size(), 5u + 2u + 5u);
}

TEST(AppendMetrics, CpuRunsHaveNoMemorySeriesAndResumesReplaceLaterSteps) {
  CurvesSnapshot snapshot;
  hg::Metrics m;
  m.split = "train";
  for (int step : {1, 2, 3, 4, 3}) {  // resumed from the checkpoint at step 2
    m.step = step;
    m.loss = step;
    append_metrics(snapshot, "cpu", m);
  }
  EXPECT_EQ(find(snapshot, "cpu", kMetricMemory), nullptr);
  const CurveSeries* loss = find(snapshot, "cpu", kMetricTrainLoss);
  ASSERT_NE(loss, nullptr);
  ASSERT_EQ(loss->points.size(), 3u);
  EXPECT_EQ(loss->points.back().step, 3.0);
}

TEST(AppendMetrics, PointsKeepTokensFlopsAndTheValProtocol) {
  CurvesSnapshot snapshot;
  hg::Metrics m;
  m.split = "val";
  m.step = 10;
  m.tokens = 5120;
  m.flops = 3.0e9;
  m.eval = "windows 64x128";
  append_metrics(snapshot, "r", m);
  const CurveSeries* val = find(snapshot, "r", kMetricValBits);
  ASSERT_NE(val, nullptr);
  EXPECT_EQ(val->points.at(0).tokens, 5120.0);
  EXPECT_EQ(val->points.at(0).flops, 3.0e9);
  EXPECT_EQ(val->eval.at(10.0), "windows 64x128");
  m.step = 5;  // resumed from step 4: the protocol of step 10 goes with its point
  m.eval.clear();
  append_metrics(snapshot, "r", m);
  EXPECT_TRUE(val->eval.empty());
}

TEST(Metrics, OldLinesGetTokensAndFlopsFromTheirStep) {
  auto m = hg::parse_metrics_line(R"({"step":3,"time_s":1,"split":"train","loss":2})");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->tokens, 0);
  hg::fill_compute(*m, /*tokens_per_step=*/512, /*flops_per_token=*/1e6);
  EXPECT_EQ(m->tokens, 3 * 512);
  EXPECT_DOUBLE_EQ(m->flops, 3 * 512 * 1e6);
  hg::Metrics written;  // a line that says its own counts keeps them
  written.tokens = 100;
  written.flops = 7.0;
  hg::fill_compute(written, 512, 1e6);
  EXPECT_EQ(written.tokens, 100);
  EXPECT_EQ(written.flops, 7.0);
  written.split = "val";
  written.eval = "windows 8x128";
  const auto back = hg::parse_metrics_line(written.to_json_line());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->tokens, 100);
  EXPECT_EQ(back->eval, "windows 8x128");
  const auto object = hg::parse_metrics_line(
      R"({"step":3,"time_s":1,"split":"val","loss":2,"eval":{"split":"val","windows":8}})");
  ASSERT_TRUE(object.has_value());
  EXPECT_EQ(object->eval, R"({"split":"val","windows":8})");
}

TEST(RunSummary, SaysTheLastValTheTimeTheFlopsAndThePeakMemory) {
  CurvesSnapshot snapshot;
  hg::Metrics m;
  m.split = "train";
  m.step = 100;
  m.time_s = 125.0;
  m.tokens = 100 * 2048;
  m.flops = 1.3e12;
  m.mem_bytes = 181ll * 1024 * 1024;
  append_metrics(snapshot, "hourglass", m);
  EXPECT_EQ(run_summary(snapshot, "hourglass"), "2m05s · 1.30 TFLOP · 181 MiB peak");
  m.split = "val";
  m.bits_per_token = 2.4104;
  m.time_s = 126.0;
  append_metrics(snapshot, "hourglass", m);
  EXPECT_EQ(run_summary(snapshot, "hourglass"),
            "val 2.410 bits/token · 2m06s · 1.30 TFLOP · 181 MiB peak");
  EXPECT_EQ(run_summary(snapshot, "other"), "");
  EXPECT_EQ(si_label(768000, ""), "768 k");
  EXPECT_EQ(si_label(2.5e15, "FLOP"), "2.50 PFLOP");
  EXPECT_EQ(si_label(12.0, "FLOP"), "12.0 FLOP");
  EXPECT_EQ(tick_label(2e12, 5e11, 3e12), "2T");  // the FLOPs axis
  EXPECT_EQ(tick_label(1.5e9, 5e8, 3e9), "1.5G");
}

TEST(CurvesView, GroupsNameTheirMetrics) {
  EXPECT_EQ(CurvesView::group_metrics(CurvesView::kLoss),
            (std::vector<std::string>{kMetricTrainLoss, kMetricValLoss}));
  EXPECT_EQ(CurvesView::group_metrics(CurvesView::kMemory),
            (std::vector<std::string>{kMetricMemory}));
  for (int g = 0; g < CurvesView::kGroupCount; ++g)
    EXPECT_FALSE(CurvesView::group_metrics(g).empty());
}

// Every position of an input whose length the factors do not divide reads a value that exists
// (or none, after the last complete group), at every level: what hovering each position shows.
TEST(LevelValue, EveryPositionReadsAnExistingRowOrNone) {
  for (const int64_t positions : {62, 1025, 64, 2}) {
    const std::vector<int> factors = {1, 3, 9};
    std::vector<std::vector<float>> values;
    for (size_t l = 0; l < factors.size(); ++l) {
      const hg::LevelRows rows = hg::level_rows(static_cast<int>(l), factors[l], positions);
      values.emplace_back(static_cast<size_t>(rows.count));
      for (int64_t r = 0; r < rows.count; ++r) values.back()[r] = static_cast<float>(r);
    }
    for (int l = 0; l < 3; ++l) {
      const hg::LevelRows rows = hg::level_rows(l, factors[l], positions);
      for (int64_t p = 0; p < positions; ++p) {
        const float* v = hg::level_value(values, l, factors[l], p);
        const int64_t row = (p + factors[l] - 1) / factors[l];
        if (row < rows.count) {
          ASSERT_NE(v, nullptr) << "T " << positions << " level " << l << " p " << p;
          EXPECT_EQ(*v, static_cast<float>(row));
          EXPECT_GE(p, rows.covers[row].first);  // the row covers the position it is read for
          EXPECT_LE(p, rows.covers[row].last);
        } else {
          EXPECT_EQ(v, nullptr) << "T " << positions << " level " << l << " p " << p;
          EXPECT_GT(p, (positions - 1) / factors[l] * factors[l]);  // after the last whole group
        }
      }
    }
  }
}

// Every element the hierarchy diagram draws has a tooltip in plain words that names what it is
// and what it does, for text and for images, for one to three levels and every resampling kind.
TEST(InspectorExplain, EveryDiagramElementHasPlainWords) {
  const char* const hierarchies[] = {"1@1 2@3 1@1", "2@1 2@3 4@9 2@3 2@1", "8@1",
                                     "1@1 1@4 2@16 1@4 1@1"};
  for (const char* text : hierarchies)
    for (const hg::ShortenKind shorten :
         {hg::ShortenKind::kAvg, hg::ShortenKind::kLinear, hg::ShortenKind::kAttention})
      for (const bool image : {false, true}) {
        hg::ModelConfig config;
        config.hierarchy = text;
        config.shorten = shorten;
        config.upsample = shorten == hg::ShortenKind::kAttention ? hg::UpsampleKind::kAttention
                                                                 : hg::UpsampleKind::kLinear;
        const hg::Hierarchy h = hg::parse_hierarchy(text);
        const hg::TokenWords words = hg::token_words(image);
        EXPECT_NE(hg::hierarchy_tooltip(config).find(text), std::string::npos);
        for (int l = 0; l < static_cast<int>(h.levels.size()); ++l) {
          const hg::Level& level = h.levels[l];
          const std::string tip = hg::level_tooltip(h, l, words);
          SCOPED_TRACE(std::string(text) + " level " + std::to_string(l));
          EXPECT_EQ(tip.rfind(hg::level_label(l, level.factor) + ": ", 0), 0u) << tip;
          if (level.factor == 1)
            EXPECT_NE(tip.find("at full length"), std::string::npos) << tip;
          else
            EXPECT_NE(tip.find(std::to_string(level.factor) +
                               "x shorter: each of its tokens "
                               "stands for " +
                               std::to_string(level.factor) + " " + words.many),
                      std::string::npos)
                << tip;
          const bool innermost = l + 1 == static_cast<int>(h.levels.size());
          const int blocks = level.pre_layers + (innermost ? 0 : level.post_layers);
          for (int b = 0; b < blocks; ++b) {
            const std::string layer = hg::layer_tooltip(h, l, b, words);
            EXPECT_EQ(
                layer.rfind("Layer " + std::to_string(b) + " of level " + std::to_string(l), 0), 0u)
                << layer;
            EXPECT_NE(layer.find(innermost              ? "innermost"
                                 : b < level.pre_layers ? "Before the shortening"
                                                        : "After the upsampling"),
                      std::string::npos)
                << layer;
          }
          if (innermost) continue;
          const std::string k = std::to_string(level.shorten_factor);
          const std::string down = hg::shorten_tooltip(config, h, l, words);
          EXPECT_EQ(down.rfind(hg::shorten_label(config, level) + ": shortening", 0), 0u) << down;
          EXPECT_NE(down.find("Every " + k + " neighbouring tokens become one"), std::string::npos);
          EXPECT_NE(down.find("shifted right by " + std::to_string(level.shorten_factor - 1)),
                    std::string::npos);
          const std::string up = hg::upsample_tooltip(config, h, l, words);
          EXPECT_EQ(up.rfind(hg::upsample_label(config, level) + ": upsampling", 0), 0u) << up;
          EXPECT_NE(up.find("becomes " + k + " tokens again"), std::string::npos) << up;
          const bool attention = shorten == hg::ShortenKind::kAttention;
          EXPECT_EQ(down.find("Click to show its attention") != std::string::npos, attention);
          EXPECT_EQ(up.find("Click to show its attention") != std::string::npos, attention);
        }
      }
}

// The example the diagram must be able to say, word for word, and the other names it teaches.
TEST(InspectorExplain, NamesLevelsBosPaddingAndSqrt) {
  const hg::Hierarchy h = hg::parse_hierarchy("1@1 2@3 1@1");
  EXPECT_NE(hg::level_tooltip(h, 1, hg::token_words(false))
                .find("level 1 sees the text 3x shorter: each of its tokens stands for 3 "
                      "characters"),
            std::string::npos);
  EXPECT_EQ(hg::level_label(1, 3), "L1 x3");
  hg::ModelConfig config;
  config.shorten = hg::ShortenKind::kLinear;
  EXPECT_EQ(hg::shorten_label(config, h.levels[0]), "linear /3");
  EXPECT_EQ(hg::upsample_label(config, h.levels[0]), "linear x3");
  EXPECT_NE(hg::bos_tooltip().find(hg::kBosGlyph), std::string::npos);
  EXPECT_NE(hg::bos_tooltip().find("BOS"), std::string::npos);
  EXPECT_NE(hg::padding_tooltip(3).find("2 zero rows"), std::string::npos);
  EXPECT_NE(hg::padding_tooltip(2).find("the zero row that"), std::string::npos);
  EXPECT_NE(hg::sqrt_tooltip().find("square root"), std::string::npos);
  for (const std::string& line : {hg::diagram_caption(), hg::input_caption(false),
                                  hg::input_caption(true), hg::heatmap_caption()}) {
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), std::string::npos) << "a caption is one line: " << line;
  }
  EXPECT_TRUE(hg::shows_attention("attention"));
  EXPECT_TRUE(hg::shows_attention("attention+linear"));
  EXPECT_FALSE(hg::shows_attention("linear"));
}

}  // namespace

// A metrics.jsonl whose last line never ends (300 MB in the field): read once, not again at every
// poll, and skipped with a note once it is longer than a metrics line can be; the lines after it
// still arrive. A line written in two parts arrives once whole; a rewritten file starts over.
TEST(RunFollower, ReadsEachByteOnceAndSkipsALineTooLong) {
  int argc = 1;
  char name[] = "test_ui_core";
  char* argv[] = {name, nullptr};
  QCoreApplication app(argc, argv);  // for the follower's timer
  hg::TempDir dir;
  const std::string path = dir / "metrics.jsonl";
  auto write = [&](const std::string& text, std::ios::openmode mode = std::ios::app) {
    std::ofstream(path, std::ios::binary | mode) << text;
  };
  const std::string line = R"({"step":1,"time_s":0.5,"split":"train","loss":2.5})";
  hg::RunFollower follower(QString::fromStdString(dir.path().string()));
  int lines = 0, resets = 0;
  QStringList notes;
  QObject::connect(&follower, &hg::RunFollower::appended,
                   [&](const QList<hg::Metrics>& m) { lines += m.size(); });
  QObject::connect(&follower, &hg::RunFollower::reset, [&] { ++resets; });
  QObject::connect(&follower, &hg::RunFollower::line_skipped,
                   [&](const QString& note) { notes.append(note); });

  write(line.substr(0, 20), std::ios::trunc);  // a line in two parts
  follower.poll();
  EXPECT_EQ(lines, 0);
  write(line.substr(20) + "\n");
  follower.poll();
  EXPECT_EQ(lines, 1);

  const qint64 huge = 3 * hg::RunFollower::kReadBytes + 12345;  // unterminated, like the 300 MB
  write(std::string(huge, 'x'));
  follower.poll();
  const qint64 after_first = follower.bytes_read();
  ASSERT_EQ(notes.size(), 1);
  EXPECT_TRUE(notes[0].contains(QStringLiteral("skipped a line at byte")))
      << notes[0].toStdString();
  for (int i = 0; i < 5; ++i) follower.poll();
  EXPECT_LE(follower.bytes_read() - after_first, 5 * 256);  // the rewrite check's tail, no more
  EXPECT_EQ(notes.size(), 1);

  write(std::string(100, 'y') + "\n" + line + "\n");  // the long line ends; a good one follows
  follower.poll();
  EXPECT_EQ(lines, 2);
  EXPECT_EQ(notes.size(), 1);
  EXPECT_EQ(resets, 0);
  EXPECT_LT(follower.bytes_read(), huge + 4096);  // every byte read once

  write(line + "\n", std::ios::trunc);  // rewritten (a resume truncates): from the start again
  follower.poll();
  EXPECT_EQ(resets, 1);
  EXPECT_EQ(lines, 3);
}
