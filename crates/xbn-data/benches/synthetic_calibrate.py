"""Can a small CNN learn the synthetic default on CPU in minutes, when untrained features fail?

Reads the dump of `cargo bench -p xbn-data --bench synthetic_baselines -- --dump DIR`
(images.u8: N×S×S×3 bytes; labels.txt: "label split" per image, split 0 = train, 1 = test),
trains a 4-layer CNN with pytorch-metric-learning's MultiSimilarityLoss on P×K batches of the
train classes for --seconds of wall time on --threads threads, and prints the leave-one-out
Recall@1 on the test classes of the untrained and the trained network.

    /work/venv/bin/python crates/xbn-data/benches/synthetic_calibrate.py --dir DIR
"""

import argparse
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from pytorch_metric_learning import losses, samplers


def net(dim=128):
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block(3, 32), *block(32, 64), *block(64, 128),
                         nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, dim))


@torch.no_grad()
def recall_at_1(model, x, y):
    model.eval()
    e = F.normalize(torch.cat([model(x[i:i + 512]) for i in range(0, len(x), 512)]), dim=1)
    s = e @ e.T
    s.fill_diagonal_(-2)
    return (y[s.argmax(1)] == y).float().mean().item()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    meta = np.loadtxt(f"{a.dir}/labels.txt", dtype=np.int64)
    raw = np.fromfile(f"{a.dir}/images.u8", dtype=np.uint8)
    side = int(round((raw.size / len(meta) / 3) ** 0.5))
    x = torch.from_numpy(raw.reshape(len(meta), side, side, 3)).permute(0, 3, 1, 2).float() / 127.5 - 1
    y = torch.from_numpy(meta[:, 0])
    train, test = meta[:, 1] == 0, meta[:, 1] == 1
    xt, yt, xe, ye = x[train], y[train], x[test], y[test]
    model = net()
    print(f"{len(xt)} train / {len(xe)} test images of {side}x{side}")
    print(f"untrained Recall@1: {recall_at_1(model, xe, ye):.4f}")
    sampler = samplers.MPerClassSampler(yt, m=4, batch_size=64, length_before_new_iter=len(yt))
    loss_fn = losses.MultiSimilarityLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start, steps, epoch = time.time(), 0, 0
    while time.time() - start < a.seconds:
        model.train()
        idx = torch.tensor(list(iter(sampler)))
        for b in idx.split(64):
            xb = xt[b]
            if torch.rand(1).item() < 0.5:
                xb = xb.flip(3)
            loss = loss_fn(model(xb), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            if time.time() - start > a.seconds:
                break
        epoch += 1
        print(f"epoch {epoch} ({steps} steps, {time.time() - start:.0f} s): "
              f"test Recall@1 {recall_at_1(model, xe, ye):.4f}", flush=True)
    print(f"trained Recall@1 after {time.time() - start:.0f} s: {recall_at_1(model, xe, ye):.4f}")


if __name__ == "__main__":
    main()
