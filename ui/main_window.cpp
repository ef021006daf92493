// The studio's main window: docks, menus, shortcuts, status bar and settings. Requests leave as
// signals; nothing here touches a trainer or a thread.
#include "ui/main_window.h"

#include <imgui.h>
#include <unistd.h>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPalette>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QStyleFactory>
#include <QTextBrowser>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/inspector/inspector_panel.h"
#include "ui/sampler/sampler_panel.h"
#include "ui/training/run_panel.h"
#include "ui/training/training_panel.h"

namespace hg {
namespace {

const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/state");
const QString kRecentKey = QStringLiteral("recent_runs");

QString format_bytes(double bytes) {
  if (bytes >= 1024.0 * 1024 * 1024)
    return QString::number(bytes / (1024.0 * 1024 * 1024), 'f', 2) + " GiB";
  return QString::number(bytes / (1024.0 * 1024), 'f', 0) + " MiB";
}

// Resident memory of this process (Linux /proc); 0 where it cannot be read.
double resident_bytes() {
  QFile statm(QStringLiteral("/proc/self/statm"));
  if (!statm.open(QIODevice::ReadOnly)) return 0.0;
  const QList<QByteArray> fields = statm.readAll().split(' ');
  if (fields.size() < 2) return 0.0;
  return fields[1].toDouble() * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace

void apply_studio_style(QApplication& app) {
  app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  QPalette p;
  const QColor window(45, 45, 48), base(30, 30, 32), text(220, 220, 220), disabled(120, 120, 120);
  const QColor highlight(66, 133, 244);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, window);
  p.setColor(QPalette::ToolTipBase, base);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::PlaceholderText, disabled);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, window);
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, Qt::red);
  p.setColor(QPalette::Link, highlight);
  p.setColor(QPalette::Highlight, highlight);
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Light, QColor(70, 70, 74));
  p.setColor(QPalette::Midlight, QColor(60, 60, 64));
  p.setColor(QPalette::Mid, QColor(38, 38, 40));
  p.setColor(QPalette::Dark, QColor(25, 25, 27));
  p.setColor(QPalette::Shadow, Qt::black);
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    p.setColor(QPalette::Disabled, role, disabled);
  p.setColor(QPalette::Disabled, QPalette::Button, QColor(40, 40, 42));
  app.setPalette(p);
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Hourglass Studio"));
  setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
  // Everything lives in docks; an empty, hidden central widget lets them fill the window.
  auto* central = new QWidget;
  central->hide();
  setCentralWidget(central);

  create_docks();
  create_actions();
  create_menus();
  create_status_bar();
  run_panel_->set_start_action(start_);
  training_panel_->set_actions({start_, pause_, resume_, stop_, save_});
  connect(run_panel_, &RunPanel::validity_changed, this, &MainWindow::update_actions);

  QSettings settings;
  // 1280x800, or the screen when that is smaller (a 1280x720 laptop), so none of it is off screen.
  const QSize wanted(1280, 800);
  resize(screen() ? wanted.boundedTo(screen()->availableGeometry().size()) : wanted);
  restoreGeometry(settings.value(kGeometryKey).toByteArray());
  restoreState(settings.value(kStateKey).toByteArray());
  rebuild_recent_menu();
  update_actions();
  update_memory();
}

// The Run dock on the left; the Training dock on the right, with the Inspector and the Sampler
// as tabs behind it.
void MainWindow::create_docks() {
  run_panel_ = new RunPanel;
  training_panel_ = new TrainingPanel;
  run_dock_ = make_dock(tr("Run"), QStringLiteral("run_dock"), run_panel_);
  training_dock_ = make_dock(tr("Training"), QStringLiteral("training_dock"), training_panel_);
  addDockWidget(Qt::LeftDockWidgetArea, run_dock_);
  addDockWidget(Qt::RightDockWidgetArea, training_dock_);
  resizeDocks({run_dock_, training_dock_}, {430, 850}, Qt::Horizontal);
  inspector_panel_ = new InspectorPanel;
  inspector_dock_ = add_tab_behind_training(
      make_dock(tr("Inspector"), QStringLiteral("inspector_dock"), inspector_panel_));
  sampler_panel_ = new SamplerPanel;
  sampler_dock_ = add_tab_behind_training(
      make_dock(tr("Sampler"), QStringLiteral("sampler_dock"), sampler_panel_));
}

QDockWidget* MainWindow::make_dock(const QString& title, const QString& name, QWidget* panel) {
  auto* dock = new QDockWidget(title, this);
  dock->setObjectName(name);  // saveState() keys docks by name
  dock->setWidget(panel);
  return dock;
}

QDockWidget* MainWindow::add_tab_behind_training(QDockWidget* dock) {
  addDockWidget(Qt::RightDockWidgetArea, dock);
  tabifyDockWidget(training_dock_, dock);
  training_dock_->raise();
  return dock;
}

// View -> Reset layout: every dock back where create_docks() put it.
void MainWindow::reset_layout() {
  for (QDockWidget* dock : {run_dock_, training_dock_}) {
    dock->setFloating(false);
    dock->show();
  }
  addDockWidget(Qt::LeftDockWidgetArea, run_dock_);
  addDockWidget(Qt::RightDockWidgetArea, training_dock_);
  resizeDocks({run_dock_, training_dock_}, {430, width() - 430}, Qt::Horizontal);
  inspector_dock_->setFloating(false);
  tabifyDockWidget(training_dock_, inspector_dock_);
  sampler_dock_->setFloating(false);
  tabifyDockWidget(training_dock_, sampler_dock_);
}

void MainWindow::create_actions() {
  auto make = [this](const QString& text, const QKeySequence& key, const QString& tip,
                     auto on_trigger) {
    auto* action = new QAction(text, this);
    action->setShortcut(key);
    action->setToolTip(QStringLiteral("%1 (%2)").arg(tip, key.toString(QKeySequence::NativeText)));
    connect(action, &QAction::triggered, this, on_trigger);
    return action;
  };
  new_run_ = make(tr("&New run"), QKeySequence::New, tr("Reset the Run panel to the default"),
                  [this] { new_run(); });
  open_run_ = make(tr("&Open run folder…"), QKeySequence::Open,
                   tr("Show and follow a run folder, also one a CLI run is writing"),
                   [this] { choose_run_to_open(); });
  quit_ = make(tr("&Quit"), QKeySequence::Quit, tr("Quit (a run in progress saves a checkpoint)"),
               [this] { close(); });
  start_ = make(tr("&Start"), QKeySequence(Qt::Key_F5),
                tr("Start a new run of the Run panel's config"), [this] {
                  training_panel_->clear_error();
                  Q_EMIT start_requested(run_panel_->run_config(), run_panel_->run_dir());
                });
  pause_ =
      make(tr("&Pause"), QKeySequence(Qt::Key_F6), tr("Pause after this step (saves a checkpoint)"),
           [this] { Q_EMIT pause_requested(); });
  resume_ = make(tr("&Resume"), QKeySequence(Qt::Key_F7), tr("Resume the paused run"),
                 [this] { Q_EMIT resume_requested(); });
  stop_ =
      make(tr("S&top"), QKeySequence(Qt::SHIFT | Qt::Key_F5),
           tr("Stop after this step (saves a checkpoint)"), [this] { Q_EMIT stop_requested(); });
  save_ = make(tr("Save &checkpoint"), QKeySequence::Save, tr("Save a checkpoint now"),
               [this] { Q_EMIT save_requested(); });
  continue_ = make(tr("&Continue run…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O),
                   tr("Continue a run folder from its newest checkpoint"),
                   [this] { choose_run_to_continue(); });
  start_->setObjectName(QStringLiteral("start"));
  pause_->setObjectName(QStringLiteral("pause"));
  resume_->setObjectName(QStringLiteral("resume"));
  stop_->setObjectName(QStringLiteral("stop"));
  save_->setObjectName(QStringLiteral("save"));
}

void MainWindow::create_menus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(new_run_);
  file->addAction(open_run_);
  recent_menu_ = file->addMenu(tr("&Recent runs"));
  file->addSeparator();
  file->addAction(tr("Export curves as &CSV…"), training_panel_, &TrainingPanel::ask_export_csv);
  file->addAction(tr("Export curves as &PNG…"), training_panel_, &TrainingPanel::ask_export_png);
  file->addSeparator();
  file->addAction(quit_);

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  for (QAction* action : {start_, pause_, resume_, stop_, save_}) run->addAction(action);
  run->addSeparator();
  run->addAction(continue_);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addAction(run_dock_->toggleViewAction());
  view->addAction(training_dock_->toggleViewAction());
  view->addAction(inspector_dock_->toggleViewAction());
  view->addAction(sampler_dock_->toggleViewAction());
  view->addSeparator();
  view->addAction(tr("Reset &layout"), this, &MainWindow::reset_layout);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QAction* guide = help->addAction(tr("&Guide"), this, &MainWindow::show_guide);
  guide->setShortcut(QKeySequence::HelpContents);
  guide->setObjectName(QStringLiteral("guide"));
  help->addSeparator();
  help->addAction(tr("&About Hourglass Studio"), this, &MainWindow::about);
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::create_status_bar() {
  device_label_ = new QLabel;
  memory_label_ = new QLabel;
  state_label_ = new QLabel;
  step_label_ = new QLabel;
  state_label_->setObjectName(QStringLiteral("state_label"));
  step_label_->setObjectName(QStringLiteral("step_label"));
  for (QLabel* label : {device_label_, memory_label_, state_label_, step_label_})
    statusBar()->addPermanentWidget(label);
  auto* timer = new QTimer(this);
  connect(timer, &QTimer::timeout, this, &MainWindow::update_memory);
  timer->start(2000);
  set_run_state(RunState::kIdle);
}

void MainWindow::set_device(const QString& device) { device_label_->setText(device); }

void MainWindow::update_memory() {
  QString text = tr("memory %1").arg(format_bytes(resident_bytes()));
  if (gpu_peak_bytes_ > 0) text += tr(", run peak %1").arg(format_bytes(gpu_peak_bytes_));
  memory_label_->setText(text);
}

void MainWindow::set_run_state(RunState state) {
  state_ = state;
  state_label_->setText(to_qstring(state));
  update_actions();
}

void MainWindow::update_actions() {
  const bool idle = state_ == RunState::kIdle;
  start_->setEnabled(idle && run_panel_->is_valid());
  continue_->setEnabled(idle);
  pause_->setEnabled(state_ == RunState::kRunning);
  resume_->setEnabled(state_ == RunState::kPaused);
  stop_->setEnabled(state_ == RunState::kStarting || state_ == RunState::kRunning ||
                    state_ == RunState::kPaused);
  save_->setEnabled(state_ == RunState::kRunning || state_ == RunState::kPaused);
}

void MainWindow::on_run_started(const QString& run_dir, const QString& description,
                                const QString& device, qint64 total_steps) {
  total_steps_ = total_steps;
  gpu_peak_bytes_ = 0;
  set_device(device);
  step_label_->setText(tr("step 0/%1").arg(total_steps));
  open_run(run_dir, tr("%1 — %2").arg(run_dir, description));
}

void MainWindow::on_metrics(const Metrics& m) {
  if (m.split != "train") return;
  step_label_->setText(total_steps_ > 0 ? tr("step %1/%2").arg(m.step).arg(total_steps_)
                                        : tr("step %1").arg(m.step));
  if (m.mem_bytes > gpu_peak_bytes_) gpu_peak_bytes_ = m.mem_bytes;
}

void MainWindow::on_checkpoint_saved(qint64 step, const QString& run_dir) {
  statusBar()->showMessage(
      tr("Checkpoint of step %1 saved in %2/checkpoints").arg(step).arg(run_dir), 5000);
}

void MainWindow::on_run_finished(const QString& run_dir, qint64 step, bool completed) {
  statusBar()->showMessage((completed ? tr("Run finished at step %1; checkpoint in %2/checkpoints")
                                      : tr("Run stopped at step %1; checkpoint in %2/checkpoints"))
                               .arg(step)
                               .arg(run_dir),
                           10000);
  training_panel_->poll_now();  // the last lines, without waiting for the timer
}

void MainWindow::show_error(const QString& message) {
  training_dock_->show();
  training_dock_->raise();
  training_panel_->show_error(message);
  // The whole message is in the Training panel; the status bar only points there.
  const QString first_line = message.section(QLatin1Char('\n'), 0, 0);
  statusBar()->showMessage(
      tr("Error: %1").arg(fontMetrics().elidedText(first_line, Qt::ElideRight, 360)), 10000);
}

void MainWindow::open_run(const QString& run_dir, const QString& info) {
  const QString dir = QFileInfo(run_dir).absoluteFilePath();
  if (!QFileInfo(dir).isDir()) {
    show_error(tr("%1 is not a folder. HINT: open the folder a run writes (it holds config.json "
                  "and metrics.jsonl)")
                   .arg(dir));
    return;
  }
  training_panel_->follow_run(dir, info);
  sampler_panel_->set_run_dir(dir);  // its checkpoints become model sources
  inspector_panel_->set_run_dir(dir);
  add_recent_run(dir);
}

bool MainWindow::reopen_last_run() {
  const QStringList runs = recent_runs();
  if (runs.isEmpty() || !QFileInfo(runs.first()).isDir()) return false;
  open_run(runs.first());
  return true;
}

QStringList MainWindow::recent_runs() const { return QSettings().value(kRecentKey).toStringList(); }

void MainWindow::add_recent_run(const QString& run_dir) {
  QStringList runs = recent_runs();
  runs.removeAll(run_dir);
  runs.prepend(run_dir);
  while (runs.size() > kMaxRecentRuns) runs.removeLast();
  QSettings().setValue(kRecentKey, runs);
  rebuild_recent_menu();
}

void MainWindow::rebuild_recent_menu() {
  recent_menu_->clear();
  const QStringList runs = recent_runs();
  for (int i = 0; i < runs.size(); ++i) {
    const QString& dir = runs[i];
    QString label = dir;
    label.replace(QLatin1Char('&'), QStringLiteral("&&"));  // not a mnemonic
    QAction* action = recent_menu_->addAction(QStringLiteral("&%1 %2").arg((i + 1) % 10).arg(label),
                                              this, [this, dir] { open_run(dir); });
    action->setEnabled(QFileInfo(dir).isDir());
  }
  if (runs.isEmpty()) recent_menu_->addAction(tr("(none)"))->setEnabled(false);
  recent_menu_->addSeparator();
  recent_menu_->addAction(tr("&Clear list"), this, [this] {
    QSettings().remove(kRecentKey);
    rebuild_recent_menu();
  });
}

void MainWindow::choose_run_to_open() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open run folder"));
  if (!dir.isEmpty()) open_run(dir);
}

void MainWindow::choose_run_to_continue() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Continue run folder"));
  if (dir.isEmpty()) return;
  training_panel_->clear_error();
  Q_EMIT continue_requested(dir);
}

void MainWindow::new_run() {
  run_panel_->load_preset(QStringLiteral("tiny-cpu"));
  run_panel_->set_run_dir(QString());
  run_dock_->show();
  run_dock_->raise();
}

void MainWindow::about() {
  QString rows;
  const auto add_row = [&rows](const QString& name, const QString& value) {
    rows += QStringLiteral("<tr><td>%1&nbsp;&nbsp;</td><td>%2</td></tr>")
                .arg(name, value.isEmpty() ? tr("unknown") : value.toHtmlEscaped());
  };
  add_row(tr("libtorch"), about_info_.libtorch);
  add_row(tr("Device"), about_info_.device);
  add_row(tr("Attention"), about_info_.attention);
  add_row(tr("Build"), about_info_.build_options);
  add_row(tr("Qt"), tr("%1 (built with %2)")
                        .arg(QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR)));
  add_row(tr("Dear ImGui"), QStringLiteral(IMGUI_VERSION));
  add_row(tr("Assets"), about_info_.assets);
  QMessageBox::about(
      this, tr("About Hourglass Studio"),
      tr("<h3>Hourglass Studio %1</h3>"
         "<p>Train, watch, sample and inspect hierarchical transformers (Hourglass; Nawrot et al., "
         "2021).</p><table>%2</table><p>Free software under the MIT License: the LICENSE file of "
         "the source, installed as /usr/share/doc/hourglass-studio/copyright.</p>")
          .arg(QApplication::applicationVersion(), rows));
}

void MainWindow::show_guide() {
  if (!guide_) {
    guide_ = new QDialog(this);
    guide_->setObjectName(QStringLiteral("guide_dialog"));
    guide_->setWindowTitle(tr("Hourglass Studio Guide"));
    auto* browser = new QTextBrowser;
    browser->setObjectName(QStringLiteral("guide_text"));
    QFile file(QStringLiteral(":/docs/GUIDE.md"));
    if (file.open(QIODevice::ReadOnly))
      browser->setMarkdown(QString::fromUtf8(file.readAll()));
    else  // a build without its resources: say where the page lives instead of showing nothing
      browser->setPlainText(
          tr("The guide is missing from this build; it is docs/GUIDE.md in the "
             "source."));
    auto* layout = new QVBoxLayout(guide_);
    layout->addWidget(browser);
    guide_->resize(760, 640);
  }
  guide_->show();
  guide_->raise();
  guide_->activateWindow();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState());
  QMainWindow::closeEvent(event);
}

}  // namespace hg
