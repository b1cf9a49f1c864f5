#!/usr/bin/env bash
# XBM contrastive benchmark: xbn (candle) beside PyTorch and PML in one run, one table.
# Usage (repository root): crates/xbn-losses/reference/bench_losses.sh [reps] [b,m,d ...]
set -euo pipefail
cd "$(dirname "$0")/../../.."
REPS="${1:-7}"; shift || true
SIZES=("$@"); [ ${#SIZES[@]} -eq 0 ] && SIZES=(64,8192,128 128,65536,512)
PY="${PYTHON:-/work/venv/bin/python}"
OUT="$(mktemp)"
cargo bench -p xbn-losses --bench xbm_contrastive -- "$REPS" "${SIZES[@]}" | grep '^{' >>"$OUT"
"$PY" crates/xbn-losses/reference/bench_losses.py "$(nproc)" "$REPS" "${SIZES[@]}" >>"$OUT"
"$PY" - "$OUT" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sizes = sorted({(r["b"], r["m"], r["d"]) for r in rows}, key=lambda s: s[1])
med = {(r["impl"], r["b"], r["m"], r["d"]): r["median_ms"] for r in rows}
print("| (b, m, d) | xbn (candle) ms | PyTorch ms | PML CrossBatchMemory ms | xbn / PyTorch | xbn / PML |")
print("|---|---|---|---|---|---|")
for s in sizes:
    x, t, p = (med.get((k,) + s) for k in ("xbn (candle)", "pytorch", "pml"))
    print(f"| {s} | {x} | {t} | {p} | {x / t:.2f} | {x / p:.2f} |")
PYEOF
echo "raw: $OUT"
