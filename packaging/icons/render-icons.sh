#!/usr/bin/env bash
# Renders the PNG sizes of the studio's icon (hicolor 16..256) from hourglass-studio.svg with
# ImageMagick. The PNGs are committed: run this only after editing the SVG.
set -euo pipefail
cd "$(dirname "$0")"
for size in 16 32 48 64 128 256; do
  # Rasterize at the target size (density scales the 256-unit drawing), so thin strokes stay sharp.
  density=$(awk "BEGIN { print 72 * $size / 256 * 4 }")
  convert -background none -density "$density" hourglass-studio.svg -resize "${size}x${size}" \
    -depth 8 -strip "PNG32:hourglass-studio-$size.png"
done
ls -l hourglass-studio-*.png
