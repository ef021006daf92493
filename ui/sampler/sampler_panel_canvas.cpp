// The image side of the Sampler panel: the completion canvas's PNG and dataset loading (the dataset
// decoded off the GUI thread), saving samples as PNG or text, and the canvas frame that lays out
// the completion canvas beside the sample grid. The controls, model sources and jobs are in
// sampler_panel.cpp.
#include <imgui.h>

#include <QCheckBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QSpinBox>
#include <QThread>
#include <algorithm>

#include "model/data/data.h"
#include "model/io/image_io.h"
#include "ui/sampler/sampler_panel.h"

namespace hg {
namespace {

// A dataset image as a 32x32 image of `channels`: through fit_rgba_32, the one path that turns
// any image into what a model of those channels reads.
Image to_model_image(const uint8_t* pixels, int height, int width, int from, int channels) {
  std::vector<uint8_t> rgba(static_cast<size_t>(height) * width * 4, 255);
  for (int p = 0; p < height * width; ++p)
    for (int c = 0; c < 3; ++c) rgba[p * 4 + c] = pixels[p * from + (from == 1 ? 0 : c)];
  return fit_rgba_32(rgba.data(), width, height, channels);
}

}  // namespace

bool SamplerPanel::load_canvas_png(const QString& path) {
  try {
    partial_.set_image(load_image_32(path.toStdString(), partial_.channels));
  } catch (const std::exception& e) {
    show_error(QString::fromUtf8(e.what()));
    return false;
  }
  set_completion(true);
  Q_EMIT canvas_changed();
  return true;
}

void SamplerPanel::ask_load_png() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Load an image into the canvas"), {},
                                                    tr("Images (*.png *.jpg *.jpeg)"));
  if (!path.isEmpty()) load_canvas_png(path);
}

void SamplerPanel::keep_top_rows(int rows) {
  partial_.keep_top_rows(rows);
  set_completion(true);
  Q_EMIT canvas_changed();
}

void SamplerPanel::use_dataset_image(int index) {
  const int channels = partial_.channels;
  const QString path = QString::fromLatin1(channels == 1 ? kDefaultGrayPath : kDefaultColorPath);
  dataset_wanted_ = index;
  if (dataset_path_ == path && dataset_count_ > 0 && dataset_channels_ == channels)
    return show_dataset_image(index);
  if (dataset_thread_) return;  // loading: the wanted image shows when it is done
  status_->setText(tr("Loading %1…").arg(path));
  // Decoding a whole dataset would freeze the window: off the GUI thread. The destructor waits for
  // the thread, so `this` outlives it; a queued call to a deleted panel is dropped by Qt.
  dataset_thread_ = QThread::create([this, path, channels] {
    std::vector<uint8_t> pixels;
    int count = 0;
    QString error;
    try {
      const Dataset data = load_dataset(path.toStdString());
      const Split split = data.count(Split::kTest) > 0 ? Split::kTest : Split::kVal;
      const std::vector<uint8_t>& images = data.split(split);
      count = static_cast<int>(data.count(split));
      for (int i = 0; i < count; ++i) {
        const Image image = to_model_image(images.data() + i * data.image_bytes(), data.height,
                                           data.width, data.channels, channels);
        pixels.insert(pixels.end(), image.pixels.begin(), image.pixels.end());
      }
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, path, pixels = std::move(pixels), count, channels, error]() mutable {
          dataset_thread_->wait();
          delete dataset_thread_;
          dataset_thread_ = nullptr;
          dataset_loaded(path, std::move(pixels), count, channels, error);
        },
        Qt::QueuedConnection);
  });
  dataset_thread_->start();
}

void SamplerPanel::dataset_loaded(const QString& path, std::vector<uint8_t> pixels, int count,
                                  int channels, const QString& error) {
  if (!error.isEmpty()) {
    show_error(error);
    status_->setText(finished_note_);
    return;
  }
  dataset_path_ = path;
  dataset_pixels_ = std::move(pixels);
  dataset_count_ = count;
  dataset_channels_ = channels;
  show_dataset_image(dataset_wanted_);
}

void SamplerPanel::show_dataset_image(int wanted) {
  const int channels = dataset_channels_;
  if (dataset_count_ == 0 || channels != partial_.channels) return;  // the model changed
  const int index = std::clamp(wanted, 0, dataset_count_ - 1);
  {
    const QSignalBlocker block(dataset_index_);
    dataset_index_->setRange(0, dataset_count_ - 1);
    dataset_index_->setValue(index);
  }
  Image image;
  image.width = image.height = kImageSide;
  image.channels = channels;
  const size_t bytes = static_cast<size_t>(kImageSide) * kImageSide * channels;
  image.pixels.assign(dataset_pixels_.begin() + index * bytes,
                      dataset_pixels_.begin() + (index + 1) * bytes);
  partial_.set_image(image);
  status_->setText(
      tr("Canvas: test image %1 of %2").arg(index).arg(QFileInfo(dataset_path_).fileName()));
  set_completion(true);
  Q_EMIT canvas_changed();
}

bool SamplerPanel::save_png(const QString& path) {
  return save_image_png(path, [this] { return snapshot_.grid_image(); });
}

bool SamplerPanel::save_selected_png(const QString& path) {
  return save_image_png(path, [this] {
    return snapshot_.image(std::clamp(image_view_.selected, 0, snapshot_.n - 1));
  });
}

bool SamplerPanel::save_image_png(const QString& path, const std::function<Image()>& image) {
  if (snapshot_.empty() || !snapshot_.is_image()) return false;
  try {
    write_png(path.toStdString(), image());
  } catch (const std::exception& e) {
    show_error(QString::fromUtf8(e.what()));
    return false;
  }
  return true;
}

bool SamplerPanel::save_text(const QString& path) {
  QFile file(path);
  const std::string text = snapshot_.text();
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
      file.write(text.data(), static_cast<qint64>(text.size())) !=
          static_cast<qint64>(text.size())) {
    show_error(tr("Could not write %1: %2").arg(path, file.errorString()));
    return false;
  }
  return true;
}

void SamplerPanel::ask_save() {
  if (snapshot_.is_image()) {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save the samples"), QStringLiteral("samples.png"), tr("PNG images (*.png)"));
    if (!path.isEmpty()) save_png(path);
  } else {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save the samples"), QStringLiteral("samples.txt"), tr("Text files (*.txt)"));
    if (!path.isEmpty()) save_text(path);
  }
}

void SamplerPanel::ask_save_selected() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Save the selected sample"),
      QStringLiteral("sample_%1.png").arg(image_view_.selected + 1), tr("PNG images (*.png)"));
  if (!path.isEmpty()) save_selected_png(path);
}

void SamplerPanel::draw_frame() {
  if (!info_.is_image()) {
    text_view_.draw(snapshot_);
    return;
  }
  // The canvas beside the grid when there is room for it and two tiles. Else it goes above the
  // grid, under a header that opens when completion is turned on and closes when it is off, so
  // that unconditional samples get the whole height.
  const ImGuiStyle& style = ImGui::GetStyle();
  const float image_w = static_cast<float>(PartialImage::kSide * paint_view_.zoom);
  const float tile = PartialImage::kSide * ImageSampleView::kMinZoom + 6.0f;
  const bool side_by_side =
      ImGui::GetContentRegionAvail().x >= image_w + 2 * tile + 4 * style.WindowPadding.x;
  const bool active_changed = paint_view_.active != canvas_was_active_ || !canvas_header_set_;
  canvas_was_active_ = paint_view_.active;
  canvas_header_set_ = true;
  if (side_by_side) {
    ImGui::BeginChild("##completion", ImVec2(image_w + 2 * style.WindowPadding.x, 0.0f));
    draw_completion_canvas(/*notes_beside=*/false);
    ImGui::EndChild();
    ImGui::SameLine();
  } else {
    if (active_changed) ImGui::SetNextItemOpen(paint_view_.active);
    if (ImGui::CollapsingHeader("Completion canvas")) draw_completion_canvas(/*notes_beside=*/true);
  }
  ImGui::BeginChild("##samples");
  image_view_.draw(snapshot_);
  ImGui::EndChild();
}

void SamplerPanel::draw_completion_canvas(bool notes_beside) {
  if (!notes_beside) ImGui::TextUnformatted("Completion canvas");
  if (paint_view_.draw(partial_)) {
    if (!complete_->isChecked()) set_completion(true);  // painting means completing
    Q_EMIT canvas_changed();
  }
  if (notes_beside) ImGui::SameLine();
  ImGui::BeginGroup();
  ImGui::PushTextWrapPos(ImGui::GetContentRegionMax().x);
  ImGui::TextUnformatted(paint_view_.active ? "Completing: known pixels are kept"
                                            : "Completion off: samples ignore the canvas");
  ImGui::TextDisabled("%d of %d pixels known", partial_.known_count(),
                      PartialImage::kSide * PartialImage::kSide);
  ImGui::TextDisabled("drag: paint (or erase) with the brush");
  ImGui::TextDisabled("right-drag: erase");
  ImGui::TextDisabled("checkered pixels will be sampled");
  ImGui::PopTextWrapPos();
  ImGui::EndGroup();
}

}  // namespace hg
