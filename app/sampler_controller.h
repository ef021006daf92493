// The studio's sampling controller: owns one worker thread whose worker holds its own copy of a
// model, loaded from a checkpoint file — never the module being trained, so sampling during a run
// leaves the run alone (docs/ARCHITECTURE.md, "Threads, and who owns what"). Requests go in as
// calls on the GUI thread; tokens come out per position as queued signals carrying plain values.
// Torch-free header (the worker lives in sampler_controller.cpp). Not the panel
// (ui/sampler/sampler_panel.h).
#pragma once

#include <QObject>
#include <QString>

#include "app/worker_thread.h"
#include "ui/sampler/sampler_types.h"

namespace hg {

class SamplingWorker;  // sampler_controller.cpp: lives on worker_'s thread, owns the model copy

class SamplerController : public QObject {
  Q_OBJECT

 public:
  explicit SamplerController(QObject* parent = nullptr);
  // Cancels the job in progress (at its next token), quits the worker thread and waits.
  ~SamplerController() override;

  // Loads a weights file, or the newest checkpoint of a run folder; emits model_loaded or error.
  void load(const QString& source);
  // Samples `job` (loading its source first when needed), after cancelling any job in progress.
  // Returns the job's id, which its signals carry.
  int start(const SampleJob& job);
  // Stops the job in progress, and any queued, at the next token.
  void cancel();
  bool busy() const { return running_job_ >= 0; }

 Q_SIGNALS:
  void model_loaded(const hg::SamplerModelInfo& info);
  void job_started(int job, const hg::SamplerModelInfo& info);
  // One position of every sample of `job`, in order.
  void step(int job, const hg::SampleStep& step);
  // completed: every position was produced; false when cancelled or failed. `positions` were
  // decoded after the prompt in `seconds`.
  void job_finished(int job, bool completed, double seconds, qint64 positions);
  // A user-facing message (a missing or foreign checkpoint, a bad option); the studio goes on.
  void error(const QString& message);

 private:
  friend class SamplingWorker;
  int next_job_ = 0;
  int running_job_ = -1;  // the newest job started and not yet finished, as the GUI knows it
  // Last, so it is destroyed first: the thread stops while every other member still exists.
  WorkerThread<SamplingWorker> worker_;
};

}  // namespace hg
