#!/usr/bin/env bash
# The study of docs/reproduction.md, every step in order. Safe to run again: finished sweep cells
# are skipped, a stopped cell resumes, and the pretrained backbone is trained only once.
# Usage (from anywhere): docs/reproduction/run_study.sh [stage ...]
#   stages: synthetic-scratch pretrain-synthetic synthetic-finetune fmnist-scratch
#           pretrain-fmnist fmnist-finetune synthetic-trend collect   (default: all, in this order)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p xbn-train
bin=./target/release/xbn-train
grids=docs/reproduction/grids

pretrain() { # name, then overrides
  local name=$1; shift
  # A finished run wrote its test embeddings last.
  if [ -f "runs/study/$name/embeddings.safetensors" ]; then
    echo "pretrained backbone runs/study/$name exists"; return
  fi
  "$bin" --name "$name" --output-dir runs/study --set run.progress=false \
    --set memory.size=0 --set run.measure_drift=0 --set run.eval_untrained=false \
    --set run.overwrite=true "$@"
}

stage() {
  case $1 in
    synthetic-scratch|synthetic-finetune|synthetic-trend|fmnist-scratch|fmnist-finetune)
      "$bin" sweep --grid "$grids/$1.toml" --no-progress ;;
    pretrain-synthetic)
      pretrain pretrain-synthetic --set data.synthetic.classes=2000 --set data.synthetic.seed=0 \
        --set run.seed=100 --set run.iterations=1000 ;;
    pretrain-fmnist)
      pretrain pretrain-fmnist --set data.dataset=fashion-mnist \
        --set data.root=/usr/share/datasets/fashion-mnist --set data.classes_per_batch=4 \
        --set data.images_per_class=16 --set run.seed=100 --set run.iterations=1000 ;;
    collect)
      for s in synthetic-scratch synthetic-finetune synthetic-trend fmnist-scratch fmnist-finetune; do
        if [ -f "runs/study/$s/summary.json" ]; then
          mkdir -p "docs/reproduction/$s"
          cp "runs/study/$s/summary.json" "runs/study/$s/summary.md" "docs/reproduction/$s/"
          [ -f "runs/study/$s/summary.png" ] && cp "runs/study/$s/summary.png" "docs/reproduction/$s/"
        fi
      done ;;
    *) echo "unknown stage $1" >&2; exit 2 ;;
  esac
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(synthetic-scratch pretrain-synthetic synthetic-finetune \
  fmnist-scratch pretrain-fmnist fmnist-finetune synthetic-trend collect)
for s in "${stages[@]}"; do
  echo "== $s ($(date -u +%H:%M:%S))"
  stage "$s"
done
