#!/usr/bin/env bash
# End-to-end checks of the `hourglass` command line as a user runs it: train, resume, eval,
# compare, sample, inspect on small data made here, and the exit status and message of bad input.
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
grep -q '"eval":"windows ' <<<"$line" || fail "eval does not name its protocol: $line"
grep '"split":"val"' "$work/run/metrics.jsonl" | grep -q '"eval":"windows [0-9]*x48"' ||
  fail "the trainer's val lines do not name their protocol"
# --full scores every byte of the split: as many tokens as the test split (the last 5%) holds.
size=$(stat -c %s "$work/text.txt")
line=$("$hg" eval "$work/run" --split test --full --json 2>/dev/null) || fail "eval --full"
grep -q "\"tokens\":$((size - size * 95 / 100))," <<<"$line" &&
  grep -q '"eval":"sliding 48/24"' <<<"$line" && grep -q '"bits_per_char"' <<<"$line" ||
  fail "eval --full --json printed: $line"
line=$("$hg" eval "$work/run" --full --context 24 --stride 24 --batch 3 2>/dev/null) ||
  fail "eval --full --context 24"
grep -q "bits/char over $((size * 95 / 100 - size * 90 / 100)) bytes (every byte: context 24, stride 24" <<<"$line" ||
  fail "eval --full printed: $line"
expect_error "requires --full" "$hg" eval "$work/run" --stride 4
expect_error "--stride = 9 is more than the context" "$hg" eval "$work/run" --full --context 8 --stride 9

"$hg" sample "$work/run" --prompt "the hour" --length 40 --seed 5 --out "$work/a.txt" 2>/dev/null \
  || fail "sample"
"$hg" sample "$work/run" --prompt "the hour" --length 40 --seed 5 --full-recompute \
  --out "$work/b.txt" 2>/dev/null || fail "sample --full-recompute"
cmp -s "$work/a.txt" "$work/b.txt" || fail "incremental and full-recompute samples differ"
[ "$(head -c 8 "$work/a.txt")" = "the hour" ] || fail "the sample does not start with its prompt"

"$hg" inspect "$work/run" --text "the hourglass" --out "$work/inspect" 2>/dev/null || fail "inspect"
[ -f "$work/inspect/meta.json" ] && [ -f "$work/inspect/logits.npy" ] || fail "inspect files"
ls "$work/inspect/attention/"*.npy >/dev/null 2>&1 || fail "no attention files"

# compare: the hierarchy and its vanilla twin on one budget, both runs and a summary of the two.
"$hg" compare --data "$work/text.txt" "${small[@]}" --steps 4 --eval-every 2 --out "$work/cmp" \
  2>"$work/cmp.log" || fail "compare: $(cat "$work/cmp.log")"
for side in hourglass vanilla; do
  [ -f "$work/cmp/$side/checkpoints/step_00000004.json" ] || fail "compare: no $side run"
  grep -q '"split":"val".*"tokens":768' "$work/cmp/$side/metrics.jsonl" ||
    fail "compare: $side's val lines have no tokens (4 steps x 4 x 48)"
done
grep -q '"hierarchy": "3@1"' "$work/cmp/compare.json" || fail "compare: the twin is not 3@1"
[ "$(grep -c '"val_bits_per_token": [0-9]' "$work/cmp/compare.json")" = 2 ] ||
  fail "compare.json: $(cat "$work/cmp/compare.json")"
grep -A6 '"ratio"' "$work/cmp/compare.json" | grep -q '"train_flops": 0\.' ||
  fail "compare: the hierarchy did not cost fewer FLOPs than its twin"
expect_error "already exists" "$hg" compare --data "$work/text.txt" "${small[@]}" --steps 1 \
  --out "$work/cmp"
expect_error "already a vanilla" "$hg" compare --data "$work/text.txt" --hierarchy "3@1" \
  --d-model 32 --heads 2 --device cpu --out "$work/y"
expect_error "not a comparison folder" "$hg" compare --data "$work/text.txt" "${small[@]}" \
  --steps 1 --out "$work/run" --force
[ -f "$work/run/checkpoints/step_00000009.json" ] || fail "compare --force touched a plain run"
[ ! -e "$work/y" ] || fail "a refused compare left $work/y behind"
"$hg" compare --data "$work/text.txt" "${small[@]}" --steps 2 --out "$work/cmp" --force \
  2>/dev/null || fail "compare --force did not replace the comparison"
[ -f "$work/cmp/vanilla/checkpoints/step_00000002.json" ] &&
  [ ! -e "$work/cmp/vanilla/checkpoints/step_00000004.json" ] || fail "compare --force kept the old runs"

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
  line=$("$hg" eval "$work/img" --full --json 2>/dev/null) || fail "image eval --full"
  grep -q '"bits_per_dim"' <<<"$line" && grep -q '"tokens":3072,' <<<"$line" &&
    grep -q '"eval":"whole 1x3072"' <<<"$line" || fail "image eval --full printed: $line"
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
expect_error "1000000000 is not a whole number from 1 to 16777216" "$hg" sample "$work/run" \
  --length 1000000000 --out "$work/long.txt"
expect_error "tokens one request may decode" "$hg" sample "$work/run" --length 16777216 --n 2 \
  --out "$work/long.txt"

# A run that fails before its first checkpoint (here it diverges: lr 9.99) leaves nothing behind
# and says so; over an old run with --force, the old run stays as it was.
diverge=(--data "$work/text.txt" "${small[@]}" --lr 9.99 --steps 130 --eval-every 120 --save-every 0)
err=$("$hg" train "${diverge[@]}" --out "$work/diverged/run" 2>&1 >/dev/null) && fail "lr 9.99 did not diverge"
err=$(grep "error" <<<"$err")  # after the progress lines, one line
[ "$(grep -c . <<<"$err")" = 1 ] && grep -q "diverged.*held no checkpoint yet and was removed" <<<"$err" ||
  fail "a diverged run said: $err"
[ ! -e "$work/diverged" ] || fail "a run that failed before its first checkpoint left $work/diverged"
expect_error "is as it was" "$hg" train "${diverge[@]}" --out "$work/again" --force
[ -f "$work/again/checkpoints/step_00000001.json" ] || fail "a failed --force run cost the old run"
ls -d "$work"/again.* 2>/dev/null && fail "a failed --force run left its new run beside the old"

# Out of memory before sampling starts: 16 samples of a 120 KB prompt need ~1.8 TB of scores.
prompt=$(head -c 120000 /dev/zero | tr '\0' a)
err=$("$hg" sample "$work/run" --prompt "$prompt" --n 16 --length 120010 --out "$work/big.txt" 2>&1)
[ "$(grep -c . <<<"$err")" = 1 ] && grep -q "out of memory: sampling 16 x 120010 tokens.* GB free. HINT" <<<"$err" ||
  fail "a 1.8 TB sample said: $err"

# Numbers: words, not CLI11's 309-digit bounds or a conversion error without a limit.
expect_error "1e20 is not a whole number from 1 to 1000000000" "$hg" train --data "$work/text.txt" \
  --steps 1e20 --out "$work/x"
# An option given twice takes its last value (a script's options, then one more).
expect_error "1e20 is not a whole number" "$hg" train --data "$work/text.txt" "${small[@]}" \
  --steps 2 --steps 1e20 --out "$work/x"
expect_error "out of memory: training" "$hg" train --data "$work/text.txt" "${small[@]}" \
  --batch 1000000 --out "$work/x"
expect_error "0 is not a number above 0, at most 10" "$hg" train --data "$work/text.txt" --lr 0 \
  --out "$work/x"
expect_error "1e400 is not a whole number from 2 to 65536" "$hg" train --data "$work/text.txt" \
  --d-model 1e400 --out "$work/x"
expect_error "is not a whole number from 1 to 16777216" "$hg" bench "${small[@]}" --sample \
  --text-length 1000000000
expect_error "factor 1000000 is more than the 65536 allowed" "$hg" train --data "$work/text.txt" \
  --hierarchy "1@1000000" --out "$work/x"
err=$("$hg" sample "$work/run" --temperature -1 --out "$work/x.txt" 2>&1)
grep -q "1797693" <<<"$err" && fail "--temperature -1 printed a 309-digit bound: $err"

# A folder that cannot be read says so (as root, which reads anything, the check runs as nobody).
mkdir -p "$work/locked" && echo "some text" > "$work/locked/a.txt" && chmod 000 "$work/locked"
chmod 755 "$work"
as_user=()
if [ "$(id -u)" = 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
if [ "$(id -u)" != 0 ] || command -v setpriv >/dev/null; then
  expect_error "cannot read folder .*locked: Permission denied" "${as_user[@]}" "$hg" train \
    --data "$work/locked" "${small[@]}" --out "$work/x"
else
  echo "skipped the unreadable-folder check: root without setpriv"
fi
chmod 755 "$work/locked"

if [ "$failures" -ne 0 ]; then echo "$failures CLI check(s) failed"; exit 1; fi
echo "all CLI checks passed"
