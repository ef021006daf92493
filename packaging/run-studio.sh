#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds, and opens the studio on the default data
# (fortunes text) with the tiny CPU preset, one click from training. Extra arguments go to the
# studio (e.g. --start to begin training at once).
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
bash packaging/build.sh
exec ./build/app/hourglass-studio "$@"
