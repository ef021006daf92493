#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds, and runs every test (GUI tests under Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
bash packaging/build.sh
cd build
xvfb-run -a -s "-screen 0 1280x800x24" ctest --output-on-failure --timeout 900 -j "$(nproc)"
