#!/usr/bin/env bash
# Checks that the repository stands alone (CI runs it): every path a file cites (model/..., ui/...,
# docs/..., a .h/.cpp/.cu/.md/.sh/.json of the tree) exists, and nothing cites a document outside
# the repository or an issue number. Prints each dangling reference as FILE:LINE: TEXT, exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# Documents that are not in the repository, and issue numbers.
if git grep -nE 'DESIGN\.md|CONVENTIONS\.md|BUILDING\.md|[Ii]ssues? #?[0-9]+' -- . ':!packaging/check-references.sh'; then
  status=1
fi
# Paths into the tree: a top-level folder of the project, then a file name with an extension.
while IFS=: read -r file line path; do
  path=${path%%[.,;:)]}
  case "$path" in *'*'*|*'<'*|*NAME*) continue ;; esac  # patterns (cuda/*.cu), placeholders
  [ -e "$path" ] || { echo "$file:$line: $path does not exist"; status=1; }
done < <(git grep -noE '(^|[^A-Za-z0-9_./-])(app|ui|model|tests|docs|assets|packaging)/[A-Za-z0-9_./*<>-]*[A-Za-z0-9_*>]\.(h|cpp|cu|cuh|md|sh|json|cmake|txt|xml|desktop|safetensors|png)' \
           -- . ':!packaging/check-references.sh' |
         sed -E 's/^([^:]+):([0-9]+):[^A-Za-z]*/\1:\2:/')
if [ "$status" -eq 0 ]; then echo "check-references: every cited path exists; no outside documents"; fi
exit "$status"
