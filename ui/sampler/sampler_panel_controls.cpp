// The Sampler panel's Qt controls: the model source, the prompt, the completion canvas's tools, the
// sampling settings and the buttons, built once and connected to the panel. What the controls do is
// in sampler_panel.cpp and sampler_panel_canvas.cpp.
#include <QButtonGroup>
#include <QCheckBox>
#include <QColorDialog>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>
#include <limits>

#include "ui/sampler/sampler_panel.h"

namespace hg {
namespace {

QIcon swatch(const std::array<uint8_t, 3>& color) {
  QPixmap pixmap(16, 16);
  pixmap.fill(QColor(color[0], color[1], color[2]));
  QPainter(&pixmap).drawRect(0, 0, 15, 15);
  return QIcon(pixmap);
}

}  // namespace

QWidget* SamplerPanel::build_controls() {
  auto* box = new QWidget;
  auto* column = new QVBoxLayout(box);
  add_model_rows(column);
  column->addWidget(build_text_group());
  column->addWidget(build_image_group());
  column->addWidget(build_settings_group());
  add_button_rows(column);
  column->addStretch(1);
  return box;
}

// The model source, the loaded model's description and the error line under it.
void SamplerPanel::add_model_rows(QVBoxLayout* column) {
  source_ = new ModelPicker;
  source_->setObjectName(QStringLiteral("sampler_source"));
  source_->setToolTip(
      tr("The model to sample: a bundled demo, a checkpoint of the open run (its "
         "newest is re-read at every Start), a weights file or a run folder"));
  connect(source_, &ModelPicker::chosen, this, &SamplerPanel::load_current);
  model_label_ = new QLabel;
  model_label_->setObjectName(QStringLiteral("sampler_model"));
  model_label_->setWordWrap(true);
  model_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_ = new QLabel;
  error_->setObjectName(QStringLiteral("sampler_error"));
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->setStyleSheet(QStringLiteral(
      "background: #4a1f1f; border: 1px solid #a33; border-radius: 3px; padding: 3px;"));
  error_->hide();
  column->addWidget(new QLabel(tr("Model")));
  column->addWidget(source_);
  column->addWidget(model_label_);
  column->addWidget(error_);
}

// Text models: the prompt.
QGroupBox* SamplerPanel::build_text_group() {
  text_group_ = new QGroupBox(tr("Text"));
  prompt_ = new QPlainTextEdit;
  prompt_->setObjectName(QStringLiteral("sampler_prompt"));
  prompt_->setPlaceholderText(tr("A prompt to continue (empty: start from nothing)"));
  prompt_->setFixedHeight(prompt_->fontMetrics().lineSpacing() * 4 + 12);
  auto* text_layout = new QVBoxLayout(text_group_);
  text_layout->addWidget(prompt_);
  return text_group_;
}

// Image models: completion on/off, what the canvas starts from, the brush, and cutting it.
QGroupBox* SamplerPanel::build_image_group() {
  image_group_ = new QGroupBox(tr("Completion canvas"));
  complete_ = new QCheckBox(tr("Complete the canvas"));
  complete_->setObjectName(QStringLiteral("sampler_complete"));
  complete_->setToolTip(
      tr("Known pixels of the canvas are kept (forced), the checkered ones sampled"));
  connect(complete_, &QCheckBox::toggled, this, [this](bool on) { paint_view_.active = on; });
  paint_view_.active = false;
  auto* load_png = new QPushButton(tr("Load PNG…"));
  connect(load_png, &QPushButton::clicked, this, &SamplerPanel::ask_load_png);
  QPushButton* dataset = build_dataset_picker();
  QHBoxLayout* brush_row = build_brush_row();
  keep_rows_ = new QSpinBox;
  keep_rows_->setRange(0, kImageSide);
  keep_rows_->setValue(kImageSide / 2);
  auto* keep = new QPushButton(tr("Keep top rows"));
  keep->setToolTip(tr("Rows above this are known, the rest will be sampled"));
  connect(keep, &QPushButton::clicked, this, [this] { keep_top_rows(keep_rows_->value()); });
  auto* clear = new QPushButton(tr("Clear"));
  clear->setToolTip(tr("Every pixel unknown"));
  connect(clear, &QPushButton::clicked, this, [this] {
    partial_.reset(partial_.channels);
    Q_EMIT canvas_changed();
  });
  auto* image_layout = new QGridLayout(image_group_);
  image_layout->addWidget(complete_, 0, 0, 1, 3);
  image_layout->addWidget(load_png, 1, 0);
  image_layout->addWidget(dataset, 1, 1);
  image_layout->addWidget(dataset_index_, 1, 2);
  image_layout->addLayout(brush_row, 2, 0, 1, 3);
  image_layout->addWidget(keep, 3, 0);
  image_layout->addWidget(keep_rows_, 3, 1);
  image_layout->addWidget(clear, 3, 2);
  return image_group_;
}

// The "Dataset image" button and the index beside it (dataset_index_); returns the button.
QPushButton* SamplerPanel::build_dataset_picker() {
  auto* dataset = new QPushButton(tr("Dataset image"));
  dataset->setObjectName(QStringLiteral("sampler_dataset_image"));
  dataset->setToolTip(
      tr("An image from the test split of the default dataset (Fashion-MNIST for "
         "grayscale models, Tango icons for colour ones)"));
  dataset_index_ = new QSpinBox;
  dataset_index_->setObjectName(QStringLiteral("sampler_dataset_index"));
  dataset_index_->setRange(0, 9999);
  dataset_index_->setToolTip(tr("Which test image"));
  connect(dataset, &QPushButton::clicked, this,
          [this] { use_dataset_image(dataset_index_->value()); });
  connect(dataset_index_, &QSpinBox::valueChanged, this, &SamplerPanel::use_dataset_image);
  return dataset;
}

// Paint or erase (one of the two), the brush size and the paint colour, set on paint_view_.
QHBoxLayout* SamplerPanel::build_brush_row() {
  paint_tool_ = new QToolButton;
  paint_tool_->setText(tr("Paint"));
  erase_tool_ = new QToolButton;
  erase_tool_->setText(tr("Erase"));
  erase_tool_->setToolTip(tr("Mark pixels unknown (the right button erases too)"));
  auto* tools = new QButtonGroup(this);
  for (QToolButton* tool : {paint_tool_, erase_tool_}) {
    tool->setCheckable(true);
    tools->addButton(tool);
  }
  paint_tool_->setChecked(true);
  connect(erase_tool_, &QToolButton::toggled, this, [this](bool on) { paint_view_.erase = on; });
  brush_size_ = new QSpinBox;
  brush_size_->setRange(1, 12);
  brush_size_->setValue(static_cast<int>(paint_view_.brush));
  brush_size_->setSuffix(tr(" px"));
  brush_size_->setToolTip(tr("Brush diameter in image pixels"));
  connect(brush_size_, &QSpinBox::valueChanged, this,
          [this](int size) { paint_view_.brush = static_cast<float>(size); });
  color_ = new QToolButton;
  color_->setIcon(swatch(paint_view_.color));
  color_->setToolTip(tr("Paint colour (grayscale models paint its luminance)"));
  connect(color_, &QToolButton::clicked, this, &SamplerPanel::choose_color);
  auto* brush_row = new QHBoxLayout;
  for (QWidget* w : std::initializer_list<QWidget*>{paint_tool_, erase_tool_, brush_size_, color_})
    brush_row->addWidget(w);
  return brush_row;
}

// Temperature, top-k, top-p, samples, length and seed: two label/field pairs a row.
QGroupBox* SamplerPanel::build_settings_group() {
  auto* settings = new QGroupBox(tr("Sampling"));
  auto* form = new QGridLayout(settings);  // two label/field pairs a row: a narrow column
  temperature_ = new QDoubleSpinBox;
  temperature_->setObjectName(QStringLiteral("sampler_temperature"));
  temperature_->setRange(0.0, 5.0);
  temperature_->setSingleStep(0.05);
  temperature_->setValue(1.0);
  temperature_->setToolTip(tr("Temperature: 0 always takes the most likely token"));
  top_k_ = new QSpinBox;
  top_k_->setObjectName(QStringLiteral("sampler_top_k"));
  top_k_->setRange(0, 256);
  top_k_->setSpecialValueText(tr("off"));
  top_k_->setToolTip(tr("Sample among the k most likely tokens only"));
  top_p_ = new QDoubleSpinBox;
  top_p_->setObjectName(QStringLiteral("sampler_top_p"));
  top_p_->setRange(0.01, 1.0);
  top_p_->setSingleStep(0.05);
  top_p_->setValue(1.0);
  top_p_->setToolTip(
      tr("Nucleus: sample among the most likely tokens holding this much "
         "probability"));
  seed_ = new QSpinBox;
  seed_->setObjectName(QStringLiteral("sampler_seed"));
  seed_->setRange(0, std::numeric_limits<int>::max());
  seed_->setValue(1);
  next_seed_ = new QCheckBox(tr("New seed each Start"));
  next_seed_->setObjectName(QStringLiteral("sampler_new_seed"));
  next_seed_->setChecked(true);
  next_seed_->setToolTip(tr("Draw a new seed at every Start; untick to repeat a sample"));
  length_ = new QSpinBox;
  length_->setObjectName(QStringLiteral("sampler_length"));
  length_->setRange(1, 1 << 20);
  length_->setToolTip(tr("Tokens per sample, the prompt included (at most the model's length)"));
  n_ = new QSpinBox;
  n_->setObjectName(QStringLiteral("sampler_n"));
  n_->setRange(1, 64);
  n_->setToolTip(tr("Independent samples, decoded together"));
  const std::pair<QString, QWidget*> fields[] = {{tr("Temp."), temperature_}, {tr("Top-k"), top_k_},
                                                 {tr("Top-p"), top_p_},       {tr("Samples"), n_},
                                                 {tr("Length"), length_},     {tr("Seed"), seed_}};
  for (int i = 0; i < 6; ++i) {
    form->addWidget(new QLabel(fields[i].first), i / 2, (i % 2) * 2);
    form->addWidget(fields[i].second, i / 2, (i % 2) * 2 + 1);
  }
  form->addWidget(next_seed_, 3, 2, 1, 2);
  return settings;
}

// Start and Stop, the two save buttons, and the status line under them.
void SamplerPanel::add_button_rows(QVBoxLayout* column) {
  start_ = new QPushButton(tr("Start"));
  start_->setObjectName(QStringLiteral("sampler_start"));
  start_->setDefault(true);
  connect(start_, &QPushButton::clicked, this, &SamplerPanel::start);
  stop_ = new QPushButton(tr("Stop"));
  stop_->setObjectName(QStringLiteral("sampler_stop"));
  connect(stop_, &QPushButton::clicked, this, &SamplerPanel::stop);
  save_ = new QPushButton;
  save_->setObjectName(QStringLiteral("sampler_save"));
  connect(save_, &QPushButton::clicked, this, &SamplerPanel::ask_save);
  save_selected_ = new QPushButton(tr("Save selected…"));
  save_selected_->setObjectName(QStringLiteral("sampler_save_selected"));
  save_selected_->setToolTip(tr("The selected sample (click a tile) as a 32x32 PNG"));
  connect(save_selected_, &QPushButton::clicked, this, &SamplerPanel::ask_save_selected);
  auto* run_row = new QHBoxLayout;
  run_row->addWidget(start_);
  run_row->addWidget(stop_);
  auto* save_row = new QHBoxLayout;
  save_row->addWidget(save_);
  save_row->addWidget(save_selected_);
  column->addLayout(run_row);
  column->addLayout(save_row);
  status_ = new QLabel;
  status_->setObjectName(QStringLiteral("sampler_status"));
  status_->setWordWrap(true);
  column->addWidget(status_);
}

void SamplerPanel::choose_color() {
  const auto& c = paint_view_.color;
  const QColor chosen = QColorDialog::getColor(QColor(c[0], c[1], c[2]), this, tr("Paint colour"));
  if (!chosen.isValid()) return;
  paint_view_.color = {static_cast<uint8_t>(chosen.red()), static_cast<uint8_t>(chosen.green()),
                       static_cast<uint8_t>(chosen.blue())};
  color_->setIcon(swatch(paint_view_.color));
}

}  // namespace hg
