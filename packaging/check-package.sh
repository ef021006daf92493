#!/usr/bin/env bash
# Builds the Debian package from an existing build folder (default build/, made by build.sh) and
# checks it without installing it: its contents, its dependencies, the desktop entry and AppStream
# metadata, and the programs run from a scratch root where it is unpacked, finding their presets
# beside the executable (not through HOURGLASS_ASSETS or the source tree). CI runs it after the
# tests. Usage: packaging/check-package.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
fail() { echo "check-package: $*" >&2; exit 1; }

# dpkg-shlibdeps (dpkg-dev) computes the library dependencies; the validators check the files.
bash packaging/install-deps.sh dpkg-dev appstream desktop-file-utils

cmake --build "$build"
rm -f "$build"/hourglass-studio_*.deb
(cd "$build" && cpack -G DEB)
debs=("$build"/hourglass-studio_*.deb)
[ -f "${debs[0]}" ] || fail "cpack wrote no hourglass-studio_*.deb in $build"
deb=${debs[0]}
echo "check-package: $deb ($(du -h "$deb" | cut -f1))"

contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
expect_file() { grep -qx "./usr/$1" <<<"$contents" || fail "$deb lacks /usr/$1"; }
expect_file bin/hourglass
expect_file bin/hourglass-studio
expect_file share/applications/hourglass-studio.desktop
expect_file share/metainfo/io.github.hourglass_studio.metainfo.xml
expect_file share/doc/hourglass-studio/copyright
expect_file share/icons/hicolor/scalable/apps/hourglass-studio.svg
for size in 16 32 48 64 128 256; do
  expect_file "share/icons/hicolor/${size}x${size}/apps/hourglass-studio.png"
done
for preset in assets/presets/*.json; do
  expect_file "share/hourglass-studio/presets/$(basename "$preset")"
done
for model in assets/models/*.safetensors; do
  [ -e "$model" ] || continue  # no demo models yet
  expect_file "share/hourglass-studio/models/$(basename "$model")"
done

info=$(dpkg-deb -I "$deb")
depends=$(sed -n 's/^ Depends: //p' <<<"$info")
recommends=$(sed -n 's/^ Recommends: //p' <<<"$info")
echo "check-package: Depends: $depends"
echo "check-package: Recommends: $recommends"
for package in libtorch1.13 libqt6widgets6 libqt6openglwidgets6 libqt6gui6 libqt6core6 libgl1 \
  libgl1-mesa-dri libopenblas0; do
  grep -Eq "(^|, )$package( |,|$)" <<<"$depends" || fail "Depends lacks $package: $depends"
done
for package in fortunes dataset-fashion-mnist tango-icon-theme; do
  grep -Eq "(^|, )$package( |,|$)" <<<"$recommends" || fail "Recommends lacks $package"
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
desktop-file-validate "$root/usr/share/applications/hourglass-studio.desktop"
appstreamcli validate --no-net "$root/usr/share/metainfo/io.github.hourglass_studio.metainfo.xml"

# The unpacked programs, with no HOURGLASS_ASSETS: presets must come from <exe>/../share.
unset HOURGLASS_ASSETS
version=$("$root/usr/bin/hourglass" --version)
echo "$version"
grep -qx "assets $root/usr/share/hourglass-studio" <<<"$version" ||
  fail "the unpacked hourglass does not read its presets from $root/usr/share/hourglass-studio"
"$root/usr/bin/hourglass" train --preset tiny-cpu --steps 2 --eval-every 0 --save-every 0 \
  --out "$root/run" 2>&1 | tail -n 2
[ -f "$root/run/config.json" ] || fail "hourglass train in the scratch root wrote no run"
# The unpacked studio opens (OpenGL canvas and all) and quits, with its settings kept in the root.
XDG_CONFIG_HOME="$root/config" XDG_DATA_HOME="$root/data" xvfb-run -a -s "-screen 0 1280x800x24" \
  "$root/usr/bin/hourglass-studio" --quit-after 4 --screenshot "$root/studio.png"
[ -s "$root/studio.png" ] || fail "the unpacked hourglass-studio did not start"
echo "check-package: $deb is good"
