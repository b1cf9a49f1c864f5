#!/usr/bin/env python3
"""Join the reports of `xbn-gpu-bench` and `torch_peer.py` into a ratio table.

    python3 compare.py xbn.json torch.json --markdown table.md --json summary.json

ratio = xbn median / PyTorch median (> 1: xbn is slower). Rows present in only one report are
listed with an empty side.
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("xbn")
    ap.add_argument("torch")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    a = ap.parse_args()
    ours, peer = (json.load(open(p)) for p in (a.xbn, a.torch))
    theirs = {r["name"]: r for r in peer["results"]}
    names = [r["name"] for r in ours["results"]]
    names += [n for n in theirs if n not in names]
    mine = {r["name"]: r for r in ours["results"]}
    rows = []
    for n in names:
        x, t = mine.get(n), theirs.get(n)
        row = dict(name=n, params=(x or t)["params"],
                   xbn_ms=x and x["median_ms"], torch_ms=t and t["median_ms"],
                   xbn_images_per_s=x and x.get("images_per_s"),
                   torch_images_per_s=t and t.get("images_per_s"))
        row["ratio"] = row["xbn_ms"] / row["torch_ms"] if x and t and t["median_ms"] > 0 else None
        rows.append(row)

    def f(v, fmt):
        return "" if v is None else format(v, fmt)
    lines = [f"xbn on {ours['device']} vs PyTorch {peer.get('torch')} ({peer.get('model')}) on "
             f"{peer.get('gpu') or peer['device']}; median of timed runs; ratio = xbn / PyTorch.",
             "", "| measurement | sizes | xbn (ms) | PyTorch (ms) | ratio | xbn img/s | PyTorch img/s |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['params']} | {f(r['xbn_ms'], '.3f')} | "
                     f"{f(r['torch_ms'], '.3f')} | {f(r['ratio'], '.2f')}× | "
                     f"{f(r['xbn_images_per_s'], '.1f')} | {f(r['torch_images_per_s'], '.1f')} |")
    lines += ["", f"Recall@{ours['sizes']['ks']}: xbn {ours.get('recall')}, "
              f"PyTorch {peer.get('recall')} (same generator law, different random draws)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.markdown:
        open(a.markdown, "w").write(text)
    if a.json:
        json.dump(dict(xbn=ours, torch=peer, rows=rows), open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
