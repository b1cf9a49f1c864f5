"""PyTorch peer of `benches/train_step.rs`: one training step or one inference embedding pass.

Same architectures, loss, optimizer, workloads, CLI and JSON keys as the Rust bench:

    python reference/bench_train_step.py <workload> [--reps R] [--warmup W] [--threads T] [--json out.json]

Workloads (batch, pixels, default warm-up and reps): cnn32 (64, 32, 5, 20), cnn48 (64, 48, 5, 20),
r50b16 (16, 224, 1, 3), r50b64 (64, 224, 1, 2) are training steps: `model.train()`, `z = model(x)`, loss `sum(z @ z.T)`,
`zero_grad`, `backward`, AdamW step (backbone lr 1e-3, head lr 1e-2, weight decay 1e-4 both,
PyTorch's default AdamW implementation for the CPU). r50embed (128, 224, 1, 2) and cnnembed (256,
32, 3, 10) are `model.eval()` forwards under `torch.inference_mode()`.

The small CNN replicates xbn-nn's `SmallCnn` default: blocks of conv3x3 (padding 1, no bias) ->
BatchNorm2d -> ReLU with channels 32, 64, 128, 256, every block stride 2, global average pool,
Linear(256, 128), L2 normalize. ResNet-50 is torchvision's `resnet50()` (random init) with `fc`
replaced by the head Linear(2048, 128) + L2 normalize. minilm (64 rows of 128 random token ids)
is transformers' `BertModel` in all-MiniLM-L6-v2's shape, mean pooling over the (all-ones)
attention mask, L2 normalize, no head; vits16 (16, 224) is `ViTModel` (ViT-S/16: 384 wide, 12
layers of 6 heads), class token, Linear(384, 128), L2 normalize; both random init, dropout 0
(xbn's transformers have none), transformers' default attention (SDPA). W warm-up steps, then R timed ones; one
workload per process so that a runner can read its peak RSS. Threads: --threads, else
$OMP_NUM_THREADS, else the machine's cores. Prints (and writes to --json) one JSON line.
"""

import argparse
import json
import os
import statistics
import sys
import time

WORKLOADS = {
    # name: (model, batch, size, train, default warm-up, default reps)
    "cnn32": ("cnn", 64, 32, True, 5, 20),
    "cnn48": ("cnn", 64, 48, True, 5, 20),
    "r50b16": ("r50", 16, 224, True, 1, 3),
    "r50b64": ("r50", 64, 224, True, 1, 2),
    "r50embed": ("r50", 128, 224, False, 1, 2),
    "cnnembed": ("cnn", 256, 32, False, 3, 10),
    "minilm": ("minilm", 64, 128, True, 1, 3),
    "vits16": ("vits16", 16, 224, True, 1, 3),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload", choices=sorted(WORKLOADS))
    ap.add_argument("--reps", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json")
    args = ap.parse_args()
    kind, batch, size, train, default_warmup, default_reps = WORKLOADS[args.workload]
    reps = args.reps or default_reps
    warmup = default_warmup if args.warmup is None else args.warmup
    threads = args.threads or int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1
    # Before torch starts its pools.
    os.environ["OMP_NUM_THREADS"] = str(threads)

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class SmallCnn(nn.Module):
        def __init__(self, channels=(32, 64, 128, 256), first_stride=2, dim=128):
            super().__init__()
            blocks, c_in = [], 3
            for i, c_out in enumerate(channels):
                stride = first_stride if i == 0 else 2
                blocks.append(
                    nn.Sequential(
                        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
                        nn.BatchNorm2d(c_out),
                        nn.ReLU(inplace=True),
                    )
                )
                c_in = c_out
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Linear(c_in, dim)

        def forward(self, x):
            g = self.blocks(x).mean(dim=(2, 3))
            return F.normalize(self.head(g), dim=1)

    class ResNet50(nn.Module):
        def __init__(self, dim=128):
            super().__init__()
            from torchvision.models import resnet50

            self.body = resnet50(weights=None)
            self.body.fc = nn.Identity()
            self.head = nn.Linear(2048, dim)

        def forward(self, x):
            return F.normalize(self.head(self.body(x)), dim=1)

    class MiniLm(nn.Module):
        def __init__(self):
            super().__init__()
            from transformers import BertConfig, BertModel

            config = BertConfig(
                vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                intermediate_size=1536, hidden_act="gelu", hidden_dropout_prob=0.0,
                attention_probs_dropout_prob=0.0, max_position_embeddings=512,
            )
            self.body = BertModel(config, add_pooling_layer=False)
            self.head = nn.Identity()

        def forward(self, ids):
            mask = torch.ones_like(ids)
            h = self.body(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            return F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=1)

    class VitS16(nn.Module):
        def __init__(self, dim=128):
            super().__init__()
            from transformers import ViTConfig, ViTModel

            config = ViTConfig(
                hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                intermediate_size=1536, image_size=224, patch_size=16, hidden_dropout_prob=0.0,
                attention_probs_dropout_prob=0.0,
            )
            self.body = ViTModel(config, add_pooling_layer=False)
            self.head = nn.Linear(384, dim)

        def forward(self, x):
            h = self.body(pixel_values=x).last_hidden_state
            return F.normalize(self.head(h[:, 0]), dim=1)

    model = {"cnn": SmallCnn, "r50": ResNet50, "minilm": MiniLm, "vits16": VitS16}[kind]()
    head = list(model.head.parameters())
    head_ids = {id(p) for p in head}
    backbone = [p for p in model.parameters() if id(p) not in head_ids]
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if kind == "minilm":
        images = torch.randint(2, 30000, (batch, size))
    else:
        images = torch.randn(batch, 3, size, size)

    times = []
    if train:
        model.train()
        opt = torch.optim.AdamW(
            [
                {"params": backbone, "lr": 1e-3, "weight_decay": 1e-4},
                {"params": head, "lr": 1e-2, "weight_decay": 1e-4},
            ],
            betas=(0.9, 0.999),
            eps=1e-8,
        )
        for _ in range(warmup + reps):
            start = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            z = model(images)
            loss = (z @ z.T).sum()
            loss.backward()
            opt.step()
            times.append((time.perf_counter() - start) * 1e3)
    else:
        model.eval()
        for _ in range(warmup + reps):
            start = time.perf_counter()
            with torch.inference_mode():
                z = model(images)
            times.append((time.perf_counter() - start) * 1e3)
            del z
    times = times[warmup:]

    median = statistics.median(times)
    out = {
        "name": args.workload,
        "engine": "torch",
        "mode": "train_step" if train else "embed",
        "params": params,
        "batch": batch,
        "size": size,
        "threads": threads,
        "device": "cpu",
        "torch": torch.__version__,
        "warmup": warmup,
        "reps": reps,
        "times_ms": times,
        "median_ms": median,
        "min_ms": min(times),
        "max_ms": max(times),
        "images_per_s": batch / (median / 1e3),
    }
    line = json.dumps(out)
    print(line)
    if args.json:
        with open(args.json, "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
