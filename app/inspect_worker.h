// The Inspector's worker: on its own thread it loads a model from a checkpoint file (a
// run directory's newest, e.g. the one the trainer just saved; never the module being trained),
// runs hg::inspect — the code behind `hourglass inspect` — for a text or an image, and hands the
// GUI a plain-data InspectSnapshot through a queued call. Torch-free header (the worker object is
// in inspect_worker.cpp). Not the panel (ui/inspector/inspector_panel.h) nor what it draws.
#pragma once

#include <QObject>
#include <QString>
#include <atomic>

#include "app/worker_thread.h"
#include "ui/inspector/inspect_types.h"

namespace hg {

class InspectWorkerImpl;  // inspect_worker.cpp: lives on impl_'s thread, owns the loaded model

class InspectWorker : public QObject {
  Q_OBJECT

 public:
  explicit InspectWorker(QObject* parent = nullptr);
  // Drops pending requests, quits the thread and waits for the forward pass in progress, if any.
  ~InspectWorker() override;

  // Resolves and loads `source` (a run directory or a .safetensors file), then model_opened.
  void open(const QString& source);
  // Queues one inspection and returns its id. A newer request, or cancel(), makes an older one
  // that has not started yet be skipped, and the result of one in progress be dropped.
  quint64 inspect(const hg::InspectRequest& request);
  void cancel();
  // Whether a request is queued or running.
  bool busy() const { return in_flight_ > 0; }

 Q_SIGNALS:
  void model_opened(hg::InspectModelInfoPtr info);
  void inspected(hg::InspectSnapshotPtr snapshot);
  // A user-facing message (a missing checkpoint, an image for a text model); the studio goes on.
  void failed(const QString& message);
  void busy_changed(bool busy);

 private:
  friend class InspectWorkerImpl;
  template <typename F>
  void post(F&& function);
  void finished_one();  // on the GUI thread, after each posted task

  quint64 next_id_ = 0;
  std::atomic<quint64> wanted_{0};  // the id whose result the GUI waits for; read by the worker
  int in_flight_ = 0;
  // Last, so it is destroyed first: the thread stops while every other member still exists.
  WorkerThread<InspectWorkerImpl> impl_;
};

}  // namespace hg
