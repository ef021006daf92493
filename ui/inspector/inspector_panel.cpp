// The Inspector panel's widgets and requests: model and input controls above an ImGuiCanvas that
// draws InspectorView. Inputs become an InspectRequest; tokens are made by the worker as `hourglass
// inspect` makes them. Nothing here loads a model or runs the network.
#include "ui/inspector/inspector_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QShortcut>
#include <QSpinBox>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include "model/core/run_config.h"
#include "model/data/data.h"
#include "model/io/image_io.h"
#include "ui/imgui/imgui_canvas.h"
#include "ui/sampler/model_picker.h"

namespace hg {
namespace {

// Fields stop growing here, so that a wide window leaves them readable (the rest is margin).
constexpr int kMaxFieldWidth = 640;
constexpr int kMaxPickerWidth = 420;

// The first tile of a sample grid as the trainer writes it (model/io/image_io.h grid(): 2-pixel
// gaps around 32x32 tiles); a plain 32x32 image as it is.
QImage first_tile(const QImage& grid) {
  constexpr int kGap = 2;
  if (grid.width() >= kImageSide + 2 * kGap && grid.height() >= kImageSide + 2 * kGap)
    return grid.copy(kGap, kGap, kImageSide, kImageSide);
  return grid;
}

QWidget* row_of(std::initializer_list<QWidget*> widgets, int stretch_index) {
  auto* row = new QWidget;
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  int i = 0;
  for (QWidget* widget : widgets) layout->addWidget(widget, i++ == stretch_index ? 1 : 0);
  return row;
}

}  // namespace

InspectorPanel::InspectorPanel(QWidget* parent) : QWidget(parent) {
  QWidget* model_row = build_model_row();
  QWidget* input_row = build_input_row();
  auto* grid = new QGridLayout;
  grid->addWidget(new QLabel(tr("Model")), 0, 0);
  grid->addWidget(model_row, 0, 1);
  grid->addWidget(model_info_, 1, 1);
  grid->addWidget(new QLabel(tr("Input")), 2, 0);
  grid->addWidget(input_row, 2, 1);
  grid->setColumnStretch(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(grid);
  layout->addWidget(build_status_label());
  layout->addWidget(build_canvas(), 1);
}

// The model picker (the Sampler's: demos, the open run's checkpoints, files, run folders), the
// training run button and "follow"; also the model line (model_info_) shown under them.
QWidget* InspectorPanel::build_model_row() {
  source_ = new ModelPicker;
  source_->setObjectName(QStringLiteral("inspector_source"));
  source_->setMaximumWidth(kMaxPickerWidth);
  source_->setToolTip(
      tr("The model to inspect: a bundled demo, a checkpoint of the open run (its newest is "
         "re-read at each inspection), a weights file or a run folder"));
  connect(source_, &ModelPicker::chosen, this, &InspectorPanel::source_edited);
  training_ = new QPushButton(tr("Training run"));
  training_->setObjectName(QStringLiteral("inspector_training"));
  training_->setToolTip(
      tr("Inspect the newest checkpoint of the run being trained (a snapshot "
         "file; the training model itself is never touched)"));
  training_->setEnabled(false);
  connect(training_, &QPushButton::clicked, this, [this] { set_source(training_run_); });
  follow_ = new QCheckBox(tr("follow"));
  follow_->setObjectName(QStringLiteral("inspector_follow"));
  follow_->setToolTip(
      tr("Follow the training run: inspect each checkpoint it saves, from the first one on"));
  connect(follow_, &QCheckBox::toggled, this, &InspectorPanel::follow_toggled);
  model_info_ = new QLabel(tr("no model"));
  model_info_->setObjectName(QStringLiteral("inspector_model_info"));
  model_info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  model_info_->setWordWrap(true);
  auto* row = row_of({source_, training_, follow_}, -1);
  static_cast<QHBoxLayout*>(row->layout())->addStretch(1);
  return row;
}

// The input kind, the input itself (a page per kind), Inspect and Cancel.
QWidget* InspectorPanel::build_input_row() {
  mode_ = new QComboBox;
  mode_->setObjectName(QStringLiteral("inspector_mode"));
  mode_->addItems({tr("Text"), tr("From dataset"), tr("Image file"), tr("Latest sample")});
  connect(mode_, &QComboBox::currentIndexChanged, this,
          [this](int index) { inputs_->setCurrentIndex(index); });
  QStackedWidget* inputs = build_input_pages();
  inspect_ = new QPushButton(tr("Inspect"));
  inspect_->setObjectName(QStringLiteral("inspector_inspect"));
  inspect_->setToolTip(
      tr("Run the model once on the input and show what every level does "
         "(Ctrl+Return)"));
  connect(inspect_, &QPushButton::clicked, this, &InspectorPanel::inspect_now);
  auto* shortcut = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), this);
  shortcut->setContext(Qt::WidgetWithChildrenShortcut);
  connect(shortcut, &QShortcut::activated, this, &InspectorPanel::inspect_now);
  cancel_ = new QPushButton(tr("Cancel"));
  cancel_->setEnabled(false);
  connect(cancel_, &QPushButton::clicked, this, [this] {
    Q_EMIT cancel_requested();
    inspecting_ = false;
    set_status(tr("Cancelled."), false);
  });
  auto* row = row_of({mode_, inputs, inspect_, cancel_}, -1);
  static_cast<QHBoxLayout*>(row->layout())->addStretch(1);
  return row;
}

// One page per Mode, in its order: a text, a dataset path and index, an image file, the sample.
QStackedWidget* InspectorPanel::build_input_pages() {
  text_ = new QLineEdit(QStringLiteral("The quick brown fox jumps over the lazy dog."));
  text_->setObjectName(QStringLiteral("inspector_text"));
  connect(text_, &QLineEdit::returnPressed, this, &InspectorPanel::inspect_now);
  data_ = new QLineEdit;
  data_->setObjectName(QStringLiteral("inspector_data"));
  data_->setPlaceholderText(tr("dataset path (the run's own data when known)"));
  index_ = new QSpinBox;
  index_->setObjectName(QStringLiteral("inspector_index"));
  index_->setRange(0, 1 << 30);
  index_->setToolTip(tr("Which image of the val split, or which piece of its text"));
  auto* random = new QToolButton;
  random->setText(tr("Random"));
  connect(random, &QToolButton::clicked, this, [this] {
    const int count = snapshot_ && snapshot_->dataset_count > 0
                          ? static_cast<int>(std::min<int64_t>(snapshot_->dataset_count, 1 << 30))
                          : 1000;
    index_->setValue(QRandomGenerator::global()->bounded(count));
    inspect_now();
  });
  image_ = new QLineEdit;
  image_->setObjectName(QStringLiteral("inspector_image"));
  image_->setPlaceholderText(tr("a PNG or JPEG, fitted to 32x32 as `hourglass inspect --image`"));
  auto* browse = new QToolButton;
  browse->setText(tr("Browse…"));
  connect(browse, &QToolButton::clicked, this, &InspectorPanel::choose_image_file);
  sample_ = new QLabel(tr("no sample yet: samples appear as a run trains"));
  inputs_ = new QStackedWidget;
  inputs_->addWidget(text_);
  inputs_->addWidget(row_of({data_, index_, random}, 0));
  inputs_->addWidget(row_of({image_, browse}, 0));
  inputs_->addWidget(sample_);
  inputs_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
  // Wide enough for a sentence or a path, not half of a 1920-pixel screen.
  inputs_->setMinimumWidth(240);
  inputs_->setMaximumWidth(kMaxFieldWidth);
  return inputs_;
}

QLabel* InspectorPanel::build_status_label() {
  status_ = new QLabel;
  status_->setObjectName(QStringLiteral("inspector_status"));
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  return status_;
}

ImGuiCanvas* InspectorPanel::build_canvas() {
  canvas_ = new ImGuiCanvas;
  canvas_->setObjectName(QStringLiteral("inspector_canvas"));
  canvas_->setMinimumSize(480, 360);
  canvas_->set_frame([this] { view_.draw(model_.get(), snapshot_.get()); });
  return canvas_;
}

void InspectorPanel::set_source(const QString& source) { source_->select_source(source); }

QString InspectorPanel::source() const { return source_->source(); }

void InspectorPanel::set_run_dir(const QString& run_dir) { source_->set_run_dir(run_dir); }

void InspectorPanel::set_mode(Mode mode) { mode_->setCurrentIndex(static_cast<int>(mode)); }

InspectorPanel::Mode InspectorPanel::mode() const {
  return static_cast<Mode>(mode_->currentIndex());
}

void InspectorPanel::set_text(const QString& text) { text_->setText(text); }

void InspectorPanel::set_dataset(const QString& path, int index) {
  data_->setText(path);
  index_->setValue(index);
}

void InspectorPanel::set_image_file(const QString& path) { image_->setText(path); }

void InspectorPanel::source_edited() {
  const QString source = this->source();
  if (source.isEmpty() || source == opened_source_) return;
  opened_source_ = source;
  set_status(tr("Opening %1…").arg(source), false);
  Q_EMIT open_requested(source);
}

void InspectorPanel::choose_image_file() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Image to inspect"), image_->text(),
                                                    tr("Images (*.png *.jpg *.jpeg)"));
  if (path.isEmpty()) return;
  image_->setText(path);
  inspect_now();
}

bool InspectorPanel::make_request(InspectRequest* request) {
  request->source = source().toStdString();
  if (request->source.empty()) {
    set_status(tr("Pick a model first: a run folder, a .safetensors file, or the training run."),
               true);
    return false;
  }
  switch (mode()) {
    case Mode::kText:
      request->input = InspectInput::kText;
      request->text = text_->text().toStdString();
      if (request->text.empty()) {
        set_status(tr("Type a text to inspect."), true);
        return false;
      }
      return true;
    case Mode::kDataset:
      request->input = InspectInput::kDataset;
      request->path = data_->text().trimmed().toStdString();
      request->index = index_->value();
      return true;
    case Mode::kImageFile:
      request->input = InspectInput::kImageFile;
      request->path = image_->text().trimmed().toStdString();
      if (request->path.empty()) {
        set_status(tr("Choose an image file."), true);
        return false;
      }
      return true;
    case Mode::kLatestSample:
      break;
  }
  return make_sample_request(request);
}

bool InspectorPanel::make_sample_request(InspectRequest* request) {
  if (latest_sample_.isEmpty()) {
    set_status(tr("No sample yet: samples appear as a run trains."), true);
    return false;
  }
  if (latest_sample_.endsWith(QStringLiteral(".txt"))) {
    QFile file(latest_sample_);
    if (!file.open(QIODevice::ReadOnly)) {
      set_status(tr("Cannot read %1").arg(latest_sample_), true);
      return false;
    }
    request->input = InspectInput::kText;
    request->text = file.readAll().toStdString();
    return true;
  }
  const QImage tile = first_tile(QImage(latest_sample_)).convertToFormat(QImage::Format_RGBA8888);
  if (tile.isNull()) {
    set_status(tr("Cannot read the image %1").arg(latest_sample_), true);
    return false;
  }
  request->input = InspectInput::kPixels;
  request->width = tile.width();
  request->height = tile.height();
  request->rgba.resize(static_cast<size_t>(tile.width()) * tile.height() * 4);
  for (int y = 0; y < tile.height(); ++y)
    std::copy_n(tile.constScanLine(y), tile.width() * 4,
                request->rgba.begin() + y * tile.width() * 4);
  request->label = "the first image of " + QFileInfo(latest_sample_).fileName().toStdString();
  return true;
}

void InspectorPanel::inspect_now() {
  InspectRequest request;
  if (!make_request(&request)) return;
  opened_source_ = source();
  inspecting_ = true;
  set_status(tr("Inspecting…"), false);
  Q_EMIT inspect_requested(request);
}

void InspectorPanel::set_training_run(const QString& run_dir) {
  training_run_ = run_dir;
  training_->setEnabled(!run_dir.isEmpty());
  training_->setToolTip(tr("Inspect the newest checkpoint of %1").arg(run_dir));
  source_->set_run_dir(run_dir);  // its checkpoints join the picker as they are saved
  if (follow_->isChecked()) follow_toggled(true);
}

void InspectorPanel::on_training_checkpoint(const QString& run_dir) {
  if (run_dir != training_run_) return;
  source_->refresh_checkpoints();
  if (follow_->isChecked()) {
    if (source() != run_dir) source_->show_source(run_dir);
    inspect_now();  // a request still queued is dropped for this newer one
  } else if (source() == run_dir) {
    Q_EMIT open_requested(run_dir);  // refresh the model line with the new step
  }
}

void InspectorPanel::set_follow(bool on) { follow_->setChecked(on); }

// Following: the training run becomes the source, inspected now if it has a checkpoint, else at
// its first one (on_training_checkpoint), without an error in between.
void InspectorPanel::follow_toggled(bool on) {
  if (!on) return;
  if (training_run_.isEmpty()) {
    set_status(tr("Following the training run: none is training yet."), false);
    return;
  }
  source_->show_source(training_run_);
  if (source_->run_steps().empty()) {
    opened_source_ = training_run_;
    set_status(tr("Following %1: its first checkpoint will be inspected when it is saved.")
                   .arg(QFileInfo(training_run_).fileName()),
               false);
    return;
  }
  inspect_now();
}

void InspectorPanel::set_latest_sample(const QString& path) {
  latest_sample_ = path;
  sample_->setText(tr("%1 (its first image, or its text)").arg(QFileInfo(path).fileName()));
}

void InspectorPanel::show_model(InspectModelInfoPtr info) {
  const bool new_source = !model_ || model_->source != info->source;
  model_ = std::move(info);
  update_model_line();
  // A newly opened model reads its run's own data, else the Debian default of its kind; the same
  // model again keeps whatever was typed.
  if (new_source || data_->text().isEmpty()) {
    const char* fallback = model_->image_channels == 3   ? kDefaultColorPath
                           : model_->image_channels == 1 ? kDefaultGrayPath
                                                         : kDefaultTextPath;
    const QString data = !model_->data.empty() ? QString::fromStdString(model_->data)
                         : QFileInfo::exists(QString::fromUtf8(fallback))
                             ? QString::fromUtf8(fallback)
                             : QString();
    if (!data.isEmpty()) data_->setText(data);
  }
  update_mode_for_model();
  // "Opening…" and any error before it give way; an inspection under way says its own.
  if (!inspecting_)
    set_status(tr("Opened %1%2: choose an input and press Inspect.")
                   .arg(QFileInfo(QString::fromStdString(model_->weights)).fileName(),
                        model_->step >= 0 ? tr(", step %1").arg(model_->step) : QString()),
               false);
}

void InspectorPanel::update_model_line() {
  const ModelConfig& c = model_->config;
  const QString kind = model_->image_channels > 0
                           ? tr("32x32x%1 images").arg(model_->image_channels)
                           : tr("text, %1 tokens").arg(c.seq_len);
  model_info_->setText(tr("%1%2 — %3 (%4/%5), D %6, %7 heads — %8")
                           .arg(QFileInfo(QString::fromStdString(model_->weights)).fileName(),
                                model_->step >= 0 ? tr(", step %1").arg(model_->step) : QString(),
                                QString::fromStdString(c.hierarchy),
                                QString::fromStdString(to_string(c.shorten)),
                                QString::fromStdString(to_string(c.upsample)))
                           .arg(c.d_model)
                           .arg(c.n_heads)
                           .arg(kind));
}

void InspectorPanel::update_mode_for_model() {
  const bool image_model = model_ && model_->image_channels > 0;
  if (image_model && mode() == Mode::kText)
    set_mode(data_->text().isEmpty() ? Mode::kImageFile : Mode::kDataset);
  if (!image_model && (mode() == Mode::kImageFile)) set_mode(Mode::kText);
}

void InspectorPanel::show_snapshot(InspectSnapshotPtr snapshot) {
  inspecting_ = false;
  snapshot_ = std::move(snapshot);
  model_ = std::shared_ptr<const InspectModelInfo>(snapshot_, &snapshot_->model);
  update_model_line();
  const InspectResult& r = snapshot_->result;
  set_status(tr("%1: %2 positions, %3 attention maps, %4 levels, in %5 s.")
                 .arg(QString::fromStdString(snapshot_->input_label))
                 .arg(r.positions)
                 .arg(r.attention.size())
                 .arg(r.levels.size())
                 .arg(snapshot_->seconds, 0, 'f', 2),
             false);
}

void InspectorPanel::show_error(const QString& message) {
  inspecting_ = false;
  set_status(message, true);
}

void InspectorPanel::set_busy(bool busy) {
  busy_ = busy;
  if (!busy) inspecting_ = false;  // cancelled, or its result dropped for a newer one
  cancel_->setEnabled(busy);
}

void InspectorPanel::set_status(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #ff8a80;") : QString());
  status_->setProperty("error", error);
}

QString InspectorPanel::status_text() const { return status_->text(); }

bool InspectorPanel::status_is_error() const { return status_->property("error").toBool(); }

}  // namespace hg
