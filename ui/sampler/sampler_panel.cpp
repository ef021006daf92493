// The Sampler panel: its Qt controls, loading the model its picker chooses
// (ui/sampler/model_picker.h), and the job life cycle (start, streamed steps, finish, status).
// Samples arrive from the controller as SampleStep values; nothing here touches torch or a worker
// thread. The completion canvas, saving and the canvas frame are in sampler_panel_canvas.cpp.
#include "ui/sampler/sampler_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QGroupBox>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>

#include "model/core/run_config.h"
#include "ui/imgui/imgui_canvas.h"

namespace hg {
namespace {

constexpr int kDefaultImageSamples = 4;

}  // namespace

SamplerPanel::SamplerPanel(QWidget* parent) : QWidget(parent) {
  canvas_ = new ImGuiCanvas;
  canvas_->setObjectName(QStringLiteral("sampler_canvas"));
  canvas_->setMinimumSize(200, 200);
  canvas_->set_frame([this] { draw_frame(); });

  auto* scroll = new QScrollArea;
  scroll->setWidget(build_controls());
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  // The controls at their smallest, so that the canvas gets the rest of a narrow dock.
  const int controls_width = scroll->widget()->minimumSizeHint().width() + 20;
  scroll->setMinimumWidth(controls_width);
  auto* splitter = new QSplitter(Qt::Horizontal);
  splitter->addWidget(scroll);
  splitter->addWidget(canvas_);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);
  splitter->setSizes({controls_width, 4 * controls_width});  // the canvas takes what is left
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(splitter);

  status_timer_ = new QTimer(this);
  status_timer_->setInterval(150);
  connect(status_timer_, &QTimer::timeout, this, &SamplerPanel::update_status);

  set_mode_for(info_);
  update_buttons();
}

SamplerPanel::~SamplerPanel() {
  if (dataset_thread_) dataset_thread_->wait();
}

void SamplerPanel::load_current() {
  const QString path = source();
  if (path.isEmpty()) return;
  if (job_ >= 0) stop();  // its samples would be of the model being replaced
  error_->hide();
  loading_source_ = path;
  model_label_->setText(tr("Loading %1…").arg(QFileInfo(path).fileName()));
  update_buttons();
  Q_EMIT load_requested(path);
}

void SamplerPanel::on_model_loaded(const SamplerModelInfo& info) {
  if (info.source != loading_source_) return;  // an older request
  loading_source_.clear();
  set_mode_for(info);
  Q_EMIT model_changed(info_);
}

void SamplerPanel::set_mode_for(const SamplerModelInfo& info) {
  const bool mode_changed = info.is_image() != info_.is_image() || info_.seq_len == 0;
  info_ = info;
  model_label_->setText(info.seq_len > 0 ? info.description : tr("No model loaded."));
  text_group_->setVisible(!info.is_image());
  image_group_->setVisible(info.is_image());
  save_selected_->setVisible(info.is_image());
  save_->setText(info.is_image() ? tr("Save PNG…") : tr("Save text…"));
  save_->setToolTip(info.is_image() ? tr("The grid of samples as a PNG (32x32 tiles)")
                                    : tr("The samples as a text file"));
  length_->setEnabled(!info.is_image());
  if (info.is_image()) {
    length_->setRange(1, std::max<int>(1, static_cast<int>(info.seq_len)));
    length_->setValue(static_cast<int>(info.seq_len));  // a whole image, always
    if (partial_.channels != info.channels) partial_.reset(info.channels);
  } else if (info.seq_len > 0) {
    length_->setRange(1, static_cast<int>(info.seq_len));
  }
  if (mode_changed) {  // each mode starts from its own sensible count and length
    n_->setRange(1, info.is_image() ? 64 : 16);
    n_->setValue(info.is_image() ? kDefaultImageSamples : 1);
    if (!info.is_image()) length_->setValue(length_->maximum());
    snapshot_.clear();
  }
  update_buttons();
}

void SamplerPanel::update_buttons() {
  start_->setEnabled(info_.seq_len > 0 && loading_source_.isEmpty());
  stop_->setEnabled(job_ >= 0);
  save_->setEnabled(!snapshot_.empty());
  save_selected_->setEnabled(!snapshot_.empty());
}

void SamplerPanel::start() {
  if (info_.seq_len <= 0 || !loading_source_.isEmpty()) return;
  error_->hide();
  if (next_seed_->isChecked())
    seed_->setValue(static_cast<int>(QRandomGenerator::global()->bounded(1 << 30)));
  SampleJob job;
  job.source = source();
  job.options.n = n_->value();
  job.options.temperature = temperature_->value();
  job.options.top_k = top_k_->value();
  job.options.top_p = top_p_->value();
  job.options.seed = static_cast<uint64_t>(seed_->value());
  if (info_.is_image()) {
    job.options.length = info_.seq_len;
    if (complete_->isChecked()) job.known = partial_.known_tokens();
  } else {
    const QByteArray prompt = prompt_->toPlainText().toUtf8();
    job.options.length = length_->value();
    if (prompt.size() >= job.options.length) {
      show_error(tr("The prompt is %1 bytes: raise Length above that (this model reads at most "
                    "%2), or shorten the prompt.")
                     .arg(prompt.size())
                     .arg(info_.seq_len));
      return;
    }
    job.known.assign(prompt.begin(), prompt.end());
    for (int& byte : job.known) byte &= 0xff;  // QByteArray holds signed chars
  }
  pending_ = job;
  Q_EMIT start_requested(job);  // the wiring answers with on_job_queued
}

void SamplerPanel::stop() { Q_EMIT stop_requested(); }

void SamplerPanel::on_job_queued(int job) {
  job_ = job;
  snapshot_.begin(pending_.options.n, pending_.options.length, info_.channels, pending_.known);
  text_view_.follow = true;
  finished_note_.clear();
  clock_.start();
  status_timer_->start();
  update_status();
  update_buttons();
  canvas_->update();
}

void SamplerPanel::on_job_started(int job, const SamplerModelInfo& info) {
  if (job != job_) return;
  if (info.weights != info_.weights) {  // "newest checkpoint": the trainer saved another
    info_.weights = info.weights;
    info_.step = info.step;
    info_.description = info.description;
    model_label_->setText(info.description);
  }
  clock_.start();  // loading is not sampling time
}

void SamplerPanel::on_step(int job, const SampleStep& step) {
  if (job != job_) return;
  snapshot_.add(step);
  canvas_->update();
}

void SamplerPanel::on_job_finished(int job, bool completed, double seconds, qint64 positions) {
  if (job != job_) return;
  job_ = -1;
  status_timer_->stop();
  const double tokens = static_cast<double>(positions) * snapshot_.n;
  const QString rate = seconds > 0 ? tr("%1 tokens/s").arg(tokens / seconds, 0, 'f', 0) : QString();
  finished_note_ =
      completed ? tr("Done: %1 × %2 tokens in %3 s (%4).")
                      .arg(snapshot_.n)
                      .arg(snapshot_.length)
                      .arg(seconds, 0, 'f', 1)
                      .arg(rate)
                : tr("Stopped after %1 of %2 positions.").arg(snapshot_.done).arg(snapshot_.length);
  update_status();
  update_buttons();
  canvas_->update();
  Q_EMIT sampling_finished(completed);
}

void SamplerPanel::update_status() {
  if (job_ < 0) {
    status_->setText(finished_note_);
    return;
  }
  const double seconds = clock_.elapsed() / 1000.0;
  const double tokens = static_cast<double>(snapshot_.done - snapshot_.prompt) * snapshot_.n;
  status_->setText(tr("Sampling: %1 of %2 positions, %3 tokens/s (seed %4)")
                       .arg(snapshot_.done)
                       .arg(snapshot_.length)
                       .arg(seconds > 0 ? tokens / seconds : 0.0, 0, 'f', 0)
                       .arg(pending_.options.seed));
}

void SamplerPanel::show_error(const QString& message) {
  error_->setText(message);
  error_->show();
  if (!loading_source_.isEmpty()) {  // the load failed: the model held before stays in use
    loading_source_.clear();
    model_label_->setText(info_.seq_len > 0 ? info_.description : tr("No model loaded."));
    update_buttons();
  }
}

QString SamplerPanel::error_text() const { return error_->isHidden() ? QString() : error_->text(); }

void SamplerPanel::set_prompt(const QString& prompt) { prompt_->setPlainText(prompt); }

void SamplerPanel::set_completion(bool on) { complete_->setChecked(on); }

}  // namespace hg
