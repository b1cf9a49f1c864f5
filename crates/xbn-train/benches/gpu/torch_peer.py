#!/usr/bin/env python3
"""PyTorch peer of `xbn-gpu-bench`: the same measurements, formulas and JSON report.

    python3 torch_peer.py --device cuda --out torch.json        # the issue's sizes
    python3 torch_peer.py --device cpu --small                  # smoke run

fp32 with TF32 off (candle's matmuls are plain fp32 too). Every timed region is bracketed by
device synchronizations, after warm-up. Uses torchvision's resnet50 when it is installed and an
identical bottleneck ResNet-50 (v1.5) defined here otherwise. See docs/gpu.md.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5          # XBN ε
DRIFT = 0.01        # AXBN relative drift rate q (xbn_core::DEFAULT_DRIFT_RATE)
LAMBDA = 0.5        # XBM contrastive negative margin λ
BACKBONE_LR, HEAD_LR, WEIGHT_DECAY = 1e-4, 1e-3, 1e-4


def sizes(small):
    if small:
        return dict(memory=1024, dim=64, batch=32, eval_rows=2000, eval_per_class=5,
                    ks=[1, 10, 100, 1000], step_batches=[4, 8], image_size=32, base_width=8,
                    per_class=2)
    return dict(memory=65536, dim=512, batch=128, eval_rows=60000, eval_per_class=5,
                ks=[1, 10, 100, 1000], step_batches=[64, 128], image_size=224, base_width=64,
                per_class=4)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def measure(name, params, times, images=None):
    out = dict(name=name, params=params, median_ms=statistics.median(times), min_ms=min(times),
               iters=len(times))
    if images:
        out["images_per_s"] = images / (out["median_ms"] / 1e3)
    return out


def time_runs(dev, warmup, iters, f):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(iters):
        sync(dev)
        t0 = time.perf_counter()
        f()
        sync(dev)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def grouped_labels(n, per_class, dev):
    return torch.arange(n, device=dev) // per_class


def unit_rows(n, d, dev):
    return F.normalize(torch.randn(n, d, device=dev), dim=1)


# ---- XBN / AXBN (docs/method.md (X1), (R), (K1)-(K2) with observation noise from v⁻) ----------
def xbn_map(memory, mu_b, var_b):
    var_m, mu_m = torch.var_mean(memory, dim=0, unbiased=False)
    out = (memory - mu_m) / torch.sqrt(var_m + EPS) * torch.sqrt(var_b + EPS) + mu_b
    return F.normalize(out, dim=1)


class Axbn:
    def __init__(self):
        self.state = None

    def targets(self, batch):
        b = batch.shape[0]
        s2, o = torch.var_mean(batch, dim=0, unbiased=True)
        if self.state is None:
            self.state = [o, s2, s2 / b, 2 * s2 * s2 / (b - 1)]
        else:
            mu, v, p_mu, p_v = self.state
            r_mu, r_v = v / b, 2 * v * v / (b - 1)
            pm, pv = p_mu + DRIFT * v, p_v + DRIFT * v * v
            k_mu, k_v = pm / (pm + r_mu), pv / (pv + r_v)
            self.state = [mu + k_mu * (o - mu), v + k_v * (s2 - v), (1 - k_mu) * pm, (1 - k_v) * pv]
        return self.state[0], self.state[1]


def bench_updates(sz, dev, reps):
    out = []
    params = f"m={sz['memory']},d={sz['dim']},b={sz['batch']}"
    for name in ["xbn_update", "axbn_update"]:
        memory = unit_rows(sz["memory"], sz["dim"], dev)
        batch = unit_rows(sz["batch"], sz["dim"], dev) * 1.5
        axbn = Axbn()

        def run():
            if name == "xbn_update":
                var_b, mu_b = torch.var_mean(batch, dim=0, unbiased=False)
            else:
                mu_b, var_b = axbn.targets(batch)
            memory.copy_(xbn_map(memory, mu_b, var_b))
        out.append(measure(name, params, time_runs(dev, *reps, run)))
    return out


# ---- XBM contrastive loss: mean_i [Σ_{P_i} [1 − S_ij]₊ + Σ_{N_i, S_ij > λ} S_ij] ---------------
def xbm_contrastive(z, y, refs, ref_y, same):
    a = F.normalize(z, dim=1)
    r = a if same else F.normalize(refs.detach(), dim=1)
    s = a @ r.t()
    equal = (y[:, None] == ref_y[None, :]).to(s.dtype)
    neg = 1 - equal
    if same:
        keep = 1 - torch.eye(s.shape[0], device=s.device, dtype=s.dtype)
        equal, neg = equal * keep, neg * keep
    pos = torch.relu(1 - s) * equal
    hard = (s > LAMBDA).to(s.dtype) * neg
    return (pos + s * hard).sum(dim=1).mean()


def bench_loss(sz, dev, reps):
    memory = unit_rows(sz["memory"], sz["dim"], dev)
    memory_y = grouped_labels(sz["memory"], 4, dev)
    z = unit_rows(sz["batch"], sz["dim"], dev).requires_grad_(True)
    y = grouped_labels(sz["batch"], 4, dev)

    def run():
        z.grad = None
        xbm_contrastive(z, y, memory, memory_y, False).backward()
    params = f"m={sz['memory']},d={sz['dim']},b={sz['batch']}"
    return measure("xbm_contrastive_fwd_bwd", params, time_runs(dev, *reps, run))


# ---- leave-one-out Recall@K, blocked, on the device --------------------------------------------
def recall_loo(x, y, ks, block=4096):
    x = F.normalize(x, dim=1)
    n, kmax = x.shape[0], min(max(ks), x.shape[0] - 1)
    counts = torch.bincount(y)
    hits = torch.zeros(len(ks), device=x.device)
    scored = (counts[y] > 1)
    for start in range(0, n, block):
        q = x[start:start + block]
        s = q @ x.t()
        rows = torch.arange(q.shape[0], device=x.device)
        s[rows, rows + start] = float("-inf")
        idx = s.topk(kmax, dim=1).indices
        rel = (y[idx] == y[start:start + block, None])
        for i, k in enumerate(ks):
            hits[i] += (rel[:, :min(k, kmax)].any(dim=1) & scored[start:start + block]).sum()
    return (hits / scored.sum()).tolist()


def bench_eval(sz, dev, iters):
    n, d = sz["eval_rows"], sz["dim"]
    y = grouped_labels(n, sz["eval_per_class"], dev)
    centres = torch.randn((n + sz["eval_per_class"] - 1) // sz["eval_per_class"], d, device=dev)
    x = centres[y] + torch.randn(n, d, device=dev)
    result = {}

    def run():
        result["recall"] = recall_loo(x, y, sz["ks"])
    params = f"n={n},d={d},k=" + "/".join(map(str, sz["ks"]))
    return measure("recall_loo", params, time_runs(dev, 1, iters, run)), result["recall"]


# ---- ResNet-50 training step --------------------------------------------------------------------
class Bottleneck(nn.Module):
    def __init__(self, c_in, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1, self.bn1 = nn.Conv2d(c_in, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or c_in != out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False),
                                            nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class LocalResNet(nn.Module):
    """torchvision's resnet50 layout (v1.5: stride on the 3×3) with a configurable width."""

    def __init__(self, w):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1, self.relu, self.maxpool = nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        c_in = w
        for s, blocks in enumerate([3, 4, 6, 3]):
            layer = []
            for j in range(blocks):
                layer.append(Bottleneck(c_in, w << s, 2 if s > 0 and j == 0 else 1))
                c_in = (w << s) * 4
            setattr(self, f"layer{s + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, 1000)


def backbone(sz):
    if sz["base_width"] == 64:
        try:
            import torchvision
            return torchvision.models.resnet50(weights=None), "torchvision.resnet50"
        except ImportError:
            pass
    return LocalResNet(sz["base_width"]), "local-resnet50"


STAGES = ["stem", "layer1", "layer2", "layer3", "layer4", "pool_head"]


def stage_fns(m):
    return [lambda x: m.maxpool(m.relu(m.bn1(m.conv1(x)))), m.layer1, m.layer2, m.layer3,
            m.layer4, lambda x: F.normalize(m.fc(torch.flatten(m.avgpool(x), 1)), dim=1)]


def bench_step(sz, batch, dev, reps):
    m, kind = backbone(sz)
    m.fc = nn.Linear(m.fc.in_features, sz["dim"])
    m = m.to(dev).train()
    head = list(m.fc.parameters())
    head_ids = {id(p) for p in head}
    body = [p for p in m.parameters() if id(p) not in head_ids]
    opt = torch.optim.AdamW([dict(params=body, lr=BACKBONE_LR), dict(params=head, lr=HEAD_LR)],
                            weight_decay=WEIGHT_DECAY)
    s = sz["image_size"]
    images = torch.randn(batch, 3, s, s, device=dev)
    y = grouped_labels(batch, sz["per_class"], dev)
    fns = stage_fns(m)

    def forward(x, upto=6):
        for f in fns[:upto]:
            x = f(x)
        return x

    def step():
        opt.zero_grad(set_to_none=True)
        z = forward(images)
        xbm_contrastive(z, y, z, y, True).backward()
        opt.step()
    prefix, params = f"resnet50_b{batch}", f"{batch}x3x{s}x{s},fp32,d={sz['dim']}"
    out = [measure(f"{prefix}.step", params, time_runs(dev, *reps, step), images=batch)]
    phases = [[], [], [], []]
    for _ in range(reps[1]):
        opt.zero_grad(set_to_none=True)
        sync(dev)
        t = [time.perf_counter()]
        feats = forward(images, 5)
        sync(dev); t.append(time.perf_counter())
        z = fns[5](feats)
        loss = xbm_contrastive(z, y, z, y, True)
        sync(dev); t.append(time.perf_counter())
        loss.backward()
        sync(dev); t.append(time.perf_counter())
        opt.step()
        sync(dev); t.append(time.perf_counter())
        for i in range(4):
            phases[i].append((t[i + 1] - t[i]) * 1e3)
    for name, times in zip(["features_forward", "head_loss", "backward", "optimizer"], phases):
        out.append(measure(f"{prefix}.{name}", params, times))
    laps = [[] for _ in STAGES]
    with torch.no_grad():  # per-stage forward (train-mode BatchNorm, as the candle side)
        for i in range(reps[0] + reps[1]):
            x = images
            for k, f in enumerate(fns):
                sync(dev)
                t0 = time.perf_counter()
                x = f(x)
                sync(dev)
                if i >= reps[0]:
                    laps[k].append((time.perf_counter() - t0) * 1e3)
    sparams = f"{batch}x3x{s}x{s},fp32,train-mode BN"
    out += [measure(f"{prefix}.forward.{n}", sparams, t) for n, t in zip(STAGES, laps)]
    return out, kind


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--only", default="memory,loss,eval,step,stages")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--eval-iters", type=int, default=3)
    ap.add_argument("--batches", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    dev = torch.device(a.device)
    sz = sizes(a.small)
    if a.batches:
        sz["step_batches"] = [int(b) for b in a.batches.split(",")]
    only, reps = a.only.split(","), (a.warmup, a.iters)
    results, recall, model = [], [], None

    def log(r):
        print(f"{r['name']:<40} {r['median_ms']:>10.3f} ms  ({r['params']})", flush=True,
              file=__import__("sys").stderr)
        results.append(r)
    if "memory" in only:
        for r in bench_updates(sz, dev, reps):
            log(r)
    if "loss" in only:
        log(bench_loss(sz, dev, reps))
    if "eval" in only:
        r, recall = bench_eval(sz, dev, a.eval_iters)
        log(r)
    if "step" in only or "stages" in only:
        for b in sz["step_batches"]:
            rs, model = bench_step(sz, b, dev, reps)
            for r in rs:
                log(r)
    report = dict(tool="torch", torch=torch.__version__, model=model, device=a.device,
                  gpu=torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
                  sizes=sz, recall=recall, results=results)
    text = json.dumps(report, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
