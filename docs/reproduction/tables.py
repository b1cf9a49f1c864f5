"""Compact Markdown tables for docs/reproduction.md from a sweep's summary.json.

Usage: python3 docs/reproduction/tables.py docs/reproduction/<sweep>/summary.json [metric]

One row per setting (batch, memory): XBM's mean with its 95 % interval, then for every other
method the paired difference method - XBM with its interval, and collapsed runs per method;
then the drift figures (means over seeds of the per-run means). Not run by CI.
"""

import json
import sys


def fmt(i, signed=False):
    if i is None:
        return "-"
    sign = "+" if signed else ""
    if i.get("low") is None:
        return f"{i['mean']:{sign}.4f} (n={i['n']})"
    return f"{i['mean']:{sign}.4f} [{i['low']:{sign}.4f}, {i['high']:{sign}.4f}]"


def short(method):
    parts = dict(p.split("=", 1) for p in method.split(", "))
    kind = parts.pop("norm.kind").strip('"')
    if kind == "none":
        return "XBM"
    label = {"xbn": "XBN", "axbn": "AXBN"}.get(kind, kind)
    extra = [f"{k.split('.')[-1]}={v}" for k, v in parts.items()]
    if kind == "xbn":
        extra = []
    return label + (" " + " ".join(extra) if extra else "")


def setting_label(axes):
    p = int(axes.get("data.classes_per_batch", "0"))
    k = int(axes.get("data.images_per_class", "0"))
    m = axes.get("memory.size", "?")
    return p * k, int(m), f"{p}×{k}", m


def main():
    summary = json.load(open(sys.argv[1]))
    metric = sys.argv[2] if len(sys.argv) > 2 else summary["metric"]
    groups = summary["groups"]
    settings = sorted({g["setting"] for g in groups},
                      key=lambda s: setting_label(next(g["axes"] for g in groups if g["setting"] == s))[:2])
    methods = []
    for g in groups:
        if short(g["method"]) not in methods:
            methods.append(short(g["method"]))
    others = [m for m in methods if m != "XBM"]
    print(f"| batch | memory | XBM {metric} | " + " | ".join(f"{m} − XBM" for m in others)
          + " | collapsed (" + ", ".join(methods) + ") |")
    print("|---|---:|---|" + "---|" * len(others) + "---|")
    for s in settings:
        gs = {short(g["method"]): g for g in groups if g["setting"] == s}
        axes = next(iter(gs.values()))["axes"]
        _, _, batch, memory = setting_label(axes)
        xbm = gs.get("XBM")
        row = [batch, memory, fmt(xbm["stats"].get(metric) if xbm else None)]
        for m in others:
            p = next((p for p in summary["paired"] if p["setting"] == s and short(p["method"]) == m), None)
            row.append(fmt(p["differences"].get(metric) if p else None, signed=True))
        row.append(", ".join(str(len(gs[m]["collapsed"])) if m in gs else "-" for m in methods))
        print("| " + " | ".join(str(x) for x in row) + " |")
    print()
    print("| batch | memory | method | drift as enqueued | after matching | affine bound | share removed |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for s in settings:
        for g in groups:
            if g["setting"] != s:
                continue
            st = g["stats"]
            _, _, batch, memory = setting_label(g["axes"])

            def v(k):
                i = st.get("drift." + k)
                return "-" if i is None else f"{i['mean']:.3f}"

            def share():
                # (before - after) / (before - affine) of the means over seeds (a mean of the
                # per-run ratios is unstable where a run had almost nothing to remove), and only
                # where moment matching had something to remove (15 % of the drift or more).
                b, a, f = (st.get("drift." + k) for k in ("before", "after", "affine"))
                if b is None or a is None or f is None or b["mean"] - f["mean"] < 0.15 * b["mean"]:
                    return "(little removable)" if short(g["method"]) != "XBM" else "-"
                if a["mean"] > b["mean"]:
                    return f"none (adds {a['mean'] - b['mean']:.3f})"
                return f"{100 * (b['mean'] - a['mean']) / (b['mean'] - f['mean']):.0f} %"
            print(f"| {batch} | {memory} | {short(g['method'])} | {v('before')} | {v('after')} | "
                  f"{v('affine')} | {share()} |")


if __name__ == "__main__":
    main()


def age_table(summary):
    """Drift by age bucket (means over seeds): stored / adapted / affine bound."""
    buckets = ["0-9", "10-99", "100-999", "1000+"]
    print("| batch | memory | method | " + " | ".join(f"age {b}" for b in buckets) + " |")
    print("|---|---:|---|" + "---|" * len(buckets))
    for g in sorted(summary["groups"], key=lambda g: setting_label(g["axes"])[:2]):
        st = g["stats"]
        cells = []
        for b in buckets:
            k = f"drift.age {b}."
            if k + "before" not in st:
                cells.append("-")
                continue
            cells.append(" / ".join(f"{st[k + f]['mean']:.3f}" for f in ("before", "after", "affine")))
        if all(c == "-" for c in cells):
            continue
        _, _, batch, memory = setting_label(g["axes"])
        print(f"| {batch} | {memory} | {short(g['method'])} | " + " | ".join(cells) + " |")


if __name__ == "__main__" and len(sys.argv) > 3 and sys.argv[3] == "--ages":
    print()
    age_table(json.load(open(sys.argv[1])))
