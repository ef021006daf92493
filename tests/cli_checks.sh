# Shared by the command-line test scripts (sourced): a scratch folder removed at exit, failures
# counted, and expect_error. Sets $work and $failures.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error "what it must say" command...: non-zero exit, one line on stderr containing it.
expect_error() {
  local want=$1; shift
  local err
  if err=$("$@" 2>&1 >/dev/null); then fail "succeeded: $*"; return; fi
  grep -q -- "$want" <<<"$err" || fail "'$*' said: $err (wanted: $want)"
}
