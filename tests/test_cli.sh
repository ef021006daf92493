#!/usr/bin/env bash
# End-to-end checks of the `hourglass` command line as a user runs it: train, resume, eval,
# sample, inspect on small data made here, and the exit status and message of bad input.
# Usage: test_cli.sh PATH/TO/hourglass
set -uo pipefail
hg=$1
source "$(dirname "$0")/cli_checks.sh"

for i in $(seq 1 400); do echo "the hourglass shortens the sequence and lengthens it again $i"; done > "$work/text.txt"
small=(--hierarchy "1@1 1@3 1@1" --d-model 32 --heads 2 --seq-len 48 --batch 4 --device cpu)

version=$("$hg" --version)
for line in hourglass libtorch device attention distributed build assets; do
  grep -q "^$line " <<<"$version" || fail "--version has no '$line' line: $version"
done

"$hg" train --data "$work/text.txt" "${small[@]}" --steps 6 --save-every 3 --eval-every 3 \
  --out "$work/run" 2>"$work/train.log" || fail "train: $(cat "$work/train.log")"
[ -f "$work/run/checkpoints/step_00000006.safetensors" ] || fail "no final checkpoint"
[ "$(grep -c '"split":"train"' "$work/run/metrics.jsonl")" = 6 ] || fail "metrics lines"

expect_error "--force" "$hg" train --data "$work/text.txt" "${small[@]}" --steps 2 --out "$work/run"
"$hg" resume "$work/run" --steps 9 2>/dev/null || fail "resume"
[ -f "$work/run/checkpoints/step_00000009.json" ] || fail "resume wrote no step 9"

line=$("$hg" eval "$work/run" --split test 2>/dev/null) || fail "eval"
grep -q '"bits_per_token"' <<<"$line" || fail "eval printed: $line"

"$hg" sample "$work/run" --prompt "the hour" --length 40 --seed 5 --out "$work/a.txt" 2>/dev/null \
  || fail "sample"
"$hg" sample "$work/run" --prompt "the hour" --length 40 --seed 5 --full-recompute \
  --out "$work/b.txt" 2>/dev/null || fail "sample --full-recompute"
cmp -s "$work/a.txt" "$work/b.txt" || fail "incremental and full-recompute samples differ"
[ "$(head -c 8 "$work/a.txt")" = "the hour" ] || fail "the sample does not start with its prompt"

"$hg" inspect "$work/run" --text "the hourglass" --out "$work/inspect" 2>/dev/null || fail "inspect"
[ -f "$work/inspect/meta.json" ] && [ -f "$work/inspect/logits.npy" ] || fail "inspect files"
ls "$work/inspect/attention/"*.npy >/dev/null 2>&1 || fail "no attention files"

# Images: a folder of PNGs, one corrupt (skipped, not fatal). ImageMagick draws them; a machine
# without it (the GPU build box) skips this part and says so.
if command -v convert >/dev/null; then
  mkdir -p "$work/pngs"
  for c in red green blue yellow white black navy teal; do
    convert -size 32x32 "xc:$c" "$work/pngs/$c.png" 2>/dev/null || fail "convert"
  done
  echo "not a png" > "$work/pngs/broken.png"
  "$hg" train --data "$work/pngs" --hierarchy "1@1 1@3 1@1" --d-model 16 --heads 2 --batch 2 \
    --steps 2 --device cpu --out "$work/img" 2>"$work/img.log" || fail "image train: $(cat "$work/img.log")"
  grep -q "skipped" "$work/img.log" || fail "the corrupt PNG was not reported: $(cat "$work/img.log")"
  "$hg" sample "$work/img" --n 2 --out "$work/grid.png" 2>/dev/null || fail "image sample"
  [ "$(head -c 4 "$work/grid.png" | tail -c 3)" = "PNG" ] || fail "grid.png is not a PNG"
  "$hg" sample "$work/img" --prime "$work/pngs/red.png" --keep-rows 8 --n 1 \
    --out "$work/done.png" 2>/dev/null || fail "image completion"

else
  echo "skipped the image checks: no ImageMagick 'convert' here"
fi

# Bad input: each ends with a clear message and a non-zero status.
expect_error "does not exist" "$hg" train --data "$work/missing.txt" "${small[@]}" --out "$work/x"
expect_error "palindrome" "$hg" train --data "$work/text.txt" --hierarchy "2@1 4@3 1@1" --out "$work/x"
expect_error "n_heads" "$hg" train --data "$work/text.txt" --d-model 30 --heads 4 --out "$work/x"
expect_error "heads" "$hg" train --data "$work/text.txt" --heads 0 --out "$work/x"
printf '\x00\x00\x08\x03\x00\x00\x00\x10' > "$work/bad-images-idx3-ubyte"
expect_error "bad-images-idx3-ubyte" "$hg" train --data "$work/bad-images-idx3-ubyte" --out "$work/x"
echo "garbage" > "$work/bad.safetensors"
expect_error "bad.safetensors" "$hg" sample "$work/bad.safetensors" --out "$work/x.txt"
mkdir -p "$work/empty-run"
expect_error "no checkpoint" "$hg" sample "$work/empty-run" --out "$work/x.txt"
expect_error ".txt" "$hg" sample "$work/run" --out "$work/x.jpg"
expect_error "not a 32x32 image" "$hg" sample "$work/run" --out "$work/x.png"
[ ! -e "$work/x" ] || fail "a failed train left $work/x behind"

# --out and --force never delete what this program did not make.
echo precious > "$work/important.txt"
expect_error "is a file" "$hg" train --data "$work/text.txt" "${small[@]}" --steps 1 \
  --out "$work/important.txt" --force
[ "$(cat "$work/important.txt")" = precious ] || fail "--force replaced a file"
mkdir -p "$work/project/checkpoints"
echo '{"name": "app"}' > "$work/project/config.json"
echo code > "$work/project/index.js"
expect_error "not a Hourglass run directory" "$hg" train --data "$work/text.txt" "${small[@]}" \
  --steps 1 --out "$work/project" --force
[ -f "$work/project/index.js" ] || fail "--force deleted another program's folder"
expect_error "current folder" bash -c 'cd "$1" && shift && "$@"' _ "$work/run" "$hg" train \
  --data "$work/text.txt" "${small[@]}" --steps 1 --out . --force
[ -f "$work/run/checkpoints/step_00000009.json" ] || fail "--out . --force touched the run"
expect_error "--out is empty" "$hg" train --data "$work/text.txt" "${small[@]}" --steps 1 --out ''
"$hg" train --data "$work/text.txt" "${small[@]}" --steps 2 --out "$work/again" 2>/dev/null &&
  "$hg" train --data "$work/text.txt" "${small[@]}" --steps 1 --out "$work/again/." --force \
    2>/dev/null || fail "--force on RUN/. did not replace the run"
[ -f "$work/again/checkpoints/step_00000001.json" ] && [ ! -e "$work/again/checkpoints/step_00000002.json" ] ||
  fail "--force on RUN/. left the old run"

# Bytes of a prompt >= 0x80 are bytes, not signed chars: the sample starts with them.
"$hg" sample "$work/run" --prompt 'été' --length 10 --out "$work/u.txt" 2>/dev/null || fail "sample é"
[ "$(head -c 2 "$work/u.txt" | od -An -tx1 | tr -d ' ')" = "c3a9" ] || fail "the prompt's bytes changed"

# A closed terminal (SIGHUP) saves, as Ctrl-C does.
"$hg" train --data "$work/text.txt" "${small[@]}" --steps 100000 --save-every 0 --out "$work/hup" \
  2>/dev/null &
pid=$!
for _ in $(seq 1 600); do [ -s "$work/hup/metrics.jsonl" ] && break; sleep 0.1; done
kill -HUP "$pid"
wait "$pid" || fail "SIGHUP: training did not stop cleanly"
ls "$work/hup/checkpoints/"*.safetensors >/dev/null 2>&1 || fail "SIGHUP left no checkpoint"

# Sizes a user types have limits; out of memory is one line, before a run directory is made.
expect_error "more than the" "$hg" train --data "$work/text.txt" --hierarchy "999999@1" --out "$work/x"
expect_error "cores" "$hg" train --data "$work/text.txt" "${small[@]}" --gpus 4096 --out "$work/x"
err=$("$hg" train --data "$work/text.txt" --hierarchy "1@1 1@3 1@1" --d-model 32 --heads 2 \
  --seq-len 48 --device cpu --batch 1000000 --out "$work/x" 2>&1)
[ "$(wc -l <<<"$err")" = 1 ] && grep -q "out of memory" <<<"$err" || fail "--batch 1000000 said: $err"
[ ! -e "$work/x" ] || fail "a run that could not start left $work/x behind"
expect_error "hierarchy is empty" "$hg" train --data "$work/text.txt" --hierarchy "" --out "$work/x"
expect_error "tokens one request may decode" "$hg" sample "$work/run" --length 1000000000 \
  --out "$work/long.txt"

if [ "$failures" -ne 0 ]; then echo "$failures CLI check(s) failed"; exit 1; fi
echo "all CLI checks passed"
