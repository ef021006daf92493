// The Inspector's worker object and its thread. Requests go in as queued calls; each
// resolves the model source again, so a run directory always gives its newest checkpoint, and
// reloads the weights only when that file changed. Inputs become tokens exactly as
// `hourglass inspect` makes them, then hg::inspect runs on the CPU as the CLI does, so both give
// the same numbers. Not the panel, not the drawing.
#include "app/inspect_worker.h"

#include <torch/torch.h>

#include <QMetaObject>
#include <chrono>
#include <filesystem>
#include <new>
#include <optional>
#include <stdexcept>

#include "app/model_source.h"
#include "model/data/data.h"
#include "model/io/image_io.h"
#include "model/io/inspection_files.h"
#include "model/tools/inspect.h"
#include "model/train/checkpoint.h"

namespace hg {
namespace {

namespace fs = std::filesystem;

std::string training_data_of(const std::string& run_dir) {
  if (run_dir.empty()) return "";
  try {
    return read_run_config(run_dir).train.data;
  } catch (const std::exception&) {
    return "";  // only a default for the panel's data field
  }
}

std::string user_message(const std::exception& e) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e))
    return torch_error->what_without_backtrace();
  return e.what();
}

}  // namespace

// Lives on InspectWorker::impl_'s thread; its member functions run there, posted by the facade. It
// reaches the facade only through report(), and reads only its atomic `wanted_`.
class InspectWorkerImpl : public QObject {
 public:
  explicit InspectWorkerImpl(InspectWorker* facade) : facade_(facade) {}

  void open(const std::string& source) {
    guarded([&] {
      const InspectModelInfoPtr info = std::make_shared<InspectModelInfo>(load(source));
      report([f = facade_, info] { Q_EMIT f->model_opened(info); });
    });
  }

  void inspect(quint64 id, const InspectRequest& request) {
    if (id != facade_->wanted_) return;  // superseded or cancelled before it started
    guarded([&] {
      const auto start = std::chrono::steady_clock::now();
      auto snapshot = std::make_shared<InspectSnapshot>();
      snapshot->id = id;
      snapshot->model = load(request.source);
      InspectOrigin origin;
      const std::vector<uint8_t> tokens = input_tokens(request, *snapshot, origin);
      snapshot->result = hg::inspect(*model_, tokens);
      origin.weights = snapshot->model.weights;
      origin.step = snapshot->model.step;
      snapshot->result.origin = origin;
      snapshot->seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      report([f = facade_, s = InspectSnapshotPtr(std::move(snapshot))] {
        if (s->id == f->wanted_) Q_EMIT f->inspected(s);  // else cancelled while it ran
      });
    });
  }

 private:
  // The model of `source`, loaded as the CLI loads it (CPU, eval), reused while its file stays.
  InspectModelInfo load(const std::string& source_path) {
    const ModelSource source = resolve_model_source(source_path);
    std::error_code error;
    const auto written = fs::last_write_time(source.weights, error);
    if (!model_ || source.weights != weights_ || written != written_) {
      model_.reset();  // a failed load below leaves no model of the wrong weights behind
      model_ = open_model(source, "cpu");
      weights_ = source.weights;
      written_ = written;
    }
    InspectModelInfo info;
    info.source = source_path;
    info.weights = source.weights;
    info.run_dir = run_dir_of(source);
    info.data = training_data_of(info.run_dir);
    info.step = source.run_dir.empty() ? -1 : source.step;
    info.config = source.config;
    info.image_channels = image_channels(source.config);
    return info;
  }

  // The bytes the model sees, as `hourglass inspect` makes them from --text and --image.
  // Also fills in where the input came from (`origin`), and the snapshot's label and count.
  std::vector<uint8_t> input_tokens(const InspectRequest& request, InspectSnapshot& snapshot,
                                    InspectOrigin& origin) {
    const ModelConfig& config = snapshot.model.config;
    const int channels = snapshot.model.image_channels;
    auto as_image = [&](std::vector<uint8_t> pixels) {
      origin.input_kind = "image";
      origin.image_width = origin.image_height = kImageSide;
      origin.image_channels = channels;
      return pixels;
    };
    switch (request.input) {
      case InspectInput::kText:
        origin.input_kind = "text";
        snapshot.input_label = "the text";
        return {request.text.begin(), request.text.end()};
      case InspectInput::kImageFile:
        origin.input_path = request.path;
        snapshot.input_label = "file " + request.path;
        return as_image(image_tokens(request.path, config));
      case InspectInput::kPixels:
        if (channels == 0) throw std::invalid_argument(text_model_message(config));
        if (request.width <= 0 || request.height <= 0 ||
            request.rgba.size() != static_cast<size_t>(request.width) * request.height * 4)
          throw std::invalid_argument("inspect: the image '" + request.label + "' is empty");
        snapshot.input_label = request.label;
        return as_image(
            fit_rgba_32(request.rgba.data(), request.width, request.height, channels).pixels);
      case InspectInput::kDataset:
        return dataset_tokens(request, snapshot, origin, as_image);
    }
    throw std::logic_error("inspect: unknown input kind");
  }

  template <typename AsImage>
  std::vector<uint8_t> dataset_tokens(const InspectRequest& request, InspectSnapshot& snapshot,
                                      InspectOrigin& origin, AsImage&& as_image) {
    const Dataset& data = dataset(request.path);
    const std::vector<uint8_t>& val = data.split(Split::kVal);
    const int channels = snapshot.model.image_channels;
    if (data.is_image()) {
      if (channels == 0) throw std::invalid_argument(text_model_message(snapshot.model.config));
      if (data.channels != channels || data.height != kImageSide || data.width != kImageSide)
        throw std::invalid_argument("inspect: " + request.path + " holds " +
                                    std::to_string(data.width) + "x" + std::to_string(data.height) +
                                    "x" + std::to_string(data.channels) +
                                    " images; this model reads 32x32x" + std::to_string(channels) +
                                    ". HINT: pick its own training data, or an image file");
      const int64_t count = static_cast<int64_t>(data.count(Split::kVal));
      if (count == 0) throw std::invalid_argument("inspect: " + request.path + " has no val image");
      const int64_t index = ((request.index % count) + count) % count;
      snapshot.dataset_count = count;
      snapshot.input_label =
          "val image " + std::to_string(index) + " of " + std::to_string(count) + ", " + data.path;
      origin.input_path = data.path;
      const auto first = val.begin() + index * static_cast<int64_t>(data.image_bytes());
      return as_image({first, first + static_cast<int64_t>(data.image_bytes())});
    }
    if (channels != 0)
      throw std::invalid_argument("inspect: " + request.path +
                                  " is text, and this model reads images. HINT: pick an image "
                                  "dataset or an image file");
    // Pieces of the length the model sees (BOS + seq_len - 1 bytes), back to back.
    const int64_t length = std::max(1, snapshot.model.config.seq_len - 1);
    const int64_t size = static_cast<int64_t>(val.size());
    const int64_t count = std::max<int64_t>(1, size / length);
    const int64_t index = ((request.index % count) + count) % count;
    snapshot.dataset_count = count;
    snapshot.input_label =
        "val piece " + std::to_string(index) + " of " + std::to_string(count) + ", " + data.path;
    origin.input_kind = "text";
    origin.input_path = data.path;
    const auto first = val.begin() + index * length;
    return {first, first + std::min(length, size - index * length)};
  }

  const Dataset& dataset(const std::string& path) {
    if (path.empty())
      throw std::invalid_argument(
          "inspect: no dataset given. HINT: type a data path, or open a run directory");
    if (!dataset_ || dataset_path_ != path) {
      dataset_.reset();
      dataset_ = load_dataset(path);
      dataset_path_ = path;
    }
    return *dataset_;
  }

  static std::string text_model_message(const ModelConfig& config) {
    return "inspect: this model reads text (" + std::to_string(config.seq_len) +
           " tokens), not 32x32 images. HINT: inspect a text";
  }

  // Runs `body`; an exception becomes the facade's failed signal. Every task ends with a report
  // that the task is done, so the facade's busy count stays right.
  template <typename Body>
  void guarded(Body&& body) {
    std::string message;
    try {
      body();
    } catch (const std::bad_alloc&) {
      message = "inspect: out of memory. HINT: inspect a shorter text, or a smaller model";
    } catch (const std::exception& e) {
      message = user_message(e);
    }
    if (!message.empty())
      report([f = facade_, m = QString::fromStdString(message)] { Q_EMIT f->failed(m); });
  }

  template <typename F>
  void report(F&& function) {
    QMetaObject::invokeMethod(facade_, std::forward<F>(function), Qt::QueuedConnection);
  }

  InspectWorker* facade_;  // lives in the GUI thread; reached through report() and wanted_
  std::optional<Hourglass> model_;
  std::string weights_;
  fs::file_time_type written_{};
  std::optional<Dataset> dataset_;
  std::string dataset_path_;
};

InspectWorker::InspectWorker(QObject* parent)
    : QObject(parent), impl_(new InspectWorkerImpl(this), QStringLiteral("inspector")) {
  qRegisterMetaType<hg::InspectRequest>();
  qRegisterMetaType<hg::InspectModelInfoPtr>();
  qRegisterMetaType<hg::InspectSnapshotPtr>();
}

InspectWorker::~InspectWorker() {
  wanted_ = ~quint64{0};  // queued inspections are skipped; then impl_ waits for its thread
}

template <typename F>
void InspectWorker::post(F&& function) {
  if (++in_flight_ == 1) Q_EMIT busy_changed(true);
  impl_.post([this, f = std::forward<F>(function)]() mutable {
    f();
    QMetaObject::invokeMethod(this, &InspectWorker::finished_one, Qt::QueuedConnection);
  });
}

void InspectWorker::finished_one() {
  if (--in_flight_ == 0) Q_EMIT busy_changed(false);
}

void InspectWorker::open(const QString& source) {
  post([w = impl_.get(), s = source.toStdString()] { w->open(s); });
}

quint64 InspectWorker::inspect(const InspectRequest& request) {
  const quint64 id = ++next_id_;
  wanted_ = id;
  post([w = impl_.get(), id, request] { w->inspect(id, request); });
  return id;
}

void InspectWorker::cancel() { wanted_ = ++next_id_; }

}  // namespace hg
