#!/usr/bin/env bash
# Checks the one-way arrows of docs/ARCHITECTURE.md where include paths cannot (CI runs it): Debian
# puts torch's and ImGui's headers in /usr/include, and every target shares the repository root.
# Prints each include that points the wrong way and exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
found=$(
  # No torch in the widgets, in app/'s headers, or in the torch-free libraries.
  grep -rnE '#include [<"](torch|ATen|c10|cuda)' ui app/*.h model/core model/io model/data
  # No Qt, ImGui or studio code in the engine or the CLI.
  grep -rnE '#include [<"](Q[A-Za-z]|imgui|ui/)' model app/hourglass_cli.cpp app/cli app/launch.* \
    app/model_source.*
  # The widgets and app/'s headers see only the torch-free libraries.
  grep -rnE '#include "model/(kernels|nn|decode|train|tools)/' ui app/*.h
  # Each model/ library includes only those below it.
  layers=(core io data kernels nn decode train tools)
  for i in "${!layers[@]}"; do
    for above in "${layers[@]:i+1}"; do grep -rn "#include \"model/$above/" "model/${layers[i]}"; done
  done
)
if [ -n "$found" ]; then
  echo "check-layers: includes against the architecture (docs/ARCHITECTURE.md):" >&2
  echo "$found" >&2
  exit 1
fi
echo "check-layers: every include points down the layers"
