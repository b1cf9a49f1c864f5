"""Reference data for xbn-eval (not run by CI).

    /work/venv/bin/python crates/xbn-eval/reference/gen_eval_reference.py

Writes into crates/xbn-eval/tests/data/:

* s500.safetensors            500 x 64 f32 `embeddings` + i64 `labels`
  s500_query.npy / s500_query_labels.npy, s500_gallery.npy / s500_gallery_labels.npy
                              the same rows split for query-gallery (first half = queries)
* m5000_q8.safetensors        5000 x 128, int8 `embeddings_q`, f32 `scale` (shape [1]), i64 `labels`
* l20000_q8.safetensors       20000 x 128, same int8 format
  (embeddings = embeddings_q.astype(f32) * scale: one correctly rounded f32 product, identical
  in numpy and Rust)
* reference.json              expected metrics from pytorch-metric-learning's AccuracyCalculator
                              (precision_at_1, r_precision, mean_average_precision_at_r with
                              k="max_bin_count") and Recall@K counts from a faiss kNN search.

Query-gallery cases use rows [0, n/2) as queries and [n/2, n) as gallery.

The data are made tie-free where it matters: in float64, for every query, the scores of its
top R_q + 1 neighbours and the score of its first relevant neighbour are separated from their
neighbours in the ranking by at least GAP; rows violating this are re-drawn until none do, so
float32 rounding (≈1e-7) cannot reorder anything the metrics depend on. The faiss results are
then checked against the float64 ranking.
"""

import json
import os

import faiss
import numpy as np
import torch
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import FaissKNN
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
KS = [1, 2, 4, 8, 10, 20, 30, 40, 50, 100, 1000]
GAP = 2e-5
SIGMA = 1.5

DATASETS = [
    # name, n, d, int8?, metrics
    ("s500", 500, 64, False, ["cosine", "euclidean"]),
    ("m5000", 5000, 128, True, ["cosine", "euclidean"]),
    ("l20000", 20000, 128, True, ["cosine"]),
]


class Data:
    def __init__(self, n, d, quantize, seed):
        self.rng = np.random.default_rng(seed)
        self.n, self.d, self.quantize = n, d, quantize
        classes = n // 5
        self.centers = self.rng.standard_normal((classes, d))
        self.labels = self.rng.integers(0, classes, n).astype(np.int64)
        self.raw = np.zeros((n, d))
        self.redraw(np.arange(n))
        # Fixed once, so that re-drawing rows never changes the other rows' quantization.
        self.scale = np.float32(np.abs(self.raw).max() / 127.0) if quantize else None

    def redraw(self, rows):
        x = self.centers[self.labels[rows]] + SIGMA * self.rng.standard_normal((len(rows), self.d))
        # Row norms spread over [0.5, 2] so that cosine and Euclidean rankings differ.
        norm = self.rng.uniform(0.5, 2.0, (len(rows), 1))
        self.raw[rows] = norm * x / np.linalg.norm(x, axis=1, keepdims=True)

    def embeddings(self):
        """The dataset as float32, exactly as the Rust test will see it."""
        if not self.quantize:
            return self.raw.astype(np.float32)
        return self.q8().astype(np.float32) * self.scale

    def q8(self):
        return np.clip(np.round(self.raw / self.scale), -127, 127).astype(np.int8)


def scores64(q, r, metric):
    q, r = q.astype(np.float64), r.astype(np.float64)
    if metric == "cosine":
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        r = r / np.linalg.norm(r, axis=1, keepdims=True)
        return q @ r.T
    return -((q * q).sum(1)[:, None] + (r * r).sum(1)[None, :] - 2 * q @ r.T)


def violations(x, labels, metric, loo, nq):
    """Query rows whose metric-relevant ranking is not separated by GAP (float64)."""
    q, ql = x[:nq], labels[:nq]
    r, rl = (x, labels) if loo else (x[nq:], labels[nq:])
    counts = {l: c for l, c in zip(*np.unique(rl, return_counts=True))}
    bad = []
    for s in range(0, nq, 1000):
        S = scores64(q[s:s + 1000], r, metric)
        if loo:
            S[np.arange(len(S)), np.arange(s, s + len(S))] = -np.inf
        for i in range(len(S)):
            row, y = S[i], ql[s + i]
            R = counts.get(y, 0) - int(loo)
            if R <= 0:
                continue
            t = min(R + 1, len(rl) - int(loo))
            top = np.sort(np.partition(-row, t - 1)[:t])
            rel = rl == y
            if loo:
                rel[s + i] = False
            best = row[rel].max()
            diff = np.abs(row - best)
            diff[np.argmax(np.where(rel, row, -np.inf))] = np.inf
            if loo:
                diff[s + i] = np.inf
            if (t > 1 and np.diff(top).min() < GAP) or diff.min() < GAP:
                bad.append(s + i)
    return bad


def make_tie_free(data, metrics):
    n = data.n
    for it in range(50):
        x = data.embeddings()
        bad = set()
        for metric in metrics:
            bad |= set(violations(x, data.labels, metric, True, n))
            bad |= set(violations(x, data.labels, metric, False, n // 2))
        print(f"  iteration {it}: {len(bad)} rows re-drawn")
        if not bad:
            return
        data.redraw(np.array(sorted(bad)))
    raise RuntimeError("could not make the data tie-free")


def knn_faiss(q, r, k, metric):
    if metric == "cosine":
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        r = r / np.linalg.norm(r, axis=1, keepdims=True)
        index = faiss.IndexFlatIP(q.shape[1])
    else:
        index = faiss.IndexFlatL2(q.shape[1])
    index.add(np.ascontiguousarray(r, dtype=np.float32))
    return index.search(np.ascontiguousarray(q, dtype=np.float32), k)[1]


def reference_case(x, labels, metric, loo):
    n = len(x)
    nq = n if loo else n // 2
    q, ql = x[:nq], labels[:nq]
    r, rl = (x, labels) if loo else (x[nq:], labels[nq:])
    available = len(r) - int(loo)
    # Recall@K from faiss (own row dropped as PML does).
    kmax = min(max(KS), available)
    idx = knn_faiss(q, r, kmax + int(loo), metric)
    if loo:
        own = idx == np.arange(nq)[:, None]
        own[~own.any(1), -1] = True
        idx = idx[~own].reshape(nq, kmax)
    counts = {l: c for l, c in zip(*np.unique(rl, return_counts=True))}
    R = np.array([counts.get(y, 0) - int(loo) for y in ql])
    scored = R > 0
    hit = rl[idx] == ql[:, None]
    first = np.where(hit.any(1), hit.argmax(1), kmax + 1)
    # Cross-check the first relevant rank against float64.
    S = scores64(q, r, metric)
    if loo:
        S[np.arange(nq), np.arange(nq)] = -np.inf
    rel = rl[None, :] == ql[:, None]
    if loo:
        rel[np.arange(nq), np.arange(nq)] = False
    best = np.where(rel, S, -np.inf).max(1)
    first64 = (S > best[:, None]).sum(1)
    assert np.array_equal(np.minimum(first64, kmax + 1)[scored & hit.any(1)],
                          first[scored & hit.any(1)]), "faiss disagrees with float64"
    hits = [int((first[scored] < min(k, kmax)).sum()) for k in KS]

    knn = FaissKNN(index_init_fn=faiss.IndexFlatIP) if metric == "cosine" else FaissKNN()
    calc = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        k="max_bin_count", device=torch.device("cpu"), knn_func=knn)
    xq = torch.from_numpy(q / np.linalg.norm(q, axis=1, keepdims=True) if metric == "cosine" else q)
    xr = torch.from_numpy(r / np.linalg.norm(r, axis=1, keepdims=True) if metric == "cosine" else r)
    if loo:
        acc = calc.get_accuracy(xq, torch.from_numpy(ql))
    else:
        acc = calc.get_accuracy(xq, torch.from_numpy(ql), xr, torch.from_numpy(rl), False)
    return {
        "protocol": "loo" if loo else "query-gallery",
        "metric": metric,
        "queries": int(nq),
        "excluded": int((~scored).sum()),
        "recall_hits": hits,
        "recall": [h / int(scored.sum()) for h in hits],
        "precision_at_1": acc["precision_at_1"],
        "r_precision": acc["r_precision"],
        "map_at_r": acc["mean_average_precision_at_r"],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    result = {"ks": KS, "gap": GAP, "datasets": {}}
    for seed, (name, n, d, quantize, metrics) in enumerate(DATASETS):
        print(name)
        data = Data(n, d, quantize, seed)
        make_tie_free(data, metrics)
        x, labels = data.embeddings(), data.labels
        if quantize:
            fname = f"{name}_q8.safetensors"
            save_file({"embeddings_q": data.q8(), "scale": np.array([data.scale], np.float32),
                       "labels": labels}, os.path.join(OUT, fname))
        else:
            fname = f"{name}.safetensors"
            save_file({"embeddings": x, "labels": labels}, os.path.join(OUT, fname))
            h = n // 2
            for part, sl in (("query", slice(0, h)), ("gallery", slice(h, n))):
                np.save(os.path.join(OUT, f"{name}_{part}.npy"), x[sl])
                np.save(os.path.join(OUT, f"{name}_{part}_labels.npy"), labels[sl])
        cases = [reference_case(x, labels, m, loo) for m in metrics for loo in (True, False)]
        for c in cases:
            print("  ", c["protocol"], c["metric"], c["recall"][:3], c["map_at_r"], c["excluded"])
        result["datasets"][name] = {"file": fname, "n": n, "d": d, "cases": cases}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
