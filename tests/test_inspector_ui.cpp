// Qt Test of the studio's Inspector, run under Xvfb: a text run trained by the studio's
// own controller is inspected from its newest checkpoint while it trains, an image model from a
// file and from its dataset; the numbers the Inspector draws equal the files `hourglass inspect`
// writes for the same checkpoint and input; hover and click move and lock the query; screenshots
// of both cases land beside the binary. Waits with QTRY_* and signals, never sleeps.
#include <QCheckBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/controller.h"
#include "app/inspect_worker.h"
#include "app/studio.h"
#include "model/core/run_config.h"
#include "model/data/data.h"
#include "model/io/tensor_io.h"
#include "tests/gui_waits.h"
#include "ui/imgui/imgui_canvas.h"
#include "ui/inspector/inspector_panel.h"
#include "ui/main_window.h"
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
  void follow_inspects_each_new_checkpoint();
  void image_from_a_file_equals_hourglass_inspect();
  void image_from_the_dataset();
  void errors_are_shown_in_place();
  void demo_models_for_a_person_to_look_at();

 private:
  RunConfig text_config() const;
  // Waits for a new snapshot after `action`, which asks for one.
  template <typename Action>
  const InspectSnapshot* inspect(Action&& action);
  void wait_frames(int count = 3);
  void screenshot(const QString& name);
  // Runs `hourglass inspect` on `weights` with `input_args` into a fresh folder; returns it.
  QString run_cli(const QString& weights, const QStringList& input_args);
  // Every map and level of the snapshot, and the figures drawn, against the CLI's files.
  void compare_with_cli(const QString& cli_dir);

  InspectorPanel* panel() const { return window_->inspector_panel(); }

  QTemporaryDir temp_;
  QString text_path_, images_dir_, text_run_, image_run_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<InspectWorker> inspector_;
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
  window_ = std::make_unique<MainWindow>();
  connect_studio(*window_, *controller_);
  connect_inspector(*window_, *controller_, *inspector_);
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

void TestInspectorUi::follow_inspects_each_new_checkpoint() {
  const int64_t before = panel()->snapshot()->model.step;
  panel()->findChild<QCheckBox*>(QStringLiteral("inspector_follow"))->setChecked(true);
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

}  // namespace hg

QTEST_MAIN(hg::TestInspectorUi)
#include "test_inspector_ui.moc"
