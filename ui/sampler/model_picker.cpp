// ModelPicker: the list of model sources (demos, the open run's checkpoints, opened files) and the
// entries that open a weights file or a run folder. Checkpoints are found by their step_N.json,
// which the trainer writes last, so a listed checkpoint is complete.
#include "ui/sampler/model_picker.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardItemModel>
#include <QTimer>
#include <algorithm>

#include "model/core/run_config.h"

namespace hg {
namespace {

constexpr int kPathRole = Qt::UserRole;
constexpr int kBrowseRole = Qt::UserRole + 1;  // the entries that open a dialog
enum Browse { kNone = 0, kWeightsFile, kRunFolder };
constexpr int kCheckpointPollMs = 3000;  // the trainer saves checkpoints without telling us

// The checkpoints of a run, newest first, from RUN/checkpoints/step_N.json.
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

ModelPicker::ModelPicker(QWidget* parent) : QComboBox(parent) {
  setToolTip(
      tr("The model: a bundled demo, a checkpoint of the open run (its newest is re-read at each "
         "use), a weights file, or a run folder"));
  setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  setMinimumContentsLength(18);
  connect(this, &QComboBox::activated, this, &ModelPicker::on_activated);
  checkpoint_timer_ = new QTimer(this);
  checkpoint_timer_->setInterval(kCheckpointPollMs);
  connect(checkpoint_timer_, &QTimer::timeout, this, &ModelPicker::refresh_checkpoints);
  rebuild();
  setCurrentIndex(std::max(0, findData(demo_model(QStringLiteral("demo-text")))));
  last_chosen_ = source();
}

QString ModelPicker::demo_model(const QString& name) {
  const QString dir = QString::fromStdString(assets_dir());
  const QString path = dir + QStringLiteral("/models/") + name + QStringLiteral(".safetensors");
  return !dir.isEmpty() && QFileInfo::exists(path) ? QFileInfo(path).absoluteFilePath() : QString();
}

void ModelPicker::rebuild() {
  const QString chosen = source();
  const QSignalBlocker block(this);
  clear();
  const std::pair<QString, QString> demos[] = {
      {QStringLiteral("demo-text"), tr("Demo: text (fortunes)")},
      {QStringLiteral("demo-fashion"), tr("Demo: 32x32 grayscale (Fashion-MNIST)")},
      {QStringLiteral("demo-icons"), tr("Demo: 32x32 RGB (icons)")}};
  for (const auto& [name, label] : demos) {
    const QString path = demo_model(name);
    addItem(label, path);
    if (path.isEmpty()) {  // an install without assets: listed, but not choosable
      auto* items = qobject_cast<QStandardItemModel*>(model());
      if (items) items->item(count() - 1)->setEnabled(false);
    }
  }
  if (!run_dir_.isEmpty()) {
    const QString name = QFileInfo(run_dir_).fileName();
    insertSeparator(count());
    addItem(tr("Run %1: newest checkpoint").arg(name), run_dir_);
    for (qint64 step : run_steps_)
      addItem(tr("Run %1: step %2").arg(name).arg(step), checkpoint_weights(run_dir_, step));
  }
  if (!extra_files_.isEmpty()) insertSeparator(count());
  for (const QString& file : extra_files_)
    addItem(tr("File: %1").arg(QFileInfo(file).fileName()), file);
  insertSeparator(count());
  addItem(tr("Open weights file…"));
  setItemData(count() - 1, kWeightsFile, kBrowseRole);
  addItem(tr("Open run folder…"));
  setItemData(count() - 1, kRunFolder, kBrowseRole);
  const int index = findData(chosen);
  setCurrentIndex(index >= 0 ? index : 0);
}

QString ModelPicker::source() const { return currentData(kPathRole).toString(); }

void ModelPicker::set_run_dir(const QString& run_dir) {
  run_dir_ = run_dir.isEmpty() ? QString() : QFileInfo(run_dir).absoluteFilePath();
  run_steps_ = run_dir_.isEmpty() ? std::vector<qint64>{} : checkpoint_steps(run_dir_);
  rebuild();
  if (run_dir_.isEmpty())
    checkpoint_timer_->stop();
  else
    checkpoint_timer_->start();
}

void ModelPicker::refresh_checkpoints() {
  if (run_dir_.isEmpty()) return;
  std::vector<qint64> steps = checkpoint_steps(run_dir_);
  if (steps == run_steps_) return;
  run_steps_ = std::move(steps);
  rebuild();
}

int ModelPicker::index_of(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  int index = findData(absolute);
  if (index < 0) index = findData(path);  // as given (a source the caller spelled)
  if (index < 0 && QFileInfo(absolute).isDir()) {
    set_run_dir(absolute);
    index = findData(absolute);
  }
  if (index < 0) {
    extra_files_.append(absolute);
    rebuild();
    index = findData(absolute);
  }
  return index;
}

void ModelPicker::show_source(const QString& path) {
  const QSignalBlocker block(this);
  setCurrentIndex(index_of(path));
  last_chosen_ = source();
}

void ModelPicker::select_source(const QString& path) {
  show_source(path);
  Q_EMIT chosen(source());
}

void ModelPicker::on_activated(int index) {
  const int browse = itemData(index, kBrowseRole).toInt();
  if (browse == kNone) {
    last_chosen_ = source();
    Q_EMIT chosen(source());
    return;
  }
  const QString start = run_dir_.isEmpty() ? QFileInfo(last_chosen_).absolutePath() : run_dir_;
  const QString path = browse == kWeightsFile
                           ? QFileDialog::getOpenFileName(this, tr("Open weights"), start,
                                                          tr("Weights (*.safetensors)"))
                           : QFileDialog::getExistingDirectory(this, tr("Open run folder"), start);
  if (path.isEmpty()) {  // back to the model in use
    setCurrentIndex(std::max(0, findData(last_chosen_)));
    return;
  }
  select_source(path);
}

}  // namespace hg
