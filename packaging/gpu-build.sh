#!/usr/bin/env bash
# Builds the engine, the CLI and the engine tests against the CUDA libtorch of the Python torch
# on a GPU machine (no Qt there), using .gpu-deps/ from packaging/gpu-deps.sh for what that
# machine lacks. Usage: packaging/gpu-build.sh [build-dir]   (default build-gpu)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-gpu}
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
extra=()
if [ -d .gpu-deps ]; then
  extra+=(-DHOURGLASS_THIRD_PARTY="$PWD/.gpu-deps")
fi
# nvcc for the fused decoding kernels (model/kernels/cuda), when it is not on the PATH already.
if ! command -v nvcc >/dev/null && [ -z "${CUDACXX:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOURGLASS_GUI=OFF \
  -DCMAKE_PREFIX_PATH="$prefix" "${extra[@]}"
cmake --build "$build"
