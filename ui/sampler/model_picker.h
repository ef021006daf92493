// The model picker the Sampler and the Inspector share: a combo box listing the bundled demo
// models, the open run (its newest checkpoint, then each checkpoint, re-read every few seconds
// while the trainer saves new ones), the weights files the user opened, and entries that open a
// file or a run folder. It says which source was chosen; it loads nothing (each panel asks its own
// worker).
#pragma once

#include <QComboBox>
#include <QString>
#include <QStringList>
#include <vector>

class QTimer;

namespace hg {

class ModelPicker : public QComboBox {
  Q_OBJECT

 public:
  explicit ModelPicker(QWidget* parent = nullptr);

  // assets/models/<name>.safetensors, or "" when the assets folder does not have it.
  static QString demo_model(const QString& name);

  // The run whose checkpoints are listed ("" for none); listed at once and watched from then on.
  void set_run_dir(const QString& run_dir);
  QString run_dir() const { return run_dir_; }
  // The run's checkpoints listed now, newest first (empty before the first is saved).
  const std::vector<qint64>& run_steps() const { return run_steps_; }
  void refresh_checkpoints();  // the run's checkpoints again (one was saved)
  // Selects `path` (a weights file or a run folder), adding it when not listed, then chosen().
  void select_source(const QString& path);
  // Selects `path` when listed (or adds it), without emitting chosen().
  void show_source(const QString& path);
  // The chosen source: a weights file, or a run folder (its newest checkpoint at each use).
  QString source() const;

 Q_SIGNALS:
  void chosen(const QString& source);

 private:
  void rebuild();
  void on_activated(int index);
  int index_of(const QString& path);  // adds `path` (a file, or a folder as the run) when absent

  QString run_dir_;
  std::vector<qint64> run_steps_;  // checkpoints listed for run_dir_, newest first
  QStringList extra_files_;        // weights files the user opened
  QString last_chosen_;            // where a cancelled file dialog goes back to
  QTimer* checkpoint_timer_ = nullptr;
};

}  // namespace hg
