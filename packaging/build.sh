#!/usr/bin/env bash
# Configures and builds Hourglass Studio into build/ (Release, Ninja). Extra arguments go to cmake,
# e.g. packaging/build.sh -DHOURGLASS_GUI=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build
