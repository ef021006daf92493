// Qt Test of the studio's Inspector, run under Xvfb: a text run trained by the studio's
// own controller is inspected from its newest checkpoint while it trains, an image model from a
// file and from its dataset; the numbers the Inspector draws equal the files `hourglass inspect`
// writes for the same checkpoint and input; hover and click move and lock the query; every element
// of the diagram explains itself on hover, each view has a caption and its colours a bar; hovering
// every position of a ragged text reads rows that exist; follow starts at the first checkpoint and
// messages clear; Help -> Guide opens; the layout holds at 1280x720 and 1920x1080. Screenshots
// land beside the binary. Waits with QTRY_* and signals, never sleeps.
#include <QAction>
#include <QCheckBox>
#include <QDialog>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QtTest>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/controller.h"
#include "app/inspect_worker.h"
#include "app/sampler_controller.h"
#include "app/studio.h"
#include "model/core/run_config.h"
#include "model/data/data.h"
#include "model/io/tensor_io.h"
#include "tests/gui_waits.h"
#include "ui/imgui/imgui_canvas.h"
#include "ui/inspector/inspector_panel.h"
#include "ui/main_window.h"
#include "ui/sampler/model_picker.h"
#include "ui/sampler/sampler_panel.h"
#include "ui/training/training_panel.h"

namespace hg {
namespace {

constexpr int kTimeoutMs = 180000;  // a loaded 2-core machine, llvmpipe drawing
// The studio and the CLI run the same fp32 CPU code on the same weights; only the number of
// threads (and so the order of some sums) may differ between the two processes.
constexpr double kWeightTol = 1e-5;    // attention weights, in [0, 1]
constexpr double kRelativeTol = 1e-5;  // activations and norms: |a - b| <= tol * (1 + |b|)

QByteArray small_text() {
  QByteArray text;
  const char* const lines[] = {"the cat sat on the mat.\n", "a dog ran in the park.\n",
                               "hourglass models shorten the middle.\n"};
  for (int i = 0; text.size() < 40000; ++i) text += lines[(i * 7) % 3];
  return text;
}

// 32x32 RGB pictures with structure a viewer recognises: a disc on a gradient, in varied colours.
QImage picture(int i) {
  QImage image(32, 32, QImage::Format_RGB888);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const int dx = x - 10 - i % 12, dy = y - 16;
      const bool disc = dx * dx + dy * dy < 64;
      image.setPixelColor(
          x, y,
          disc ? QColor::fromHsv((i * 47) % 360, 200, 230) : QColor(20 + 6 * y, 40, 30 + 5 * x));
    }
  return image;
}

std::vector<float> floats(const RawTensor& t) {
  std::vector<float> out(t.numel());
  std::memcpy(out.data(), t.data.data(), out.size() * sizeof(float));
  return out;
}

nlohmann::json read_json(const QString& path) {
  std::ifstream in(path.toStdString());
  return nlohmann::json::parse(in);
}

// A level's band in the diagram ("level1"), which holds its layer chips.
bool is_band(const std::string& id) {
  return id.rfind("level", 0) == 0 && id.find('_') == std::string::npos;
}

bool close(double a, double b, double tol) { return std::abs(a - b) <= tol * (1.0 + std::abs(b)); }

}  // namespace

class TestInspectorUi : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void cleanupTestCase();
  void text_of_a_run_while_it_trains();
  void drawn_text_numbers_equal_hourglass_inspect();
  void hover_moves_and_click_locks_the_query();
  void every_element_explains_itself_on_hover();
  void hovering_every_position_of_a_ragged_text_reads_existing_rows();
  void follow_inspects_each_new_checkpoint();
  void image_from_a_file_equals_hourglass_inspect();
  void image_from_the_dataset();
  void errors_are_shown_in_place();
  void follow_starts_at_the_first_checkpoint_and_messages_clear();
  void guide_opens_offline();
  void demo_models_for_a_person_to_look_at();
  void layout_at_1280x720_and_1920x1080();

 private:
  RunConfig text_config() const;
  // Waits for a new snapshot after `action`, which asks for one.
  template <typename Action>
  const InspectSnapshot* inspect(Action&& action);
  void wait_frames(int count = 3);
  void screenshot(const QString& name);
  // Moves the pointer over canvas pixel `at` and waits until a frame has drawn with it there.
  void hover(QPointF at);
  // The window at `size` with the Run dock open beside `dock`, which is brought to the front.
  void lay_out(QSize size, const QString& dock);
  // Runs `hourglass inspect` on `weights` with `input_args` into a fresh folder; returns it.
  QString run_cli(const QString& weights, const QStringList& input_args);
  // Every map and level of the snapshot, and the figures drawn, against the CLI's files.
  void compare_with_cli(const QString& cli_dir);

  InspectorPanel* panel() const { return window_->inspector_panel(); }

  QTemporaryDir temp_;
  QString text_path_, images_dir_, text_run_, image_run_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<InspectWorker> inspector_;
  std::unique_ptr<SamplerController> sampler_;
  std::unique_ptr<MainWindow> window_;
  int cli_runs_ = 0;
};

void TestInspectorUi::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);
  QCoreApplication::setOrganizationName(QStringLiteral("hourglass-test"));
  QCoreApplication::setApplicationName(QStringLiteral("test_inspector_ui"));
  QSettings().clear();
  QVERIFY(temp_.isValid());
  text_path_ = temp_.filePath(QStringLiteral("small.txt"));
  QFile text(text_path_);
  QVERIFY(text.open(QIODevice::WriteOnly));
  text.write(small_text());
  text.close();
  images_dir_ = temp_.filePath(QStringLiteral("pictures"));
  QVERIFY(QDir().mkpath(images_dir_));
  for (int i = 0; i < 60; ++i)
    QVERIFY(picture(i).save(images_dir_ + QStringLiteral("/p%1.png").arg(i, 2, 10, QChar('0'))));

  controller_ = std::make_unique<Controller>();
  inspector_ = std::make_unique<InspectWorker>();
  sampler_ = std::make_unique<SamplerController>();
  window_ = std::make_unique<MainWindow>();
  connect_studio(*window_, *controller_);
  connect_inspector(*window_, *controller_, *inspector_);
  connect_sampler(*window_, *controller_, *sampler_);
  window_->resize(1280, 800);
  window_->show();
  QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
  // The Inspector gets the width: its dock in front, the Run dock out of the way.
  window_->findChild<QDockWidget*>(QStringLiteral("run_dock"))->hide();
  auto* dock = window_->findChild<QDockWidget*>(QStringLiteral("inspector_dock"));
  QVERIFY(dock);
  dock->show();
  dock->raise();
  QTRY_VERIFY(panel()->canvas()->isVisible());
}

void TestInspectorUi::cleanupTestCase() {
  window_.reset();
  sampler_.reset();
  inspector_.reset();
  controller_.reset();
}

RunConfig TestInspectorUi::text_config() const {
  RunConfig c;
  c.model.hierarchy = "1@1 1@3 1@1";
  c.model.shorten = ShortenKind::kAttention;  // every kind of attention map is drawn
  c.model.upsample = UpsampleKind::kAttention;
  c.model.d_model = 32;
  c.model.n_heads = 2;
  c.model.seq_len = 64;
  c.train.data = text_path_.toStdString();
  c.train.batch = 8;
  c.train.lr = 3e-3;
  c.train.warmup_steps = 5;
  c.train.steps = 1000000;  // never reached: the test stops it
  c.train.eval_every = 50;
  c.train.eval_batches = 1;
  c.train.save_every = 0;
  c.train.sample_every = 10;
  c.train.threads = 1;
  return c;
}

template <typename Action>
const InspectSnapshot* TestInspectorUi::inspect(Action&& action) {
  QSignalSpy done(inspector_.get(), &InspectWorker::inspected);
  QSignalSpy failed(inspector_.get(), &InspectWorker::failed);
  action();
  [&] { QTRY_VERIFY_WITH_TIMEOUT(done.count() + failed.count() > 0, kTimeoutMs); }();
  if (!failed.isEmpty())
    qWarning("inspection failed: %s", qPrintable(failed.first().at(0).toString()));
  return failed.isEmpty() ? panel()->snapshot() : nullptr;
}

void TestInspectorUi::wait_frames(int count) {
  const int frames = panel()->canvas()->frames_drawn();
  QTRY_VERIFY_WITH_TIMEOUT(panel()->canvas()->frames_drawn() >= frames + count, 30000);
}

void TestInspectorUi::screenshot(const QString& name) {
  wait_frames();
  const QString path = QStringLiteral(HOURGLASS_TEST_OUTPUT_DIR "/") + name;
  QVERIFY2(window_->grab().save(path), qPrintable(path));
  qInfo("screenshot: %s", qPrintable(path));
}

void TestInspectorUi::hover(QPointF at) {
  QTest::mouseMove(panel()->canvas(), at.toPoint());
  wait_frames(2);
}

void TestInspectorUi::lay_out(QSize size, const QString& dock) {
  window_->resize(size);
  auto* run = window_->findChild<QDockWidget*>(QStringLiteral("run_dock"));
  run->show();
  auto* front = window_->findChild<QDockWidget*>(dock);
  front->show();
  front->raise();
  QTRY_COMPARE(window_->size(), size);
  QTRY_VERIFY(run->isVisible() && front->widget()->isVisible());
}

QString TestInspectorUi::run_cli(const QString& weights, const QStringList& input_args) {
  const QString out = temp_.filePath(QStringLiteral("cli_%1").arg(++cli_runs_));
  QProcess cli;
  cli.setProcessChannelMode(QProcess::MergedChannels);
  cli.start(QStringLiteral(HOURGLASS_CLI), QStringList{QStringLiteral("inspect"), weights} +
                                               input_args +
                                               QStringList{QStringLiteral("--out"), out});
  if (!cli.waitForFinished(kTimeoutMs) || cli.exitCode() != 0)
    qWarning("hourglass inspect: %s", cli.readAll().constData());
  return cli.exitStatus() == QProcess::NormalExit && cli.exitCode() == 0 ? out : QString();
}

void TestInspectorUi::compare_with_cli(const QString& cli_dir) {
  const InspectSnapshot* s = panel()->snapshot();
  QVERIFY(s);
  const InspectResult& r = s->result;
  const nlohmann::json meta = read_json(cli_dir + QStringLiteral("/meta.json"));
  QCOMPARE(meta["positions"]["count"].get<int64_t>(), r.positions);
  QCOMPARE(meta["input"]["tokens"].get<std::vector<uint8_t>>(), r.tokens);
  QCOMPARE(meta["attention"].size(), r.attention.size());
  for (size_t l = 0; l < r.levels.size(); ++l) {
    const auto covers = meta["hierarchy"]["levels"][l]["covers"];
    QCOMPARE(static_cast<int64_t>(covers.size()), r.levels[l].count);
    for (int64_t j = 0; j < r.levels[l].count; ++j) {
      QCOMPARE(covers[j][0].get<int64_t>(), r.levels[l].covers[j].first);
      QCOMPARE(covers[j][1].get<int64_t>(), r.levels[l].covers[j].last);
    }
  }
  const std::vector<float> logits =
      floats(read_npy((cli_dir + QStringLiteral("/logits.npy")).toStdString()));
  QCOMPARE(logits.size(), r.logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    QVERIFY2(close(r.logits[i], logits[i], kRelativeTol), qPrintable(QString::number(i)));

  // Every map, every head and the mean, as the views compute them for drawing.
  for (const nlohmann::json& entry : meta["attention"]) {
    const std::string name = entry["name"];
    const AttentionMap* map = find_attention(r, name);
    QVERIFY2(map, name.c_str());
    const RawTensor file =
        read_npy((cli_dir + "/" + QString::fromStdString(entry["file"])).toStdString());
    QCOMPARE(file.shape, (std::vector<int64_t>{map->heads, map->queries, map->keys}));
    const std::vector<float> w = floats(file);
    const size_t per_head = static_cast<size_t>(map->queries * map->keys);
    for (int head = -1; head < map->heads; ++head) {
      const Matrix drawn = attention_matrix(*map, head);
      for (size_t i = 0; i < per_head; ++i) {
        double expected = 0.0;
        for (int64_t h = 0; h < map->heads; ++h)
          if (head < 0 || h == head) expected += w[h * per_head + i];
        if (head < 0) expected /= static_cast<double>(map->heads);
        if (std::abs(drawn.values[i] - expected) > kWeightTol)
          QFAIL(qPrintable(QStringLiteral("%1 head %2 entry %3: drawn %4, exported %5")
                               .arg(QString::fromStdString(name))
                               .arg(head)
                               .arg(i)
                               .arg(drawn.values[i])
                               .arg(expected)));
      }
    }
  }

  // The figures on screen now: the selected matrix, the query's heat over the input (from the
  // file's weights and meta.json's spans), and every level's norms or channel.
  const InspectorFigures& f = panel()->view().figures();
  QVERIFY(f.map && f.result == &r);
  const nlohmann::json* entry = nullptr;
  for (const nlohmann::json& e : meta["attention"])
    if (e["name"] == f.map->name) entry = &e;
  QVERIFY(entry);
  const std::vector<float> w =
      floats(read_npy((cli_dir + "/" + QString::fromStdString((*entry)["file"])).toStdString()));
  const int64_t keys = (*entry)["keys"]["count"], queries = (*entry)["queries"]["count"];
  const int64_t padding = (*entry)["keys"]["padding"];
  const int key_level = (*entry)["keys"]["level"];
  const auto key_covers = meta["hierarchy"]["levels"][key_level]["covers"];
  std::vector<double> heat(static_cast<size_t>(r.positions), 0.0);
  double padding_mass = 0.0;
  for (int64_t b = 0; b < keys; ++b) {
    double weight = 0.0;
    for (int64_t h = 0; h < f.map->heads; ++h)
      if (f.head < 0 || h == f.head) weight += w[(h * queries + f.query_row) * keys + b];
    if (f.head < 0) weight /= static_cast<double>(f.map->heads);
    QVERIFY(std::abs(f.attention.at(f.query_row, b) - weight) <= kWeightTol);
    if (b < padding) {
      padding_mass += weight;
      continue;
    }
    const int64_t first = key_covers[b - padding][0], last = key_covers[b - padding][1];
    for (int64_t p = first; p <= last; ++p)
      heat[p] += weight / static_cast<double>(last - first + 1);
  }
  QCOMPARE(f.over_input.heat.size(), heat.size());
  for (size_t p = 0; p < heat.size(); ++p)
    QVERIFY(std::abs(f.over_input.heat[p] - heat[p]) <= kWeightTol);
  QVERIFY(std::abs(f.over_input.padding - padding_mass) <= kWeightTol);
  QCOMPARE(f.activations.size(), meta["activations"].size());
  for (const nlohmann::json& a : meta["activations"]) {
    const int level = a["level"];
    const RawTensor file =
        read_npy((cli_dir + "/" + QString::fromStdString(a["file"])).toStdString());
    const std::vector<float> values = floats(file);
    const int64_t rows = file.shape[0], width = file.shape[1];
    QCOMPARE(static_cast<int64_t>(f.activations[level].size()), rows);
    for (int64_t j = 0; j < rows; ++j) {
      double expected = 0.0;
      if (f.channel < 0) {
        for (int64_t c = 0; c < width; ++c)
          expected += double(values[j * width + c]) * values[j * width + c];
        expected = std::sqrt(expected);
      } else {
        expected = values[j * width + f.channel];
      }
      QVERIFY2(close(f.activations[level][j], expected, kRelativeTol),
               qPrintable(QStringLiteral("level %1 row %2: drawn %3, exported %4")
                              .arg(level)
                              .arg(j)
                              .arg(f.activations[level][j])
                              .arg(expected)));
    }
  }
}

void TestInspectorUi::text_of_a_run_while_it_trains() {
  text_run_ = temp_.filePath(QStringLiteral("text_run"));
  QSignalSpy metrics(controller_.get(), &Controller::metrics);
  QSignalSpy saved(controller_.get(), &Controller::checkpoint_saved);
  QSignalSpy opened(inspector_.get(), &InspectWorker::model_opened);
  controller_->start(text_config(), text_run_);
  QVERIFY(wait_while_progressing([&] { return metrics.count() >= 30; },
                                 [&] { return qint64(metrics.count()); }));
  controller_->save_checkpoint();
  QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);

  // The training run is one click away; the model line shows its checkpoint.
  auto* training = panel()->findChild<QPushButton*>(QStringLiteral("inspector_training"));
  QVERIFY(training && training->isEnabled());
  QTest::mouseClick(training, Qt::LeftButton);
  QCOMPARE(panel()->source(), text_run_);
  QTRY_VERIFY_WITH_TIMEOUT(opened.count() >= 1, kTimeoutMs);
  QVERIFY(panel()->model() && panel()->model()->step > 0);

  // Inspecting while the run goes on: the trainer keeps stepping, the GUI keeps drawing.
  const int frames = panel()->canvas()->frames_drawn();
  const int steps = metrics.count();
  panel()->set_mode(InspectorPanel::Mode::kText);
  panel()->set_text(QStringLiteral("the cat sat on the mat.\nhourglass models"));
  const InspectSnapshot* s = inspect([this] {
    QTest::mouseClick(panel()->findChild<QPushButton*>(QStringLiteral("inspector_inspect")),
                      Qt::LeftButton);
  });
  QVERIFY(s);
  QCOMPARE(s->result.origin.input_kind, std::string("text"));
  QCOMPARE(s->result.positions, int64_t{41});  // BOS + 40 bytes
  QVERIFY(s->model.weights.find(text_run_.toStdString()) == 0);
  QCOMPARE(s->result.attention.size(), size_t{5});  // layers of both levels, shorten, upsample
  QVERIFY(wait_while_progressing([&] { return metrics.count() > steps + 3; },
                                 [&] { return qint64(metrics.count()); }));
  QTRY_VERIFY_WITH_TIMEOUT(panel()->canvas()->frames_drawn() > frames + 2, 30000);

  // A shortened level's layer, the mean over heads, a query in the second line.
  panel()->view().selection.map = "level1_layer0";
  panel()->view().selection.level = 1;
  panel()->view().selection.query = 38;
  panel()->view().selection.locked = true;
  wait_frames();
  QCOMPARE(panel()->view().figures().query_row, int64_t{13});  // ceil(38 / 3)
  screenshot(QStringLiteral("inspector_text.png"));
}

void TestInspectorUi::drawn_text_numbers_equal_hourglass_inspect() {
  const InspectSnapshot* s = panel()->snapshot();
  QVERIFY(s);
  const std::string text(s->result.tokens.begin(), s->result.tokens.end());
  for (const char* map : {"level0_shorten", "level0_upsample", "level1_layer0"}) {
    panel()->view().selection.map = map;
    panel()->view().selection.head = std::string(map) == "level0_upsample" ? 1 : -1;
    panel()->view().selection.channel = std::string(map) == "level1_layer0" ? 5 : -1;
    wait_frames();
    const QString cli = run_cli(QString::fromStdString(s->model.weights),
                                {QStringLiteral("--text"), QString::fromStdString(text)});
    QVERIFY(!cli.isEmpty());
    compare_with_cli(cli);
  }
  panel()->view().selection.channel = -1;
}

void TestInspectorUi::hover_moves_and_click_locks_the_query() {
  InspectorView& view = panel()->view();
  view.selection.map = "level0_layer1";
  view.selection.locked = false;
  wait_frames();
  ImGuiCanvas* canvas = panel()->canvas();
  auto point = [&](int64_t p) {
    const ImVec2 c = view.input.position_center(p);
    return QPoint(static_cast<int>(c.x), static_cast<int>(c.y));
  };
  QTest::mouseMove(canvas, point(5));
  QTRY_COMPARE_WITH_TIMEOUT(view.figures().query, int64_t{5}, 30000);
  QTest::mouseMove(canvas, point(9));
  QTRY_COMPARE_WITH_TIMEOUT(view.figures().query, int64_t{9}, 30000);
  QTest::mouseClick(canvas, Qt::LeftButton, {}, point(9));
  QTRY_VERIFY_WITH_TIMEOUT(view.selection.locked, 30000);
  QTest::mouseMove(canvas, point(20));
  wait_frames();
  QCOMPARE(view.figures().query, int64_t{9});               // locked
  QTest::mouseClick(canvas, Qt::LeftButton, {}, point(9));  // again: unlocks
  QTRY_VERIFY_WITH_TIMEOUT(!view.selection.locked, 30000);
  // QTest moves the real pointer (still at 20; the clicks did not move it): go somewhere new.
  QTest::mouseMove(canvas, point(27));
  QTRY_COMPARE_WITH_TIMEOUT(view.figures().query, int64_t{27}, 30000);
  // Leave the canvas, so screenshots carry no tooltip.
  QTest::mouseMove(window_.get(), QPoint(5, window_->height() - 5));
}

void TestInspectorUi::every_element_explains_itself_on_hover() {
  // The text model has attention shortening: its keys start with the shift's padding.
  InspectorView& view = panel()->view();
  view.selection.map = "level0_shorten";
  view.selection.level = 0;
  view.selection.channel = -1;
  view.selection.locked = true;
  wait_frames();
  const InspectorTrace trace = view.trace();  // a copy: each frame rebuilds it

  // A caption over each of the three views; colour bars for the attention over the input, each
  // level's activations and the heatmap, each with its unit and its range.
  QCOMPARE(trace.captions.size(), size_t{3});
  for (const std::string& caption : trace.captions) QVERIFY(!caption.empty());
  const std::vector<std::string> bars = {"attention", "L0", "L1", "attention map"};
  QCOMPARE(trace.colour_bars.size(), bars.size());
  for (size_t i = 0; i < bars.size(); ++i) {
    const InspectorTrace::ColourBar& bar = trace.colour_bars[i];
    QCOMPARE(bar.label, bars[i]);
    QVERIFY2(!bar.unit.empty(), bar.label.c_str());
    QVERIFY2(bar.hi > bar.lo, bar.label.c_str());
  }
  QCOMPARE(trace.colour_bars[1].unit, std::string("norm"));

  // Every part of the diagram, the sqrt switch, the BOS/padding legend and the colour bars are
  // there, and hovering each shows its own words.
  for (const char* id :
       {"hierarchy", "level0", "level1", "level0_layer0", "level0_layer1", "level1_layer0",
        "level0_shorten", "level0_upsample", "sqrt", "bos", "colour_bar_attention", "colour_bar_L0",
        "colour_bar_L1", "colour_bar_attention_map"})
    QVERIFY2(trace.find(id), id);
  QVERIFY(trace.find("bos")->tooltip.find("pad") != std::string::npos);
  for (const InspectorTrace::Element& e : trace.elements) {
    QVERIFY2(!e.tooltip.empty(), e.id.c_str());
    // A band is hovered on its label ("L0 x1"), which no layer chip covers.
    const QPointF at = is_band(e.id) ? QPointF(e.p0.x + 6.0, (e.p0.y + e.p1.y) * 0.5)
                                     : QPointF((e.p0.x + e.p1.x) * 0.5, (e.p0.y + e.p1.y) * 0.5);
    hover(at);
    QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(view.trace().tooltip),
                              QString::fromStdString(e.tooltip), 30000);
    if (e.id == "level1") screenshot(QStringLiteral("inspector_tooltip_level.png"));
  }
  // The BOS cell of the input names itself too.
  hover(QPointF(view.input.position_center(0).x, view.input.position_center(0).y));
  QTRY_VERIFY_WITH_TIMEOUT(view.trace().tooltip.find("BOS") != std::string::npos, 30000);
  QTest::mouseMove(window_.get(), QPoint(5, window_->height() - 5));
}

void TestInspectorUi::hovering_every_position_of_a_ragged_text_reads_existing_rows() {
  // 40 bytes: 41 positions, and level 1 (factor 3) has rows for positions 0..39 only, so the
  // last position's group is incomplete.
  const InspectSnapshot* s = panel()->snapshot();
  QVERIFY(s);
  const InspectResult& r = s->result;
  QCOMPARE(r.positions, int64_t{41});
  QCOMPARE(r.levels[1].factor, 3);
  QVERIFY((r.positions - 1) % 3 != 0);
  InspectorView& view = panel()->view();
  view.selection.locked = false;
  view.selection.channel = -1;
  wait_frames();
  int missing = 0;
  for (int64_t p = 0; p < r.positions; ++p) {
    const ImVec2 c = view.input.position_center(p);
    QTest::mouseMove(panel()->canvas(), QPoint(static_cast<int>(c.x), static_cast<int>(c.y)));
    QTRY_COMPARE_WITH_TIMEOUT(view.trace().hovered_position, p, 30000);
    const std::vector<InspectorTrace::LevelReading> readings = view.trace().readings;
    QCOMPARE(readings.size(), r.levels.size());
    for (const InspectorTrace::LevelReading& reading : readings) {
      const std::vector<float>& values = view.figures().activations[reading.level];
      const QString where =
          QStringLiteral("position %1 level %2 row %3").arg(p).arg(reading.level).arg(reading.row);
      if (reading.exists) {
        QVERIFY2(reading.row < static_cast<int64_t>(values.size()), qPrintable(where));
        QCOMPARE(reading.value, values[static_cast<size_t>(reading.row)]);
        const PositionSpan span = r.levels[reading.level].covers[reading.row];
        QVERIFY2(span.first <= p && p <= span.last, qPrintable(where));
      } else {
        QVERIFY2(reading.row >= static_cast<int64_t>(values.size()), qPrintable(where));
        ++missing;
      }
    }
  }
  QCOMPARE(missing, 1);  // position 40 at level 1: its group of 3 ends after the input
  QTest::mouseMove(window_.get(), QPoint(5, window_->height() - 5));
}

void TestInspectorUi::follow_inspects_each_new_checkpoint() {
  const int64_t before = panel()->snapshot()->model.step;
  // Following a run that has a checkpoint inspects it at once.
  QVERIFY(inspect([this] {
    panel()->findChild<QCheckBox*>(QStringLiteral("inspector_follow"))->setChecked(true);
  }));
  QSignalSpy saved(controller_.get(), &Controller::checkpoint_saved);
  QSignalSpy metrics(controller_.get(), &Controller::metrics);
  QVERIFY(wait_while_progressing(
      [&] { return metrics.count() >= 3; },
      [&] { return qint64(metrics.count()); }));  // a newer step than the last save
  const InspectSnapshot* s = inspect([this] { controller_->save_checkpoint(); });
  QVERIFY(s);
  QVERIFY2(s->model.step > before,
           qPrintable(QStringLiteral("%1 -> %2").arg(before).arg(s->model.step)));
  panel()->findChild<QCheckBox*>(QStringLiteral("inspector_follow"))->setChecked(false);

  // The run's latest sample is an input too (a .txt sample for a text run).
  QTRY_VERIFY_WITH_TIMEOUT(!window_->training_panel()->sample_path().isEmpty(), kTimeoutMs);
  QSignalSpy finished(controller_.get(), &Controller::run_finished);
  controller_->stop();
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
  panel()->set_mode(InspectorPanel::Mode::kLatestSample);
  s = inspect([this] { panel()->inspect_now(); });
  QVERIFY2(s, qPrintable(panel()->status_text()));
  QCOMPARE(s->result.origin.input_kind, std::string("text"));
}

void TestInspectorUi::image_from_a_file_equals_hourglass_inspect() {
  // An RGB model of 3072 sub-pixels, trained a few steps by the studio's controller.
  image_run_ = temp_.filePath(QStringLiteral("image_run"));
  RunConfig c = text_config();
  c.model.d_model = 16;
  c.train.data = images_dir_.toStdString();
  c.train.batch = 2;
  c.train.sample_every = 0;
  c.train.eval_every = 1000;
  QSignalSpy metrics(controller_.get(), &Controller::metrics);
  QSignalSpy finished(controller_.get(), &Controller::run_finished);
  controller_->start(c, image_run_);
  QVERIFY(wait_while_progressing([&] { return metrics.count() >= 3; },
                                 [&] { return qint64(metrics.count()); }));
  controller_->stop();  // saves the checkpoint the inspector reads
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);

  QSignalSpy opened(inspector_.get(), &InspectWorker::model_opened);
  panel()->set_source(image_run_);
  QTRY_VERIFY_WITH_TIMEOUT(opened.count() >= 1, kTimeoutMs);
  QCOMPARE(panel()->model()->image_channels, 3);
  QVERIFY(panel()->mode() != InspectorPanel::Mode::kText);  // an image model asks for images

  const QString file = images_dir_ + QStringLiteral("/p05.png");
  panel()->set_mode(InspectorPanel::Mode::kImageFile);
  panel()->set_image_file(file);
  const InspectSnapshot* s = inspect([this] { panel()->inspect_now(); });
  QVERIFY2(s, qPrintable(panel()->status_text()));
  QCOMPARE(s->result.origin.input_kind, std::string("image"));
  QCOMPARE(s->result.tokens.size(), size_t{3072});
  QCOMPARE(s->result.positions, int64_t{3072});
  panel()->view().selection.map = "level0_upsample";
  panel()->view().selection.head = 0;
  panel()->view().selection.query = position_of(16 * 32 + 12, 1, 3);  // the disc's middle, G
  panel()->view().selection.locked = true;
  wait_frames();
  const QString cli =
      run_cli(QString::fromStdString(s->model.weights), {QStringLiteral("--image"), file});
  QVERIFY(!cli.isEmpty());
  compare_with_cli(cli);

  // At the shortened level a pixel's three sub-pixels are one row: one colour per pixel.
  const std::vector<float>& level1 = panel()->view().figures().activations[1];
  QCOMPARE(static_cast<int64_t>(level1.size()), s->result.levels[1].count);
  panel()->view().selection.map = "level0_shorten";
  panel()->view().selection.head = -1;
  screenshot(QStringLiteral("inspector_image.png"));
}

void TestInspectorUi::image_from_the_dataset() {
  panel()->set_mode(InspectorPanel::Mode::kDataset);
  panel()->set_dataset(images_dir_, 1);
  const InspectSnapshot* s = inspect([this] { panel()->inspect_now(); });
  QVERIFY2(s, qPrintable(panel()->status_text()));
  const Dataset data = load_dataset(images_dir_.toStdString());
  const std::vector<uint8_t>& val = data.split(Split::kVal);
  QVERIFY(data.count(Split::kVal) >= 2);
  QCOMPARE(s->dataset_count, static_cast<int64_t>(data.count(Split::kVal)));
  QVERIFY(std::equal(s->result.tokens.begin(), s->result.tokens.end(),
                     val.begin() + static_cast<int64_t>(data.image_bytes())));
  wait_frames();
  screenshot(QStringLiteral("inspector_image_dataset.png"));
}

void TestInspectorUi::errors_are_shown_in_place() {
  // A text for an image model: the message names the problem, the panel keeps its last result.
  panel()->set_mode(InspectorPanel::Mode::kImageFile);
  panel()->set_image_file(temp_.filePath(QStringLiteral("no-such.png")));
  const InspectSnapshot* before = panel()->snapshot();
  QSignalSpy failed(inspector_.get(), &InspectWorker::failed);
  panel()->inspect_now();
  QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeoutMs);
  QVERIFY2(panel()->status_text().contains(QStringLiteral("no-such.png")),
           qPrintable(panel()->status_text()));
  QCOMPARE(panel()->snapshot(), before);

  panel()->set_source(temp_.filePath(QStringLiteral("nowhere")));
  QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, kTimeoutMs);
  QVERIFY2(panel()->status_text().contains(QStringLiteral("nowhere")),
           qPrintable(panel()->status_text()));
  QVERIFY(window_->isVisible());
}

void TestInspectorUi::follow_starts_at_the_first_checkpoint_and_messages_clear() {
  // A fresh run, before its first checkpoint: "Training run" says it holds none, in red.
  const QString run = temp_.filePath(QStringLiteral("follow_run"));
  QSignalSpy metrics(controller_.get(), &Controller::metrics);
  QSignalSpy failed(inspector_.get(), &InspectWorker::failed);
  controller_->start(text_config(), run);
  QVERIFY(wait_while_progressing([&] { return metrics.count() >= 2; },
                                 [&] { return qint64(metrics.count()); }));
  panel()->set_mode(InspectorPanel::Mode::kText);
  panel()->set_text(QStringLiteral("a dog ran in the park."));
  QTest::mouseClick(panel()->findChild<QPushButton*>(QStringLiteral("inspector_training")),
                    Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(failed.count() >= 1, kTimeoutMs);
  QVERIFY2(panel()->status_text().contains(QStringLiteral("holds no checkpoint")),
           qPrintable(panel()->status_text()));
  QVERIFY(panel()->status_is_error());

  // Follow waits for the first checkpoint without an error, then inspects it on its own; the red
  // message is gone.
  panel()->set_follow(true);
  QVERIFY(!panel()->status_is_error());
  QVERIFY2(panel()->status_text().contains(QStringLiteral("first checkpoint")),
           qPrintable(panel()->status_text()));
  const InspectSnapshot* s = inspect([this] { controller_->save_checkpoint(); });
  QVERIFY2(s, qPrintable(panel()->status_text()));
  QVERIFY(s->model.weights.find(run.toStdString()) == 0);
  QVERIFY(!panel()->status_is_error());
  QVERIFY2(!panel()->status_text().contains(QStringLiteral("checkpoint")),
           qPrintable(panel()->status_text()));
  panel()->set_follow(false);
  QSignalSpy finished(controller_.get(), &Controller::run_finished);
  controller_->stop();
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);

  // "Opening…" gives way once the model is open, also with an inspection on screen.
  panel()->set_source(text_run_);
  QVERIFY(panel()->status_text().startsWith(QStringLiteral("Opening")));
  QTRY_VERIFY_WITH_TIMEOUT(panel()->model() && panel()->model()->source == text_run_.toStdString(),
                           kTimeoutMs);
  QVERIFY2(!panel()->status_text().contains(QStringLiteral("Opening")),
           qPrintable(panel()->status_text()));
  QVERIFY(!panel()->status_is_error());
  // The picker is the Sampler's: the demo models and the open run's checkpoints are listed.
  auto* picker = panel()->findChild<ModelPicker*>(QStringLiteral("inspector_source"));
  QVERIFY(picker);
  QVERIFY(picker->findData(ModelPicker::demo_model(QStringLiteral("demo-text"))) >= 0 ||
          ModelPicker::demo_model(QStringLiteral("demo-text")).isEmpty());
  QVERIFY(!picker->run_steps().empty());
}

void TestInspectorUi::guide_opens_offline() {
  auto* action = window_->findChild<QAction*>(QStringLiteral("guide"));
  QVERIFY(action);
  action->trigger();
  QVERIFY(window_->guide());
  QTRY_VERIFY(window_->guide()->isVisible());
  auto* text = window_->guide()->findChild<QTextBrowser*>(QStringLiteral("guide_text"));
  QVERIFY(text);
  for (const char* words : {"Train a model", "Sample from a model", "Inspect what the hierarchy",
                            "BOS", "L1 x3", "sqrt"})
    QVERIFY2(text->toPlainText().contains(QString::fromUtf8(words)), words);
  QVERIFY2(window_->guide()->grab().save(QStringLiteral(HOURGLASS_TEST_OUTPUT_DIR "/guide.png")),
           "guide.png");
  window_->guide()->close();
}

void TestInspectorUi::demo_models_for_a_person_to_look_at() {
  // The bundled demo models (README, "Demo models") are trained: their pictures show structure.
  const QString models = QString::fromStdString(assets_dir()) + QStringLiteral("/models/");
  const QString text_model = models + QStringLiteral("demo-text.safetensors");
  if (!QFileInfo::exists(text_model)) QSKIP("no bundled demo models");
  panel()->set_source(text_model);
  panel()->set_mode(InspectorPanel::Mode::kText);
  panel()->set_text(
      QStringLiteral("Q: How many programmers does it take to change a light "
                     "bulb?\nA: None, that's a hardware problem."));
  const InspectSnapshot* s = inspect([this] { panel()->inspect_now(); });
  QVERIFY2(s, qPrintable(panel()->status_text()));
  panel()->view().selection = InspectorSelection{"level1_layer1", 1, -1, -1, 70, true};
  screenshot(QStringLiteral("inspector_demo_text.png"));
  // The same with a tooltip: what "L1 x3" means, on its band's label.
  wait_frames();
  const InspectorTrace::Element* band = panel()->view().trace().find("level1");
  QVERIFY(band);
  hover(QPointF(band->p0.x + 6.0, (band->p0.y + band->p1.y) * 0.5));
  QTRY_VERIFY_WITH_TIMEOUT(panel()->view().trace().tooltip.find("3x shorter") != std::string::npos,
                           30000);
  screenshot(QStringLiteral("inspector_explained.png"));
  QTest::mouseMove(window_.get(), QPoint(5, window_->height() - 5));

  const QString fashion = models + QStringLiteral("demo-fashion.safetensors");
  if (!QFileInfo::exists(fashion) || !QFileInfo::exists(QString::fromUtf8(kDefaultGrayPath)))
    QSKIP("no demo Fashion-MNIST model, or no dataset-fashion-mnist");
  QSignalSpy opened(inspector_.get(), &InspectWorker::model_opened);
  panel()->set_source(fashion);
  QTRY_VERIFY_WITH_TIMEOUT(opened.count() >= 1, kTimeoutMs);
  panel()->set_mode(InspectorPanel::Mode::kDataset);
  panel()->set_dataset(QString::fromUtf8(kDefaultGrayPath), 3);
  s = inspect([this] { panel()->inspect_now(); });
  QVERIFY2(s, qPrintable(panel()->status_text()));
  panel()->view().selection =
      InspectorSelection{"level0_layer1", 0, -1, -1, position_of(20 * 32 + 16, 0, 1), true};
  screenshot(QStringLiteral("inspector_demo_fashion.png"));
}

void TestInspectorUi::layout_at_1280x720_and_1920x1080() {
  const int side = 32 * ImageSampleView::kMinZoom;  // a sample tile at the smallest zoom
  for (const QSize size : {QSize(1280, 720), QSize(1920, 1080)}) {
    const QString tag = QStringLiteral("%1x%2").arg(size.width()).arg(size.height());
    // The Inspector beside the Run dock: nothing squeezed below the size it asks for, and the
    // model picker does not stretch across the screen.
    lay_out(size, QStringLiteral("inspector_dock"));
    QVERIFY2(panel()->width() >= panel()->minimumSizeHint().width(), qPrintable(tag));
    QVERIFY2(panel()->canvas()->width() >= panel()->canvas()->minimumWidth(), qPrintable(tag));
    auto* picker = panel()->findChild<ModelPicker*>(QStringLiteral("inspector_source"));
    QVERIFY2(picker->width() <= 480, qPrintable(QString::number(picker->width())));
    auto* text = panel()->findChild<QLineEdit*>(QStringLiteral("inspector_text"));
    QVERIFY2(text->width() < 1920 / 2, qPrintable(QString::number(text->width())));
    // The diagram's labels and chips do not overlap one another (a band holds its chips).
    const std::vector<InspectorTrace::Element> elements = panel()->view().trace().elements;
    for (size_t i = 0; i < elements.size(); ++i)
      for (size_t j = i + 1; j < elements.size(); ++j) {
        const InspectorTrace::Element &a = elements[i], &b = elements[j];
        const bool band = is_band(a.id) || is_band(b.id);
        if (band || a.id == "hierarchy" || b.id == "hierarchy") continue;
        const bool overlap = a.p0.x < b.p1.x - 1 && b.p0.x < a.p1.x - 1 && a.p0.y < b.p1.y - 1 &&
                             b.p0.y < a.p1.y - 1;
        QVERIFY2(!overlap, qPrintable(tag + QStringLiteral(": %1 overlaps %2")
                                                .arg(QString::fromStdString(a.id),
                                                     QString::fromStdString(b.id))));
      }
    screenshot(QStringLiteral("layout_inspector_%1.png").arg(tag));

    // The Sampler beside the Run dock: two columns of tiles.
    lay_out(size, QStringLiteral("sampler_dock"));
    SamplerPanel* sampler = window_->sampler_panel();
    QSignalSpy loaded(sampler_.get(), &SamplerController::model_loaded);
    QSignalSpy steps(sampler_.get(), &SamplerController::step);
    QSignalSpy finished(sampler_.get(), &SamplerController::job_finished);
    if (sampler->model_info().channels == 0) {
      sampler->select_source(SamplerPanel::demo_model(QStringLiteral("demo-fashion")));
      QTRY_VERIFY_WITH_TIMEOUT(loaded.count() >= 1, kTimeoutMs);
    }
    sampler->start();
    QTRY_VERIFY_WITH_TIMEOUT(steps.count() >= 3, kTimeoutMs);
    const int frames = sampler->canvas()->frames_drawn();
    QTRY_VERIFY_WITH_TIMEOUT(sampler->canvas()->frames_drawn() >= frames + 3, 30000);
    QVERIFY(window_->grab().save(QStringLiteral(HOURGLASS_TEST_OUTPUT_DIR "/layout_sampler_") +
                                 tag + QStringLiteral(".png")));
    QVERIFY2(sampler->image_view().columns >= 2,
             qPrintable(QStringLiteral("%1: %2 column(s) in a canvas %3 px wide (a tile is %4)")
                            .arg(tag)
                            .arg(sampler->image_view().columns)
                            .arg(sampler->canvas()->width())
                            .arg(side)));
    sampler->stop();
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() >= 1, kTimeoutMs);
  }
}

}  // namespace hg

QTEST_MAIN(hg::TestInspectorUi)
#include "test_inspector_ui.moc"
