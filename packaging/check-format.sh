#!/usr/bin/env bash
# Checks that every C++ and CUDA file of the repository is formatted as .clang-format says (CI runs
# it). Prints the files that are not and exits 1; `clang-format -i FILE` formats one.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || bash packaging/install-deps.sh clang-format
bad=()
while IFS= read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
if [ ${#bad[@]} -gt 0 ]; then
  echo "check-format: not formatted as .clang-format says (run clang-format -i on each):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: $(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' | wc -l) files formatted"
