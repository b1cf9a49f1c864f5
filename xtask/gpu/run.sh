#!/usr/bin/env bash
# GPU pass of xbn: the CUDA test binaries, then the GPU benchmark beside its PyTorch peer.
# Generated into .gpu/run.sh by `cargo xtask gpu-pack` from xtask/gpu/run.sh; run it from the
# repository root on the GPU machine:  bash .gpu/run.sh   (results in $OUT, default .gpu/out).
# Budget: BUDGET_S seconds in all (default 520); the tests leave BENCH_RESERVE_S (default 220)
# to the benchmarks. `bash .gpu/run.sh tests` or `bash .gpu/run.sh bench` runs one half only.
set -uo pipefail
MODE=${1:-all}
ROOT=$PWD
OUT=${OUT:-$ROOT/.gpu/out}
BUDGET_S=${BUDGET_S:-520}
TEST_TIMEOUT_S=${TEST_TIMEOUT_S:-150}
RESERVE=${BENCH_RESERVE_S:-220}; [ "$MODE" = tests ] && RESERVE=20
BAKED=@BAKED_ROOT@          # workspace root baked in by env!("CARGO_MANIFEST_DIR")
mkdir -p "$OUT/tests"
start=$SECONDS
left() { echo $(( BUDGET_S - (SECONDS - start) )); }
log() { echo "[$(( SECONDS - start ))s] $*" | tee -a "$OUT/run.log" >&2; }

# 1) Tests read committed data through the baked-in absolute path: make it lead here.
if [ "$(cd "$BAKED" 2>/dev/null && pwd -P)" != "$(pwd -P)" ]; then
  if [ -e "$BAKED" ]; then
    log "warning: $BAKED exists and is not this checkout; tests that read data may fail"
  else
    mkdir -p "$(dirname "$BAKED")" && ln -sfn "$ROOT" "$BAKED" && log "linked $BAKED -> $ROOT"
  fi
fi

# 2) CUDA libraries from python's nvidia wheels (cuBLAS, cuRAND, cudart, nvrtc, and cuDNN's
#    nvidia/cudnn/lib: libcudnn.so.9 and the engine libraries it loads, for `xbn-nn/cudnn`).
export LD_LIBRARY_PATH="$(python3 2>/dev/null -c 'import nvidia,os,glob;print(":".join(sorted({os.path.dirname(p) for d in nvidia.__path__ for p in glob.glob(os.path.join(d,"**","lib","lib*.so*"),recursive=True)})))')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Keep the driver's JIT cache of candle's PTX between processes (the first start compiles it).
export CUDA_CACHE_MAXSIZE=4294967296 CUDA_CACHE_PATH=${CUDA_CACHE_PATH:-$ROOT/.gpu/nv-cache}
(nvidia-smi; python3 -c 'import torch;print("torch",torch.__version__,torch.version.cuda,"cudnn",torch.backends.cudnn.version())') \
  > "$OUT/machine.txt" 2>&1

# 3) Unpack.
BIN=$(mktemp -d)/xbn
mkdir -p "$BIN" && xz -dc "$ROOT/.gpu/bins.tar.xz" | tar -x -C "$BIN" || { log "unpack failed"; exit 1; }
chmod +x "$BIN"/bin/*
log "unpacked $(wc -l < "$BIN/manifest.tsv") test binaries"

# 4) Every test binary on CUDA, from its package folder (as cargo runs it).
[ "$MODE" = bench ] || : > "$OUT/tests.tsv"
export XBN_TEST_DEVICE=${XBN_TEST_DEVICE:-cuda} RUST_BACKTRACE=1
[ "$MODE" = bench ] || while IFS=$'\t' read -r name dir; do
  t=$(left); [ "$t" -gt $((RESERVE + 10)) ] || { log "skip $name (budget)"; printf '%s\t%s\t%s\t%s\n' "$name" "$dir" skipped 0 >> "$OUT/tests.tsv"; continue; }
  [ "$t" -gt $((TEST_TIMEOUT_S + RESERVE)) ] && t=$TEST_TIMEOUT_S || t=$((t - RESERVE))
  s=$SECONDS
  (cd "$BAKED/$dir" 2>/dev/null || cd "$ROOT/$dir"; timeout "$t" "$BIN/bin/$name") > "$OUT/tests/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$dir" "$rc" "$((SECONDS - s))" >> "$OUT/tests.tsv"
  log "$name rc=$rc ($((SECONDS - s))s)"
done < "$BIN/manifest.tsv"

# 5) Benchmark and its PyTorch peer, side by side, then the ratio table.
BENCH_ARGS=${BENCH_ARGS:-}
BENCH_DEVICE=${BENCH_DEVICE:-cuda}
G=$ROOT/crates/xbn-train/benches/gpu
if [ "$MODE" != tests ]; then
t=$(left); timeout $(( t > 60 ? t / 2 : 30 )) "$BIN/bin/xbn-gpu-bench" --device "$BENCH_DEVICE" --out "$OUT/bench-xbn.json" $BENCH_ARGS > "$OUT/bench-xbn.log" 2>&1
log "xbn-gpu-bench rc=$?"
t=$(left); timeout $(( t > 20 ? t - 10 : 10 )) python3 "$G/torch_peer.py" --device "$BENCH_DEVICE" --out "$OUT/bench-torch.json" $BENCH_ARGS > "$OUT/bench-torch.log" 2>&1
log "torch_peer rc=$?"
python3 "$G/compare.py" "$OUT/bench-xbn.json" "$OUT/bench-torch.json" --markdown "$OUT/bench-table.md" --json "$OUT/bench-summary.json" > /dev/null 2>> "$OUT/run.log"
fi

# 6) Summary.
python3 - "$OUT" <<'PY'
import json, os, re, sys
out = sys.argv[1]
tests = []
for line in open(os.path.join(out, "tests.tsv")) if os.path.exists(os.path.join(out, "tests.tsv")) else []:
    name, pkg, rc, secs = line.rstrip("\n").split("\t")
    text = open(os.path.join(out, "tests", name + ".log"), errors="replace").read() if rc != "skipped" else ""
    counts = [tuple(map(int, m)) for m in re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", text)]
    failed = re.findall(r"^test (\S+) \.\.\. FAILED", text, re.M)
    tests.append(dict(binary=name, package=pkg, rc=rc, seconds=int(secs),
                      passed=sum(c[0] for c in counts), failed=sum(c[1] for c in counts),
                      ignored=sum(c[2] for c in counts), failed_tests=failed))
ok = all(t["rc"] == "0" for t in tests)
bench = os.path.exists(os.path.join(out, "bench-summary.json"))
summary = dict(tests_green=ok, binaries=len(tests), passed=sum(t["passed"] for t in tests),
               failed=sum(t["failed"] for t in tests), bench_table=bench, tests=tests)
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(json.dumps({k: v for k, v in summary.items() if k != "tests"}))
PY
[ -f "$OUT/bench-table.md" ] && cat "$OUT/bench-table.md"
exit 0
