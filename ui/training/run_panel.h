// The Run panel: the data (the three defaults one click away, or a file or folder), a preset, the
// hierarchy and its shortening/upsampling, width, heads, sequence length, batch, learning rate and
// steps, eval and sample intervals, with parameters and FLOPs per token per level, the vanilla
// model of equal depth beside them, and the run's time and memory, updated as the user types. Edits
// a RunConfig, kept in QSettings between sessions; starts nothing itself.
#pragma once

#include <QWidget>

#include "model/core/run_config.h"

class QAction;
class QComboBox;
class QFormLayout;
class QLabel;
class QLayout;
class QLineEdit;
class QSpinBox;
class QTableWidget;
class QToolButton;

namespace hg {

class RunPanel : public QWidget {
  Q_OBJECT

 public:
  // Opens on the fields of the last session (QSettings), else on the tiny-cpu preset.
  explicit RunPanel(QWidget* parent = nullptr);

  // The config the fields describe: the loaded preset with the fields laid over it.
  RunConfig run_config() const;
  // Fills every field from `config` (keeping it as the base for what the panel does not show).
  void set_run_config(const RunConfig& config);
  // Loads a preset by name into the fields; false (and the error shown) when it cannot be read.
  bool load_preset(const QString& name);
  void set_data_path(const QString& path);
  // A data button: the path, and the preset that fits its kind (text, gray or RGB images) when the
  // fields hold a model of another kind, so images never train on a text model by accident.
  void pick_data(const QString& path, const QString& preset);
  // "about 1.4 s a step on a 2-core CPU, 600 steps in about 14 min; memory about 120 MB".
  QString estimate_text() const;
  // The run directory the user chose; empty means the default folder.
  QString run_dir() const;
  void set_run_dir(const QString& dir);

  // How many CUDA GPUs this build and machine have (0 on Debian's CPU libtorch): decides whether
  // the device field may say "cuda", and whether a preset made for a GPU is about to run on the
  // CPU (then the estimate warns, with the CPU's time per step).
  void set_gpu_count(int count);

  bool is_valid() const { return valid_; }
  QString error_text() const;  // the validation message shown in place; empty when valid
  // A "Start" button at the foot of the panel that triggers `start` (the window's action).
  void set_start_action(QAction* start);
  // Whether no run is in progress: "Compare with vanilla" is enabled only then (and for a valid
  // config whose hierarchy shortens).
  void set_idle(bool idle);
  bool compare_enabled() const;

 Q_SIGNALS:
  void validity_changed(bool valid);
  // "Compare with vanilla": train run_config() and then its vanilla twin of equal depth and width
  // (model/core/config.h, vanilla_twin) into run_dir() (app/controller.h, Controller::compare).
  void compare_requested();

 private:
  // The form, section by section, then the cost table, the error and the Start button.
  void build_ui();
  QLayout* build_data_field();
  QComboBox* build_preset_field();
  void add_model_rows(QFormLayout* form);
  void add_schedule_rows(QFormLayout* form);
  QLayout* build_run_dir_field();
  QTableWidget* build_cost_table();
  QLabel* build_error_label();
  QLabel* build_estimate_label();
  QToolButton* build_start_button();
  QToolButton* build_compare_button();
  void update_compare_button(const RunConfig& config);  // enabled state and the twin it names
  void connect_edits();

  void update_cost();          // validates, fills the cost table, shows or clears the error
  QString data_error() const;  // the data path and run folder, by name only; empty when fine
  void show_data_kind();       // the note under the data path; image data fixes seq_len
  static QString validation_error(const RunConfig& config);
  void fill_cost_table(const RunConfig& config);
  void show_estimate(const RunConfig& config);
  void save_settings() const;                // the fields as a RunConfig, and the run folder
  bool restore_settings();                   // false when none were saved or they no longer parse
  void show_validity(const QString& error);  // the message, the named field in red, the signal
  void choose_data_file();
  void choose_data_folder();
  void choose_run_dir();

  RunConfig base_;  // the preset (or config) the fields were loaded from
  bool valid_ = false;
  bool loading_ = false;  // set_run_config in progress: one update at the end, not per field

  QLineEdit* data_path_ = nullptr;
  QLabel* data_note_ = nullptr;
  QComboBox* preset_ = nullptr;
  QLineEdit* hierarchy_ = nullptr;
  QComboBox* shorten_ = nullptr;
  QComboBox* upsample_ = nullptr;
  QSpinBox* d_model_ = nullptr;
  QSpinBox* heads_ = nullptr;
  QSpinBox* seq_len_ = nullptr;
  QSpinBox* batch_ = nullptr;
  QLineEdit* lr_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QSpinBox* eval_every_ = nullptr;
  QSpinBox* sample_every_ = nullptr;
  QComboBox* device_ = nullptr;
  int gpu_count_ = 0;
  QLineEdit* run_dir_ = nullptr;
  QTableWidget* cost_ = nullptr;
  QLabel* error_ = nullptr;
  QLabel* estimate_ = nullptr;
  QToolButton* start_ = nullptr;
  QToolButton* compare_ = nullptr;
  bool idle_ = true;
};

}  // namespace hg
