// Plain values the studio's window and its training controller pass each other through queued
// signals: the run state and the Qt meta-type declarations of the engine's plain structs.
// Torch-free and header-only; not the controller (app/controller.h) nor any widget.
#pragma once

#include <QMetaType>
#include <QString>

#include "model/core/metrics.h"
#include "model/core/run_config.h"

namespace hg {

// Where the one training run the studio owns stands. kStarting covers loading the data and
// building the model; kStopping the checkpoint written on the way out.
enum class RunState { kIdle, kStarting, kRunning, kPaused, kStopping };

inline QString to_qstring(RunState state) {
  switch (state) {
    case RunState::kIdle:
      return QStringLiteral("idle");
    case RunState::kStarting:
      return QStringLiteral("starting");
    case RunState::kRunning:
      return QStringLiteral("training");
    case RunState::kPaused:
      return QStringLiteral("paused");
    case RunState::kStopping:
      return QStringLiteral("stopping");
  }
  return QStringLiteral("?");
}

}  // namespace hg

Q_DECLARE_METATYPE(hg::Metrics)
Q_DECLARE_METATYPE(hg::RunConfig)
Q_DECLARE_METATYPE(hg::RunState)
