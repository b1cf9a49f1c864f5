"""PyTorch and PML side of the XBM contrastive benchmark (see bench_losses.sh).

Per iteration, forward + backward of  ℓ(Z, Z) + ℓ(Z, M)  with XBM's contrastive loss (λ = 0.5)
on a full memory of m entries that already holds the current batch (own copies excluded):
- "pytorch": the formula written with one matmul and masks per term (as xbn does);
- "pml": ContrastiveLoss(pos_margin=1, neg_margin=0.5, CosineSimilarity) on the batch plus
  CrossBatchMemory of the same loss (PML's own memory; index-list based).
Prints one JSON line per (impl, size) with the median in milliseconds.
"""

import json
import sys
import time

import torch
from pytorch_metric_learning import distances, losses

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 7
SIZES = [tuple(int(x) for x in s.split(",")) for s in sys.argv[3:]] or [(64, 8192, 128), (128, 65536, 512)]
F = torch.nn.functional


def labels(n, classes, per_class):
    i = torch.arange(n)
    return (i // per_class * 7919 + i % 3) % classes


def xbm_term(zn, y, rn, ry, exclude, lam=0.5):
    s = zn @ rn.T
    same = y[:, None] == ry[None, :]
    pos = same & ~exclude
    neg = ~same
    per_anchor = ((1 - s) * pos).sum(1) + (s * (neg & (s > lam))).sum(1)
    return per_anchor.mean()


def bench(fn, reps):
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times[1:])


def main():
    for b, m, d in SIZES:
        mem = torch.randn(m, d)
        mem_y = labels(m, 2000, 1)
        y = labels(b, 2000, 4)
        ptr = [0]

        def pytorch_step():
            z = torch.randn(b, d, requires_grad=True)
            rows = (torch.arange(b) + ptr[0]) % m
            mem[rows] = z.detach()
            mem_y[rows] = y
            ptr[0] = (ptr[0] + b) % m
            zn = F.normalize(z, dim=1)
            exclude = torch.zeros(b, m, dtype=torch.bool)
            exclude[torch.arange(b), rows] = True
            eye = torch.eye(b, dtype=torch.bool)
            loss = xbm_term(zn, y, zn, y, eye) + xbm_term(zn, y, F.normalize(mem, dim=1), mem_y, exclude)
            loss.backward()
            return z.grad.sum().item()

        t = bench(pytorch_step, REPS)
        print(json.dumps({"impl": "pytorch", "b": b, "m": m, "d": d, "median_ms": round(t[len(t) // 2], 2),
                          "times_ms": [round(x, 2) for x in t]}), flush=True)

        cos = distances.CosineSimilarity
        batch_loss = losses.ContrastiveLoss(1.0, 0.5, distance=cos())
        cbm = losses.CrossBatchMemory(losses.ContrastiveLoss(1.0, 0.5, distance=cos()), d, memory_size=m)
        cbm.embedding_memory.copy_(torch.randn(m, d))
        cbm.label_memory.copy_(labels(m, 2000, 1))
        cbm.has_been_filled = True

        def pml_step():
            z = torch.randn(b, d, requires_grad=True)
            loss = batch_loss(z, y) + cbm(z, y)
            loss.backward()
            return z.grad.sum().item()

        t = bench(pml_step, REPS)
        print(json.dumps({"impl": "pml", "b": b, "m": m, "d": d, "median_ms": round(t[len(t) // 2], 2),
                          "times_ms": [round(x, 2) for x in t]}), flush=True)


if __name__ == "__main__":
    main()
