// The Sampler panel: Qt controls (model source, prompt, temperature, top-k, top-p, seed, length, n,
// start/stop, save) beside an ImGui canvas with the text view, or for image models the completion
// canvas and the sample grid. It asks for models and samples through signals and draws what it is
// told; it owns no thread and no model (app/studio.cpp wires it to the SamplerController).
#pragma once

#include <QElapsedTimer>
#include <QWidget>
#include <functional>
#include <vector>

#include "ui/sampler/image_sample_view.h"
#include "ui/sampler/model_picker.h"
#include "ui/sampler/paint_view.h"
#include "ui/sampler/partial_image.h"
#include "ui/sampler/sample_snapshot.h"
#include "ui/sampler/sampler_types.h"
#include "ui/sampler/text_sample_view.h"

class ImGuiCanvas;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QHBoxLayout;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QThread;
class QTimer;
class QToolButton;
class QVBoxLayout;

namespace hg {

class SamplerPanel : public QWidget {
  Q_OBJECT

 public:
  explicit SamplerPanel(QWidget* parent = nullptr);
  ~SamplerPanel() override;  // waits for a dataset still loading

  // assets/models/<name>.safetensors, or "" when the assets folder does not have it.
  static QString demo_model(const QString& name) { return ModelPicker::demo_model(name); }

  // Model sources (ui/sampler/model_picker.h): the demo models, the open run (its newest
  // checkpoint, and each checkpoint), and files the user opened. The chosen one is loaded at once
  // and used by Start.
  void set_run_dir(const QString& run_dir) { source_->set_run_dir(run_dir); }
  // The open run's checkpoints, again (a checkpoint was saved).
  void refresh_checkpoints() { source_->refresh_checkpoints(); }
  void select_source(const QString& path) { source_->select_source(path); }  // then loads it
  QString source() const { return source_ ? source_->source() : QString(); }
  void load_current();  // asks for the chosen source (on opening, and after an error)

  // From the SamplerController.
  void on_model_loaded(const hg::SamplerModelInfo& info);
  void on_job_queued(int job);
  void on_job_started(int job, const hg::SamplerModelInfo& info);
  void on_step(int job, const hg::SampleStep& step);
  void on_job_finished(int job, bool completed, double seconds, qint64 positions);
  void show_error(const QString& message);  // in place, until the next action
  QString error_text() const;

  // The controls, as a user drives them.
  void start();
  void stop();
  void set_prompt(const QString& prompt);
  void set_completion(bool on);
  bool load_canvas_png(const QString& path);  // false and the error shown when unreadable
  void use_dataset_image(int index);          // the test split of the default dataset, loaded once
  void keep_top_rows(int rows);
  bool save_png(const QString& path);           // the grid; false and the error shown on failure
  bool save_selected_png(const QString& path);  // the selected tile, 32x32
  bool save_text(const QString& path);

  const SamplerModelInfo& model_info() const { return info_; }
  const SampleSnapshot& snapshot() const { return snapshot_; }
  PartialImage& partial_image() { return partial_; }
  TextSampleView& text_view() { return text_view_; }
  ImageSampleView& image_view() { return image_view_; }
  PaintView& paint_view() { return paint_view_; }
  ImGuiCanvas* canvas() const { return canvas_; }
  bool is_sampling() const { return job_ >= 0; }
  int dataset_size() const { return dataset_count_; }

 Q_SIGNALS:
  void load_requested(const QString& source);
  void start_requested(const hg::SampleJob& job);
  void stop_requested();
  void model_changed(const hg::SamplerModelInfo& info);
  void sampling_finished(bool completed);
  void canvas_changed();  // the partial image was loaded, painted or cut

 private:
  // The controls column (sampler_panel_controls.cpp), top to bottom.
  QWidget* build_controls();
  void add_model_rows(QVBoxLayout* column);
  QGroupBox* build_text_group();
  QGroupBox* build_image_group();
  QPushButton* build_dataset_picker();
  QHBoxLayout* build_brush_row();
  QGroupBox* build_settings_group();
  void add_button_rows(QVBoxLayout* column);

  void set_mode_for(const SamplerModelInfo& info);
  void update_buttons();
  void update_status();
  void draw_frame();  // the canvas's frame function
  void draw_completion_canvas(bool notes_beside);
  void ask_save();
  // Writes image() (the grid or one tile) as a PNG: false when there are no image samples, and
  // false with the error shown when it cannot be written.
  bool save_image_png(const QString& path, const std::function<Image()>& image);
  void ask_save_selected();
  void ask_load_png();
  void choose_color();
  void dataset_loaded(const QString& path, std::vector<uint8_t> pixels, int count, int channels,
                      const QString& error);
  void show_dataset_image(int index);

  QString loading_source_;  // asked for, not loaded yet ("" when none)

  // Model and samples.
  SamplerModelInfo info_;
  SampleSnapshot snapshot_;
  int job_ = -1;           // the job whose signals are shown (-1: none running)
  SampleJob pending_;      // the job queued last, until it starts
  QElapsedTimer clock_;    // since the job started
  QString finished_note_;  // the status line of the last job

  // Completion canvas and its dataset.
  PartialImage partial_;
  QThread* dataset_thread_ = nullptr;
  QString dataset_path_;
  std::vector<uint8_t> dataset_pixels_;  // the test split, 32x32xC per image
  int dataset_count_ = 0, dataset_channels_ = 0;
  int dataset_wanted_ = -1;  // the image to show once loading finishes

  // Visualizers.
  TextSampleView text_view_;
  ImageSampleView image_view_;
  PaintView paint_view_;
  bool canvas_was_active_ = false;  // completion on in the last frame (opens the canvas header)
  bool canvas_header_set_ = false;

  // Widgets.
  ModelPicker* source_ = nullptr;
  QLabel* model_label_ = nullptr;
  QLabel* error_ = nullptr;
  QGroupBox* text_group_ = nullptr;
  QPlainTextEdit* prompt_ = nullptr;
  QGroupBox* image_group_ = nullptr;
  QCheckBox* complete_ = nullptr;
  QSpinBox* dataset_index_ = nullptr;
  QToolButton* paint_tool_ = nullptr;
  QToolButton* erase_tool_ = nullptr;
  QSpinBox* brush_size_ = nullptr;
  QToolButton* color_ = nullptr;
  QSpinBox* keep_rows_ = nullptr;
  QDoubleSpinBox* temperature_ = nullptr;
  QSpinBox* top_k_ = nullptr;
  QDoubleSpinBox* top_p_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QCheckBox* next_seed_ = nullptr;
  QSpinBox* length_ = nullptr;
  QSpinBox* n_ = nullptr;
  QPushButton* start_ = nullptr;
  QPushButton* stop_ = nullptr;
  QPushButton* save_ = nullptr;
  QPushButton* save_selected_ = nullptr;
  QLabel* status_ = nullptr;
  QTimer* status_timer_ = nullptr;
  ImGuiCanvas* canvas_ = nullptr;
};

}  // namespace hg
