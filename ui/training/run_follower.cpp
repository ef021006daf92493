// Polling reader of a run directory's metrics.jsonl and samples/: whole lines from the last offset,
// a rewrite detected by the last line read no longer being where it was. Read-only.
#include "ui/training/run_follower.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

namespace hg {

RunFollower::RunFollower(const QString& run_dir, QObject* parent)
    : QObject(parent), run_dir_(run_dir) {
  timer_.setInterval(kPollMs);
  connect(&timer_, &QTimer::timeout, this, &RunFollower::poll);
  timer_.start();
}

void RunFollower::poll() {
  poll_metrics();
  poll_samples();
}

void RunFollower::poll_metrics() {
  QFile file(run_dir_ + QStringLiteral("/metrics.jsonl"));
  if (!file.open(QIODevice::ReadOnly)) return;  // not written yet, or gone for a moment
  const qint64 size = file.size();
  // Shrunk, or the last line we read is no longer where it was: the file was rewritten.
  bool rewritten = size < offset_;
  if (!rewritten && !last_line_.isEmpty()) {
    file.seek(offset_ - last_line_.size());
    rewritten = file.read(last_line_.size()) != last_line_;
  }
  if (rewritten) {
    offset_ = 0;
    last_line_.clear();
    Q_EMIT reset();
  }
  if (size == offset_) return;
  file.seek(offset_);
  const QByteArray chunk = file.read(size - offset_);
  const qsizetype end = chunk.lastIndexOf('\n');
  if (end < 0) return;  // only part of a line so far
  QList<Metrics> lines;
  qsizetype begin = 0;
  while (begin <= end) {
    const qsizetype newline = chunk.indexOf('\n', begin);
    const QByteArray line = chunk.mid(begin, newline - begin).trimmed();
    if (!line.isEmpty())
      if (auto m = parse_metrics_line(line.toStdString())) lines.append(*m);
    last_line_ = chunk.mid(begin, newline + 1 - begin);
    begin = newline + 1;
  }
  offset_ += end + 1;
  if (!lines.isEmpty()) Q_EMIT appended(lines);
}

void RunFollower::poll_samples() {
  const QDir samples(run_dir_ + QStringLiteral("/samples"));
  if (!samples.exists()) return;
  // Names are step_00000200.txt / .png: the last by name is the newest.
  const QStringList files = samples.entryList({QStringLiteral("*.txt"), QStringLiteral("*.png")},
                                              QDir::Files, QDir::Name);
  if (files.isEmpty()) return;
  const QString newest = samples.filePath(files.last());
  if (newest == newest_sample_) return;
  newest_sample_ = newest;
  Q_EMIT sample_written(newest);
}

}  // namespace hg
