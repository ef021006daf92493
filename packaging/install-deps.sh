#!/usr/bin/env bash
# Installs the Debian 12 packages Hourglass Studio needs to build, test and run, and the packages
# that hold its default data, and any packages named as arguments (check-package.sh adds the tools
# it needs). Installs only what is missing; needs root (or sudo) only then.
set -euo pipefail

packages=(
  cmake g++ ninja-build pkg-config
  qt6-base-dev libqt6opengl6-dev
  libtorch-dev libopenblas0-pthread libgloo-dev
  libimgui-dev libstb-dev libgtest-dev
  zlib1g-dev libminizip-dev nlohmann-json3-dev libcli11-dev
  xvfb xauth libgl1-mesa-dri imagemagick xdotool
  fortunes dataset-fashion-mnist tango-icon-theme
  oxygen-icon-theme gnome-icon-theme adwaita-icon-theme mate-icon-theme elementary-xfce-icon-theme
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
