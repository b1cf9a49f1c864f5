"""Benchmark peers of xbn-eval (not run by CI): leave-one-out Recall@K on an .npy file.

    python bench_eval.py gen   OUT.npy [N] [D] [CLASSES]   # writes OUT.npy + OUT_labels.npy
    python bench_eval.py faiss EMB.npy [K,K,...]           # faiss IndexFlatIP + numpy recall
    python bench_eval.py torch EMB.npy [K,K,...]           # PyTorch blocked matmul + topk

Each peer prints one JSON line with the time of the evaluation (loading excluded) and the
Recall@K values, computed with the same rule as xbn-eval: over queries whose class has another
member, the fraction with a same-class item among the K nearest (own row excluded).
"""

import json
import sys
import time

import numpy as np


def gen(out, n=60000, d=512, classes=11000, seed=0):
    rng = np.random.default_rng(seed)
    # Every class gets >= 2 members (like SOP), the rest spread at random.
    labels = np.concatenate([np.arange(classes), np.arange(classes),
                             rng.integers(0, classes, n - 2 * classes)])
    rng.shuffle(labels)
    centers = rng.standard_normal((classes, d), dtype=np.float32)
    x = centers[labels] + 3.0 * rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    np.save(out, x.astype(np.float32))
    np.save(out.replace(".npy", "_labels.npy"), labels.astype(np.int64))


def recall_from_knn(idx, labels, ks):
    counts = np.bincount(labels)
    scored = counts[labels] > 1
    hit = labels[idx] == labels[:, None]
    first = np.where(hit.any(1), hit.argmax(1), idx.shape[1] + 1)
    return {f"recall@{k}": float((first[scored] < k).mean()) for k in ks}


def run_faiss(x, labels, ks):
    import faiss

    kmax = max(ks)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    _, idx = index.search(x, kmax + 1)
    # Drop each query's own row (PML's rule: else the last column).
    own = idx == np.arange(len(x))[:, None]
    own[~own.any(1), -1] = True
    idx = idx[~own].reshape(len(x), kmax)
    return recall_from_knn(idx, labels, ks)


def run_torch(x, labels, ks, block=2048):
    import torch

    kmax = max(ks)
    t = torch.from_numpy(x)
    out = np.empty((len(x), kmax), dtype=np.int64)
    with torch.no_grad():
        for s in range(0, len(x), block):
            sims = t[s:s + block] @ t.T
            rows = torch.arange(sims.shape[0])
            sims[rows, rows + s] = -float("inf")
            out[s:s + block] = torch.topk(sims, kmax, dim=1).indices.numpy()
    return recall_from_knn(out, labels, ks)


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "gen":
        args = [int(a) for a in sys.argv[3:]]
        gen(path, *args)
        return
    ks = [int(k) for k in (sys.argv[3] if len(sys.argv) > 3 else "1,10,100,1000").split(",")]
    x = np.load(path)
    labels = np.load(path.replace(".npy", "_labels.npy"))
    start = time.perf_counter()
    res = {"faiss": run_faiss, "torch": run_torch}[cmd](x, labels, ks)
    seconds = time.perf_counter() - start
    print(json.dumps({"tool": cmd, "seconds": round(seconds, 3), "report": res}))


if __name__ == "__main__":
    main()
