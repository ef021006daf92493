#!/usr/bin/env bash
# Data-parallel training end to end, as a user runs it: `hourglass train --gpus 2`.
# Without CUDA the two processes are CPU processes talking through Gloo; on a machine with two GPUs
# pass "cuda" to run the same checks over NCCL.
# Usage: test_distributed.sh PATH/TO/hourglass [cpu|cuda]
set -uo pipefail
hg=$1
device=${2:-cpu}
source "$(dirname "$0")/cli_checks.sh"
# losses FILE SPLIT: the loss of every SPLIT line of a metrics.jsonl, one per line.
losses() { grep "\"split\":\"$2\"" "$1" | grep -o '"loss":[-0-9.e+]*' | cut -d: -f2; }
# same_curve A B TOLERANCE WHAT: the train and val losses of two runs agree within a relative
# TOLERANCE, step for step, and there are as many of them.
same_curve() {
  local split
  for split in train val; do
    local a b
    a=$(losses "$1/metrics.jsonl" $split); b=$(losses "$2/metrics.jsonl" $split)
    [ -n "$a" ] || { fail "$4: no $split losses in $1"; continue; }
    [ "$(wc -l <<<"$a")" = "$(wc -l <<<"$b")" ] || { fail "$4: $split line counts differ"; continue; }
    paste <(echo "$a") <(echo "$b") | awk -v tol="$3" -v what="$4 ($split)" '
      { d = $1 - $2; if (d < 0) d = -d; r = d / ($1 > 0 ? $1 : 1); if (r > worst) worst = r }
      END { if (worst > tol) { printf "FAIL: %s: losses differ by %.3g (relative), over %g\n", what, worst, tol; exit 1 }
            printf "%s: losses agree within %.3g (relative)\n", what, worst }' || failures=$((failures + 1))
  done
}

if [ "$device" = cpu ] && ! "$hg" --version | grep -q "^distributed .*gloo"; then
  # A CUDA build whose libtorch ships no gloo headers (PyTorch's wheel): --gpus must say so.
  expect_error "no Gloo" "$hg" train --data /dev/null --device cpu --gpus 2 --out "$work/x"
  [ "$failures" -eq 0 ] || exit 1
  echo "this build has no Gloo: checked the message; run with 'cuda' for the NCCL checks"
  exit 0
fi

for i in $(seq 1 400); do echo "the hourglass shortens the sequence and lengthens it again $i"; done > "$work/text.txt"
model=(--data "$work/text.txt" --hierarchy "1@1 1@3 1@1" --d-model 32 --heads 2 --seq-len 48
       --steps 6 --save-every 3 --eval-every 3 --lr 3e-3)
small=("${model[@]}" --device "$device")

# 2 processes x batch 2 against 1 process x batch 4: the same rows, the same mean gradient.
"$hg" train "${small[@]}" --batch 2 --gpus 2 --out "$work/two" 2>"$work/two.log" \
  || fail "train --gpus 2: $(cat "$work/two.log")"
"$hg" train "${small[@]}" --batch 4 --out "$work/one" 2>"$work/one.log" \
  || fail "train: $(cat "$work/one.log")"
grep -q "x 2 data-parallel processes" "$work/two.log" || fail "no world in the log: $(cat "$work/two.log")"
[ "$(grep -c '"split":"train"' "$work/two/metrics.jsonl")" = 6 ] \
  || fail "rank 0 alone should write 6 train lines: $(cat "$work/two/metrics.jsonl")"
[ -f "$work/two/checkpoints/step_00000006.safetensors" ] || fail "no final checkpoint"
grep -q '"gpus": 2' "$work/two/config.json" || fail "config.json does not record 2 processes"
tolerance=1e-5
[ "$device" = cuda ] && tolerance=2e-2  # bf16 autocast: sums in another order round differently
same_curve "$work/one" "$work/two" $tolerance "2 x batch 2 vs 1 x batch 4"

# Resume: drop the last checkpoint and continue (as many processes as trained it, by itself); the
# recomputed steps must be the ones the uninterrupted run took.
cp -r "$work/two" "$work/cut"
rm "$work/cut/checkpoints/step_00000006."*
"$hg" resume "$work/cut" 2>"$work/cut.log" || fail "resume: $(cat "$work/cut.log")"
grep -q "x 2 data-parallel processes" "$work/cut.log" || fail "resume did not start 2 processes"
# (on CUDA the resumed steps run eagerly while the graph warms up: equal kernels, but bf16 sums
# may land in another order)
resume_tolerance=1e-6
[ "$device" = cuda ] && resume_tolerance=1e-3
same_curve "$work/two" "$work/cut" $resume_tolerance "resumed vs uninterrupted"

# Two "machines" of one process each (NNODES / NODE_RANK / MASTER_ADDR, as README shows), both on
# this one: the same world of 2, the same curve.
port=$((20000 + RANDOM % 20000))
for node in 0 1; do
  gpu=()
  [ "$device" = cuda ] && gpu=(CUDA_VISIBLE_DEVICES=$node)  # one GPU per "machine"
  env NNODES=2 NODE_RANK=$node MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "${gpu[@]}" \
    "$hg" train "${small[@]}" --batch 2 --gpus 1 --out "$work/nodes" 2>"$work/node$node.log" &
done
wait
grep -q "x 2 data-parallel processes" "$work/node0.log" || fail "two machines: $(cat "$work/node0.log" "$work/node1.log")"
same_curve "$work/two" "$work/nodes" $tolerance "2 machines x 1 vs 1 machine x 2"

# Bad input.
expect_error "trained by 2" "$hg" resume "$work/two" --steps 9 --gpus 1
if [ "$device" = cpu ]; then
  expect_error "no CUDA device" "$hg" train "${model[@]}" --device cuda --gpus 2 --out "$work/x"
fi
expect_error "WORLD_SIZE" env RANK=0 "$hg" train "${small[@]}" --out "$work/x"
expect_error "RANK=3 is not below" env RANK=3 WORLD_SIZE=2 "$hg" train "${small[@]}" --out "$work/x"
expect_error "--force" "$hg" train "${small[@]}" --gpus 2 --out "$work/two"
[ -f "$work/two/checkpoints/step_00000006.safetensors" ] || fail "a refused run touched the old one"
[ ! -e "$work/x" ] || fail "a failed train left $work/x behind"

if [ "$failures" -ne 0 ]; then echo "$failures distributed check(s) failed"; exit 1; fi
echo "all distributed checks passed"
