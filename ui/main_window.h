// The studio's main window: the Run, Training, Inspector and Sampler panels in docks the user can
// rearrange, menus with shortcuts, a status bar (device, memory, run state, step), and geometry,
// dock layout and recent runs kept in QSettings. It asks for training through signals and shows
// what it is told; it owns no worker (app/studio.cpp wires it to the Controller).
#pragma once

#include <QMainWindow>
#include <QStringList>

#include "ui/training/studio_types.h"

class QAction;
class QApplication;
class QDialog;
class QDockWidget;
class QLabel;
class QMenu;

namespace hg {

class InspectorPanel;
class RunPanel;
class SamplerPanel;
class TrainingPanel;

// Fusion with a dark palette: the curves canvas is dark, the widgets around it match.
void apply_studio_style(QApplication& app);

// What Help -> About shows besides the version and Qt's and ImGui's: plain strings that app/ reads
// from libtorch (app/build_info.h), since this window never sees torch.
struct AboutInfo {
  QString libtorch;       // "1.13.0 (CPU)"
  QString device;         // "cpu (1 threads)"
  QString attention;      // "explicit" or "scaled_dot_product_attention"
  QString build_options;  // "Release, GUI on, g++ 12.2.0"
  QString assets;         // where presets and demo models are read from
};

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  static constexpr int kMaxRecentRuns = 10;

  explicit MainWindow(QWidget* parent = nullptr);

  RunPanel* run_panel() const { return run_panel_; }
  TrainingPanel* training_panel() const { return training_panel_; }
  InspectorPanel* inspector_panel() const { return inspector_panel_; }
  SamplerPanel* sampler_panel() const { return sampler_panel_; }
  QDialog* guide() const { return guide_; }  // null until Help -> Guide opens it
  QAction* start_action() const { return start_; }
  QAction* pause_action() const { return pause_; }
  QAction* resume_action() const { return resume_; }
  QAction* stop_action() const { return stop_; }
  QAction* save_action() const { return save_; }
  RunState run_state() const { return state_; }
  QStringList recent_runs() const;

  void set_device(const QString& device);
  void set_about_info(const AboutInfo& info) { about_info_ = info; }

  // From the controller.
  void set_run_state(hg::RunState state);
  void on_run_started(const QString& run_dir, const QString& description, const QString& device,
                      qint64 total_steps);
  void on_metrics(const hg::Metrics& m);
  void on_checkpoint_saved(qint64 step, const QString& run_dir);
  void on_run_finished(const QString& run_dir, qint64 step, bool completed);
  void show_error(const QString& message);

  // Shows a run directory's curves and follows it; remembers it among the recent runs. `info`
  // is the line shown above the curves (empty: made from the run's config.json).
  void open_run(const QString& run_dir, const QString& info = {});
  // Opens the newest of the recent runs, when its folder still exists: a restarted studio shows
  // where the last session left off. False when there is none.
  bool reopen_last_run();

 Q_SIGNALS:
  void start_requested(const hg::RunConfig& config, const QString& run_dir);
  void continue_requested(const QString& run_dir);
  void pause_requested();
  void resume_requested();
  void stop_requested();
  void save_requested();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void create_docks();
  // A dock named `name` (its key in saveState()) holding `panel`.
  QDockWidget* make_dock(const QString& title, const QString& name, QWidget* panel);
  // Adds `dock` on the right as a tab behind the Training dock, which stays in front.
  QDockWidget* add_tab_behind_training(QDockWidget* dock);
  void reset_layout();
  void create_actions();
  void create_menus();
  void create_status_bar();
  void update_actions();
  void update_memory();
  void add_recent_run(const QString& run_dir);
  void rebuild_recent_menu();
  void choose_run_to_open();
  void choose_run_to_continue();
  void new_run();
  void about();
  void show_guide();  // Help -> Guide: docs/GUIDE.md, built in

  RunPanel* run_panel_ = nullptr;
  TrainingPanel* training_panel_ = nullptr;
  QDockWidget* run_dock_ = nullptr;
  QDockWidget* training_dock_ = nullptr;
  InspectorPanel* inspector_panel_ = nullptr;
  QDockWidget* inspector_dock_ = nullptr;
  SamplerPanel* sampler_panel_ = nullptr;
  QDockWidget* sampler_dock_ = nullptr;
  QMenu* recent_menu_ = nullptr;
  QDialog* guide_ = nullptr;

  QAction* new_run_ = nullptr;
  QAction* open_run_ = nullptr;
  QAction* quit_ = nullptr;
  QAction* start_ = nullptr;
  QAction* pause_ = nullptr;
  QAction* resume_ = nullptr;
  QAction* stop_ = nullptr;
  QAction* save_ = nullptr;
  QAction* continue_ = nullptr;

  QLabel* device_label_ = nullptr;
  QLabel* memory_label_ = nullptr;
  QLabel* state_label_ = nullptr;
  QLabel* step_label_ = nullptr;

  RunState state_ = RunState::kIdle;
  qint64 total_steps_ = 0;
  qint64 gpu_peak_bytes_ = 0;
  AboutInfo about_info_;
};

}  // namespace hg
