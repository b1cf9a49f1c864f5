"""PyTorch peer of benches/adapt.rs: XBN and adaptive XBN (same equations, in-place on the
memory) and one (b x d)(d x m) matmul, on the CPU. Prints one JSON object of median seconds.

    /work/venv/bin/python crates/xbn-core/benches/torch_xbn.py [--reps N]
"""

import argparse
import json
import statistics
import time

import torch

SIZES = [(8192, 128, 64), (65536, 512, 128)]
EPS = 1e-5


def xbn_(mem, mu_t, var_t):
    """Eq. (X1) with eq. (R), in place: mem <- normalize(mem * a + c)."""
    var_m, mu_m = torch.var_mean(mem, dim=0, unbiased=False)
    a = torch.sqrt(var_t + EPS) / torch.sqrt(var_m + EPS)
    mem.mul_(a).add_(mu_t - mu_m * a)
    mem.div_(mem.norm(dim=1, keepdim=True).clamp_min_(1e-12))
    return mem


class Axbn:
    """Eqs. (K0)-(K4) with noise from the predicted variance, q = 0.01."""

    def __init__(self, q=0.01):
        self.q, self.s = q, None

    def step(self, batch):
        b = batch.shape[0]
        var_b, mu_b = torch.var_mean(batch, dim=0, unbiased=True)
        if self.s is None:
            self.s = [mu_b, var_b, var_b / b, 2 * var_b**2 / (b - 1)]
            return self.s[0], self.s[1]
        mu, v, pm, pv = self.s
        pm_ = pm + self.q * v
        pv_ = pv + self.q * v * v
        km = pm_ / (pm_ + v / b)
        kv = pv_ / (pv_ + 2 * v * v / (b - 1))
        self.s = [mu + km * (mu_b - mu), v + kv * (var_b - v), (1 - km) * pm_, (1 - kv) * pv_]
        return self.s[0], self.s[1]


def median_time(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=10)
    args = p.parse_args()
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "results": {}}
    for m, d, b in SIZES:
        key = f"m{m}_d{d}_b{b}"
        mem = torch.randn(m, d)
        batch = torch.randn(b, d) * 1.2 + 0.1
        with torch.no_grad():
            var_b, mu_b = torch.var_mean(batch, dim=0, unbiased=False)
            r = {"xbn": median_time(lambda: xbn_(mem, mu_b, torch.var_mean(batch, dim=0, unbiased=False)[0]), args.reps)}
            f = Axbn()
            f.step(batch)

            def axbn():
                mu_t, v_t = f.step(batch)
                xbn_(mem, mu_t, v_t)

            r["axbn"] = median_time(axbn, args.reps)
            r["matmul"] = median_time(lambda: batch @ mem.T, args.reps)
        out["results"][key] = r
    print(json.dumps(out))


if __name__ == "__main__":
    main()
