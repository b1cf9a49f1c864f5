#!/usr/bin/env bash
# Runs the criterion benchmark of xbn-core and the PyTorch peer in one go and prints one table
# of medians. Usage (from the repository root):
#   crates/xbn-core/benches/run_side_by_side.sh [python]   (default python: /work/venv/bin/python)
set -euo pipefail
PY="${1:-/work/venv/bin/python}"
ROOT="$(git rev-parse --show-toplevel)"
cd "$ROOT"
TMP="$(mktemp -d)"
echo "machine: $(lscpu | grep 'Model name' | sed 's/Model name:\s*//'), $(nproc) cores"
# build first, so that the compiler does not run beside either timing
cargo bench -p xbn-core --bench adapt --no-run 2> "$TMP/build.log"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" crates/xbn-core/benches/torch_xbn.py --reps 10 > "$TMP/torch.json"
cargo bench -p xbn-core --bench adapt -- --warm-up-time 1 --measurement-time 3 --noplot > "$TMP/criterion.log" 2>&1
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$TMP/torch.json" "$ROOT/target/criterion/adapt" <<'PYEOF'
import json, sys, os
torch = json.load(open(sys.argv[1]))
crit = sys.argv[2]
print(f"torch {torch['torch']} ({torch['threads']} threads); candle: criterion medians")
print(f"| size (m, d, b) | op | xbn-core median (ms) | PyTorch median (ms) | xbn/torch | op / matmul (xbn-core) |")
print("|---|---|---|---|---|---|")
for key, res in torch["results"].items():
    med = {}
    for op in ("xbn", "axbn", "matmul"):
        est = json.load(open(os.path.join(crit, op, key, "new", "estimates.json")))
        med[op] = est["median"]["point_estimate"] / 1e9
    for op in ("xbn", "axbn", "matmul"):
        print(f"| {key} | {op} | {med[op]*1e3:.2f} | {res[op]*1e3:.2f} | {med[op]/res[op]:.2f} | {med[op]/med['matmul']:.2f} |")
PYEOF
rm -rf "$TMP"
