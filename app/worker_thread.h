// A worker object on a thread of its own, as the studio's controllers use one: the worker moves to
// the thread when it starts, calls posted to it run there one after another, and it is deleted
// after the thread has finished (so a trainer or model it owns is never freed mid-call). Also the
// torch thread count such a worker uses. Torch-free; Worker may be incomplete where this is
// declared, but not where it is built.
#pragma once

#include <QMetaObject>
#include <QString>
#include <QThread>
#include <algorithm>
#include <utility>

namespace hg {

// Torch threads for a studio worker whose config says 0 (all): all cores but one, which the GUI
// keeps. On 2 cores, two OpenMP threads fighting the GUI for the CPU run much slower than one that
// does not. OpenMP's count is per calling thread, so each worker sets its own.
inline int studio_threads() { return std::max(1, QThread::idealThreadCount() - 1); }

template <typename Worker>
class WorkerThread {
 public:
  WorkerThread(Worker* worker, const QString& name) : worker_(worker) {
    thread_.setObjectName(name);
    worker_->moveToThread(&thread_);
    thread_.start();
  }
  // Finishes what is running (the owner asks the worker to stop first), then deletes the worker.
  ~WorkerThread() {
    thread_.quit();
    thread_.wait();
    delete worker_;
  }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  Worker* get() const { return worker_; }
  Worker* operator->() const { return worker_; }
  // Runs function on the worker's thread, after everything posted before it.
  template <typename F>
  void post(F&& function) {
    QMetaObject::invokeMethod(worker_, std::forward<F>(function), Qt::QueuedConnection);
  }

 private:
  QThread thread_;
  Worker* worker_;
};

}  // namespace hg
