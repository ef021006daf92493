#!/usr/bin/env bash
# Trains the studio's three demo models on one GPU from the presets gpu-demo-text,
# gpu-demo-fashion and gpu-demo-icons, and copies each run's checkpoint with the lowest validation
# loss to assets/models/demo-<kind>.safetensors (weights only: the optimizer state stays in the
# run).
#
#   bash packaging/train-demos.sh [HOURGLASS] [RUNS_DIR]
#
# HOURGLASS is the CLI (default build-gpu/app/hourglass), RUNS_DIR where the runs go (default
# demo-runs/). Each run trains for DEMO_SECONDS of training time (default 150). The data are the
# presets' Debian paths unless FORTUNES, FASHION or ICONS name other copies (a machine without
# the Debian packages). Which demos: DEMOS="demo-text demo-fashion demo-icons" (the default).
set -euo pipefail
cd "$(dirname "$0")/.."
hourglass=${1:-build-gpu/app/hourglass}
runs=${2:-demo-runs}
seconds=${DEMO_SECONDS:-150}
declare -A data=(
  [demo-text]=${FORTUNES:-/usr/share/games/fortunes}
  [demo-fashion]=${FASHION:-/usr/share/datasets/fashion-mnist}
  [demo-icons]=${ICONS:-/usr/share/icons})
mkdir -p "$runs" assets/models
for demo in ${DEMOS:-demo-text demo-fashion demo-icons}; do
  preset="gpu-$demo"
  run="$runs/$demo"
  "$hourglass" train --preset "$preset" --data "${data[$demo]}" --device cuda \
    --max-time "$seconds" --out "$run" --force
  # The saved step with the lowest validation loss (metrics.jsonl: one JSON object a line).
  best=$(python3 - "$run" <<'PY'
import json, os, sys
run = sys.argv[1]
val = {}
for line in open(os.path.join(run, "metrics.jsonl")):
    m = json.loads(line)
    if m.get("split") == "val":
        val[m["step"]] = m["loss"]
saved = [s for s in val if os.path.exists(os.path.join(run, "checkpoints", "step_%08d.safetensors" % s))]
step = min(saved, key=lambda s: val[s])
print("%s %d %.4f" % (os.path.join(run, "checkpoints", "step_%08d.safetensors" % step), step, val[step]))
PY
)
  read -r weights step loss <<<"$best"
  cp "$weights" "assets/models/$demo.safetensors"
  echo "$demo: step $step, val loss $loss nats/token -> assets/models/$demo.safetensors"
done
