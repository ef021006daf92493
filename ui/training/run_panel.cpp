// The Run panel: fields -> RunConfig, validated and costed on every edit. Data is checked by name
// only here; reading and validating it is the worker's load_dataset.
#include "ui/training/run_panel.h"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "model/core/cost.h"
#include "model/data/data.h"
#include "ui/training/run_estimate.h"

namespace hg {
namespace {

// "1.23 M" / "456 k": parameter counts and FLOPs at a glance.
QString engineering(double value) {
  static const char* const kSuffixes[] = {"", " k", " M", " G", " T", " P"};
  int i = 0;
  while (value >= 1000.0 && i < 5) value /= 1000.0, ++i;
  return QString::number(value, 'f', value < 10 ? 2 : value < 100 ? 1 : 0) + kSuffixes[i];
}

// The Debian package that provides a default dataset, for the hint when it is missing.
QString package_for(const QString& path) {
  if (path == kDefaultTextPath) return QStringLiteral("fortunes");
  if (path == kDefaultGrayPath) return QStringLiteral("dataset-fashion-mnist");
  if (path == kDefaultColorPath || path == kDefaultIconsPath)
    return QStringLiteral("tango-icon-theme");
  return {};
}

// Sequence length the trainer will force for image data (one whole 32x32 image); 0 for text.
int image_seq_len(DataFormat format) {
  switch (format) {
    case DataFormat::kIdx:
      return 32 * 32;
    case DataFormat::kCifar:
    case DataFormat::kImages:
    case DataFormat::kNpz:  // ImageNet32; an ImageNet64 folder trains at 64x64x3 all the same
      return 32 * 32 * 3;
    case DataFormat::kText:
      return 0;
  }
  return 0;
}

// A spin box named `name` (the tests find fields by object name).
QSpinBox* spin(const char* name, int lo, int hi, int step = 1) {
  auto* box = new QSpinBox;
  box->setObjectName(QString::fromLatin1(name));
  box->setRange(lo, hi);
  box->setSingleStep(step);
  box->setAccelerated(true);
  return box;
}

QComboBox* combo(const std::vector<std::string>& items) {
  auto* box = new QComboBox;
  for (const std::string& item : items) box->addItem(QString::fromStdString(item));
  return box;
}

// One form row holding two fields: `first`, then `second` after its label, both stretching.
QHBoxLayout* field_pair(QWidget* first, const QString& second_label, QWidget* second) {
  auto* row = new QHBoxLayout;
  row->addWidget(first, 1);
  row->addWidget(new QLabel(second_label));
  row->addWidget(second, 1);
  return row;
}

// Appends a row of cells to the cost table: the first column left-aligned, numbers right.
void add_cost_row(QTableWidget* table, const QStringList& cells, bool bold = false) {
  const int row = table->rowCount();
  table->insertRow(row);
  for (int column = 0; column < cells.size(); ++column) {
    auto* item = new QTableWidgetItem(cells[column]);
    item->setTextAlignment(column == 0 ? Qt::AlignLeft | Qt::AlignVCenter
                                       : Qt::AlignRight | Qt::AlignVCenter);
    QFont font = item->font();
    font.setBold(bold);
    item->setFont(font);
    table->setItem(row, column, item);
  }
}

// What a data path holds, as far as a model cares: 0 text, 1 gray images, 3 RGB images.
int data_kind(const std::string& path) {
  switch (guess_format(path)) {
    case DataFormat::kText:
      return 0;
    case DataFormat::kIdx:
      return 1;
    default:
      return 3;
  }
}

// "42 s", "14 min", "2.5 h".
QString duration(double seconds) {
  if (seconds < 90) return QStringLiteral("%1 s").arg(seconds, 0, 'f', seconds < 10 ? 1 : 0);
  if (seconds < 5400) return QStringLiteral("%1 min").arg(seconds / 60, 0, 'f', 0);
  return QStringLiteral("%1 h").arg(seconds / 3600, 0, 'f', 1);
}

const QString kSettingsConfig = QStringLiteral("run_panel/config");
const QString kSettingsRunDir = QStringLiteral("run_panel/run_dir");

QString percent(double part, double whole) {
  return QString::number(100.0 * part / whole, 'f', 0) + QStringLiteral(" %");
}

}  // namespace

RunPanel::RunPanel(QWidget* parent) : QWidget(parent) {
  build_ui();
  if (!restore_settings() && !load_preset(QStringLiteral("tiny-cpu"))) set_run_config(RunConfig{});
}

void RunPanel::build_ui() {
  auto* form = new QFormLayout;
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  form->addRow(tr("Data"), build_data_field());
  form->addRow(tr("Preset"), build_preset_field());
  add_model_rows(form);
  add_schedule_rows(form);
  form->addRow(tr("Run folder"), build_run_dir_field());

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(build_cost_table());
  layout->addWidget(build_estimate_label());
  layout->addWidget(build_error_label());
  layout->addStretch(1);
  layout->addWidget(build_start_button());
  layout->addWidget(build_compare_button());
  connect_edits();
}

// Data: the three defaults a Debian machine can install, or any file or folder.
QLayout* RunPanel::build_data_field() {
  data_path_ = new QLineEdit;
  data_path_->setObjectName(QStringLiteral("data_path"));
  data_path_->setPlaceholderText(tr("a text file, IDX/CIFAR file or image folder"));
  auto* defaults = new QHBoxLayout;
  auto add_button = [&](const QString& text, const QString& tip, auto on_click) {
    auto* button = new QPushButton(text);
    button->setToolTip(tip);
    connect(button, &QPushButton::clicked, this, on_click);
    defaults->addWidget(button);
  };
  // Each default with the lesson preset of its kind (assets/presets).
  const std::tuple<QString, const char*, const char*> kDefaults[] = {
      {tr("Fortunes"), kDefaultTextPath, "tiny-cpu"},
      {tr("Fashion-MNIST"), kDefaultGrayPath, "lesson-fashion"},
      {tr("Icons (RGB)"), kDefaultIconsPath, "lesson-icons"}};
  for (const auto& [label, path, preset] : kDefaults) {
    const QString where = QString::fromLatin1(path), name = QString::fromLatin1(preset);
    add_button(label, tr("%1 (with the %2 preset for a model of another kind)").arg(where, name),
               [this, where, name] { pick_data(where, name); });
  }
  add_button(tr("File…"), tr("Choose a data file"), [this] { choose_data_file(); });
  add_button(tr("Folder…"), tr("Choose a folder of images or text"),
             [this] { choose_data_folder(); });
  data_note_ = new QLabel;
  data_note_->setWordWrap(true);
  auto* data_box = new QVBoxLayout;
  data_box->addWidget(data_path_);
  data_box->addLayout(defaults);
  data_box->addWidget(data_note_);
  return data_box;
}

// The presets shipped in the assets folder; choosing one loads it into every field.
QComboBox* RunPanel::build_preset_field() {
  preset_ = new QComboBox;
  preset_->setObjectName(QStringLiteral("preset"));
  preset_->setPlaceholderText(tr("(none: custom config)"));
  const QDir presets(QString::fromStdString(assets_dir()) + QStringLiteral("/presets"));
  for (const QFileInfo& file : presets.entryInfoList({QStringLiteral("*.json")}, QDir::Files))
    preset_->addItem(file.completeBaseName());
  return preset_;
}

// The model's shape: hierarchy, shortening/upsampling kinds, width and heads.
void RunPanel::add_model_rows(QFormLayout* form) {
  hierarchy_ = new QLineEdit;
  hierarchy_->setObjectName(QStringLiteral("hierarchy"));
  hierarchy_->setToolTip(
      tr("layers@factor pairs, a palindrome: \"2@1 4@3 2@1\"; \"8@1\" is the "
         "vanilla transformer"));
  form->addRow(tr("Hierarchy"), hierarchy_);
  shorten_ = combo(shorten_names());
  upsample_ = combo(upsample_names());
  auto* resampling = new QHBoxLayout;
  resampling->addWidget(new QLabel(tr("shorten")));
  resampling->addWidget(shorten_, 1);
  resampling->addWidget(new QLabel(tr("upsample")));
  resampling->addWidget(upsample_, 1);
  form->addRow(QString(), resampling);
  d_model_ = spin("d_model", 2, 65536, 16);
  heads_ = spin("heads", 1, 1024);
  form->addRow(tr("d_model"), field_pair(d_model_, tr("heads"), heads_));
}

// What one step sees and how many steps: sequence length, batch, learning rate, steps.
void RunPanel::add_schedule_rows(QFormLayout* form) {
  seq_len_ = spin("seq_len", 2, 1 << 22, 64);
  batch_ = spin("batch", 1, 1 << 16);
  steps_ = spin("steps", 1, 100000000, 100);
  lr_ = new QLineEdit;
  lr_->setObjectName(QStringLiteral("lr"));
  form->addRow(tr("seq_len"), field_pair(seq_len_, tr("batch"), batch_));
  form->addRow(tr("lr"), field_pair(lr_, tr("steps"), steps_));
  // How often the curve gets a validation point and samples/ a picture: for a lesson, often.
  eval_every_ = spin("eval_every", 0, 100000000, 10);
  eval_every_->setSpecialValueText(tr("at the end"));
  sample_every_ = spin("sample_every", 0, 100000000, 10);
  sample_every_->setSpecialValueText(tr("with saves"));
  form->addRow(tr("eval every"), field_pair(eval_every_, tr("sample every"), sample_every_));
  device_ = combo({"auto", "cpu", "cuda"});
  device_->setObjectName(QStringLiteral("device"));
  device_->setToolTip(tr("auto: the GPU when there is one, else the CPU"));
  form->addRow(tr("device"), device_);
}

void RunPanel::set_gpu_count(int count) {
  gpu_count_ = count;
  update_cost();
}

QLayout* RunPanel::build_run_dir_field() {
  run_dir_ = new QLineEdit;
  run_dir_->setObjectName(QStringLiteral("run_dir"));
  run_dir_->setPlaceholderText(tr("default: a new folder under runs/"));
  auto* run_dir_button = new QToolButton;
  run_dir_button->setText(QStringLiteral("…"));
  connect(run_dir_button, &QToolButton::clicked, this, &RunPanel::choose_run_dir);
  auto* run_dir_row = new QHBoxLayout;
  run_dir_row->addWidget(run_dir_, 1);
  run_dir_row->addWidget(run_dir_button);
  return run_dir_row;
}

// Parameters and FLOPs per level, read-only; update_cost() fills it.
QTableWidget* RunPanel::build_cost_table() {
  cost_ = new QTableWidget(0, 5);
  cost_->setObjectName(QStringLiteral("cost"));
  cost_->setHorizontalHeaderLabels(
      {tr("Level"), tr("Factor"), tr("Layers"), tr("Params"), tr("FLOPs/token")});
  cost_->verticalHeader()->hide();
  cost_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  cost_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  cost_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  cost_->setSelectionMode(QAbstractItemView::NoSelection);
  cost_->setFocusPolicy(Qt::NoFocus);
  cost_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  cost_->setToolTip(tr("Forward FLOPs per original token at seq_len (training costs about 3x)"));
  return cost_;
}

// The time and memory the run will take, before it starts (run_estimate.h).
QLabel* RunPanel::build_estimate_label() {
  estimate_ = new QLabel;
  estimate_->setObjectName(QStringLiteral("run_estimate"));
  estimate_->setWordWrap(true);
  estimate_->setToolTip(
      tr("From the FLOPs above at %1 GFLOP/s, what a 2-core laptop CPU trains at; a GPU is far "
         "faster. The curves' tokens/s give the real speed once the run goes.")
          .arg(kCpuTrainFlopsPerSecond / 1e9, 0, 'f', 1));
  return estimate_;
}

QLabel* RunPanel::build_error_label() {
  error_ = new QLabel;
  error_->setObjectName(QStringLiteral("run_error"));
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->setStyleSheet(QStringLiteral("color: #ff6b6b;"));
  return error_;
}

// Hidden until set_start_action() gives it the window's Start action.
QToolButton* RunPanel::build_start_button() {
  start_ = new QToolButton;
  start_->setToolButtonStyle(Qt::ToolButtonTextOnly);
  start_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
  start_->setMinimumHeight(32);
  start_->hide();
  return start_;
}

// Every edit revalidates and recosts, as the user types; a preset replaces all fields.
void RunPanel::connect_edits() {
  auto update = [this] {
    if (!loading_) update_cost();
  };
  connect(data_path_, &QLineEdit::textChanged, this, update);
  connect(hierarchy_, &QLineEdit::textChanged, this, update);
  connect(lr_, &QLineEdit::textChanged, this, update);
  connect(run_dir_, &QLineEdit::textChanged, this, update);
  for (QComboBox* box : {shorten_, upsample_, device_})
    connect(box, &QComboBox::currentIndexChanged, this, update);
  for (QSpinBox* box : {d_model_, heads_, seq_len_, batch_, steps_, eval_every_, sample_every_})
    connect(box, &QSpinBox::valueChanged, this, update);
  connect(preset_, &QComboBox::textActivated, this,
          [this](const QString& name) { load_preset(name); });
}

RunConfig RunPanel::run_config() const {
  RunConfig c = base_;
  c.train.data = data_path_->text().trimmed().toStdString();
  c.train.format.clear();  // guessed from the path, as the CLI does
  c.model.hierarchy = hierarchy_->text().simplified().toStdString();
  c.model.shorten = parse_shorten(shorten_->currentText().toStdString());
  c.model.upsample = parse_upsample(upsample_->currentText().toStdString());
  c.model.d_model = d_model_->value();
  c.model.n_heads = heads_->value();
  c.model.seq_len = seq_len_->value();
  c.train.batch = batch_->value();
  c.train.steps = steps_->value();
  c.train.eval_every = eval_every_->value();
  c.train.sample_every = sample_every_->value();
  c.train.device = device_->currentText().toStdString();
  bool ok = false;
  const double lr = lr_->text().trimmed().toDouble(&ok);
  c.train.lr = ok ? lr : -1.0;  // validate() names it
  return c;
}

void RunPanel::set_run_config(const RunConfig& config) {
  loading_ = true;
  base_ = config;
  data_path_->setText(QString::fromStdString(config.train.data));
  hierarchy_->setText(QString::fromStdString(config.model.hierarchy));
  shorten_->setCurrentText(QString::fromStdString(to_string(config.model.shorten)));
  upsample_->setCurrentText(QString::fromStdString(to_string(config.model.upsample)));
  d_model_->setValue(config.model.d_model);
  heads_->setValue(config.model.n_heads);
  seq_len_->setValue(config.model.seq_len);
  batch_->setValue(config.train.batch);
  steps_->setValue(static_cast<int>(std::min<int64_t>(config.train.steps, steps_->maximum())));
  eval_every_->setValue(
      static_cast<int>(std::min<int64_t>(config.train.eval_every, eval_every_->maximum())));
  sample_every_->setValue(
      static_cast<int>(std::min<int64_t>(config.train.sample_every, sample_every_->maximum())));
  lr_->setText(QString::number(config.train.lr, 'g', 6));
  device_->setCurrentText(QString::fromStdString(config.train.device));
  preset_->setCurrentIndex(preset_->findText(QString::fromStdString(config.train.preset)));
  loading_ = false;
  update_cost();
}

bool RunPanel::load_preset(const QString& name) {
  try {
    set_run_config(hg::load_preset(name.toStdString()));
    return true;
  } catch (const std::exception& e) {
    error_->setText(QString::fromUtf8(e.what()));
    return false;
  }
}

void RunPanel::set_data_path(const QString& path) { data_path_->setText(path); }

void RunPanel::pick_data(const QString& path, const QString& preset) {
  // A model of another kind than the data (a text model on images) loads the data's preset; a
  // missing preset leaves the fields as they are, its error shown.
  if (data_kind(path.toStdString()) != data_kind(data_path_->text().trimmed().toStdString()))
    load_preset(preset);
  set_data_path(path);
}

QString RunPanel::estimate_text() const { return estimate_->text(); }

QString RunPanel::run_dir() const { return run_dir_->text().trimmed(); }

void RunPanel::set_run_dir(const QString& dir) { run_dir_->setText(dir); }

QString RunPanel::error_text() const { return valid_ ? QString() : error_->text(); }

// The paper's comparison in one click: this config, then the vanilla transformer of its depth.
QToolButton* RunPanel::build_compare_button() {
  compare_ = new QToolButton;
  compare_->setObjectName(QStringLiteral("compare_vanilla"));
  compare_->setText(tr("Compare with vanilla"));
  compare_->setToolButtonStyle(Qt::ToolButtonTextOnly);
  compare_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
  connect(compare_, &QToolButton::clicked, this, &RunPanel::compare_requested);
  return compare_;
}

void RunPanel::update_compare_button(const RunConfig& config) {
  if (!compare_) return;  // update_cost() during build_ui(), before the button exists
  QString twin;
  try {
    if (parse_hierarchy(config.model.hierarchy).levels.size() > 1)
      twin = QString::fromStdString(config.model.vanilla_twin().hierarchy);
  } catch (const std::invalid_argument&) {
  }
  compare_->setEnabled(idle_ && valid_ && !twin.isEmpty());
  compare_->setToolTip(
      twin.isEmpty()
          ? tr("The hierarchy must shorten to have a vanilla twin to compare with")
          : tr("Train %1, then its vanilla twin %2 (same width, depth, data, seed and tokens), one "
               "after the other into the run folder's hourglass/ and vanilla/; both curves land "
               "on one plot (try the FLOPs axis)")
                .arg(QString::fromStdString(config.model.hierarchy), twin));
}

bool RunPanel::compare_enabled() const { return compare_->isEnabled(); }

void RunPanel::set_idle(bool idle) {
  idle_ = idle;
  update_compare_button(run_config());
}

void RunPanel::set_start_action(QAction* start) {
  start_->setDefaultAction(start);
  start_->show();
}

void RunPanel::update_cost() {
  QString error = data_error();
  show_data_kind();  // before run_config(): image data fixes seq_len
  const RunConfig config = run_config();
  if (error.isEmpty()) error = validation_error(config);
  if (error.isEmpty() && config.train.device == "cuda" && gpu_count_ == 0)
    error =
        tr("device: cuda, but this machine has no CUDA GPU (or this build's libtorch is the "
           "CPU one). HINT: choose device cpu (the estimate below says how long a step "
           "takes), or a preset made for a CPU: tiny-cpu, lesson-fashion, lesson-icons");
  fill_cost_table(config);
  show_estimate(config);
  show_validity(error);
  update_compare_button(config);
  if (error.isEmpty()) save_settings();
}

void RunPanel::show_estimate(const RunConfig& config) {
  try {
    const RunEstimate e = estimate_run(config);
    // A preset made for a GPU (its device is cuda) that would run on the CPU says so first.
    const bool on_cpu = config.train.device == "cpu" || gpu_count_ == 0;
    const QString warning = on_cpu && base_.train.device == "cuda"
                                ? tr("Made for a GPU, this preset would train on the CPU here. ")
                                : QString();
    estimate_->setText(warning +
                       tr("About %1 a step on a 2-core CPU: %2 steps in about %3. Memory: about "
                          "%4B.")
                           .arg(duration(e.seconds_per_step))
                           .arg(config.train.steps)
                           .arg(duration(e.total_seconds))
                           .arg(engineering(e.memory_bytes)));
    estimate_->setStyleSheet(warning.isEmpty() ? QString() : QStringLiteral("color: #e0a030;"));
  } catch (const std::invalid_argument&) {
    estimate_->clear();  // the hierarchy does not parse: the error says why
  }
}

void RunPanel::save_settings() const {
  QSettings settings;
  settings.setValue(kSettingsConfig, QString::fromStdString(to_json(run_config()).dump()));
  settings.setValue(kSettingsRunDir, run_dir());
}

bool RunPanel::restore_settings() {
  const QSettings settings;
  const QString saved = settings.value(kSettingsConfig).toString();
  if (saved.isEmpty()) return false;
  try {
    const RunConfig config = run_config_from_json(nlohmann::json::parse(saved.toStdString()));
    set_run_dir(settings.value(kSettingsRunDir).toString());
    set_run_config(config);
    return true;
  } catch (const std::exception&) {
    return false;  // written by another version: start from the preset instead
  }
}

QString RunPanel::data_error() const {
  // Data: names only (nothing is read here); the worker's load_dataset says what else is wrong.
  const QString path = data_path_->text().trimmed();
  if (path.isEmpty()) return tr("data: choose a dataset (one of the defaults, a file or a folder)");
  if (!QFileInfo::exists(path)) {
    const QString package = package_for(path);
    return tr("data: %1 does not exist. HINT: %2")
        .arg(path, package.isEmpty() ? tr("pick one of the defaults, or a file or folder")
                                     : tr("install it with `sudo apt install %1`").arg(package));
  }
  if (const QString dir = run_dir();
      !dir.isEmpty() && QFileInfo(dir).isDir() && !QDir(dir).isEmpty()) {
    // Trainer::create would refuse it; say so before Start rather than after.
    return tr("run folder %1 already holds files: choose a new or empty folder, or leave it "
              "empty for the default")
        .arg(dir);
  }
  return {};
}

void RunPanel::show_data_kind() {
  const DataFormat format = guess_format(data_path_->text().trimmed().toStdString());
  const int image_len = image_seq_len(format);
  // Image sequences are whole images: the trainer sets seq_len from the data.
  seq_len_->setEnabled(image_len == 0);
  if (image_len > 0 && seq_len_->value() != image_len) {
    const QSignalBlocker block(seq_len_);
    seq_len_->setValue(image_len);
  }
  data_note_->setText(image_len > 0 ? tr("%1: images, %2 sub-pixels per sequence")
                                          .arg(QString::fromStdString(to_string(format)))
                                          .arg(image_len)
                                    : tr("text, read as bytes"));
}

QString RunPanel::validation_error(const RunConfig& config) {
  try {
    config.model.validate();
    config.train.validate();
  } catch (const std::invalid_argument& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

void RunPanel::fill_cost_table(const RunConfig& config) {
  cost_->setRowCount(0);
  try {
    const ModelCost cost = model_cost(config.model);
    const ModelCost vanilla = model_cost(config.model.vanilla_twin());
    for (size_t i = 0; i < cost.levels.size(); ++i) {
      const LevelCost& level = cost.levels[i];
      add_cost_row(cost_, {tr("level %1").arg(i), QString::number(level.factor),
                           QString::number(level.layers), engineering(level.params),
                           engineering(level.flops_per_token)});
    }
    add_cost_row(cost_, {tr("embedding, head"), QString(), QString(),
                         engineering(cost.embedding_params), QString()});
    const int layers = config.model.parsed_hierarchy().num_layers();
    add_cost_row(cost_,
                 {tr("hourglass"), QString(), QString::number(layers), engineering(cost.params),
                  engineering(cost.flops_per_token)},
                 /*bold=*/true);
    add_cost_row(cost_, {tr("vanilla %1@1").arg(layers), QString(), QString::number(layers),
                         engineering(vanilla.params), engineering(vanilla.flops_per_token)});
    add_cost_row(cost_, {tr("hourglass / vanilla"), QString(), QString(),
                         percent(cost.params, vanilla.params),
                         percent(cost.flops_per_token, vanilla.flops_per_token)});
    cost_->resizeRowsToContents();
    // As tall as its rows: the panel's spare room goes below, not into an empty table.
    int height = cost_->horizontalHeader()->height() + 2 * cost_->frameWidth();
    for (int row = 0; row < cost_->rowCount(); ++row) height += cost_->rowHeight(row);
    cost_->setFixedHeight(height);
  } catch (const std::invalid_argument&) {
    // The hierarchy does not parse: validate() already said why.
  }
}

void RunPanel::show_validity(const QString& error) {
  // The field the message names turns red too, so the eye finds it (messages start with it).
  const std::pair<const char*, QWidget*> fields[] = {
      {"data", data_path_}, {"hierarchy", hierarchy_}, {"d_model", d_model_},
      {"n_heads", heads_},  {"seq_len", seq_len_},     {"batch", batch_},
      {"lr", lr_},          {"steps", steps_},         {"run folder", run_dir_}};
  for (const auto& [name, widget] : fields)
    widget->setStyleSheet(error.startsWith(QLatin1String(name)) ? QStringLiteral("color: #ff6b6b;")
                                                                : QString());
  error_->setText(error);
  error_->setVisible(!error.isEmpty());
  const bool valid = error.isEmpty();
  if (valid != valid_) {
    valid_ = valid;
    Q_EMIT validity_changed(valid);
  }
}

void RunPanel::choose_data_file() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Data file"), data_path_->text());
  if (!path.isEmpty()) set_data_path(path);
}

void RunPanel::choose_data_folder() {
  const QString path =
      QFileDialog::getExistingDirectory(this, tr("Data folder"), data_path_->text());
  if (!path.isEmpty()) set_data_path(path);
}

void RunPanel::choose_run_dir() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Run folder"), run_dir_->text());
  if (!path.isEmpty()) set_run_dir(path);
}

}  // namespace hg
