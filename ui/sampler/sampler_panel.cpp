// The Sampler panel: its Qt controls, the list of model sources (demos, the open run's checkpoints,
// opened files), and the job life cycle (start, streamed steps, finish, status). Samples arrive
// from the controller as SampleStep values; nothing here touches torch or a worker thread. The
// completion canvas, saving and the canvas frame are in sampler_panel_canvas.cpp.
#include "ui/sampler/sampler_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>

#include "model/core/run_config.h"
#include "ui/imgui/imgui_canvas.h"

namespace hg {
namespace {

constexpr int kPathRole = Qt::UserRole;
constexpr int kBrowseRole = Qt::UserRole + 1;  // the "Open weights file…" entry
constexpr int kDefaultImageSamples = 4;

// The checkpoints of a run, newest first, from RUN/checkpoints/step_N.json (written last, so a
// listed checkpoint is complete).
std::vector<qint64> checkpoint_steps(const QString& run_dir) {
  std::vector<qint64> steps;
  const QRegularExpression name(QStringLiteral("^step_(\\d+)\\.json$"));
  for (const QString& file : QDir(run_dir + QStringLiteral("/checkpoints"))
                                 .entryList({QStringLiteral("step_*.json")}, QDir::Files)) {
    const auto match = name.match(file);
    if (match.hasMatch()) steps.push_back(match.captured(1).toLongLong());
  }
  std::sort(steps.rbegin(), steps.rend());
  return steps;
}

QString checkpoint_weights(const QString& run_dir, qint64 step) {
  return QStringLiteral("%1/checkpoints/step_%2.safetensors")
      .arg(run_dir)
      .arg(step, 8, 10, QLatin1Char('0'));
}

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
  const int controls_width = scroll->widget()->sizeHint().width() + 20;
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
  checkpoint_timer_ = new QTimer(this);  // the trainer saves checkpoints without telling us
  checkpoint_timer_->setInterval(3000);
  connect(checkpoint_timer_, &QTimer::timeout, this, &SamplerPanel::refresh_checkpoints);

  rebuild_sources();
  source_->setCurrentIndex(std::max(0, source_->findData(demo_model(QStringLiteral("demo-text")))));
  set_mode_for(info_);
  update_buttons();
}

SamplerPanel::~SamplerPanel() {
  if (dataset_thread_) dataset_thread_->wait();
}

QString SamplerPanel::demo_model(const QString& name) {
  const QString dir = QString::fromStdString(assets_dir());
  const QString path = dir + QStringLiteral("/models/") + name + QStringLiteral(".safetensors");
  return !dir.isEmpty() && QFileInfo::exists(path) ? QFileInfo(path).absoluteFilePath() : QString();
}

void SamplerPanel::rebuild_sources() {
  const QString chosen = source();
  const QSignalBlocker block(source_);
  source_->clear();
  const std::pair<QString, QString> demos[] = {
      {QStringLiteral("demo-text"), tr("Demo: text (fortunes)")},
      {QStringLiteral("demo-fashion"), tr("Demo: 32x32 images (Fashion-MNIST)")}};
  for (const auto& [name, label] : demos) {
    const QString path = demo_model(name);
    source_->addItem(label, path);
    if (path.isEmpty()) {  // an install without assets: listed, but not choosable
      auto* item = qobject_cast<QStandardItemModel*>(source_->model());
      if (item) item->item(source_->count() - 1)->setEnabled(false);
    }
  }
  if (!run_dir_.isEmpty()) {
    const QString name = QFileInfo(run_dir_).fileName();
    source_->insertSeparator(source_->count());
    source_->addItem(tr("Run %1: newest checkpoint").arg(name), run_dir_);
    for (qint64 step : run_steps_)
      source_->addItem(tr("Run %1: step %2").arg(name).arg(step),
                       checkpoint_weights(run_dir_, step));
  }
  if (!extra_files_.isEmpty()) source_->insertSeparator(source_->count());
  for (const QString& file : extra_files_)
    source_->addItem(tr("File: %1").arg(QFileInfo(file).fileName()), file);
  source_->insertSeparator(source_->count());
  source_->addItem(tr("Open weights file…"));
  source_->setItemData(source_->count() - 1, true, kBrowseRole);
  const int index = source_->findData(chosen);
  source_->setCurrentIndex(index >= 0 ? index : 0);
}

QString SamplerPanel::source() const {
  return source_ ? source_->currentData(kPathRole).toString() : QString();
}

void SamplerPanel::set_run_dir(const QString& run_dir) {
  run_dir_ = QFileInfo(run_dir).absoluteFilePath();
  run_steps_ = checkpoint_steps(run_dir_);
  rebuild_sources();
  checkpoint_timer_->start();
}

void SamplerPanel::refresh_checkpoints() {
  if (run_dir_.isEmpty()) return;
  std::vector<qint64> steps = checkpoint_steps(run_dir_);
  if (steps == run_steps_) return;
  run_steps_ = std::move(steps);
  rebuild_sources();
}

void SamplerPanel::select_source(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  int index = source_->findData(absolute);
  if (index < 0 && QFileInfo(absolute).isDir()) {
    set_run_dir(absolute);
    index = source_->findData(absolute);
  }
  if (index < 0) {
    extra_files_.append(absolute);
    rebuild_sources();
    index = source_->findData(absolute);
  }
  source_->setCurrentIndex(index);
  load_current();
}

void SamplerPanel::source_activated(int index) {
  if (source_->itemData(index, kBrowseRole).toBool()) {
    const QString file = QFileDialog::getOpenFileName(this, tr("Open weights"), run_dir_,
                                                      tr("Weights (*.safetensors)"));
    if (file.isEmpty()) {  // back to the model in use
      const int previous = source_->findData(info_.source);
      source_->setCurrentIndex(std::max(0, previous));
      return;
    }
    select_source(file);
    return;
  }
  load_current();
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
