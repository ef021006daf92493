// Polling reader of a run directory's metrics.jsonl and samples/: whole lines from the last offset,
// each byte read once, a rewrite detected by the last bytes consumed no longer being where they
// were. Read-only.
#include "ui/training/run_follower.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <algorithm>

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

void RunFollower::restart() {
  offset_ = read_ = 0;
  pending_.clear();
  skipping_ = false;
  tail_.clear();
}

void RunFollower::skip_line() {
  skipping_ = true;
  pending_.clear();
  Q_EMIT line_skipped(tr("%1/metrics.jsonl: skipped a line at byte %2, longer than the %3 bytes "
                         "a metrics line may have")
                          .arg(run_dir_)
                          .arg(offset_)
                          .arg(kMaxLineBytes));
}

void RunFollower::poll_metrics() {
  QFile file(run_dir_ + QStringLiteral("/metrics.jsonl"));
  if (!file.open(QIODevice::ReadOnly)) return;  // not written yet, or gone for a moment
  const qint64 size = file.size();
  if (size < read_) {  // the line being written got shorter: read it again from its start
    read_ = offset_;
    pending_.clear();
    skipping_ = false;
  }
  // Shrunk, or the last bytes consumed are no longer where they were: the file was rewritten.
  bool rewritten = size < offset_;
  if (!rewritten && !tail_.isEmpty()) {
    file.seek(offset_ - tail_.size());
    rewritten = file.read(tail_.size()) != tail_;
    bytes_read_ += tail_.size();
  }
  if (rewritten) {
    restart();
    Q_EMIT reset();
  }
  QList<Metrics> lines;
  const qint64 consumed = offset_;
  while (read_ < size) {  // a block at a time, each byte once
    file.seek(read_);
    const QByteArray block = file.read(std::min(kReadBytes, size - read_));
    if (block.isEmpty()) break;
    bytes_read_ += block.size();
    qsizetype begin = 0;
    for (qsizetype newline; (newline = block.indexOf('\n', begin)) >= 0; begin = newline + 1) {
      if (!skipping_) {
        pending_.append(block.constData() + begin, newline - begin);
        if (pending_.size() > kMaxLineBytes) skip_line();
      }
      if (!skipping_) {
        const QByteArray line = pending_.trimmed();
        if (!line.isEmpty())
          if (auto m = parse_metrics_line(line.toStdString())) lines.append(*m);
      }
      pending_.clear();
      skipping_ = false;
      offset_ = read_ + newline + 1;
    }
    if (!skipping_) {  // the start of a line still being written
      pending_.append(block.constData() + begin, block.size() - begin);
      if (pending_.size() > kMaxLineBytes) skip_line();
    }
    read_ += block.size();
  }
  if (offset_ != consumed) {
    const qint64 tail = std::min<qint64>(offset_, kTailBytes);
    file.seek(offset_ - tail);
    tail_ = file.read(tail);
    bytes_read_ += tail;
  }
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
