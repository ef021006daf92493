#!/usr/bin/env bash
# Gathers, from this Debian machine's packages, what a GPU box without Debian's -dev packages needs
# to build the engine and the CLI against its own CUDA libtorch: header-only libraries (nlohmann
# JSON, CLI11, stb), zlib's header and static library, and GoogleTest's sources. Writes them to
# .gpu-deps/ (ignored by git), which then travels with the working tree. See README: GPU build.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-deps
rm -rf "$out"
mkdir -p "$out/include" "$out/lib"
cp -r /usr/include/nlohmann /usr/include/CLI "$out/include/"
mkdir -p "$out/include/stb"
cp /usr/include/stb/stb_image.h /usr/include/stb/stb_image_write.h "$out/include/stb/"
cp /usr/include/zlib.h /usr/include/zconf.h "$out/include/"
cp /usr/lib/x86_64-linux-gnu/libz.a "$out/lib/"
cp -r /usr/src/googletest "$out/googletest"
du -sh "$out"
