// Qt Test of the studio, run under Xvfb: the window opens on a valid default; a run
// started through the UI produces curve points; pause, resume, save and stop work; a run folder
// opened from disk shows its curves and follows appended lines; bad input is shown, not fatal.
// Waits with QTRY_* and signals, never sleeps. Not the engine's tests (test_training.cpp).
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/controller.h"
#include "app/studio.h"
#include "model/core/cost.h"
#include "model/data/data.h"
#include "tests/gui_waits.h"
#include "ui/imgui/imgui_canvas.h"
#include "ui/main_window.h"
#include "ui/training/run_estimate.h"
#include "ui/training/run_panel.h"
#include "ui/training/training_panel.h"

namespace hg {
namespace {

constexpr int kTrainTimeoutMs = 120000;  // a loaded 2-core machine with llvmpipe drawing

// ~40 KB of repetitive text: a model learns it within a few dozen steps.
QByteArray small_text() {
  QByteArray text;
  const char* const lines[] = {"the cat sat on the mat.\n", "a dog ran in the park.\n",
                               "hourglass models shorten the middle.\n"};
  for (int i = 0; text.size() < 40000; ++i) text += lines[(i * 7) % 3];
  return text;
}

void write_file(const QString& path, const QByteArray& bytes, QIODevice::OpenMode mode) {
  QFile file(path);
  QVERIFY2(file.open(mode), qPrintable(path));
  QCOMPARE(file.write(bytes), bytes.size());
}

QByteArray metrics_line(int64_t step, double loss) {
  Metrics m;
  m.step = step;
  m.time_s = 0.5 * step;
  m.split = "train";
  m.loss = loss;
  m.bits_per_token = loss / 0.6931471805599453;
  m.tokens_per_s = 1000;
  m.lr = 1e-3;
  return QByteArray::fromStdString(m.to_json_line()) + '\n';
}

}  // namespace

class TestStudio : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void cleanupTestCase();
  void window_opens_on_a_valid_default();
  void run_panel_shows_invalid_input_in_place();
  void training_through_the_ui_pause_resume_stop();
  void run_panel_intervals_and_estimate();
  void data_buttons_pick_the_matching_preset();
  void gpu_preset_on_the_cpu_says_so();
  void pause_and_stop_write_a_sample();
  void run_panel_settings_and_last_run_are_restored();
  void opened_run_folder_is_followed();
  void old_run_is_plotted_against_compute();
  void compare_with_vanilla_trains_both_runs();
  void stop_ends_a_comparison();
  void bad_data_path_shows_an_error();
  void out_of_memory_shows_an_error();
  void closing_mid_run_keeps_a_checkpoint();
  void floating_dock_keeps_drawing();
  void layout_and_recent_runs_are_kept();

 private:
  // The tiny run the tests train: a few milliseconds per step.
  RunConfig tiny_config() const;
  QString fresh_run_dir(const QString& name) const { return temp_.filePath(name); }

  QTemporaryDir temp_;
  QString text_path_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<MainWindow> window_;
};

void TestStudio::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);  // settings and default runs away from the user's
  QCoreApplication::setOrganizationName(QStringLiteral("hourglass-test"));
  QCoreApplication::setApplicationName(QStringLiteral("test_studio"));
  QSettings().clear();
  QVERIFY(temp_.isValid());
  text_path_ = temp_.filePath(QStringLiteral("small.txt"));
  write_file(text_path_, small_text(), QIODevice::WriteOnly);

  controller_ = std::make_unique<Controller>();
  window_ = std::make_unique<MainWindow>();
  connect_studio(*window_, *controller_);
  window_->resize(1280, 800);
  window_->show();
  QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
}

void TestStudio::cleanupTestCase() {
  window_.reset();
  controller_.reset();
}

RunConfig TestStudio::tiny_config() const {
  RunConfig c;
  c.model.hierarchy = "1@1 1@2 1@1";
  c.model.d_model = 32;
  c.model.n_heads = 2;
  c.model.seq_len = 64;  // a sample continues a 32-byte prompt to 64
  c.train.data = text_path_.toStdString();
  c.train.batch = 8;
  c.train.lr = 3e-3;
  c.train.warmup_steps = 5;
  c.train.steps = 1000000;  // never reached: the tests pause and stop it
  c.train.eval_every = 10;
  c.train.eval_batches = 1;
  c.train.save_every = 0;
  c.train.sample_every = 20;
  c.train.threads = 1;
  return c;
}

void TestStudio::window_opens_on_a_valid_default() {
  // The README's promise: one click from starting the default (when its data is installed).
  RunPanel* panel = window_->run_panel();
  QCOMPARE(panel->run_config().train.preset, std::string("tiny-cpu"));
  QCOMPARE(panel->run_config().model.hierarchy, std::string("1@1 2@3 1@1"));
  if (QFileInfo::exists(QStringLiteral("/usr/share/games/fortunes"))) {
    QVERIFY2(panel->is_valid(), qPrintable(panel->error_text()));
    QVERIFY(window_->start_action()->isEnabled());
  }
  QVERIFY(!window_->pause_action()->isEnabled());
  QVERIFY(!window_->stop_action()->isEnabled());
  // The curves canvas keeps drawing.
  ImGuiCanvas* canvas = window_->training_panel()->canvas();
  const int frames = canvas->frames_drawn();
  QTRY_VERIFY_WITH_TIMEOUT(canvas->frames_drawn() > frames + 2, 20000);
}

void TestStudio::run_panel_shows_invalid_input_in_place() {
  RunPanel* panel = window_->run_panel();
  panel->set_run_config(tiny_config());
  QVERIFY2(panel->is_valid(), qPrintable(panel->error_text()));
  auto* hierarchy = panel->findChild<QLineEdit*>(QStringLiteral("hierarchy"));
  auto* heads = panel->findChild<QSpinBox*>(QStringLiteral("heads"));
  auto* data = panel->findChild<QLineEdit*>(QStringLiteral("data_path"));
  QVERIFY(hierarchy && heads && data);

  // Typed, as a user would: every keystroke revalidates.
  hierarchy->clear();
  QTest::keyClicks(hierarchy, QStringLiteral("1@1 2@3"));
  QVERIFY(!panel->is_valid());
  QVERIFY2(panel->error_text().contains(QStringLiteral("hierarchy")),
           qPrintable(panel->error_text()));
  QVERIFY(!window_->start_action()->isEnabled());
  QTest::keyClicks(hierarchy, QStringLiteral(" 1@1"));
  QVERIFY2(panel->is_valid(), qPrintable(panel->error_text()));
  QVERIFY(window_->start_action()->isEnabled());

  heads->setValue(3);  // 32 does not divide by 3
  QVERIFY(panel->error_text().contains(QStringLiteral("n_heads")));
  QVERIFY(!window_->start_action()->isEnabled());
  heads->setValue(2);
  QVERIFY(panel->is_valid());

  data->setText(temp_.filePath(QStringLiteral("no-such-file.txt")));
  QVERIFY(panel->error_text().contains(QStringLiteral("does not exist")));
  QVERIFY(!window_->start_action()->isEnabled());
  data->setText(text_path_);
  QVERIFY(panel->is_valid());
}

void TestStudio::training_through_the_ui_pause_resume_stop() {
  const QString run_dir = fresh_run_dir(QStringLiteral("ui_run"));
  window_->run_panel()->set_run_config(tiny_config());
  window_->run_panel()->set_run_dir(run_dir);
  QVERIFY2(window_->start_action()->isEnabled(), qPrintable(window_->run_panel()->error_text()));
  QSignalSpy started(controller_.get(), &Controller::run_started);
  QSignalSpy saved(controller_.get(), &Controller::checkpoint_saved);
  QSignalSpy finished(controller_.get(), &Controller::run_finished);
  QSignalSpy metrics(controller_.get(), &Controller::metrics);

  window_->start_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, kTrainTimeoutMs);
  QCOMPARE(started.first().at(0).toString(), run_dir);
  QTRY_COMPARE_WITH_TIMEOUT(window_->run_state(), RunState::kRunning, kTrainTimeoutMs);
  QVERIFY(window_->pause_action()->isEnabled());
  QVERIFY(!window_->start_action()->isEnabled());

  // Curve points arrive by following the run folder, train and val alike.
  TrainingPanel* training = window_->training_panel();
  QTRY_VERIFY_WITH_TIMEOUT(training->point_count(run_dir, kMetricTrainLoss) >= 40, kTrainTimeoutMs);
  QTRY_VERIFY_WITH_TIMEOUT(training->point_count(run_dir, kMetricValLoss) >= 2, kTrainTimeoutMs);
  // Samples appear as the run writes them.
  QTRY_VERIFY_WITH_TIMEOUT(training->sample_path().endsWith(QStringLiteral(".txt")),
                           kTrainTimeoutMs);
  QVERIFY(training->sample_path().startsWith(QFileInfo(run_dir).absoluteFilePath()));
  // Let the canvas draw those points, then keep a picture of the window mid-training.
  const int frames = training->canvas()->frames_drawn();
  QTRY_VERIFY_WITH_TIMEOUT(training->canvas()->frames_drawn() > frames + 2, 20000);
  const QString shot = QStringLiteral(HOURGLASS_TEST_OUTPUT_DIR "/studio_training.png");
  QVERIFY2(window_->grab().save(shot), qPrintable(shot));
  qInfo("screenshot of the window mid-training: %s", qPrintable(shot));

  // Pause, by its shortcut: the worker stops between steps and saves a checkpoint.
  window_->activateWindow();
  QVERIFY(QTest::qWaitForWindowActive(window_.get()));
  QTest::keyClick(window_.get(), Qt::Key_F6);
  QTRY_COMPARE_WITH_TIMEOUT(window_->run_state(), RunState::kPaused, kTrainTimeoutMs);
  QVERIFY(window_->resume_action()->isEnabled());
  QVERIFY(!window_->pause_action()->isEnabled());
  QTRY_VERIFY(!metrics.isEmpty());
  QCoreApplication::processEvents();  // metrics queued before the pause report
  const qint64 paused_step = metrics.last().at(0).value<Metrics>().step;
  // Saving while paused writes the same step: no step was taken since the pause.
  window_->save_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTrainTimeoutMs);
  QCOMPARE(saved.first().at(0).toLongLong(), paused_step);
  QCOMPARE(window_->run_state(), RunState::kPaused);
  QVERIFY(
      QDir(run_dir + QStringLiteral("/checkpoints")).entryList({QStringLiteral("*.json")}).size() >=
      1);

  // Resume (F7): steps continue from there.
  QTest::keyClick(window_.get(), Qt::Key_F7);
  QTRY_COMPARE_WITH_TIMEOUT(window_->run_state(), RunState::kRunning, kTrainTimeoutMs);
  QVERIFY(wait_while_progressing(
      [&] { return metrics.last().at(0).value<Metrics>().step > paused_step + 5; },
      [&] { return qint64(metrics.count()); }));

  // Stop: idle again, with a checkpoint at the last step, and Start is back.
  window_->stop_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTrainTimeoutMs);
  QTRY_COMPARE(window_->run_state(), RunState::kIdle);
  const qint64 last_step = finished.first().at(1).toLongLong();
  QCOMPARE(finished.first().at(2).toBool(), false);  // stopped, not completed
  QVERIFY(last_step > paused_step);
  QVERIFY(QFileInfo::exists(
      run_dir +
      QStringLiteral("/checkpoints/step_%1.json").arg(last_step, 8, 10, QLatin1Char('0'))));
  QVERIFY(window_->start_action()->isEnabled());
  QVERIFY(window_->recent_runs().contains(QFileInfo(run_dir).absoluteFilePath()));
  // The loss fell: the model learns the repetitive text.
  const CurvesSnapshot& curves = training->snapshot();
  for (const CurveSeries& s : curves.series)
    if (s.metric == kMetricTrainLoss && s.run == "ui_run")
      QVERIFY2(
          s.points.back().value < s.points.front().value - 0.5,
          qPrintable(
              QStringLiteral("%1 -> %2").arg(s.points.front().value).arg(s.points.back().value)));
}

void TestStudio::run_panel_intervals_and_estimate() {
  RunPanel* panel = window_->run_panel();
  QVERIFY(panel->load_preset(QStringLiteral("lesson-fashion")));
  auto* eval_every = panel->findChild<QSpinBox*>(QStringLiteral("eval_every"));
  auto* sample_every = panel->findChild<QSpinBox*>(QStringLiteral("sample_every"));
  auto* batch = panel->findChild<QSpinBox*>(QStringLiteral("batch"));
  QVERIFY(eval_every && sample_every && batch);
  // The image lesson shows a validation point and a sample every 20 steps.
  QCOMPARE(eval_every->value(), 20);
  QCOMPARE(sample_every->value(), 20);
  eval_every->setValue(10);
  sample_every->setValue(30);
  QCOMPARE(panel->run_config().train.eval_every, int64_t{10});
  QCOMPARE(panel->run_config().train.sample_every, int64_t{30});

  // Time and memory before Start, from the config: a batch twice as large takes twice the time
  // a step and more memory (the estimate is linear in the batch: 1e-9 relative is rounding).
  QVERIFY2(panel->estimate_text().contains(QStringLiteral("a step")),
           qPrintable(panel->estimate_text()));
  QVERIFY(panel->estimate_text().contains(QStringLiteral("Memory")));
  RunConfig config = panel->run_config();
  const RunEstimate small = estimate_run(config);
  config.train.batch *= 2;
  const RunEstimate large = estimate_run(config);
  QVERIFY(small.seconds_per_step > 0 && small.memory_bytes > 0);
  QVERIFY(std::abs(large.seconds_per_step / small.seconds_per_step - 2.0) < 1e-9);
  QVERIFY(large.memory_bytes > small.memory_bytes);
  const QString before = panel->estimate_text();
  batch->setValue(batch->value() * 2);
  QVERIFY(panel->estimate_text() != before);
}

void TestStudio::gpu_preset_on_the_cpu_says_so() {
  RunPanel* panel = window_->run_panel();
  auto* device = panel->findChild<QComboBox*>(QStringLiteral("device"));
  QVERIFY(device);
  const QString run_dir = panel->run_dir();  // an earlier test's run: its own error would show
  panel->set_run_dir(QString());
  panel->set_gpu_count(0);
  QVERIFY(panel->load_preset(QStringLiteral("gpu-text")));
  panel->set_data_path(text_path_);
  // Made for a GPU, on a machine without one: Start is refused with what to do instead.
  QCOMPARE(device->currentText(), QStringLiteral("cuda"));
  QVERIFY(!panel->is_valid());
  QVERIFY2(panel->error_text().contains(QStringLiteral("no CUDA GPU")),
           qPrintable(panel->error_text()));
  QVERIFY(panel->estimate_text().startsWith(QStringLiteral("Made for a GPU")));
  // On the CPU it may start, and the estimate warns with the CPU's time per step.
  device->setCurrentText(QStringLiteral("cpu"));
  QVERIFY2(panel->is_valid(), qPrintable(panel->error_text()));
  QCOMPARE(panel->run_config().train.device, std::string("cpu"));
  QVERIFY2(panel->estimate_text().startsWith(QStringLiteral("Made for a GPU")) &&
               panel->estimate_text().contains(QStringLiteral("a step")),
           qPrintable(panel->estimate_text()));
  // With a GPU, cuda is what the preset asks for and nothing warns.
  panel->set_gpu_count(1);
  device->setCurrentText(QStringLiteral("cuda"));
  QVERIFY2(panel->is_valid(), qPrintable(panel->error_text()));
  QVERIFY(!panel->estimate_text().startsWith(QStringLiteral("Made for a GPU")));
  // A CPU preset never warns.
  panel->set_gpu_count(0);
  QVERIFY(panel->load_preset(QStringLiteral("tiny-cpu")));
  QVERIFY(!panel->estimate_text().startsWith(QStringLiteral("Made for a GPU")));
  panel->set_run_dir(run_dir);
}

void TestStudio::data_buttons_pick_the_matching_preset() {
  RunPanel* panel = window_->run_panel();
  QVERIFY(panel->load_preset(QStringLiteral("tiny-cpu")));
  auto button = [&](const QString& text) {
    for (QPushButton* b : panel->findChildren<QPushButton*>())
      if (b->text() == text) return b;
    return static_cast<QPushButton*>(nullptr);
  };
  QPushButton* fashion = button(QStringLiteral("Fashion-MNIST"));
  QPushButton* icons = button(QStringLiteral("Icons (RGB)"));
  QPushButton* fortunes = button(QStringLiteral("Fortunes"));
  QVERIFY(fashion && icons && fortunes);

  // A text model and image data: the image preset comes with the data.
  fashion->click();
  QCOMPARE(panel->run_config().train.data, std::string(kDefaultGrayPath));
  QCOMPARE(panel->run_config().train.preset, std::string("lesson-fashion"));
  QCOMPARE(panel->run_config().model.hierarchy, std::string("1@1 1@4 2@16 1@4 1@1"));
  // A model of the data's kind is kept, edits included.
  auto* d_model = panel->findChild<QSpinBox*>(QStringLiteral("d_model"));
  d_model->setValue(96);
  fashion->click();
  QCOMPARE(panel->run_config().model.d_model, 96);
  // RGB icons and back to text: each brings its own preset.
  icons->click();
  QCOMPARE(panel->run_config().train.data, std::string(kDefaultIconsPath));
  QCOMPARE(panel->run_config().train.preset, std::string("lesson-icons"));
  fortunes->click();
  QCOMPARE(panel->run_config().train.data, std::string(kDefaultTextPath));
  QCOMPARE(panel->run_config().train.preset, std::string("tiny-cpu"));
}

void TestStudio::pause_and_stop_write_a_sample() {
  // No scheduled samples: any sample in samples/ comes from the pause or the stop.
  RunConfig config = tiny_config();
  config.train.sample_every = 0;
  config.train.save_every = 0;
  const QString run_dir = fresh_run_dir(QStringLiteral("sample_on_stop"));
  window_->run_panel()->set_run_config(config);
  window_->run_panel()->set_run_dir(run_dir);
  QSignalSpy metrics(controller_.get(), &Controller::metrics);
  QSignalSpy finished(controller_.get(), &Controller::run_finished);
  // This run's samples only: the run of an earlier test may still be writing its stop's sample.
  QList<qint64> samples;
  QObject receiver;  // disconnects at the end of the test
  connect(controller_.get(), &Controller::sample_written, &receiver,
          [&](qint64 step, const QString& dir) {
            if (dir == run_dir) samples.append(step);
          });
  window_->start_action()->trigger();
  QVERIFY(wait_while_progressing([&] { return metrics.count() >= 3; },
                                 [&] { return qint64(metrics.count()); }));

  auto sample_file = [&](qint64 step) {
    return run_dir + QStringLiteral("/samples/step_%1.txt").arg(step, 8, 10, QLatin1Char('0'));
  };
  window_->pause_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(samples.count(), 1, kTrainTimeoutMs);
  const qint64 paused_step = samples.first();
  QVERIFY(paused_step > 0);
  QVERIFY2(QFileInfo::exists(sample_file(paused_step)), qPrintable(sample_file(paused_step)));
  QCOMPARE(window_->run_state(), RunState::kPaused);

  window_->resume_action()->trigger();
  QVERIFY(wait_while_progressing(
      [&] { return metrics.last().at(0).value<Metrics>().step > paused_step + 2; },
      [&] { return qint64(metrics.count()); }));
  window_->stop_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTrainTimeoutMs);
  QTRY_COMPARE_WITH_TIMEOUT(samples.count(), 2, kTrainTimeoutMs);
  const qint64 stopped_step = finished.first().at(1).toLongLong();
  QCOMPARE(samples.last(), stopped_step);
  QVERIFY2(QFileInfo::exists(sample_file(stopped_step)), qPrintable(sample_file(stopped_step)));
  QCOMPARE(QDir(run_dir + QStringLiteral("/samples")).entryList(QDir::Files).size(), 2);
}

void TestStudio::run_panel_settings_and_last_run_are_restored() {
  RunConfig config = tiny_config();
  config.train.eval_every = 7;
  config.train.sample_every = 13;
  config.model.d_model = 48;
  RunPanel* panel = window_->run_panel();
  panel->set_run_config(config);
  panel->set_run_dir(fresh_run_dir(QStringLiteral("chosen")));
  QVERIFY(panel->is_valid());

  // A new session's panel opens on these fields, not on the default preset.
  RunPanel next;
  QCOMPARE(next.run_config().model.d_model, 48);
  QCOMPARE(next.run_config().model.hierarchy, config.model.hierarchy);
  QCOMPARE(next.run_config().train.eval_every, int64_t{7});
  QCOMPARE(next.run_config().train.sample_every, int64_t{13});
  QCOMPARE(next.run_config().train.data, config.train.data);
  QCOMPARE(next.run_dir(), fresh_run_dir(QStringLiteral("chosen")));

  // Settings another version wrote, that no longer parse, give the default preset.
  QSettings().setValue(QStringLiteral("run_panel/config"),
                       QStringLiteral("{\"model\": {\"nope\": 1}}"));
  RunPanel fresh;
  QCOMPARE(fresh.run_config().train.preset, std::string("tiny-cpu"));
  panel->set_run_config(config);  // saved again, for the sessions below

  // A new window reopens the newest recent run (the runs of the tests above).
  MainWindow window;
  QVERIFY(!window.recent_runs().isEmpty());
  QVERIFY(window.reopen_last_run());
  QCOMPARE(window.training_panel()->current_run(), window.recent_runs().first());
}

void TestStudio::opened_run_folder_is_followed() {
  // A run folder that "another machine" writes: three lines so far.
  const QString run_dir = fresh_run_dir(QStringLiteral("cli_run"));
  QVERIFY(QDir().mkpath(run_dir));
  const QString metrics = run_dir + QStringLiteral("/metrics.jsonl");
  write_file(metrics, metrics_line(1, 5.0) + metrics_line(2, 4.0) + metrics_line(3, 3.5),
             QIODevice::WriteOnly);

  window_->open_run(run_dir);
  TrainingPanel* training = window_->training_panel();
  QCOMPARE(training->point_count(run_dir, kMetricTrainLoss), 3);  // at once, not after a poll
  QVERIFY(window_->recent_runs().first() == QFileInfo(run_dir).absoluteFilePath());

  // Appended lines appear; a line still being written waits for its newline.
  const QByteArray fourth = metrics_line(4, 3.0);
  write_file(metrics, fourth + metrics_line(5, 2.8).left(20), QIODevice::Append);
  QTRY_COMPARE_WITH_TIMEOUT(training->point_count(run_dir, kMetricTrainLoss), 4, 10000);
  write_file(metrics, metrics_line(5, 2.8).mid(20), QIODevice::Append);
  QTRY_COMPARE_WITH_TIMEOUT(training->point_count(run_dir, kMetricTrainLoss), 5, 10000);

  // Rewritten shorter (a resume dropped lines after its checkpoint): read again from the start.
  write_file(metrics, metrics_line(1, 5.0) + metrics_line(2, 4.1), QIODevice::WriteOnly);
  QTRY_COMPARE_WITH_TIMEOUT(training->point_count(run_dir, kMetricTrainLoss), 2, 10000);

  // The other run's curves stay overlaid.
  QVERIFY(training->runs().size() >= 2);
  QVERIFY(training->export_csv(temp_.filePath(QStringLiteral("curves.csv"))));
  QFile csv(temp_.filePath(QStringLiteral("curves.csv")));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  const QByteArray text = csv.readAll();
  QVERIFY(text.contains("cli_run") && text.contains("ui_run"));
}

// A run written before tokens and FLOPs were logged gets them from its config.json, and runs of
// another data kind are told apart (they go on a plot of their own).
void TestStudio::old_run_is_plotted_against_compute() {
  const QString run_dir = fresh_run_dir(QStringLiteral("old_run"));
  QVERIFY(QDir().mkpath(run_dir));
  RunConfig config = tiny_config();
  write_file(run_dir + QStringLiteral("/config.json"),
             QByteArray::fromStdString(to_json(config).dump()), QIODevice::WriteOnly);
  write_file(run_dir + QStringLiteral("/metrics.jsonl"),
             metrics_line(1, 5.0) + metrics_line(2, 4.0), QIODevice::WriteOnly);
  window_->open_run(run_dir);
  TrainingPanel* training = window_->training_panel();
  QTRY_COMPARE(training->point_count(run_dir, kMetricTrainLoss), 2);
  const CurvesSnapshot& snapshot = training->snapshot();
  const std::string label = QFileInfo(run_dir).fileName().toStdString();
  const CurveSeries* loss = nullptr;
  for (const CurveSeries& s : snapshot.series)
    if (s.run == label && s.metric == kMetricTrainLoss) loss = &s;
  QVERIFY(loss);
  const double tokens = 2.0 * config.train.batch * config.model.seq_len;  // step 2
  QCOMPARE(loss->points.back().tokens, tokens);
  QCOMPARE(loss->points.back().flops, tokens * training_flops_per_token(config.model));
  QCOMPARE(snapshot.run_kind.at(label), std::string("text, 64 tokens/sample"));
  training->close_run(QFileInfo(run_dir).absoluteFilePath());
}

// "Compare with vanilla": the configured hierarchy, then its twin, into one folder; both are
// followed on one plot and a summary of the two is written.
void TestStudio::compare_with_vanilla_trains_both_runs() {
  const QString out = fresh_run_dir(QStringLiteral("compare"));
  RunConfig config = tiny_config();
  config.train.steps = 6;
  config.train.eval_every = 3;
  config.train.save_every = 0;
  window_->run_panel()->set_run_config(config);
  window_->run_panel()->set_run_dir(out);
  auto* button = window_->run_panel()->findChild<QToolButton*>(QStringLiteral("compare_vanilla"));
  QVERIFY(button);
  QTRY_VERIFY2(button->isEnabled(), qPrintable(window_->run_panel()->error_text()));
  QVERIFY(button->toolTip().contains(QStringLiteral("3@1")));  // the twin of 1@1 1@2 1@1
  QSignalSpy started(controller_.get(), &Controller::run_started);
  QSignalSpy finished(controller_.get(), &Controller::comparison_finished);
  QSignalSpy metrics(controller_.get(), &Controller::metrics);
  QTest::mouseClick(button, Qt::LeftButton);
  QVERIFY(!button->isEnabled());  // one comparison at a time
  QVERIFY(wait_while_progressing([&] { return finished.count() == 1; },
                                 [&] { return qint64(metrics.count()); }));
  QCOMPARE(finished.first().at(0).toString(), out);
  QCOMPARE(started.count(), 2);
  const QString hourglass = out + QStringLiteral("/hourglass");
  const QString vanilla = out + QStringLiteral("/vanilla");
  QCOMPARE(started.at(0).at(0).toString(), hourglass);
  QCOMPARE(started.at(1).at(0).toString(), vanilla);
  QTRY_COMPARE(window_->run_state(), RunState::kIdle);

  QFile summary_file(out + QStringLiteral("/compare.json"));
  QVERIFY(summary_file.open(QIODevice::ReadOnly));
  const auto summary = nlohmann::json::parse(summary_file.readAll().toStdString());
  QCOMPARE(summary.at("vanilla").at("hierarchy").get<std::string>(), std::string("3@1"));
  QCOMPARE(summary.at("hourglass").at("tokens"), summary.at("vanilla").at("tokens"));
  QVERIFY(summary.at("hourglass").at("train_flops").get<double>() <
          summary.at("vanilla").at("train_flops").get<double>());
  QVERIFY(summary.at("vanilla").at("peak_mem_bytes").get<double>() > 0);  // counted on the CPU

  // Both runs on one plot, each with its final val loss, time, FLOPs and memory in the legend.
  TrainingPanel* training = window_->training_panel();
  training->poll_now();
  QTRY_COMPARE(training->point_count(hourglass, kMetricValBits), 2);
  QTRY_COMPARE(training->point_count(vanilla, kMetricValBits), 2);
  const CurvesSnapshot& snapshot = training->snapshot();
  QCOMPARE(snapshot.run_kind.at("hourglass"), snapshot.run_kind.at("vanilla"));
  for (const char* run : {"hourglass", "vanilla"}) {
    const QString legend = QString::fromStdString(run_summary(snapshot, run));
    QVERIFY2(legend.startsWith(QStringLiteral("val ")) && legend.contains(QStringLiteral("FLOP")) &&
                 legend.contains(QStringLiteral("MiB peak")),
             qPrintable(legend));
  }
  training->view().x_axis = CurvesView::kXFlops;
  const int frames = training->canvas()->frames_drawn();
  training->canvas()->update();
  QTRY_VERIFY_WITH_TIMEOUT(training->canvas()->frames_drawn() > frames + 1, 20000);
  const QString shot = QStringLiteral(HOURGLASS_TEST_OUTPUT_DIR "/studio_compare.png");
  QVERIFY2(window_->grab().save(shot), qPrintable(shot));
  training->view().x_axis = CurvesView::kXStep;
  training->close_run(QFileInfo(hourglass).absoluteFilePath());
  training->close_run(QFileInfo(vanilla).absoluteFilePath());
}

// A stop during the hierarchy's run ends the comparison: the twin never starts.
void TestStudio::stop_ends_a_comparison() {
  const QString out = fresh_run_dir(QStringLiteral("compare_stopped"));
  window_->run_panel()->set_run_config(tiny_config());
  window_->run_panel()->set_run_dir(out);
  QSignalSpy started(controller_.get(), &Controller::run_started);
  QSignalSpy finished(controller_.get(), &Controller::run_finished);
  QSignalSpy metrics(controller_.get(), &Controller::metrics);
  Q_EMIT window_->run_panel()->compare_requested();
  QVERIFY(wait_while_progressing([&] { return metrics.count() >= 3; },
                                 [&] { return qint64(metrics.count()); }));
  QVERIFY(window_->pause_action()->isEnabled());  // the window's controls reach the run
  window_->stop_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTrainTimeoutMs);
  QTRY_COMPARE(window_->run_state(), RunState::kIdle);
  QCoreApplication::processEvents();
  QCOMPARE(started.count(), 1);
  QVERIFY(!QFileInfo::exists(out + QStringLiteral("/vanilla")));
  QVERIFY(!QFileInfo::exists(out + QStringLiteral("/compare.json")));
  window_->training_panel()->close_run(
      QFileInfo(out + QStringLiteral("/hourglass")).absoluteFilePath());
}

void TestStudio::bad_data_path_shows_an_error() {
  // A file that exists but cannot be a dataset: far too short to split into train/val/test.
  const QString bad = temp_.filePath(QStringLiteral("tiny.txt"));
  write_file(bad, "too short", QIODevice::WriteOnly);
  RunConfig config = tiny_config();
  config.train.data = bad.toStdString();
  window_->run_panel()->set_run_config(config);
  window_->run_panel()->set_run_dir(fresh_run_dir(QStringLiteral("bad_run")));
  QVERIFY2(window_->start_action()->isEnabled(), qPrintable(window_->run_panel()->error_text()));
  QSignalSpy errors(controller_.get(), &Controller::error);

  window_->start_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, kTrainTimeoutMs);
  QTRY_COMPARE(window_->run_state(), RunState::kIdle);
  const QString shown = window_->training_panel()->error_text();
  qInfo("shown: %s", qPrintable(shown));
  QVERIFY2(shown.contains(QStringLiteral("tiny.txt")), qPrintable(shown));
  QVERIFY(window_->grab().save(QStringLiteral(HOURGLASS_TEST_OUTPUT_DIR "/studio_error.png")));
  QVERIFY(window_->isVisible());
  QVERIFY(!QFileInfo::exists(fresh_run_dir(QStringLiteral("bad_run")) + "/config.json"));

  // The studio goes on: a good run starts after it, and Start clears the error.
  config.train.data = text_path_.toStdString();
  window_->run_panel()->set_run_config(config);
  window_->run_panel()->set_run_dir(fresh_run_dir(QStringLiteral("after_error")));
  window_->start_action()->trigger();
  QVERIFY(window_->training_panel()->error_text().isEmpty());
  QTRY_COMPARE_WITH_TIMEOUT(window_->run_state(), RunState::kRunning, kTrainTimeoutMs);
  window_->stop_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(window_->run_state(), RunState::kIdle, kTrainTimeoutMs);
}

void TestStudio::out_of_memory_shows_an_error() {
  // d_model 65536: one attention projection alone is 3 * 65536^2 floats = 51.5 GB. Linux's
  // default (heuristic) overcommit refuses an allocation larger than RAM + swap outright, so no
  // memory is touched; elsewhere the test would page or meet the OOM killer, so it skips.
  QFile overcommit(QStringLiteral("/proc/sys/vm/overcommit_memory"));
  QFile meminfo(QStringLiteral("/proc/meminfo"));
  if (!overcommit.open(QIODevice::ReadOnly) || overcommit.readAll().trimmed() != "0" ||
      !meminfo.open(QIODevice::ReadOnly))
    QSKIP("needs Linux's heuristic overcommit (vm.overcommit_memory = 0)");
  double total_kb = 0;
  for (const QByteArray& line : meminfo.readAll().split('\n'))
    if (line.startsWith("MemTotal:") || line.startsWith("SwapTotal:"))
      total_kb += line.simplified().split(' ').value(1).toDouble();
  if (total_kb * 1024 > 40e9) QSKIP("RAM + swap above 40 GB: the allocation might succeed");

  RunConfig config = tiny_config();
  config.model.d_model = 65536;
  config.model.hierarchy = "1@1";
  window_->run_panel()->set_run_config(config);
  window_->run_panel()->set_run_dir(fresh_run_dir(QStringLiteral("huge_run")));
  QVERIFY2(window_->start_action()->isEnabled(), qPrintable(window_->run_panel()->error_text()));
  QSignalSpy errors(controller_.get(), &Controller::error);
  window_->start_action()->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, kTrainTimeoutMs);
  QTRY_COMPARE(window_->run_state(), RunState::kIdle);
  const QString shown = window_->training_panel()->error_text();
  qInfo("shown: %s", qPrintable(shown));
  QVERIFY2(shown.startsWith(QStringLiteral("out of memory")), qPrintable(shown));
  QVERIFY(window_->isVisible());
  QVERIFY(window_->start_action()->isEnabled());
}

void TestStudio::closing_mid_run_keeps_a_checkpoint() {
  // The destructor stops the run between two steps, saves, quits the thread and waits.
  const QString run_dir = fresh_run_dir(QStringLiteral("closed_run"));
  auto controller = std::make_unique<Controller>();
  QSignalSpy metrics(controller.get(), &Controller::metrics);
  controller->start(tiny_config(), run_dir);
  QVERIFY(wait_while_progressing([&] { return metrics.count() >= 3; },
                                 [&] { return qint64(metrics.count()); }));
  controller.reset();
  const QStringList checkpoints =
      QDir(run_dir + QStringLiteral("/checkpoints")).entryList({QStringLiteral("step_*.json")});
  QCOMPARE(checkpoints.size(), 1);
  QVERIFY(checkpoints.first() != QStringLiteral("step_00000000.json"));
}

void TestStudio::floating_dock_keeps_drawing() {
  // Floating and re-docking gives the canvas a new GL context (docs/DEVELOPING.md): it must go on.
  auto* dock = window_->findChild<QDockWidget*>(QStringLiteral("training_dock"));
  QVERIFY(dock);
  ImGuiCanvas* canvas = window_->training_panel()->canvas();
  dock->setFloating(true);
  int frames = canvas->frames_drawn();
  QTRY_VERIFY_WITH_TIMEOUT(canvas->frames_drawn() > frames + 2, 20000);
  dock->setFloating(false);
  frames = canvas->frames_drawn();
  QTRY_VERIFY_WITH_TIMEOUT(canvas->frames_drawn() > frames + 2, 20000);
}

void TestStudio::layout_and_recent_runs_are_kept() {
  auto* run_dock = window_->findChild<QDockWidget*>(QStringLiteral("run_dock"));
  QVERIFY(run_dock);
  run_dock->hide();  // a layout choice the next session must find again
  QVERIFY(window_->close());
  const QStringList recent = window_->recent_runs();
  QVERIFY(!recent.isEmpty());
  QSettings settings;
  QVERIFY(!settings.value(QStringLiteral("window/state")).toByteArray().isEmpty());
  QVERIFY(!settings.value(QStringLiteral("window/geometry")).toByteArray().isEmpty());

  MainWindow next;
  QCOMPARE(next.recent_runs(), recent);
  next.show();
  QVERIFY(QTest::qWaitForWindowExposed(&next));
  QVERIFY(next.findChild<QDockWidget*>(QStringLiteral("run_dock"))->isHidden());
  QVERIFY(next.findChild<QDockWidget*>(QStringLiteral("training_dock"))->isVisible());
}

}  // namespace hg

QTEST_MAIN(hg::TestStudio)
#include "test_studio.moc"
