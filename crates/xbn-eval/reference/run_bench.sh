#!/usr/bin/env bash
# Side-by-side benchmark of leave-one-out Recall@{1,10,100,1000} on 60,000 x 512 embeddings
# (~11,000 classes): xbn-eval (symmetric and plain scans) vs faiss-cpu IndexFlatIP + numpy
# recall vs PyTorch blocked matmul + topk, 2 threads each, ROUNDS rounds interleaved.
#
#   crates/xbn-eval/reference/run_bench.sh [ROUNDS] [WORKDIR]
#
# Prints one line per run (inner seconds = evaluation only, wall seconds and peak RSS from
# /usr/bin/time -v) and a table of medians. Not run by CI.
set -euo pipefail
ROUNDS=${1:-3}
WORK=${2:-/tmp/xbn_eval_bench}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
PY=${PYTHON:-/work/venv/bin/python}
mkdir -p "$WORK"
EMB="$WORK/sop60k.npy"
[ -f "$EMB" ] || "$PY" "$HERE/bench_eval.py" gen "$EMB" 60000 512 11000
[ -n "${SKIP_BUILD:-}" ] || (cd "$ROOT" && cargo build --release -p xbn-eval --example eval_bench)
BIN="$ROOT/target/release/examples/eval_bench"
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
RESULTS="$WORK/results.tsv"
: > "$RESULTS"
run() { # name, command...
  local name=$1; shift
  local out
  out=$( { /usr/bin/time -v "$@" 2> "$WORK/$name.time"; } )
  local inner wall rss
  inner=$(echo "$out" | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["seconds"])')
  wall=$(grep 'Elapsed (wall' "$WORK/$name.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident' "$WORK/$name.time" | awk '{print $NF}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$inner" "$wall" "$rss" "$out" | tee -a "$RESULTS"
}
for r in $(seq "$ROUNDS"); do
  run xbn-eval "$BIN" "$EMB" 1,10,100,1000 1024
  run faiss "$PY" "$HERE/bench_eval.py" faiss "$EMB"
  run xbn-eval-plain "$BIN" "$EMB" 1,10,100,1000 1024 plain
  run torch "$PY" "$HERE/bench_eval.py" torch "$EMB"
done
"$PY" - "$RESULTS" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
def secs(w):
    parts = [float(p) for p in w.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
names = list(dict.fromkeys(r[0] for r in rows))
base = statistics.median(float(r[1]) for r in rows if r[0] == "faiss")
print("| tool | runs | eval s (median) | vs faiss | wall s (median) | peak RSS MiB (max) |")
print("|---|---|---|---|---|---|")
for n in names:
    rs = [r for r in rows if r[0] == n]
    inner = statistics.median(float(r[1]) for r in rs)
    wall = statistics.median(secs(r[2]) for r in rs)
    rss = max(int(r[3]) for r in rs) / 1024
    print(f"| {n} | {len(rs)} | {inner:.1f} | {inner / base:.2f}x | {wall:.1f} | {rss:.0f} |")
EOF
