// The sampling worker and its controller. The worker is a QObject moved to the
// controller's thread; it loads a model from a checkpoint file into its own module and runs
// hg::sample with a per-token callback that posts each position to the GUI thread and checks the
// cancel mark. Not the panel, and not the training controller (controller.cpp).
#include "app/sampler_controller.h"

#include <QElapsedTimer>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <new>
#include <stdexcept>

#include "app/model_source.h"
#include "model/core/cost.h"
#include "model/decode/sampler.h"
#include "model/nn/device.h"
#include "model/train/checkpoint.h"

namespace hg {
namespace {

namespace fs = std::filesystem;

std::string describe(const ModelSource& source) {
  const ModelConfig& c = source.config;
  const double params = static_cast<double>(model_cost(c).params);
  char count[32];
  std::snprintf(count, sizeof count, params >= 1e6 ? "%.1fM" : "%.0fk",
                params >= 1e6 ? params / 1e6 : params / 1e3);
  std::string text = fs::path(source.weights).filename().string() + ": " + c.hierarchy + " (" +
                     to_string(c.shorten) + "/" + to_string(c.upsample) + "), D " +
                     std::to_string(c.d_model) + ", " + count + " parameters, " +
                     std::to_string(c.seq_len) + " tokens";
  if (source.step > 0) text += ", step " + std::to_string(source.step);
  return text;
}

}  // namespace

// Lives on SamplerController::worker_'s thread. Its member functions run there (posted by the
// controller); cancel_before is the only member the GUI thread touches.
class SamplingWorker : public QObject {
 public:
  explicit SamplingWorker(SamplerController* controller) : controller_(controller) {}

  // Jobs with an id below this stop at their next token (or do not start).
  std::atomic<int> cancel_before{0};

  void load(const QString& source) {
    guarded([&] {
      const SamplerModelInfo info = ensure_loaded(source.toStdString());
      report([c = controller_, info] { Q_EMIT c->model_loaded(info); });
    });
  }

  void run(int id, const SampleJob& job) {
    QElapsedTimer clock;
    clock.start();
    int64_t positions = 0;
    bool completed = false;
    if (id >= cancel_before) {
      guarded([&] {
        const SamplerModelInfo info = ensure_loaded(job.source.toStdString());
        report([c = controller_, id, info] { Q_EMIT c->job_started(id, info); });
        SampleRequest request;
        request.known = job.known;
        request.options = job.options;
        bool cancelled = false;
        const SampleResult result = sample(model_, request, [&](const SampleStep& step) {
          report([c = controller_, id, step] { Q_EMIT c->step(id, step); });
          cancelled = id < cancel_before;
          return !cancelled;
        });
        positions = result.decoded;
        completed = !cancelled;
      });
    }
    report([c = controller_, id, completed, seconds = clock.elapsed() / 1000.0, positions] {
      if (c->running_job_ == id) c->running_job_ = -1;
      Q_EMIT c->job_finished(id, completed, seconds, positions);
    });
  }

 private:
  // The model for `source`, loaded unless it is the weights file already held. A run folder
  // resolves to its newest complete checkpoint each time: what the trainer saved last.
  SamplerModelInfo ensure_loaded(const std::string& source_path) {
    const ModelSource source = resolve_model_source(source_path);
    if (source.weights != loaded_.weights.toStdString() || model_.is_empty()) {
      // OpenMP's thread count is per calling thread: this one leaves a core to the GUI as the
      // trainer does (studio_threads).
      set_cpu_threads(studio_threads());
      model_ = open_model(source, "auto");  // throws naming the file, leaving model_ as it was
      loaded_.weights = QString::fromStdString(source.weights);
      loaded_.description = QString::fromStdString(describe(source));
      loaded_.seq_len = source.config.seq_len;
      loaded_.channels = channels_of(source);
      loaded_.step = source.step > 0 ? source.step : -1;
    }
    loaded_.source = QString::fromStdString(source_path);
    return loaded_;
  }

  // Runs `body`; an exception becomes the controller's error signal, and the model held stays.
  template <typename Body>
  void guarded(Body&& body) {
    std::string message;
    try {
      body();
      return;
    } catch (const std::bad_alloc&) {  // past the check before sampling (model/nn/memory.h)
      message = "out of memory while sampling. HINT: a shorter length or fewer samples";
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    } catch (const std::exception& e) {
      message = e.what();
    }
    report([c = controller_, m = QString::fromStdString(message)] { Q_EMIT c->error(m); });
  }

  // Runs `function` on the GUI thread. Dropped if the controller is gone by then.
  template <typename F>
  void report(F&& function) {
    QMetaObject::invokeMethod(controller_, std::forward<F>(function), Qt::QueuedConnection);
  }

  SamplerController* controller_;  // lives in the GUI thread; only reached through report()
  Hourglass model_{nullptr};       // this worker's own copy, never the trainer's module
  SamplerModelInfo loaded_;
};

SamplerController::SamplerController(QObject* parent)
    : QObject(parent), worker_(new SamplingWorker(this), QStringLiteral("sampler")) {
  qRegisterMetaType<hg::SampleStep>();
  qRegisterMetaType<hg::SamplerModelInfo>();
  qRegisterMetaType<hg::SampleJob>();
}

SamplerController::~SamplerController() {
  worker_->cancel_before = next_job_;  // then worker_ waits for its thread and deletes the model
}

void SamplerController::load(const QString& source) {
  worker_.post([w = worker_.get(), source] { w->load(source); });
}

int SamplerController::start(const SampleJob& job) {
  cancel();  // the job in progress stops at its next token; this one runs after it
  const int id = next_job_++;
  running_job_ = id;
  worker_.post([w = worker_.get(), id, job] { w->run(id, job); });
  return id;
}

void SamplerController::cancel() { worker_->cancel_before = next_job_; }

}  // namespace hg
