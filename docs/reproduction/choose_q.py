"""The default drift rate q of adaptive XBN, chosen from the study's sweeps.

Usage: python3 docs/reproduction/choose_q.py docs/reproduction/<sweep>/summary.json ... [--metric M]

For every AXBN drift rate q (and for XBN, q = infinity), over every setting of every sweep given
whose memory holds more than one batch: the paired difference AXBN(q) - XBM of the headline
metric (mean over seeds), its worst and mean value over the settings, how many settings have
the 95 % interval above 0 (better) and below 0 (worse), and the collapsed runs. The rule
(as for the stream experiment of docs/method.md): take the q whose worst setting is best.
Not run by CI.
"""

import json
import sys


def method_label(method):
    parts = dict(p.split("=", 1) for p in method.split(", "))
    kind = parts.get("norm.kind", "").strip('"')
    if kind == "xbn":
        return "XBN"
    if kind == "axbn":
        return "AXBN q=" + parts.get("norm.q", "?")
    return None


def one_batch(axes):
    batch = int(axes.get("data.classes_per_batch", 0)) * int(axes.get("data.images_per_class", 0))
    return int(axes.get("memory.size", 0)) <= batch


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    metric = None
    if "--metric" in sys.argv:
        metric = sys.argv[sys.argv.index("--metric") + 1]
        args.remove(metric)
    rows = {}
    for path in args:
        summary = json.load(open(path))
        m = metric or summary["metric"]
        axes_of = {g["setting"]: g["axes"] for g in summary["groups"]}
        collapsed = {(g["setting"], method_label(g["method"])): len(g["collapsed"])
                     for g in summary["groups"]}
        for p in summary["paired"]:
            label = method_label(p["method"])
            if label is None or one_batch(axes_of[p["setting"]]) or m not in p["differences"]:
                continue
            d = p["differences"][m]
            r = rows.setdefault(label, [])
            r.append((path, p["setting"], d, collapsed.get((p["setting"], label), 0)))
    print(f"| method | settings | worst mean difference | mean difference | better | worse | collapsed runs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    best = None
    for label in sorted(rows, key=lambda s: (s == "XBN", float(s.split("=")[1]) if "=" in s else 0)):
        r = rows[label]
        means = [d["mean"] for _, _, d, _ in r]
        worst = min(means)
        better = sum(1 for _, _, d, _ in r if d.get("low") is not None and d["low"] > 0)
        worse = sum(1 for _, _, d, _ in r if d.get("high") is not None and d["high"] < 0)
        print(f"| {label} | {len(r)} | {worst:+.4f} | {sum(means) / len(means):+.4f} | {better} | {worse} "
              f"| {sum(c for *_, c in r)} |")
        if label != "XBN" and (best is None or worst > best[1]):
            best = (label, worst)
    if best:
        print(f"\nbest worst case: {best[0]} ({best[1]:+.4f})")


if __name__ == "__main__":
    main()
