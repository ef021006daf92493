// Follows one run directory as another process (the studio's own worker, or a CLI run, maybe on
// another machine through a shared folder) writes it: new complete lines of metrics.jsonl and the
// newest file in samples/. Polls with a timer, since file watchers miss changes on network
// shares. Not a parser of anything but whole lines, and it never writes to the run.
#pragma once

#include <QList>
#include <QObject>
#include <QString>
#include <QTimer>

#include "model/core/metrics.h"
#include "ui/training/studio_types.h"

namespace hg {

class RunFollower : public QObject {
  Q_OBJECT

 public:
  static constexpr int kPollMs = 500;

  explicit RunFollower(const QString& run_dir, QObject* parent = nullptr);

  const QString& run_dir() const { return run_dir_; }
  // Reads what is new now (the timer calls it too). Public so a test can step it.
  void poll();
  // Forgets which sample was last reported, so the next poll reports the newest again.
  void rescan_samples() { newest_sample_.clear(); }

 Q_SIGNALS:
  // The file was truncated or replaced (a resumed run drops the lines after its checkpoint, a
  // forced rerun starts afresh): drop what was read, the lines come again from the start.
  void reset();
  // Metrics lines appended since the last poll, in file order; lines that do not parse (not a
  // metrics object) are skipped, a line still being written waits for its newline.
  void appended(const QList<hg::Metrics>& lines);
  // The newest file in samples/ changed: a .txt or .png path.
  void sample_written(const QString& path);

 private:
  void poll_metrics();
  void poll_samples();

  QString run_dir_;
  QTimer timer_;
  qint64 offset_ = 0;     // bytes of metrics.jsonl consumed: whole lines only
  QByteArray last_line_;  // the last line consumed, with its newline: a changed one means rewritten
  QString newest_sample_;
};

}  // namespace hg
