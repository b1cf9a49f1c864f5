#!/usr/bin/env bash
# Side-by-side training-engine benchmark: xbn-nn (`benches/train_step.rs`) vs PyTorch
# (`reference/bench_train_step.py`), same workloads, one table.
#
#   crates/xbn-nn/reference/run_train_bench.sh [INVOCATIONS]        # default 3
#
# Builds the bench binary once (`cargo bench --no-run`), then for each workload and each of the
# INVOCATIONS runs xbn and PyTorch one after the other (which goes first alternates between
# invocations), each in its own process under `/usr/bin/time -v` for the peak RSS. Per-run JSON
# and time reports land in $OUT/raw/; the table (median over invocations of the per-invocation
# medians, spread = min–max of those) is written to $OUT/table.md and printed. Not run by CI.
#
# Environment:
#   WORKLOADS  subset, e.g. WORKLOADS="cnn32 cnn48" (default: all eight)
#   PYTHON     interpreter with torch + torchvision (default: <repo>/.venv/bin/python)
#   THREADS    threads for both engines (default: nproc)
#   REPS       timed reps per invocation for both engines (default: each workload's own)
#   WARMUP     untimed warm-up steps before them, both engines (default: each workload's own)
#   OUT        results folder (default: <repo>/target/train-bench, git-ignored)
#   SKIP_BUILD set to reuse the last built binary (path in $OUT/bin)
set -euo pipefail
INVOCATIONS=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
THREADS=${THREADS:-$(nproc)}
WORKLOADS=${WORKLOADS:-"cnn32 cnn48 r50b16 r50b64 r50embed cnnembed minilm vits16"}
OUT=${OUT:-$ROOT/target/train-bench}
for w in $WORKLOADS; do
  case $w in
    cnn32 | cnn48 | r50b16 | r50b64 | r50embed | cnnembed | minilm | vits16) ;;
    *) echo "error: unknown workload $w (known: cnn32 cnn48 r50b16 r50b64 r50embed cnnembed minilm vits16)" >&2; exit 2 ;;
  esac
done
REPS_ARGS=()
[ -n "${REPS:-}" ] && REPS_ARGS=(--reps "$REPS")
[ -n "${WARMUP:-}" ] && REPS_ARGS+=(--warmup "$WARMUP")

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time (for peak RSS)" >&2
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
"$PY" -c 'import torch' || { echo "error: $PY has no torch (set PYTHON)" >&2; exit 1; }

mkdir -p "$OUT/raw"
rm -f "$OUT"/raw/* "$OUT/failures.txt"

if [ -z "${SKIP_BUILD:-}" ] || [ ! -s "$OUT/bin" ]; then
  (cd "$ROOT" && cargo bench -p xbn-nn --bench train_step --no-run --message-format=json) \
    | "$PY" -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "train_step" and m.get("executable"):
        exe = m["executable"]
print(exe)' > "$OUT/bin"
fi
BIN=$(cat "$OUT/bin")
[ -x "$BIN" ] || { echo "error: bench binary $BIN not found" >&2; exit 1; }

meta() { # label
  {
    echo "$1_date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "$1_uptime=$(uptime)"
  } >> "$OUT/meta.txt"
}
{
  echo "cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
  echo "cores=$(nproc)"
  echo "threads=$THREADS"
  echo "invocations=$INVOCATIONS"
  echo "workloads=$WORKLOADS"
  echo "reps=${REPS:-default}"
  echo "warmup=${WARMUP:-default}"
  echo "rustc=$(rustc --version)"
  echo "python=$("$PY" -c 'import sys; print(sys.version.split()[0])')"
  echo "torch=$("$PY" -c 'import torch; print(torch.__version__)')"
  echo "torchvision=$("$PY" -c 'import torchvision; print(torchvision.__version__)' 2>/dev/null || echo none)"
} > "$OUT/meta.txt"
# PyTorch's peak RSS before any model exists: the small-CNN peer imports torch only, the
# ResNet-50 peer torch + torchvision.
for mods in torch torch,torchvision; do
  /usr/bin/time -v -o "$OUT/raw/import.time" "$PY" -c "import $mods" >/dev/null 2>&1 || true
  echo "import_rss_kib_${mods/,/_}=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/raw/import.time")" >> "$OUT/meta.txt"
done
rm -f "$OUT/raw/import.time"
meta start
echo "start: $(date -u) | $(uptime)"

export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

run() { # engine workload invocation
  local engine=$1 w=$2 i=$3 stem="$OUT/raw/$2.$1.$3"
  local cmd
  if [ "$engine" = xbn ]; then
    cmd=("$BIN" "$w" --threads "$THREADS" ${REPS_ARGS[@]+"${REPS_ARGS[@]}"} --json "$stem.json")
  else
    cmd=("$PY" "$HERE/bench_train_step.py" "$w" --threads "$THREADS"
      ${REPS_ARGS[@]+"${REPS_ARGS[@]}"} --json "$stem.json")
  fi
  if /usr/bin/time -v -o "$stem.time" "${cmd[@]}" > "$stem.log" 2>&1; then
    local rss
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$stem.time")
    printf '%-9s %-6s #%s  %s  peak RSS %s MiB\n' "$w" "$engine" "$i" \
      "$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("median %.1f ms (min %.1f, max %.1f, %d reps)" % (d["median_ms"], d["min_ms"], d["max_ms"], d["reps"]))' "$stem.json")" \
      "$((rss / 1024))"
  else
    echo "$w $engine #$i FAILED (see $stem.log)" | tee -a "$OUT/failures.txt"
    tail -5 "$stem.log" >&2
    rm -f "$stem.json"
  fi
}

for w in $WORKLOADS; do
  for i in $(seq "$INVOCATIONS"); do
    if [ $((i % 2)) -eq 1 ]; then
      run xbn "$w" "$i"; run torch "$w" "$i"
    else
      run torch "$w" "$i"; run xbn "$w" "$i"
    fi
  done
done

meta end
echo "end:   $(date -u) | $(uptime)"
"$PY" "$HERE/train_bench_table.py" "$OUT"
