#!/usr/bin/env bash
# Gathers, from this Debian machine's packages, what a GPU box without Debian's -dev packages needs
# to build the engine and the CLI against its own CUDA libtorch: nlohmann JSON, CLI11, stb, zlib,
# minizip (static, as zlib) and GoogleTest's sources, each in its own folder so that one the GPU
# box has already is never shadowed by ours. Writes .gpu-deps/ (ignored by git), which then
# travels with the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-deps
rm -rf "$out"
mkdir -p "$out/json/include" "$out/cli11/include" "$out/stb" "$out/zlib/include" "$out/zlib/lib" \
  "$out/minizip/include" "$out/minizip/lib"
cp -r /usr/include/nlohmann "$out/json/include/"
cp -r /usr/include/CLI "$out/cli11/include/"
cp /usr/include/stb/stb_image.h /usr/include/stb/stb_image_write.h "$out/stb/"
cp /usr/include/zlib.h /usr/include/zconf.h "$out/zlib/include/"
cp /usr/lib/x86_64-linux-gnu/libz.a "$out/zlib/lib/"
cp -r /usr/include/minizip "$out/minizip/include/"
cp /usr/lib/x86_64-linux-gnu/libminizip.a "$out/minizip/lib/"
cp -r /usr/src/googletest "$out/googletest"
du -sh "$out"
