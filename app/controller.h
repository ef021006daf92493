// The studio's training controller: owns one worker thread, and the worker owns the Trainer (one
// thread owns the training model and optimizer: docs/ARCHITECTURE.md, "Threads, and who owns
// what"). Requests go in as calls on the GUI thread; results come out as signals carrying plain
// values. Torch-free header (the worker lives in controller.cpp). Not the window, and not the
// curves: those follow the run directory (ui/training/run_follower.h).
#pragma once

#include <QObject>
#include <QString>
#include <atomic>
#include <memory>

#include "app/worker_thread.h"
#include "model/core/metrics.h"
#include "model/core/run_config.h"
#include "ui/training/studio_types.h"

namespace hg {

class TrainingWorker;  // controller.cpp: lives on worker_'s thread, owns the Trainer

class Controller : public QObject {
  Q_OBJECT

 public:
  explicit Controller(QObject* parent = nullptr);
  // Stops a run in progress (which saves a checkpoint), quits the worker thread and waits.
  ~Controller() override;

  // A new run of `config` in `run_dir`; an empty run_dir picks default_run_dir(). A run in
  // progress is stopped first (saving its checkpoint).
  void start(const RunConfig& config, const QString& run_dir = {});
  // The configured hierarchy and then its vanilla twin of equal depth and width (same data, seed
  // and token budget) into out_dir/hourglass and out_dir/vanilla, one after the other on this
  // worker, then out_dir/compare.json (model/train/compare.h). Pause, resume and save reach
  // whichever run is in progress; a stop ends the comparison. Empty out_dir: default_run_dir().
  void compare(const RunConfig& config, const QString& out_dir = {});
  // Continues `run_dir` from its newest checkpoint (Trainer::resume).
  void continue_run(const QString& run_dir);
  // Pause and stop take effect between two optimizer steps; both save a checkpoint, so a paused
  // run survives a crash of the studio. Resume continues a paused run.
  void pause();
  void resume();
  void stop();
  void save_checkpoint();  // at the next step boundary, without stopping

  RunState state() const { return state_; }
  QString run_dir() const { return run_dir_; }  // of the run in progress, or the last one
  // "<AppDataLocation>/runs/<yyyyMMdd-hhmmss>", made unique with a suffix.
  static QString default_run_dir();
  // The device a run with device "auto" would use, e.g. "cpu (2 threads)".
  static QString default_device();
  // CUDA GPUs this build and machine have: 0 with a CPU libtorch or without a driver.
  static int gpu_count();

 Q_SIGNALS:
  void state_changed(hg::RunState state);
  // The trainer is built and the run directory exists: `description` names the data and the
  // model; the run trains to `total_steps`.
  void run_started(const QString& run_dir, const QString& description, const QString& device,
                   qint64 total_steps);
  void metrics(const hg::Metrics& m);
  void checkpoint_saved(qint64 step, const QString& run_dir);
  // A sample of the model at `step` was written to run_dir/samples on Pause or Stop.
  void sample_written(qint64 step, const QString& run_dir);
  // The run reached its last step or was stopped; its last checkpoint is at `step`.
  void run_finished(const QString& run_dir, qint64 step, bool completed);
  // Both runs of a comparison completed and out_dir/compare.json is written.
  void comparison_finished(const QString& out_dir);
  // A user-facing message: a bad data path, a diverged run, out of memory. The studio goes on.
  void error(const QString& message);

 private:
  friend class TrainingWorker;
  void set_state(RunState state);
  void request(std::atomic<bool>& flag);

  RunState state_ = RunState::kIdle;
  QString run_dir_;
  // Last, so it is destroyed first: the thread stops while every other member still exists.
  WorkerThread<TrainingWorker> worker_;
};

}  // namespace hg
