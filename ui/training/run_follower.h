// Follows one run directory as another process (the studio's own worker, or a CLI run, maybe on
// another machine through a shared folder) writes it: new complete lines of metrics.jsonl and the
// newest file in samples/. Polls with a timer, since file watchers miss changes on network
// shares, and reads each byte once: a line still being written is kept, not read again, and one
// too long to be a metrics line is skipped. Not a parser of anything but whole lines, and it never
// writes to the run.
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
  // A metrics line is a few hundred bytes; a longer one than this is not a metrics line, and is
  // skipped (up to its newline) without being kept in memory.
  static constexpr qint64 kMaxLineBytes = 1 << 16;
  // Bytes read from the file at a time: what a poll holds at once, however large the file.
  static constexpr qint64 kReadBytes = 1 << 20;

  explicit RunFollower(const QString& run_dir, QObject* parent = nullptr);

  const QString& run_dir() const { return run_dir_; }
  // Reads what is new now (the timer calls it too). Public so a test can step it.
  void poll();
  // Bytes read from metrics.jsonl so far, over every poll: each byte once, however long a line.
  qint64 bytes_read() const { return bytes_read_; }
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
  // A line longer than kMaxLineBytes was skipped; `note` says where, for the panel to show.
  void line_skipped(const QString& note);

 private:
  void poll_metrics();
  void poll_samples();

  // Drops what was read, for a file that was truncated or replaced.
  void restart();
  // The line at offset_ is too long: drops it up to its newline and says so (line_skipped).
  void skip_line();

  static constexpr qint64 kTailBytes = 256;

  QString run_dir_;
  QTimer timer_;
  qint64 offset_ = 0;      // bytes of metrics.jsonl consumed: whole lines only
  qint64 read_ = 0;        // bytes read: offset_, then the line being written (each byte read once)
  QByteArray pending_;     // the bytes of that line read so far (at most kMaxLineBytes)
  bool skipping_ = false;  // that line is too long: its bytes are dropped up to its newline
  QByteArray tail_;        // the last bytes consumed (kTailBytes): changed, the file was rewritten
  QString newest_sample_;
  qint64 bytes_read_ = 0;
};

}  // namespace hg
