// The training worker and its controller. The worker is a QObject moved to the controller's
// thread; it owns the Trainer and runs Trainer::run with an interrupt flag, so every
// request (pause, stop, save) lands between two optimizer steps. Results go back to the GUI
// thread as queued calls that emit the controller's signals. Not the window, not the curves.
#include "app/controller.h"

#include <QDateTime>
#include <QDir>
#include <QStandardPaths>
#include <atomic>
#include <filesystem>
#include <new>
#include <optional>
#include <stdexcept>

#include "model/core/cost.h"
#include "model/nn/device.h"
#include "model/train/compare.h"
#include "model/train/trainer.h"

namespace hg {
namespace {

// libtorch's words for a failed allocation: "CUDA out of memory", "C10 Out of Memory", and
// 1.13's CPU allocator "DefaultCPUAllocator: can't allocate memory".
bool is_out_of_memory(const std::string& message) {
  for (const char* words : {"out of memory", "Out of Memory", "can't allocate memory"})
    if (message.find(words) != std::string::npos) return true;
  return false;
}

}  // namespace

// Lives on Controller::worker_'s thread. Its member functions run there (posted by the controller);
// the atomic flags are the only members the GUI thread touches.
class TrainingWorker : public QObject {
 public:
  explicit TrainingWorker(Controller* controller) : controller_(controller) {}

  // Trainer::run's stop flag: set for any request, so run() returns at the next step boundary
  // (saving a checkpoint); the request flags then say what was asked. The GUI thread sets a
  // request flag before the interrupt, and train() clears the interrupt before reading them, so
  // no request is lost and a stray interrupt only costs one extra turn of the loop.
  std::atomic<bool> interrupt{false};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> pause_requested{false};
  std::atomic<bool> save_requested{false};
  std::atomic<bool> quitting{false};  // the controller is being destroyed; never cleared

  void start(const RunConfig& config, const std::string& run_dir) {
    begin(run_dir, [&] { trainer_ = Trainer::create(config, run_dir, /*force=*/false); });
  }

  void continue_run(const std::string& run_dir) {
    begin(run_dir, [&] { trainer_ = Trainer::resume(run_dir); });
  }

  // The hierarchy into out/hourglass, then (once it completes) its vanilla twin into out/vanilla,
  // then out/compare.json. A stop or a failure ends the comparison.
  void compare(const RunConfig& config, const std::string& out) {
    std::string hourglass_dir;
    const bool ok = guarded([&] {
      twin_ = vanilla_twin_run(config);  // refuses a hierarchy that is already vanilla
      const auto dir = prepare_compare_dir(out, /*force=*/false);
      compare_dir_ = dir.string();
      hourglass_dir = (dir / kCompareHourglassDir).string();
    });
    if (ok) start(config, hourglass_dir);
  }

  // Trains until the run is done, paused or stopped, handling requests between steps. Every
  // request posts a call of this, so one that finds no run just clears the flags.
  void train() {
    if (!trainer_) return clear_requests();
    guarded([&] {
      while (true) {
        interrupt = false;
        if (stop_requested.exchange(false) || quitting) return finish(/*completed=*/false);
        if (save_requested.exchange(false)) save();
        if (pause_requested) {
          report_state(RunState::kPaused);
          return sample_if_new();
        }
        if (trainer_->done()) return finish(/*completed=*/true);
        report_state(RunState::kRunning);
        trainer_->run(&interrupt, [this](const Metrics& m) {
          report([c = controller_, m] { Q_EMIT c->metrics(m); });
        });
        saved_step_ = trainer_->step();  // run() always leaves a checkpoint at its last step
      }
    });
  }

 private:
  // Builds a trainer with `make`, then trains. Failures (bad data path, bad config, a run
  // directory in the way) are reported and leave the worker idle.
  template <typename Make>
  void begin(const std::string& run_dir, Make&& make) {
    report_state(RunState::kStarting);
    const bool ok = guarded([&] {
      make();
      saved_step_ = trainer_->step();
      // Unless the config says otherwise, the GUI keeps a core to draw at display rate.
      if (trainer_->config().train.threads == 0) set_cpu_threads(studio_threads());
      const RunConfig& config = trainer_->config();
      const std::string description =
          trainer_->data().description + "; model " + config.model.hierarchy + " (" +
          to_string(config.model.shorten) + "/" + to_string(config.model.upsample) + "), D " +
          std::to_string(config.model.d_model) + ", " +
          std::to_string(model_cost(config.model).params) + " parameters";
      const QString dir = QString::fromStdString(run_dir);
      const QString desc = QString::fromStdString(description);
      const QString device = QString::fromStdString(describe_device(trainer_->device()));
      const qint64 steps = config.train.steps;
      report([c = controller_, dir, desc, device, steps] {
        Q_EMIT c->run_started(dir, desc, device, steps);
      });
    });
    if (ok) train();
  }

  void save() {
    if (saved_step_ != trainer_->step()) trainer_->save();
    saved_step_ = trainer_->step();
    report([c = controller_, step = saved_step_, dir = run_dir()] {
      Q_EMIT c->checkpoint_saved(step, dir);
    });
  }

  void finish(bool completed) {
    if (saved_step_ != trainer_->step()) trainer_->save();
    const int64_t step = trainer_->step();
    const QString dir = run_dir();
    clear_requests();
    // A comparison's twin follows at once: the window never sees an idle moment between the two.
    const bool twin_follows = completed && twin_ && !quitting;
    report_state(twin_follows ? RunState::kStarting : RunState::kIdle);
    report(
        [c = controller_, dir, step, completed] { Q_EMIT c->run_finished(dir, step, completed); });
    sample_if_new();
    trainer_.reset();
    if (!compare_dir_.empty()) continue_comparison(completed);
  }

  // After a run of a comparison: the twin next, or the summary once both completed.
  void continue_comparison(bool completed) {
    if (!completed || quitting) return end_comparison();
    if (twin_) {
      const RunConfig twin = *twin_;
      twin_.reset();
      return start(twin, (std::filesystem::path(compare_dir_) / kCompareVanillaDir).string());
    }
    guarded([&] {
      write_compare_summary(compare_dir_, describe_device(resolve_device("auto")));
      report([c = controller_, dir = QString::fromStdString(compare_dir_)] {
        Q_EMIT c->comparison_finished(dir);
      });
    });
    end_comparison();
  }

  void end_comparison() {
    twin_.reset();
    compare_dir_.clear();
  }

  // A sample of the model as it stands when the run pauses or stops, unless the schedule wrote
  // one at this step: a lesson's run shows what it learned however short it was. It is written
  // after the state is reported, so Stop and Pause answer at once; closing the studio cancels it.
  void sample_if_new() {
    if (trainer_->step() == 0 || trainer_->has_sample() || quitting) return;
    trainer_->write_sample(&quitting);
    report([c = controller_, step = trainer_->step(), dir = run_dir()] {
      Q_EMIT c->sample_written(step, dir);
    });
  }

  // Runs `body`; any exception becomes the controller's error signal, the trainer is dropped
  // (whatever it saved stays on disk) and the worker goes idle. Returns whether body succeeded.
  template <typename Body>
  bool guarded(Body&& body) {
    std::string message;
    try {
      body();
      return true;
    } catch (const TrainingDiverged& e) {
      message = e.what();  // already says which checkpoint is kept
    } catch (const std::bad_alloc&) {
      message = "out of memory" + kept() + ". HINT: lower batch, seq_len or d_model";
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
      if (is_out_of_memory(message))
        message = "out of memory: " + message + kept() + ". HINT: lower batch, seq_len or d_model";
      else
        message += kept();
    } catch (const std::exception& e) {
      message = e.what() + kept();
    }
    if (trainer_) {  // a new run that failed before its first checkpoint leaves nothing behind
      const std::string removed = trainer_->discard_unsaved();
      if (!removed.empty()) message += "; " + removed;
    }
    trainer_.reset();
    clear_requests();
    end_comparison();
    report([c = controller_, m = QString::fromStdString(message)] { Q_EMIT c->error(m); });
    report_state(RunState::kIdle);
    return false;
  }

  // What survives a failure, for the error message.
  std::string kept() const {
    if (!trainer_ || trainer_->run_dir().empty()) return "";
    return saved_step_ > 0 ? "; the checkpoint of step " + std::to_string(saved_step_) +
                                 " is kept in " + trainer_->run_dir() + "/checkpoints"
                           : "";
  }

  void clear_requests() { stop_requested = pause_requested = save_requested = false; }

  QString run_dir() const {
    return trainer_ ? QString::fromStdString(trainer_->run_dir()) : QString();
  }

  // Runs `function` on the GUI thread. Dropped if the controller is gone by then.
  template <typename F>
  void report(F&& function) {
    QMetaObject::invokeMethod(controller_, std::forward<F>(function), Qt::QueuedConnection);
  }
  void report_state(RunState state) {
    report([c = controller_, state] { c->set_state(state); });
  }

  Controller* controller_;  // lives in the GUI thread; only reached through report()
  std::unique_ptr<Trainer> trainer_;
  std::optional<RunConfig> twin_;  // a comparison's vanilla run, until it starts
  std::string compare_dir_;        // a comparison's folder while one is in progress
  int64_t saved_step_ = -1;        // the step of the trainer's newest checkpoint
};

Controller::Controller(QObject* parent)
    : QObject(parent), worker_(new TrainingWorker(this), QStringLiteral("training")) {
  qRegisterMetaType<hg::Metrics>();
  qRegisterMetaType<hg::RunState>();
}

Controller::~Controller() {
  worker_->quitting = true;  // then worker_ waits for its thread and deletes the trainer
  worker_->interrupt = true;
}

void Controller::start(const RunConfig& config, const QString& run_dir) {
  if (state_ != RunState::kIdle) stop();  // queued before the start: the old run ends first
  run_dir_ = run_dir.isEmpty() ? default_run_dir() : run_dir;
  set_state(RunState::kStarting);
  worker_.post(
      [w = worker_.get(), config, dir = run_dir_.toStdString()] { w->start(config, dir); });
}

void Controller::compare(const RunConfig& config, const QString& out_dir) {
  if (state_ != RunState::kIdle) stop();
  run_dir_ = out_dir.isEmpty() ? default_run_dir() : out_dir;
  set_state(RunState::kStarting);
  worker_.post(
      [w = worker_.get(), config, dir = run_dir_.toStdString()] { w->compare(config, dir); });
}

void Controller::continue_run(const QString& run_dir) {
  if (state_ != RunState::kIdle) stop();
  run_dir_ = run_dir;
  set_state(RunState::kStarting);
  worker_.post([w = worker_.get(), dir = run_dir_.toStdString()] { w->continue_run(dir); });
}

void Controller::pause() {
  if (state_ != RunState::kRunning) return;
  request(worker_->pause_requested);
}

void Controller::resume() {
  if (state_ != RunState::kPaused) return;
  worker_->pause_requested = false;
  worker_.post([w = worker_.get()] { w->train(); });
}

void Controller::stop() {
  if (state_ == RunState::kIdle || state_ == RunState::kStopping) return;
  request(worker_->stop_requested);
  set_state(RunState::kStopping);
}

void Controller::save_checkpoint() {
  if (state_ == RunState::kRunning || state_ == RunState::kPaused) request(worker_->save_requested);
}

// The flag first, then the interrupt (see TrainingWorker::interrupt); then a call of train(),
// which a paused worker, waiting in its event loop, needs to see the request at all.
void Controller::request(std::atomic<bool>& flag) {
  flag = true;
  worker_->interrupt = true;
  worker_.post([w = worker_.get()] { w->train(); });
}

void Controller::set_state(RunState state) {
  if (state_ == state) return;
  state_ = state;
  Q_EMIT state_changed(state);
}

QString Controller::default_run_dir() {
  const QString root =
      QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/runs/");
  const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
  QString dir = root + stamp;
  for (int i = 2; QDir(dir).exists(); ++i) dir = root + stamp + QStringLiteral("-%1").arg(i);
  return dir;
}

int Controller::gpu_count() {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

QString Controller::default_device() {
  try {
    set_cpu_threads(studio_threads());  // what a run will use (per thread under OpenMP)
    return QString::fromStdString(describe_device(resolve_device("auto")));
  } catch (const std::exception& e) {
    return QStringLiteral("unknown device (%1)").arg(QString::fromUtf8(e.what()));
  }
}

}  // namespace hg
