// The Training panel: followed runs -> CurvesSnapshot -> CurvesView on an ImGuiCanvas. Curves come
// only from the run folders' metrics.jsonl, never from the trainer directly.
#include "ui/training/training_panel.h"

#include <QAction>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QSplitter>
#include <QStackedWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "model/core/cost.h"
#include "model/core/run_config.h"
#include "model/data/data.h"
#include "ui/imgui/imgui_canvas.h"
#include "ui/training/run_follower.h"

namespace hg {
namespace {

// "/runs/x — fortunes, 1@1 2@3 1@1 (linear/linear), D 128, 600 steps" from a run's config.json,
// with " of 2 x 16 sequences" for a run trained by several processes.
QString describe_run(const QString& run_dir) {
  if (!QFileInfo::exists(run_dir + QStringLiteral("/config.json")))
    return QStringLiteral("%1 (no config.json: curves only)").arg(run_dir);
  try {
    const RunConfig c = run_config_from_json(
        read_json_file((run_dir + QStringLiteral("/config.json")).toStdString()));
    QString text = QStringLiteral("%1 — %2; model %3 (%4/%5), D %6; %7 steps")
                       .arg(run_dir, QString::fromStdString(c.train.data),
                            QString::fromStdString(c.model.hierarchy),
                            QString::fromStdString(to_string(c.model.shorten)),
                            QString::fromStdString(to_string(c.model.upsample)))
                       .arg(c.model.d_model)
                       .arg(c.train.steps);
    if (c.train.gpus > 1)  // a data-parallel run (hourglass train --gpus N)
      text += QStringLiteral(" of %1 x %2 sequences").arg(c.train.gpus).arg(c.train.batch);
    return text;
  } catch (const std::exception& e) {
    return QStringLiteral("%1 (config: %2)").arg(run_dir, QString::fromUtf8(e.what()));
  }
}

// "text, 128 tokens/sample": runs of one kind share a plot (CurvesSnapshot::run_kind).
std::string data_kind(const RunConfig& c) {
  std::string kind = "text";
  try {
    const DataFormat format =
        c.train.format.empty() ? guess_format(c.train.data) : parse_format(c.train.format);
    if (format != DataFormat::kText) kind = to_string(format) == "npz" ? "npz" : "images";
  } catch (const std::exception&) {
    kind = "data";  // the path is gone: the kind is unknown, the length still tells runs apart
  }
  return kind + ", " + std::to_string(c.model.seq_len) + " tokens/sample";
}

}  // namespace

TrainingPanel::TrainingPanel(QWidget* parent) : QWidget(parent) {
  QLayout* top = build_top_row();
  auto* splitter = new QSplitter(Qt::Vertical);
  splitter->addWidget(build_curves_canvas());
  splitter->addWidget(build_sample_box());
  splitter->setStretchFactor(0, 4);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(build_error_box());
  layout->addWidget(build_run_info());
  layout->addWidget(splitter, 1);
}

// The window's action buttons (set_actions adds them), then the run list and Close run.
QLayout* TrainingPanel::build_top_row() {
  buttons_ = new QWidget;
  auto* button_row = new QHBoxLayout(buttons_);
  button_row->setContentsMargins(0, 0, 0, 0);

  run_list_ = new QComboBox;
  run_list_->setObjectName(QStringLiteral("run_list"));
  run_list_->setToolTip(tr("Runs whose curves are shown; the chosen one's samples are shown"));
  run_list_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  run_list_->setMinimumContentsLength(16);
  connect(run_list_, &QComboBox::activated, this,
          [this](int index) { follow_run(run_list_->itemData(index).toString()); });
  auto* close = new QToolButton;
  close->setText(tr("Close run"));
  close->setToolTip(tr("Remove the chosen run's curves (its files stay on disk)"));
  connect(close, &QToolButton::clicked, this, [this] { close_run(current_run_); });
  auto* top = new QHBoxLayout;
  top->addWidget(buttons_);
  top->addStretch(1);
  top->addWidget(run_list_);
  top->addWidget(close);
  return top;
}

// The in-place error banner with its dismiss button; hidden until show_error().
QWidget* TrainingPanel::build_error_box() {
  error_box_ = new QWidget;
  error_box_->setObjectName(QStringLiteral("error_box"));
  error_box_->setStyleSheet(QStringLiteral(
      "#error_box { background: #4a1f1f; border: 1px solid #a33; border-radius: 3px; }"));
  error_ = new QLabel;
  error_->setObjectName(QStringLiteral("training_error"));
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* dismiss = new QToolButton;
  dismiss->setText(QStringLiteral("✕"));
  dismiss->setToolTip(tr("Dismiss"));
  dismiss->setAutoRaise(true);
  connect(dismiss, &QToolButton::clicked, this, &TrainingPanel::clear_error);
  auto* error_row = new QHBoxLayout(error_box_);
  error_row->addWidget(error_, 1);
  error_row->addWidget(dismiss, 0, Qt::AlignTop);
  error_box_->hide();
  return error_box_;
}

QLabel* TrainingPanel::build_run_info() {
  run_info_ = new QLabel(tr("No run yet: press Start, or open a run folder."));
  run_info_->setWordWrap(true);
  run_info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  return run_info_;
}

ImGuiCanvas* TrainingPanel::build_curves_canvas() {
  canvas_ = new ImGuiCanvas;
  canvas_->setObjectName(QStringLiteral("curves_canvas"));
  canvas_->setMinimumSize(320, 200);
  canvas_->set_frame([this] { view_.draw(snapshot_); });
  // Called inside paintGL: the dialogs and the framebuffer grab wait for the next event turn.
  view_.on_export_csv = [this](const std::string&) {
    QTimer::singleShot(0, this, &TrainingPanel::ask_export_csv);
  };
  view_.on_export_png = [this] { QTimer::singleShot(0, this, &TrainingPanel::ask_export_png); };
  return canvas_;
}

// The current run's latest sample: a title over its text or its image.
QWidget* TrainingPanel::build_sample_box() {
  sample_title_ = new QLabel(tr("Sample: none yet"));
  sample_text_ = new QPlainTextEdit;
  sample_text_->setReadOnly(true);
  sample_text_->setPlaceholderText(
      tr("Samples appear here as the run writes them to its samples/ folder (with each "
         "checkpoint, or every sample_every steps)."));
  sample_text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  sample_image_ = new QLabel;
  sample_image_->setAlignment(Qt::AlignCenter);
  sample_stack_ = new QStackedWidget;
  sample_stack_->addWidget(sample_text_);
  sample_stack_->addWidget(sample_image_);
  auto* sample_box = new QWidget;
  auto* sample_layout = new QVBoxLayout(sample_box);
  sample_layout->setContentsMargins(0, 0, 0, 0);
  sample_layout->addWidget(sample_title_);
  sample_layout->addWidget(sample_stack_, 1);
  return sample_box;
}

void TrainingPanel::set_actions(const QList<QAction*>& actions) {
  for (QAction* action : actions) {
    auto* button = new QToolButton;
    button->setDefaultAction(action);
    button->setToolButtonStyle(Qt::ToolButtonTextOnly);
    buttons_->layout()->addWidget(button);
  }
}

std::string TrainingPanel::label_for(const QString& run_dir) const {
  // The folder's name; with its parent's when another run already has that name.
  const QFileInfo info(run_dir);
  QString label = info.fileName().isEmpty() ? run_dir : info.fileName();
  for (const Followed& other : followers_)
    if (other.label == label.toStdString()) {
      label = info.dir().dirName() + QLatin1Char('/') + label;
      break;
    }
  return label.toStdString();
}

void TrainingPanel::follow_run(const QString& dir, const QString& info) {
  const QString run_dir = QFileInfo(dir).absoluteFilePath();
  if (!followers_.contains(run_dir)) {
    Followed followed;
    followed.label = label_for(run_dir);
    followed.follower = new RunFollower(run_dir, this);
    const std::string label = followed.label;
    connect(followed.follower, &RunFollower::reset, this, [this, label] {
      drop_series(label);
      Q_EMIT curves_changed();
    });
    connect(followed.follower, &RunFollower::appended, this,
            [this, run_dir, label](const QList<Metrics>& lines) {
              const Followed& f = read_run_facts(run_dir);
              for (Metrics m : lines) {
                // Lines written before tokens and FLOPs were logged get them from their step.
                if (f.tokens_per_step > 0) fill_compute(m, f.tokens_per_step, f.flops_per_token);
                append_metrics(snapshot_, label, m);
              }
              Q_EMIT curves_changed();
            });
    connect(followed.follower, &RunFollower::line_skipped, this, &TrainingPanel::show_error);
    connect(followed.follower, &RunFollower::sample_written, this,
            [this, run_dir](const QString& path) {
              if (run_dir == current_run_) show_sample(path);
            });
    followers_.insert(run_dir, followed);
  }
  Followed& followed = followers_[run_dir];
  if (!info.isEmpty() || followed.info.isEmpty())
    followed.info = info.isEmpty() ? describe_run(run_dir) : info;
  current_run_ = run_dir;
  show_current();
  refresh_run_list();
}

const TrainingPanel::Followed& TrainingPanel::read_run_facts(const QString& run_dir) {
  Followed& f = followers_[run_dir];
  if (f.tokens_per_step > 0) return f;  // read once: a run's config does not change its kind
  try {
    const RunConfig c = run_config_from_json(
        read_json_file((run_dir + QStringLiteral("/config.json")).toStdString()));
    f.tokens_per_step = tokens_per_step(c);
    f.flops_per_token = training_flops_per_token(c.model);
    snapshot_.run_kind[f.label] = data_kind(c);
  } catch (const std::exception&) {
    // No config.json (yet): the curves show against steps and time; tried again with new lines.
  }
  return f;
}

void TrainingPanel::close_run(const QString& run_dir) {
  auto it = followers_.find(run_dir);
  if (it == followers_.end()) return;
  drop_series(it->label);
  delete it->follower;
  followers_.erase(it);
  if (current_run_ == run_dir) {
    current_run_ = followers_.isEmpty() ? QString() : followers_.lastKey();
    show_current();
  }
  refresh_run_list();
  Q_EMIT curves_changed();
}

void TrainingPanel::show_current() {
  sample_path_.clear();
  sample_title_->setText(tr("Sample: none yet"));
  sample_text_->clear();
  sample_image_->clear();
  if (current_run_.isEmpty()) {
    run_info_->setText(tr("No run yet: press Start, or open a run folder."));
    return;
  }
  RunFollower* follower = followers_[current_run_].follower;
  run_info_->setText(followers_[current_run_].info);
  follower->rescan_samples();  // the newest sample shows at once
  follower->poll();            // and what is on disk, not in 500 ms
}

void TrainingPanel::poll_now() {
  for (const Followed& followed : followers_) followed.follower->poll();
}

void TrainingPanel::refresh_run_list() {
  const QSignalBlocker block(run_list_);
  run_list_->clear();
  for (auto it = followers_.begin(); it != followers_.end(); ++it)
    run_list_->addItem(QString::fromStdString(it->label), it.key());
  run_list_->setCurrentIndex(run_list_->findData(current_run_));
}

void TrainingPanel::drop_series(const std::string& label) {
  snapshot_.run_kind.erase(label);
  for (Followed& f : followers_)
    if (f.label == label) f.tokens_per_step = 0;  // read again: a forced rerun may differ
  auto& series = snapshot_.series;
  series.erase(std::remove_if(series.begin(), series.end(),
                              [&](const CurveSeries& s) { return s.run == label; }),
               series.end());
}

int TrainingPanel::point_count(const QString& run_dir, const char* metric) const {
  const auto it = followers_.find(QFileInfo(run_dir).absoluteFilePath());
  if (it == followers_.end()) return 0;
  for (const CurveSeries& s : snapshot_.series)
    if (s.run == it->label && s.metric == metric) return static_cast<int>(s.points.size());
  return 0;
}

void TrainingPanel::show_error(const QString& message) {
  error_->setText(message);
  error_box_->show();
}

void TrainingPanel::clear_error() {
  error_->clear();
  error_box_->hide();
}

QString TrainingPanel::error_text() const {
  return error_box_->isHidden() ? QString() : error_->text();
}

void TrainingPanel::show_sample(const QString& path) {
  sample_path_ = path;
  // samples/step_00000200.txt -> "step 200"
  const auto match = QRegularExpression(QStringLiteral("step_0*(\\d+)")).match(path);
  const QString step = match.hasMatch() ? match.captured(1) : QStringLiteral("?");
  sample_title_->setText(tr("Sample at step %1 (%2)").arg(step, QFileInfo(path).fileName()));
  if (path.endsWith(QLatin1String(".png"), Qt::CaseInsensitive)) {
    const QPixmap image(path);
    // Nearest-neighbour, a whole multiple: 32x32 pixels should stay crisp.
    const int scale = std::max(1, std::min(4, 256 / std::max(1, image.height())));
    sample_image_->setPixmap(
        image.scaled(image.size() * scale, Qt::KeepAspectRatio, Qt::FastTransformation));
    sample_stack_->setCurrentWidget(sample_image_);
  } else {
    QFile file(path);
    if (file.open(QIODevice::ReadOnly))
      sample_text_->setPlainText(
          QString::fromUtf8(file.readAll()));  // bytes; invalid UTF-8 shows as U+FFFD
    sample_stack_->setCurrentWidget(sample_text_);
  }
  Q_EMIT sample_changed(path);
}

bool TrainingPanel::export_csv(const QString& path) const {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
  const std::string csv = view_.csv(snapshot_);
  return file.write(csv.data(), static_cast<qint64>(csv.size())) == static_cast<qint64>(csv.size());
}

bool TrainingPanel::export_png(const QString& path) {
  return canvas_->grabFramebuffer().save(path);
}

void TrainingPanel::ask_export_csv() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export curves as CSV"), QStringLiteral("curves.csv"), tr("CSV files (*.csv)"));
  if (!path.isEmpty() && !export_csv(path)) show_error(tr("Could not write %1").arg(path));
}

void TrainingPanel::ask_export_png() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export curves as PNG"), QStringLiteral("curves.png"), tr("PNG images (*.png)"));
  if (!path.isEmpty() && !export_png(path)) show_error(tr("Could not write %1").arg(path));
}

}  // namespace hg
