// Qt Test of the studio's Sampler dock, run under Xvfb: it opens on the bundled demo
// text model; text and images are sampled through the UI and stream in per position; hovering a
// byte shows the alternatives; a completion keeps the known pixels exactly; painting with the
// mouse marks pixels known; saving writes PNG and text files that load back; a bad weights file
// is shown, not fatal; the newest checkpoint of a run trains on while it is sampled. Screenshots
// of the dock land in the build folder. Waits with QTRY_* and signals, never sleeps.
#include <QCheckBox>
#include <QDockWidget>
#include <QFile>
#include <QImage>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <memory>

#include "app/controller.h"
#include "app/sampler_controller.h"
#include "app/studio.h"
#include "tests/gui_waits.h"
#include "ui/imgui/imgui_canvas.h"
#include "ui/main_window.h"
#include "ui/sampler/sampler_panel.h"

namespace hg {
namespace {

constexpr int kTimeoutMs = 180000;  // a loaded 2-core machine with llvmpipe drawing
const QString kOutputDir = QStringLiteral(HOURGLASS_TEST_OUTPUT_DIR);

void save_shot(QWidget* window, const QString& name) {
  const QString path = kOutputDir + QLatin1Char('/') + name;
  QVERIFY2(window->grab().save(path), qPrintable(path));
  qInfo("screenshot: %s", qPrintable(path));
}

// Waits until the canvas has drawn `frames` more frames: what a test changed is on screen.
void wait_frames(ImGuiCanvas* canvas, int frames = 2) {
  const int start = canvas->frames_drawn();
  QTRY_VERIFY_WITH_TIMEOUT(canvas->frames_drawn() >= start + frames, 20000);
}

// A 32x32 test picture: a bright square on a dark gradient, so known pixels vary.
QImage test_picture() {
  QImage image(32, 32, QImage::Format_RGB32);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const int v = (x >= 8 && x < 24 && y >= 6 && y < 26) ? 230 - 3 * y : 4 * x;
      image.setPixel(x, y, qRgb(v, v, v));
    }
  return image;
}

}  // namespace

class TestSamplerUi : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void cleanupTestCase();
  void partial_image_brush_and_rows();
  void opens_on_the_demo_text_model();
  void samples_text_through_the_ui();
  void samples_images_through_the_ui();
  void painting_with_the_mouse_marks_pixels_known();
  void completion_keeps_known_pixels();
  void completes_a_dataset_image();
  void stop_ends_sampling_at_the_next_token();
  void bad_weights_file_shows_an_error();
  void samples_the_newest_checkpoint_while_training();

 private:
  SamplerPanel* panel() const { return window_->sampler_panel(); }
  template <typename T>
  T* child(const char* name) const {
    T* widget = panel()->findChild<T*>(QLatin1String(name));
    if (!widget) qFatal("no widget named %s", name);
    return widget;
  }
  // Chooses a source and waits for the model to load.
  void load(const QString& source);
  // Clicks Start and waits for the samples to finish; returns whether they completed.
  bool sample_through_the_ui();

  QTemporaryDir temp_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<SamplerController> sampler_;
  std::unique_ptr<MainWindow> window_;
};

void TestSamplerUi::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);
  QCoreApplication::setOrganizationName(QStringLiteral("hourglass-test"));
  QCoreApplication::setApplicationName(QStringLiteral("test_sampler_ui"));
  QSettings().clear();
  QVERIFY(temp_.isValid());
  QVERIFY2(!SamplerPanel::demo_model(QStringLiteral("demo-text")).isEmpty(),
           "assets/models/demo-text.safetensors is missing (README: Demo models)");
  QVERIFY2(!SamplerPanel::demo_model(QStringLiteral("demo-fashion")).isEmpty(),
           "assets/models/demo-fashion.safetensors is missing (README: Demo models)");

  controller_ = std::make_unique<Controller>();
  sampler_ = std::make_unique<SamplerController>();
  window_ = std::make_unique<MainWindow>();
  QSignalSpy loaded(panel(), &SamplerPanel::model_changed);
  connect_studio(*window_, *controller_);
  connect_sampler(*window_, *controller_, *sampler_);
  window_->resize(1280, 800);
  // The Sampler gets the window's width, as a user sampling would arrange it (View menu): the
  // grid then shows two columns of 8x tiles beside the completion canvas.
  window_->findChild<QDockWidget*>(QStringLiteral("run_dock"))->hide();
  window_->findChild<QDockWidget*>(QStringLiteral("sampler_dock"))->raise();
  window_->show();
  QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
  QTRY_VERIFY_WITH_TIMEOUT(loaded.count() >= 1, kTimeoutMs);
}

void TestSamplerUi::cleanupTestCase() {
  window_.reset();
  sampler_.reset();
  controller_.reset();
}

void TestSamplerUi::load(const QString& source) {
  QSignalSpy loaded(panel(), &SamplerPanel::model_changed);
  panel()->select_source(source);
  QTRY_VERIFY_WITH_TIMEOUT(loaded.count() >= 1, kTimeoutMs);
  QVERIFY2(panel()->error_text().isEmpty(), qPrintable(panel()->error_text()));
}

bool TestSamplerUi::sample_through_the_ui() {
  QSignalSpy finished(panel(), &SamplerPanel::sampling_finished);
  auto* start = child<QPushButton>("sampler_start");
  if (!start->isEnabled()) return false;
  QTest::mouseClick(start, Qt::LeftButton);
  if (!QTest::qWaitFor([&] { return finished.count() >= 1; }, kTimeoutMs)) return false;
  return finished.first().at(0).toBool();
}

void TestSamplerUi::partial_image_brush_and_rows() {
  PartialImage image(1);
  QCOMPARE(image.known_count(), 0);
  image.paint(10.5f, 10.5f, 1.0f, {200, 100, 0});  // one pixel, painted in its luminance
  QCOMPARE(image.known_count(), 1);
  QCOMPARE(int(image.pixels[10 * 32 + 10]), int(std::lround(0.299 * 200 + 0.587 * 100)));
  image.paint(16.0f, 16.0f, 4.0f, {255, 255, 255});  // a round brush: 12 pixel centres inside
  QCOMPARE(image.known_count(), 13);
  image.erase(16.0f, 16.0f, 4.0f);
  QCOMPARE(image.known_count(), 1);
  image.keep_top_rows(3);
  QCOMPARE(image.known_count(), 3 * 32);
  const std::vector<int> tokens = image.known_tokens();
  QCOMPARE(tokens.size(), size_t(1024));
  QCOMPARE(tokens[3 * 32 - 1], 0);
  QCOMPARE(tokens[3 * 32], -1);

  PartialImage rgb(3);
  rgb.paint(0.5f, 0.5f, 1.0f, {1, 2, 3});
  const std::vector<int> rgb_tokens = rgb.known_tokens();
  QCOMPARE(rgb_tokens.size(), size_t(3072));
  QCOMPARE(rgb_tokens[0], 1);
  QCOMPARE(rgb_tokens[2], 3);
  QCOMPARE(rgb_tokens[3], -1);
}

void TestSamplerUi::opens_on_the_demo_text_model() {
  // The moment the studio opens, the demo text model is loaded and Start is ready.
  QCOMPARE(panel()->source(), SamplerPanel::demo_model(QStringLiteral("demo-text")));
  QCOMPARE(panel()->model_info().channels, 0);
  QVERIFY(panel()->model_info().description.contains(QStringLiteral("demo-text")));
  QVERIFY(child<QPushButton>("sampler_start")->isEnabled());
  QVERIFY(!child<QPushButton>("sampler_stop")->isEnabled());
}

void TestSamplerUi::samples_text_through_the_ui() {
  load(SamplerPanel::demo_model(QStringLiteral("demo-text")));
  panel()->set_prompt(QStringLiteral("Q: "));
  child<QSpinBox>("sampler_length")->setValue(120);
  child<QSpinBox>("sampler_n")->setValue(2);
  QSignalSpy steps(sampler_.get(), &SamplerController::step);
  QVERIFY(sample_through_the_ui());

  // One signal per position after the prompt, each carrying both samples.
  QCOMPARE(steps.count(), 117);
  const SampleSnapshot& s = panel()->snapshot();
  QCOMPARE(s.n, 2);
  QCOMPARE(s.done, qint64(120));
  const std::string text = s.text();
  QVERIFY2(text.find("=== sample 1 ===\nQ: ") == 0, text.c_str());
  for (int sample = 0; sample < 2; ++sample)
    for (int64_t i = s.prompt; i < s.length; ++i) {
      QVERIFY(s.probs[sample][i] > 0.0f && s.probs[sample][i] <= 1.0f);
      float sum = 0.0f;
      for (const TokenProb& alt : s.top[sample][i]) sum += alt.prob;
      QVERIFY(sum > 0.0f && sum <= 1.0f + 1e-4f);
    }

  // Hovering a generated byte shows its alternatives: walk the mouse down the first lines.
  ImGuiCanvas* canvas = panel()->canvas();
  bool hovered = false;
  for (int y = 20; y < 140 && !hovered; y += 6) {
    QTest::mouseMove(canvas, QPoint(90, y));
    wait_frames(canvas);
    hovered = panel()->text_view().hovered_position >= s.prompt;
  }
  QVERIFY2(hovered, "no generated byte under the mouse in the first lines of the text view");
  wait_frames(canvas, 3);
  save_shot(window_.get(), QStringLiteral("sampler_text.png"));

  const QString path = temp_.filePath(QStringLiteral("samples.txt"));
  QVERIFY(panel()->save_text(path));
  QFile file(path);
  QVERIFY(file.open(QIODevice::ReadOnly));
  QCOMPARE(file.readAll().toStdString(), text);
}

void TestSamplerUi::samples_images_through_the_ui() {
  load(SamplerPanel::demo_model(QStringLiteral("demo-fashion")));
  QCOMPARE(panel()->model_info().channels, 1);  // 1024 tokens: a grayscale canvas
  QCOMPARE(panel()->partial_image().channels, 1);
  panel()->set_completion(false);
  child<QSpinBox>("sampler_n")->setValue(4);

  // Pixels appear while the images are generated, not only at the end.
  QSignalSpy finished(panel(), &SamplerPanel::sampling_finished);
  QTest::mouseClick(child<QPushButton>("sampler_start"), Qt::LeftButton);
  QVERIFY(
      wait_while_progressing([&] { return panel()->snapshot().done > 400 || finished.count() > 0; },
                             [&] { return qint64(panel()->snapshot().done); }));
  const bool caught_midway = finished.isEmpty();
  if (caught_midway) {
    wait_frames(panel()->canvas());
    save_shot(window_.get(), QStringLiteral("sampler_images_streaming.png"));
  }
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
  QVERIFY(finished.first().at(0).toBool());
  const SampleSnapshot& s = panel()->snapshot();
  QCOMPARE(s.n, 4);
  QCOMPARE(s.done, qint64(1024));
  QVERIFY(std::all_of(s.reported.begin(), s.reported.end(), [](uint8_t r) { return r == 1; }));
  QVERIFY(s.tokens[0] != s.tokens[1]);  // independent samples
  wait_frames(panel()->canvas());
  save_shot(window_.get(), QStringLiteral("sampler_images.png"));

  // Save the grid and one image: valid PNGs that load back with the sampled pixels.
  const QString grid_path = temp_.filePath(QStringLiteral("grid.png"));
  QVERIFY(panel()->save_png(grid_path));
  const QImage grid(grid_path);
  QCOMPARE(grid.size(), QSize(2 * 32 + 3 * 2, 2 * 32 + 3 * 2));  // 2x2 tiles, 2-pixel gaps
  panel()->image_view().selected = 3;
  const QString one_path = temp_.filePath(QStringLiteral("one.png"));
  QVERIFY(panel()->save_selected_png(one_path));
  const QImage one(one_path);
  QCOMPARE(one.size(), QSize(32, 32));
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      QCOMPARE(qGray(grid.pixel(2 + x, 2 + y)), int(s.tokens[0][y * 32 + x]));
      QCOMPARE(qGray(one.pixel(x, y)), int(s.tokens[3][y * 32 + x]));
    }
}

void TestSamplerUi::painting_with_the_mouse_marks_pixels_known() {
  load(SamplerPanel::demo_model(QStringLiteral("demo-fashion")));
  panel()->partial_image().reset(1);
  panel()->set_completion(true);  // opens the canvas where the dock is too narrow to show both
  ImGuiCanvas* canvas = panel()->canvas();
  wait_frames(canvas);
  PaintView& view = panel()->paint_view();
  view.brush = 1.0f;
  const float z = static_cast<float>(view.zoom);
  auto at = [&](int x, int y) {
    return QPoint(static_cast<int>(view.origin_x + (x + 0.5f) * z),
                  static_cast<int>(view.origin_y + (y + 0.5f) * z));
  };
  QSignalSpy changed(panel(), &SamplerPanel::canvas_changed);
  // A stroke along row 20 from x 5 to 25, a frame between every event (ImGui polls per frame).
  QTest::mouseMove(canvas, at(5, 20));
  wait_frames(canvas);
  QTest::mousePress(canvas, Qt::LeftButton, {}, at(5, 20));
  wait_frames(canvas);
  for (int x = 10; x <= 25; x += 5) {
    QTest::mouseMove(canvas, at(x, 20));
    wait_frames(canvas);
  }
  QTest::mouseRelease(canvas, Qt::LeftButton, {}, at(25, 20));
  wait_frames(canvas);
  const PartialImage& image = panel()->partial_image();
  for (int x = 5; x <= 25; ++x) QVERIFY2(image.known[20 * 32 + x], qPrintable(QString::number(x)));
  QCOMPARE(image.known_count(), 21);
  QVERIFY(changed.count() >= 1);
}

void TestSamplerUi::completion_keeps_known_pixels() {
  load(SamplerPanel::demo_model(QStringLiteral("demo-fashion")));
  const QString png = temp_.filePath(QStringLiteral("prime.png"));
  QVERIFY(test_picture().save(png));
  QVERIFY(panel()->load_canvas_png(png));
  // Known: the top 12 rows and a patch further down, so forced pixels follow sampled ones.
  PartialImage& image = panel()->partial_image();
  image.keep_top_rows(12);
  image.paint(20.0f, 24.0f, 6.0f, {180, 180, 180});
  const PartialImage canvas = image;
  QVERIFY(canvas.known_count() > 12 * 32);
  child<QSpinBox>("sampler_n")->setValue(4);
  QVERIFY(child<QCheckBox>("sampler_complete")->isChecked());
  QVERIFY(sample_through_the_ui());

  const SampleSnapshot& s = panel()->snapshot();
  QCOMPARE(s.done, qint64(1024));
  int differing = 0;
  for (int sample = 0; sample < s.n; ++sample)
    for (int p = 0; p < 1024; ++p) {
      QVERIFY(s.reported[p]);
      if (canvas.known[p])
        QCOMPARE(int(s.tokens[sample][p]), int(canvas.pixels[p]));  // exactly, every sample
      else if (s.tokens[sample][p] != s.tokens[0][p])
        ++differing;
    }
  QVERIFY(differing > 0);  // the unknown pixels were sampled, independently per sample
  wait_frames(panel()->canvas());
  save_shot(window_.get(), QStringLiteral("sampler_completion.png"));

  // What is saved is what was sampled: the known pixels are in the PNG, exactly.
  const QString path = temp_.filePath(QStringLiteral("completion.png"));
  QVERIFY(panel()->save_png(path));
  const QImage grid(path);
  QVERIFY(!grid.isNull());
  for (int p = 0; p < 1024; ++p)
    if (canvas.known[p])
      QCOMPARE(qGray(grid.pixel(36 + p % 32, 2 + p / 32)), int(canvas.pixels[p]));  // 2nd tile
}

void TestSamplerUi::completes_a_dataset_image() {
  if (!QFileInfo::exists(QStringLiteral("/usr/share/datasets/fashion-mnist")))
    QSKIP("needs the dataset-fashion-mnist package");
  load(SamplerPanel::demo_model(QStringLiteral("demo-fashion")));
  // The test split loads in the background; the chosen image fills the canvas, all known.
  QSignalSpy changed(panel(), &SamplerPanel::canvas_changed);
  QTest::mouseClick(child<QPushButton>("sampler_dataset_image"), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(changed.count() >= 1, kTimeoutMs);
  QCOMPARE(panel()->dataset_size(), 10000);  // Fashion-MNIST's t10k file
  QCOMPARE(panel()->partial_image().known_count(), 1024);
  child<QSpinBox>("sampler_dataset_index")->setValue(1);  // flipping through shows the next one
  QTRY_VERIFY_WITH_TIMEOUT(changed.count() >= 2, kTimeoutMs);
  panel()->keep_top_rows(16);
  const PartialImage canvas = panel()->partial_image();
  QVERIFY(sample_through_the_ui());
  const SampleSnapshot& s = panel()->snapshot();
  for (int sample = 0; sample < s.n; ++sample)
    for (int p = 0; p < 16 * 32; ++p) QCOMPARE(int(s.tokens[sample][p]), int(canvas.pixels[p]));
  // Hover a sampled pixel of the second tile: its value and the alternatives show.
  ImGuiCanvas* view = panel()->canvas();
  QTest::mouseMove(view, QPoint(view->width() - 200, 300));
  wait_frames(view, 3);
  save_shot(window_.get(), QStringLiteral("sampler_completion_dataset.png"));
}

void TestSamplerUi::stop_ends_sampling_at_the_next_token() {
  load(SamplerPanel::demo_model(QStringLiteral("demo-fashion")));
  panel()->set_completion(false);
  QSignalSpy finished(panel(), &SamplerPanel::sampling_finished);
  QTest::mouseClick(child<QPushButton>("sampler_start"), Qt::LeftButton);
  QVERIFY(wait_while_progressing([&] { return panel()->snapshot().done > 10; },
                                 [&] { return qint64(panel()->snapshot().done); }));
  QVERIFY(child<QPushButton>("sampler_stop")->isEnabled());
  QTest::mouseClick(child<QPushButton>("sampler_stop"), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
  QCOMPARE(finished.first().at(0).toBool(), false);
  QVERIFY(panel()->snapshot().done < 1024);
  QVERIFY(!child<QPushButton>("sampler_stop")->isEnabled());
}

void TestSamplerUi::bad_weights_file_shows_an_error() {
  const QString bogus = temp_.filePath(QStringLiteral("bogus.safetensors"));
  QFile file(bogus);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write("not a safetensors file at all");
  file.close();
  const SamplerModelInfo before = panel()->model_info();
  panel()->select_source(bogus);
  QTRY_VERIFY_WITH_TIMEOUT(!panel()->error_text().isEmpty(), kTimeoutMs);
  QVERIFY2(panel()->error_text().contains(QStringLiteral("bogus.safetensors")),
           qPrintable(panel()->error_text()));
  // The model held before stays in use.
  QCOMPARE(panel()->model_info().weights, before.weights);
  QVERIFY(child<QPushButton>("sampler_start")->isEnabled());
}

void TestSamplerUi::samples_the_newest_checkpoint_while_training() {
  // A tiny text run, trained by the studio's controller while its newest checkpoint is sampled.
  QByteArray text;
  while (text.size() < 30000) text += "the cat sat on the mat. a dog ran in the park.\n";
  const QString data = temp_.filePath(QStringLiteral("small.txt"));
  QFile file(data);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write(text);
  file.close();
  RunConfig config;
  config.model.hierarchy = "1@1 1@2 1@1";
  config.model.d_model = 32;
  config.model.n_heads = 2;
  config.model.seq_len = 64;
  config.train.data = data.toStdString();
  config.train.batch = 4;
  config.train.steps = 1000000;  // stopped by the test
  config.train.eval_every = 0;
  config.train.save_every = 5;
  config.train.threads = 1;
  const QString run_dir = temp_.filePath(QStringLiteral("run"));
  QSignalSpy metrics(controller_.get(), &Controller::metrics);
  controller_->start(config, run_dir);
  QTRY_VERIFY_WITH_TIMEOUT(
      QFileInfo::exists(run_dir + QStringLiteral("/checkpoints/step_00000005.json")), kTimeoutMs);

  load(run_dir);  // the run's newest checkpoint
  QVERIFY(panel()->model_info().weights.startsWith(QFileInfo(run_dir).absoluteFilePath()));
  QCOMPARE(panel()->model_info().channels, 0);  // the run says text
  const int steps_before = metrics.count();
  child<QSpinBox>("sampler_length")->setValue(64);
  QVERIFY(sample_through_the_ui());
  QCOMPARE(panel()->snapshot().done, qint64(64));
  // Training went on meanwhile, and goes on after: the sampler holds its own copy.
  QVERIFY(wait_while_progressing([&] { return metrics.count() > steps_before + 2; },
                                 [&] { return qint64(metrics.count()); }));
  QCOMPARE(controller_->state(), RunState::kRunning);
  controller_->stop();
  QTRY_COMPARE_WITH_TIMEOUT(controller_->state(), RunState::kIdle, kTimeoutMs);
}

}  // namespace hg

QTEST_MAIN(hg::TestSamplerUi)
#include "test_sampler_ui.moc"
