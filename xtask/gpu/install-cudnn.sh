#!/usr/bin/env bash
# Link-time cuDNN for `--features cudnn` builds on a machine with no GPU (see docs/gpu.md).
#
# cudarc (through candle-core/cudnn) links `-lcudnn` dynamically, so the linker needs an
# unversioned libcudnn.so. This unpacks libcudnn.so.9 (cuDNN's 130 KB front library; the
# ~850 MB of engine libraries it loads at run time are not needed to link) from NVIDIA's PyPI
# wheel into the CUDA wheel prefix of ../shared/cuda/build-cuda.sh, and links
# $CUDA_HOME/lib/libcudnn.so to it, where cudarc's build script looks. On the GPU machine
# PyTorch's wheels provide libcudnn.so.9 and its engines (the run script's LD_LIBRARY_PATH).
#
# Run from the repository root after build-cuda.sh has installed the toolkit (its first run):
#     bash xtask/gpu/install-cudnn.sh
#     nice -n 19 bash ../shared/cuda/build-cuda.sh -p xbn-nn --features cudnn
# `cargo xtask gpu-pack` runs it itself. Idempotent: downloads the 519 MB wheel once and keeps
# only that library.
set -euo pipefail

VERSION=${CUDNN_WHEEL_VERSION:-9.26.0.51}       # any cuDNN 9 links; the run-time 9.x may differ
PREFIX=${CUDA_WHEELS_PREFIX:-$HOME/.cache/xbn-cuda-wheels}
C=$PREFIX/nvidia/cu13                          # build-cuda.sh's CUDA_HOME
D=$PREFIX/cudnn-$VERSION

if [ ! -d "$C/lib" ]; then
  echo "install-cudnn.sh: no CUDA wheels in $C; run ../shared/cuda/build-cuda.sh once first" >&2
  exit 1
fi

if [ ! -f "$D/lib/libcudnn.so.9" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --no-cache-dir --no-deps --only-binary=:all: \
    --dest "$tmp" "nvidia-cudnn-cu13==$VERSION"
  mkdir -p "$D/lib"
  python3 - "$D" "$tmp"/nvidia_cudnn_cu13-*.whl <<'PY'
import os, shutil, sys, zipfile
dest, wheel = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    lib = [n for n in names if n.endswith("/lib/libcudnn.so.9")]
    if len(lib) != 1:
        sys.exit(f"install-cudnn.sh: no single lib/libcudnn.so.9 in {wheel}")
    picks = {lib[0]: os.path.join(dest, "lib", "libcudnn.so.9")}
    for n in names:
        if ".dist-info/" in n and os.path.basename(n).lower().startswith("license"):
            picks[n] = os.path.join(dest, os.path.basename(n))
    for src, dst in picks.items():
        with z.open(src) as f, open(dst + ".part", "wb") as out:
            shutil.copyfileobj(f, out)
        os.replace(dst + ".part", dst)
PY
fi

ln -sfn "$D/lib/libcudnn.so.9" "$C/lib/libcudnn.so"
echo "cuDNN $VERSION for linking: $C/lib/libcudnn.so -> $D/lib/libcudnn.so.9"
