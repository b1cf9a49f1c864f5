"""Markdown table of a `run_train_bench.sh` results folder: writes OUT/table.md and prints it.

    python reference/train_bench_table.py target/train-bench

Reads OUT/meta.txt and OUT/raw/<workload>.<engine>.<invocation>.{json,time}. Per workload and
engine: the median over invocations of each invocation's median step time, its spread (min–max
of those per-invocation medians), and the peak RSS (largest "Maximum resident set size" of
`/usr/bin/time -v` over invocations).
"""

import json
import os
import re
import statistics
import sys
from collections import defaultdict

ORDER = ["cnn32", "cnn48", "r50b16", "r50b64", "r50embed", "cnnembed"]
DESCR = {
    "cnn32": "small CNN train step, b64, 32 px",
    "cnn48": "small CNN train step, b64, 48 px",
    "r50b16": "ResNet-50 train step, b16, 224 px",
    "r50b64": "ResNet-50 train step, b64, 224 px",
    "r50embed": "ResNet-50 embed, b128, 224 px",
    "cnnembed": "small CNN embed, b256, 32 px",
}


def peak_rss_kib(path):
    with open(path) as f:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
    return int(m.group(1)) if m else None


def mib(kib):
    return f"{int(kib) / 1024:.0f}" if kib and kib.isdigit() else "?"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/train-bench"
    raw = os.path.join(out, "raw")
    meta = {}
    with open(os.path.join(out, "meta.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    runs = defaultdict(list)  # (workload, engine) -> [(median_ms, rss_kib, json)]
    for name in sorted(os.listdir(raw)):
        m = re.fullmatch(r"(\w+)\.(xbn|torch)\.(\d+)\.json", name)
        if not m:
            continue
        with open(os.path.join(raw, name)) as f:
            d = json.load(f)
        rss = peak_rss_kib(os.path.join(raw, name[: -len(".json")] + ".time"))
        runs[(m.group(1), m.group(2))].append((d["median_ms"], rss, d))

    def summary(w, engine):
        rs = runs.get((w, engine))
        if not rs:
            return None
        meds = [r[0] for r in rs]
        rss = [r[1] for r in rs if r[1] is not None]
        return {
            "median": statistics.median(meds),
            "lo": min(meds),
            "hi": max(meds),
            "n": len(rs),
            "reps": sorted({r[2]["reps"] for r in rs}),
            "rss": max(rss) / 1024 if rss else None,
            "ips": statistics.median(r[2]["images_per_s"] for r in rs),
            "params": rs[0][2]["params"],
            "mode": rs[0][2]["mode"],
        }

    workloads = [w for w in ORDER if any(k[0] == w for k in runs)]
    workloads += sorted({k[0] for k in runs} - set(workloads))
    lines = [
        "# xbn-nn vs PyTorch: training step and embedding, CPU",
        "",
        f"- CPU: {meta.get('cpu', '?')} ({meta.get('cores', '?')} cores); "
        f"threads per engine: {meta.get('threads', '?')}",
        f"- {meta.get('rustc', '?')}; Python {meta.get('python', '?')}, "
        f"torch {meta.get('torch', '?')}, torchvision {meta.get('torchvision', '?')}",
        f"- invocations per engine and workload: {meta.get('invocations', '?')}; "
        f"timed reps per invocation: {meta.get('reps', '?')}, warm-up steps before them: "
        f"{meta.get('warmup', '?')} (default: each workload's own, `benches/train_step.rs`)",
        f"- start: {meta.get('start_date', '?')} — `{meta.get('start_uptime', '?').strip()}`",
        f"- end: {meta.get('end_date', '?')} — `{meta.get('end_uptime', '?').strip()}`",
        "- PyTorch's peak RSS from its imports alone (no model, no tensor): "
        f"`import torch` {mib(meta.get('import_rss_kib_torch'))} MiB (small-CNN peer), "
        f"`import torch, torchvision` {mib(meta.get('import_rss_kib_torch_torchvision'))} MiB "
        "(ResNet-50 peer)",
        "",
        "Times: median over invocations of each invocation's median (ms per step or per embed "
        "batch), spread = min–max of the per-invocation medians. Peak RSS: largest over "
        "invocations (`/usr/bin/time -v`). Ratios below 1: xbn is faster / smaller.",
        "",
        "| workload | xbn median ms (spread) | PyTorch median ms (spread) | xbn / PyTorch "
        "| xbn peak RSS MiB | PyTorch peak RSS MiB | RSS ratio | images/s xbn / PyTorch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []

    def cell(s):
        if s is None:
            return "—"
        return f"{s['median']:.1f} ({s['lo']:.1f}–{s['hi']:.1f})"

    def rss_cell(s):
        return "—" if s is None or s["rss"] is None else f"{s['rss']:.0f}"

    for w in workloads:
        x, t = summary(w, "xbn"), summary(w, "torch")
        ratio = f"{x['median'] / t['median']:.2f}" if x and t else "—"
        rss_ratio = f"{x['rss'] / t['rss']:.2f}" if x and t and x["rss"] and t["rss"] else "—"
        ips = "—"
        if x and t and x["mode"] == "embed":
            ips = f"{x['ips']:.1f} / {t['ips']:.1f}"
        label = f"`{w}` ({DESCR[w]})" if w in DESCR else f"`{w}`"
        lines.append(
            f"| {label} | {cell(x)} | {cell(t)} | {ratio} | {rss_cell(x)} | {rss_cell(t)} "
            f"| {rss_ratio} | {ips} |"
        )
        if x and t and x["params"] != t["params"]:
            notes.append(
                f"- `{w}`: trainable parameters differ: xbn {x['params']:,}, "
                f"PyTorch {t['params']:,}"
            )
        for engine, s in (("xbn", x), ("PyTorch", t)):
            if s is None:
                notes.append(f"- `{w}`: no successful {engine} run")
    failures = os.path.join(out, "failures.txt")
    if os.path.exists(failures):
        with open(failures) as f:
            notes += [f"- failed: {line.strip()}" for line in f if line.strip()]
    params = [f"`{w}` {summary(w, 'xbn')['params']:,}" for w in workloads if summary(w, "xbn")]
    if params:
        lines += ["", "Trainable parameters (xbn): " + ", ".join(params) + "."]
    if notes:
        lines += ["", "Notes:"] + notes
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
