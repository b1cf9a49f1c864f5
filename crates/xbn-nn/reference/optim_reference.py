"""Reference numbers for xbn-train's optimizers from torch.optim.SGD / AdamW / Adam.

Writes tests/data/optim_reference.json: for each case, two parameter groups (different base
learning rates and weight decays), a fixed sequence of gradients and learning-rate factors,
and the parameter values after every step. Run from the crate directory:

    /work/venv/bin/python reference/optim_reference.py
"""

import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)

STEPS = 6
FACTORS = [0.5, 1.0, 1.0, 0.75, 0.25, 0.1]  # a warm-up then decay, applied to every group


def init():
    a = torch.tensor([0.5, -1.25, 2.0, 0.0])
    b = torch.tensor([[0.3, -0.7], [1.1, 0.05]])
    return a, b


def grads(step):
    """Deterministic gradients; some entries change sign, one step has a zero gradient."""
    ga = torch.tensor([math.sin(1.0 + step), math.cos(0.5 * step) - 0.3, 0.1 * (step - 2), 1.5])
    gb = torch.tensor([[math.cos(step), -0.25], [0.0 if step == 3 else 0.7, math.sin(2.0 * step)]])
    return ga, gb


def run(make_opt, groups_hp, decoupled_sgd=False):
    a, b = init()
    pa = torch.nn.Parameter(a.clone())
    pb = torch.nn.Parameter(b.clone())
    groups = [
        {"params": [pa], "lr": groups_hp[0][0], "weight_decay": groups_hp[0][1]},
        {"params": [pb], "lr": groups_hp[1][0], "weight_decay": groups_hp[1][1]},
    ]
    opt = make_opt(groups)
    base = [g["lr"] for g in opt.param_groups]
    trace = []
    for t in range(STEPS):
        for g, lr in zip(opt.param_groups, base):
            g["lr"] = lr * FACTORS[t]
        ga, gb = grads(t)
        pa.grad = ga.clone()
        pb.grad = gb.clone()
        if decoupled_sgd:
            # SGDW: p <- p (1 - lr wd), then plain SGD without weight decay.
            with torch.no_grad():
                for g in opt.param_groups:
                    for p in g["params"]:
                        p.mul_(1 - g["lr"] * g["wd_decoupled"])
        opt.step()
        trace.append({"a": pa.detach().tolist(), "b": pb.detach().flatten().tolist()})
    return trace


def main():
    hp = [(0.1, 0.01), (0.05, 0.2)]
    cases = []
    for name, kw in [
        ("sgd_plain", dict(momentum=0.0)),
        ("sgd_momentum", dict(momentum=0.9)),
        ("sgd_dampening", dict(momentum=0.8, dampening=0.3)),
        ("sgd_nesterov", dict(momentum=0.9, nesterov=True)),
    ]:
        trace = run(lambda g, kw=kw: torch.optim.SGD(g, **kw), hp)
        cases.append({"name": name, "optimizer": "sgd", "decoupled": False, **kw, "trace": trace})

    def sgdw(groups):
        for g in groups:
            g["wd_decoupled"] = g["weight_decay"]
            g["weight_decay"] = 0.0
        return torch.optim.SGD(groups, momentum=0.9)

    cases.append({"name": "sgd_decoupled", "optimizer": "sgd", "decoupled": True, "momentum": 0.9,
                  "trace": run(sgdw, hp, decoupled_sgd=True)})
    for name, kw in [
        ("adamw_default", dict()),
        ("adamw_betas", dict(betas=(0.8, 0.95), eps=1e-6)),
    ]:
        trace = run(lambda g, kw=kw: torch.optim.AdamW(g, **kw), hp)
        betas = kw.get("betas", (0.9, 0.999))
        cases.append({"name": name, "optimizer": "adamw", "beta1": betas[0], "beta2": betas[1],
                      "eps": kw.get("eps", 1e-8), "decoupled": True, "trace": trace})
    # torch.optim.Adam's weight_decay is L2 coupled into the gradient (XBM's optimizer).
    for name, kw in [
        ("adam_l2_default", dict()),
        ("adam_l2_betas", dict(betas=(0.8, 0.95), eps=1e-6)),
    ]:
        trace = run(lambda g, kw=kw: torch.optim.Adam(g, **kw), hp)
        betas = kw.get("betas", (0.9, 0.999))
        cases.append({"name": name, "optimizer": "adamw", "beta1": betas[0], "beta2": betas[1],
                      "eps": kw.get("eps", 1e-8), "decoupled": False, "trace": trace})
    a, b = init()
    steps = [{"a": grads(t)[0].tolist(), "b": grads(t)[1].flatten().tolist()} for t in range(STEPS)]
    out = {
        "torch": torch.__version__,
        "groups": [{"lr": hp[0][0], "weight_decay": hp[0][1]}, {"lr": hp[1][0], "weight_decay": hp[1][1]}],
        "init": {"a": a.tolist(), "b": b.flatten().tolist()},
        "factors": FACTORS,
        "grads": steps,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "optim_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
