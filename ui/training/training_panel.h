// The Training panel: start/pause/resume/stop/save buttons, the live curves of one or more runs
// overlaid (an ImGuiCanvas drawing CurvesView), the latest sample of the current run, CSV and PNG
// export, and errors shown in place. Curves always come from following run directories
// (RunFollower), the studio's own runs included, so a CLI run and a studio run look the same. Holds
// no trainer and starts nothing: the buttons are the window's actions.
#pragma once

#include <QMap>
#include <QString>
#include <QWidget>

#include "ui/training/curves.h"

class QAction;
class QComboBox;
class QLabel;
class QLayout;
class QPlainTextEdit;
class QStackedWidget;
class ImGuiCanvas;

namespace hg {

class RunFollower;

class TrainingPanel : public QWidget {
  Q_OBJECT

 public:
  explicit TrainingPanel(QWidget* parent = nullptr);

  // Buttons for the window's actions, so menu, shortcut and button share one enabled state.
  void set_actions(const QList<QAction*>& actions);

  // Follows run_dir (its curves join the others; its samples and `info` become the ones shown;
  // empty info: a line made from its config.json). Following a run already followed only makes
  // it the current one.
  void follow_run(const QString& run_dir, const QString& info = {});
  void close_run(const QString& run_dir);
  QStringList runs() const { return followers_.keys(); }
  QString current_run() const { return current_run_; }
  // Polls every followed run now instead of at the next timer tick.
  void poll_now();

  const CurvesSnapshot& snapshot() const { return snapshot_; }
  // Points of one metric of one run (0 when absent); tests wait on it.
  int point_count(const QString& run_dir, const char* metric) const;
  CurvesView& view() { return view_; }
  ImGuiCanvas* canvas() const { return canvas_; }

  void show_error(const QString& message);  // an in-place banner, until dismissed or replaced
  void clear_error();
  QString error_text() const;
  QString sample_path() const { return sample_path_; }

  bool export_csv(const QString& path) const;  // CurvesView::csv of everything shown
  bool export_png(const QString& path);        // the canvas as drawn
  void ask_export_csv();                       // with a file dialog
  void ask_export_png();

 Q_SIGNALS:
  void curves_changed();  // points were added or a run was reset/closed
  void sample_changed(const QString& path);

 private:
  struct Followed {
    RunFollower* follower = nullptr;
    std::string label;  // the run's name in the legend and the CSV
    QString info;       // one line above the curves: folder, data, model
    // From config.json, to give old metrics lines their tokens and FLOPs; 0 until it is read.
    int64_t tokens_per_step = 0;
    double flops_per_token = 0.0;
  };
  // Reads run_dir's config.json once it exists: tokens per step, FLOPs per token, the data kind.
  const Followed& read_run_facts(const QString& run_dir);
  // The panel top to bottom: action buttons and run list, error banner, run line, then the curves
  // canvas above the latest sample.
  QLayout* build_top_row();
  QWidget* build_error_box();
  QLabel* build_run_info();
  ImGuiCanvas* build_curves_canvas();
  QWidget* build_sample_box();

  std::string label_for(const QString& run_dir) const;
  void drop_series(const std::string& label);
  void show_sample(const QString& path);
  void refresh_run_list();
  void show_current();  // info line and sample of current_run_

  QMap<QString, Followed> followers_;  // by run directory
  QString current_run_;
  CurvesSnapshot snapshot_;
  CurvesView view_;
  QString sample_path_;

  QWidget* buttons_ = nullptr;
  QLabel* error_ = nullptr;
  QWidget* error_box_ = nullptr;
  QLabel* run_info_ = nullptr;
  QComboBox* run_list_ = nullptr;
  ImGuiCanvas* canvas_ = nullptr;
  QLabel* sample_title_ = nullptr;
  QStackedWidget* sample_stack_ = nullptr;
  QPlainTextEdit* sample_text_ = nullptr;
  QLabel* sample_image_ = nullptr;
};

}  // namespace hg
