"""Reference values for xbn-losses, computed with pytorch-metric-learning (PML) on CPU in f64
(and the same cases in f32 under tests/data/f32/).

Run from the repository root (not run by CI; the outputs are committed):

    /work/venv/bin/python crates/xbn-losses/reference/gen_loss_reference.py [edge | f32]

(any venv with `pip install torch pytorch-metric-learning safetensors`; `edge` writes only
the issue-16 files, contrastive_dup and circle_f32, which hold f32 and f64 cases; `f32` only
tests/data/f32/, the per-loss files with inputs rounded to f32 and PML run in f32).

Writes one safetensors file per loss configuration to crates/xbn-losses/tests/data/. Each file
holds several cases; case `c` has the tensors
    c/anchors (b×d f64), c/anchor_labels (b i64), c/refs (m×d) and c/ref_labels (m) (absent
    when c/same = 1, i.e. RefSet::SameAsAnchors), c/exclude (b×m u8, optional),
    c/loss (scalar f64), c/grad (b×d: d loss / d anchors)
and proxy-anchor cases also c/proxies, c/grad_proxies. `xbm_sequence.safetensors` holds a
multi-iteration run of batch term + w · CrossBatchMemory term.
"""

import os
import sys

import torch
from safetensors.torch import save_file
from pytorch_metric_learning import distances, losses, miners, reducers

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data")
D = torch.float64


def emb(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=D)


def lab(values):
    return torch.tensor(values, dtype=torch.long)


class XbmContrastiveTorch:
    """XBM's contrastive loss written in PyTorch (PML has no exact equivalent), called like a PML
    loss: (1/b) Σ_i [Σ_{j∈P_i} (1 − S_ij) + Σ_{j∈N_i, S_ij>λ} S_ij], S cosine."""

    def __init__(self, margin=0.5):
        self.margin = margin
        self.exclude = None  # (b×m) bool, set by xbm_case via CrossBatchMemory's indices

    def __call__(self, a, y, indices=None, r=None, ry=None):
        same = r is None
        r, ry = (a, y) if same else (r, ry)
        s = torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(r, dim=1).T
        pos = y[:, None] == ry[None, :]
        neg = ~pos
        if same:
            pos = pos & ~torch.eye(len(a), dtype=torch.bool)
        if indices is not None:  # CrossBatchMemory's pairs: positives (a1, p) after self-removal
            a1, p, a2, n = indices
            pos = torch.zeros_like(pos)
            pos[a1, p] = True
        per_anchor = ((1 - s) * pos).sum(1) + (s * (neg & (s > self.margin))).sum(1)
        return per_anchor.mean()


def batch_cases():
    """(name, anchors, labels) with refs = anchors."""
    cases = []
    cases.append(("small", emb(8, 4, 1), lab([0, 0, 1, 1, 2, 2, 3, 3])))
    g = torch.Generator().manual_seed(2)
    cases.append(("medium", emb(24, 16, 3), torch.randint(0, 5, (24,), generator=g)))
    cases.append(("singleton", emb(7, 5, 4), lab([0, 0, 0, 1, 1, 2, 3])))
    cases.append(("all_equal", emb(6, 4, 5), lab([4] * 6)))
    cases.append(("no_pos", emb(6, 4, 6), lab([0, 1, 2, 3, 4, 5])))
    e = emb(8, 6, 7)
    e[1] = e[0]
    e[5] = e[4]
    cases.append(("dups", e, lab([0, 0, 1, 1, 2, 2, 0, 1])))
    # clustered embeddings so that margins/miners select a non-trivial subset
    centers = emb(3, 8, 8)
    y = lab([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    cases.append(("clustered", centers[y] + 0.6 * emb(12, 8, 9), y))
    return cases


def ref_cases():
    """(name, anchors, labels, refs, ref_labels) with a separate reference set."""
    return [
        ("ref", emb(6, 8, 10), lab([0, 1, 2, 3, 0, 9]),
         emb(20, 8, 11), torch.randint(0, 4, (20,), generator=torch.Generator().manual_seed(12))),
        ("ref_wide", emb(4, 3, 13), lab([1, 1, 2, 5]), emb(9, 3, 14), lab([1, 2, 2, 3, 3, 1, 0, 0, 4])),
    ]


def run(loss_fn, a, y, r=None, ry=None, indices=None):
    a = a.clone().requires_grad_(True)
    if r is None:
        out = loss_fn(a, y, indices)
    else:
        out = loss_fn(a, y, indices, r, ry)
    out.backward()
    g = a.grad if a.grad is not None else torch.zeros_like(a)
    return out.detach().reshape(()), g


class Memory(losses.CrossBatchMemory):
    """PML's CrossBatchMemory, also accepting the PyTorch XBM contrastive loss above."""

    @staticmethod
    def supported_losses():
        return losses.CrossBatchMemory.supported_losses() + ["XbmContrastiveTorch"]


def xbm_case(make_loss, name, b=6, d=8, memory_size=16, steps=3, seed=20, dt=D):
    """The memory term of PML's CrossBatchMemory after `steps` batches (the memory wraps)."""
    cbm = Memory(make_loss(), d, memory_size=memory_size)
    g = torch.Generator().manual_seed(seed)
    for t in range(steps):
        a = torch.randn(b, d, generator=g, dtype=D).to(dt)
        y = torch.randint(0, 3, (b,), generator=g)
        a_req = a.clone().requires_grad_(True)
        out = cbm(a_req, y)
    out.backward()
    mem, mem_y = cbm.embedding_memory.clone(), cbm.label_memory.clone()
    if not cbm.has_been_filled:
        mem, mem_y = mem[: cbm.queue_idx], mem_y[: cbm.queue_idx]
    exclude = torch.zeros(b, len(mem), dtype=torch.uint8)
    exclude[torch.arange(b), cbm.curr_batch_idx] = 1
    g_a = a_req.grad if a_req.grad is not None else torch.zeros_like(a)
    return {
        f"{name}/anchors": a, f"{name}/anchor_labels": y, f"{name}/refs": mem.to(dt),
        f"{name}/ref_labels": mem_y, f"{name}/same": torch.tensor(0), f"{name}/exclude": exclude,
        f"{name}/loss": out.detach().reshape(()), f"{name}/grad": g_a,
    }


def make_file(fname, make_loss, miner=None, with_xbm=True, dt=D, out=OUT):
    """All batch, reference-set and memory cases of one loss, inputs and results in `dt`."""
    tensors = {}
    for name, a, y in batch_cases():
        a = a.to(dt)
        idx = miner(a, y) if miner is not None else None
        loss, g = run(make_loss(), a, y, indices=idx)
        tensors.update({f"{name}/anchors": a, f"{name}/anchor_labels": y,
                        f"{name}/same": torch.tensor(1), f"{name}/loss": loss, f"{name}/grad": g})
    for name, a, y, r, ry in ref_cases():
        a, r = a.to(dt), r.to(dt)
        idx = miner(a, y, r, ry) if miner is not None else None
        loss, g = run(make_loss(), a, y, r, ry, indices=idx)
        tensors.update({f"{name}/anchors": a, f"{name}/anchor_labels": y, f"{name}/refs": r,
                        f"{name}/ref_labels": ry, f"{name}/same": torch.tensor(0),
                        f"{name}/loss": loss, f"{name}/grad": g})
    if with_xbm and miner is None:
        tensors.update(xbm_case(make_loss, "xbm", dt=dt))
        tensors.update(xbm_case(make_loss, "xbm_partial", memory_size=64, steps=2, seed=21, dt=dt))
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    save_file(tensors, os.path.join(out, fname))
    print(fname, sum(k.endswith("/loss") for k in tensors), "cases")


def proxy_file(dt=D, out_dir=OUT):
    tensors = {}
    for name, a, y in batch_cases():
        a = a.to(dt)
        y = y % 6
        p = emb(7, a.shape[1], 99).to(dt)  # 7 classes: some have no sample in the batch
        loss_fn = losses.ProxyAnchorLoss(7, a.shape[1])
        loss_fn.proxies.data = p.clone()
        a_req = a.clone().requires_grad_(True)
        out = loss_fn(a_req, y)
        out.backward()
        tensors.update({f"{name}/anchors": a, f"{name}/anchor_labels": y,
                        f"{name}/same": torch.tensor(1), f"{name}/proxies": p, f"{name}/loss": out.detach().reshape(()),
                        f"{name}/grad": a_req.grad, f"{name}/grad_proxies": loss_fn.proxies.grad})
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out_dir, "proxy_anchor.safetensors"))
    print("proxy_anchor.safetensors")


def xbm_sequence():
    """Batch term + w · memory term over iterations, PML's loss + CrossBatchMemory (identity)."""
    b, d, m, w, steps = 8, 6, 20, 0.7, 5
    make = lambda: losses.ContrastiveLoss(pos_margin=1, neg_margin=0.5,
                                          distance=distances.CosineSimilarity())
    batch_loss, cbm = make(), losses.CrossBatchMemory(make(), d, memory_size=m)
    g = torch.Generator().manual_seed(30)
    t = {}
    for i in range(steps):
        a = torch.randn(b, d, generator=g, dtype=D).requires_grad_(True)
        y = torch.randint(0, 3, (b,), generator=g)
        lb = batch_loss(a, y)
        lm = cbm(a, y)
        (lb + w * lm).backward()
        t.update({f"{i}/anchors": a.detach(), f"{i}/anchor_labels": y,
                  f"{i}/batch_loss": lb.detach().reshape(()), f"{i}/memory_loss": lm.detach().reshape(()),
                  f"{i}/grad": a.grad})
    t["weight"] = torch.tensor(w, dtype=D)
    t["capacity"] = torch.tensor(m)
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(OUT, "xbm_sequence.safetensors"))
    print("xbm_sequence.safetensors")


def pml_case(name, make_loss, a, y, r=None, ry=None, dtype=D):
    """One case computed by PML in `dtype` (inputs rounded to it first), stored in `dtype`."""
    a, r = a.to(dtype), (None if r is None else r.to(dtype))
    loss, g = run(make_loss(), a, y, r, ry)
    t = {f"{name}/anchors": a, f"{name}/anchor_labels": y, f"{name}/loss": loss, f"{name}/grad": g,
         f"{name}/same": torch.tensor(int(r is None))}
    if r is not None:
        t.update({f"{name}/refs": r, f"{name}/ref_labels": ry})
    return t


class SnappedCosine(distances.CosineSimilarity):
    """PML's CosineSimilarity with entries within 8 ε of ±1 set to ±1 (no gradient there), as
    xbn does. Whether PML's own normalize + matmul lands on exactly 1.0 for two identical rows
    depends on the rows (for row 14 of emb(400, 16, 40) it gives 1 − 1.1e-16 in f64 and 1 − 6e-8
    in f32, and AvgNonZero counts the pair); where it lands on 1 the two distances agree, as
    for the duplicate used below (edge_files prints both)."""

    def compute_mat(self, query_emb, ref_emb):
        m = super().compute_mat(query_emb, ref_emb)
        near = ((m.abs() - 1).abs() <= 8 * torch.finfo(m.dtype).eps).detach()
        return torch.where(near, torch.sign(m).detach(), m)


def edge_files():
    """Issue 16: duplicates (cosine ≈ 1 − ulp) and f32 underflow, in f32 and f64.

    contrastive_dup: PML ContrastiveLoss(1, 0.5, CosineSimilarity()) (AvgNonZero) on a 12 × 16
    batch whose rows 0 and 1 are identical with the same label, and against a reference set
    holding a copy of anchor 0 with its label (the memory case), with SnappedCosine (equal to
    plain PML on these rows: 1.25350 on dup12 in both dtypes; xbn gave 1.10211 before the snap).
    circle_f32: PML CircleLoss() (γ = 80, m = 0.4) on 3 rows × 4 dims where anchor 0's logit is
    −17.7: log(1 + e^−17.7) rounds to 0 in f32, log1p does not (the seed was searched for that).
    """
    a = emb(12, 16, 40)
    # Row 6 of emb(400, 16, 40): before the snap, xbn's normalize + matmul gave this duplicate
    # pair (and the copy in r) a cosine below 1 in f64 and in f32 (rows searched for that).
    a[0] = emb(400, 16, 40)[6]
    a[1] = a[0]
    y = lab([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    r = emb(20, 16, 41)
    r[3] = a[0]
    ry = torch.randint(0, 6, (20,), generator=torch.Generator().manual_seed(42))
    ry[3] = y[0]
    t = {}
    contrastive = lambda: losses.ContrastiveLoss(1, 0.5, distance=SnappedCosine())
    raw = lambda: losses.ContrastiveLoss(1, 0.5, distance=distances.CosineSimilarity())
    for dt, suffix in [(D, "f64"), (torch.float32, "f32")]:
        print(f"dup12_{suffix}: plain PML", run(raw(), a.to(dt), y)[0].item(),
              "snapped", run(contrastive(), a.to(dt), y)[0].item())
        t.update(pml_case(f"dup12_{suffix}", contrastive, a, y, dtype=dt))
        t.update(pml_case(f"dup_ref_{suffix}", contrastive, a[:6], y[:6], r, ry, dtype=dt))
    save_file({k: v.clone().contiguous() for k, v in t.items()}, os.path.join(OUT, "contrastive_dup.safetensors"))
    print("contrastive_dup.safetensors")
    a = torch.randn(3, 4, generator=torch.Generator().manual_seed(57), dtype=D)
    t = {}
    for dt, suffix in [(D, "f64"), (torch.float32, "f32")]:
        t.update(pml_case(f"underflow3_{suffix}", losses.CircleLoss, a, lab([0, 0, 1]), dtype=dt))
    save_file({k: v.clone().contiguous() for k, v in t.items()}, os.path.join(OUT, "circle_f32.safetensors"))
    print("circle_f32.safetensors")


def loss_files(dt=D, out=OUT):
    """One file per loss configuration, cases in `dt` (f32 ones go to tests/data/f32/).

    Inputs are the f64 cases rounded to `dt`; PML runs in `dt`. Miners too, so a pair or triplet
    right at a margin may be selected differently from the f64 file."""
    cos = distances.CosineSimilarity
    mk = lambda fname, *args, **kw: make_file(fname, *args, dt=dt, out=out, **kw)
    mk("contrastive_pml.safetensors", lambda: losses.ContrastiveLoss())
    mk("contrastive_pml_cosine_mean.safetensors",
              lambda: losses.ContrastiveLoss(0.8, 0.3, distance=cos(), reducer=reducers.MeanReducer()))
    mk("xbm_contrastive.safetensors", XbmContrastiveTorch)
    mk("triplet_all.safetensors", lambda: losses.TripletMarginLoss(margin=0.2))
    mk("triplet_all_cosine.safetensors",
              lambda: losses.TripletMarginLoss(margin=0.1, distance=cos()))
    mk("triplet_batch_hard.safetensors", lambda: losses.TripletMarginLoss(margin=0.2),
              miner=miners.BatchHardMiner())
    mk("triplet_semihard.safetensors", lambda: losses.TripletMarginLoss(margin=0.5),
              miner=miners.TripletMarginMiner(margin=0.5, type_of_triplets="semihard"))
    mk("multi_similarity.safetensors", lambda: losses.MultiSimilarityLoss())
    mk("multi_similarity_miner.safetensors", lambda: losses.MultiSimilarityLoss(),
              miner=miners.MultiSimilarityMiner(epsilon=0.1))
    mk("circle.safetensors", lambda: losses.CircleLoss())
    mk("ntxent.safetensors", lambda: losses.NTXentLoss(temperature=0.1))
    proxy_file(dt, out)


def main():
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ["edge"]:  # only the issue-16 files, leaving the others byte-identical
        edge_files()
        return
    f32_out = os.path.join(OUT, "f32")
    os.makedirs(f32_out, exist_ok=True)
    if sys.argv[1:] == ["f32"]:  # only the f32 files (issue 16, item 3)
        loss_files(torch.float32, f32_out)
        return
    edge_files()
    loss_files(torch.float32, f32_out)
    loss_files()
    xbm_sequence()


if __name__ == "__main__":
    main()
