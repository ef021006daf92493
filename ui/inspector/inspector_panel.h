// The Inspector panel: which model (a run folder, a checkpoint, or the run the studio is training)
// and which input (a typed text, a piece or an image of the dataset, an image file, the run's
// latest sample), and an ImGuiCanvas drawing InspectorView from the last snapshot. It asks for work
// through signals and shows what it is handed; it owns no worker and no model (app/inspect_worker.h
// does the loading and the forward pass).
#pragma once

#include <QString>
#include <QWidget>

#include "ui/inspector/inspect_types.h"
#include "ui/inspector/inspector_view.h"

class ImGuiCanvas;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QStackedWidget;

namespace hg {

class ModelPicker;

class InspectorPanel : public QWidget {
  Q_OBJECT

 public:
  enum class Mode { kText = 0, kDataset, kImageFile, kLatestSample };

  explicit InspectorPanel(QWidget* parent = nullptr);

  // A run directory (its newest checkpoint at each inspection) or a .safetensors file; opens it.
  // The picker (ui/sampler/model_picker.h, the Sampler's) also lists the demo models and the
  // open run's checkpoints.
  void set_source(const QString& source);
  QString source() const;
  void set_run_dir(const QString& run_dir);  // the run whose checkpoints the picker lists
  // Asks to open the source shown (at start: the bundled demo text model, when installed).
  void open_source() { source_edited(); }
  void set_mode(Mode mode);
  Mode mode() const;
  void set_text(const QString& text);
  void set_dataset(const QString& path, int index);
  void set_image_file(const QString& path);
  // Asks for an inspection of the current model and input (the Inspect button).
  void inspect_now();

  // From the studio: the run being trained, and its checkpoints. With "follow" on, the panel
  // switches to the training run and inspects each checkpoint as it is saved, the first included.
  void set_training_run(const QString& run_dir);
  void on_training_checkpoint(const QString& run_dir);
  void set_follow(bool on);
  // The run's newest sample file (a PNG grid or a .txt), offered as an input.
  void set_latest_sample(const QString& path);

  // From the worker.
  void show_model(hg::InspectModelInfoPtr info);
  void show_snapshot(hg::InspectSnapshotPtr snapshot);
  void show_error(const QString& message);
  void set_busy(bool busy);

  const InspectSnapshot* snapshot() const { return snapshot_.get(); }
  const InspectModelInfo* model() const { return model_.get(); }
  InspectorView& view() { return view_; }
  ImGuiCanvas* canvas() const { return canvas_; }
  QString status_text() const;
  bool status_is_error() const;  // shown in red

 Q_SIGNALS:
  void open_requested(const QString& source);
  void inspect_requested(const hg::InspectRequest& request);
  void cancel_requested();

 private:
  // The panel top to bottom: the model row, the input row, the status line and the canvas.
  QWidget* build_model_row();
  QWidget* build_input_row();
  QStackedWidget* build_input_pages();
  QLabel* build_status_label();
  ImGuiCanvas* build_canvas();

  void choose_image_file();
  void follow_toggled(bool on);
  void source_edited();
  void set_status(const QString& text, bool error);
  void update_mode_for_model();
  void update_model_line();
  bool make_request(InspectRequest* request);  // false (with a status) when something is missing
  bool make_sample_request(InspectRequest* request);  // the Latest sample input

  InspectModelInfoPtr model_;
  InspectSnapshotPtr snapshot_;
  InspectorView view_;
  QString opened_source_;  // the source last asked to open
  QString training_run_;
  QString latest_sample_;
  bool busy_ = false;        // the worker has an open or an inspection queued or running
  bool inspecting_ = false;  // an inspection was asked for and has not answered yet

  ModelPicker* source_ = nullptr;
  QPushButton* training_ = nullptr;
  QCheckBox* follow_ = nullptr;
  QLabel* model_info_ = nullptr;
  QComboBox* mode_ = nullptr;
  QStackedWidget* inputs_ = nullptr;
  QLineEdit* text_ = nullptr;
  QLineEdit* data_ = nullptr;
  QSpinBox* index_ = nullptr;
  QLineEdit* image_ = nullptr;
  QLabel* sample_ = nullptr;
  QPushButton* inspect_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QLabel* status_ = nullptr;
  ImGuiCanvas* canvas_ = nullptr;
};

}  // namespace hg
