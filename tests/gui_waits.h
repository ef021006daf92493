// Waits for the studio's Qt tests that hold on a loaded machine: a wait that lasts as long as the
// work it waits for keeps making progress (steps trained, tokens sampled), and fails only when
// nothing has moved for a while. Not a timeout on the work's total time, which depends on the load.
#pragma once

#include <QElapsedTimer>
#include <QTest>
#include <functional>

namespace hg {

// How long a wait tolerates no progress at all: generous, since llvmpipe drawing and other
// processes share the cores.
constexpr int kStallMs = 180000;

// Polls until done() holds; progress() is any number that grows while the work goes on (a count
// of metrics, of tokens sampled). Returns false after stall_ms without done() and without growth.
inline bool wait_while_progressing(const std::function<bool()>& done,
                                   const std::function<qint64()>& progress,
                                   int stall_ms = kStallMs) {
  qint64 last = progress();
  QElapsedTimer since;
  since.start();
  while (!done()) {
    QTest::qWait(20);
    const qint64 now = progress();
    if (now != last) {
      last = now;
      since.restart();
    } else if (since.elapsed() > stall_ms) {
      return false;
    }
  }
  return true;
}

}  // namespace hg
