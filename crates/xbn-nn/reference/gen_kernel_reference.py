"""Reference numbers for xbn-nn's CPU kernels (`xbn_nn::kernels`) from PyTorch, in float32.

Writes tests/data/kernel_reference.safetensors, read by tests/kernels_reference.rs. With a fixed
seed it draws random cases for

- `conv.{i}`: `F.conv2d(x, w, stride=s, padding=p)` without bias, kernel 1/3/5/7, stride 1/2,
  padding 0..k//2 (7 cases), random non-square inputs (N 1-3, C 1-6, H and W 4-13);
- `bn.{i}`: `F.batch_norm(x, running_mean, running_var, gamma, beta, training, eps)`, optionally
  followed by ReLU; train mode (batch statistics) and eval mode (given running statistics);
- `pool.{i}`: `F.max_pool2d(x, k, s, p)` for (k, s, p) = (3, 2, 1), (2, 2, 0), (3, 1, 1), with
  distinct input values so every window has a unique maximum;

and for each stores the inputs, a random upstream gradient `g`, the output `y` and the gradients
of `sum(y * g)` with respect to every input. Tensor names:

    conv.{i}.x .w .g .y .dx .dw           conv.{i}.params = [stride, padding]          (i64)
    bn.{i}.x .gamma .beta .g .y .dx .dgamma .dbeta
        eval:  bn.{i}.running_mean .running_var  (the statistics the kernel is given)
        train: bn.{i}.batch_mean .batch_var      (the batch moments, variance biased)
                                          bn.{i}.params = [eps, train, relu]         (f64)
    pool.{i}.x .g .y .dx                  pool.{i}.params = [kernel, stride, padding] (i64)
    meta.counts = [conv cases, bn cases, pool cases]                                  (i64)

For BN with ReLU the inputs are redrawn until no pre-activation lies within 1e-3 of zero, so
float32 rounding cannot flip the ReLU mask between PyTorch and the kernel.

Generated with torch 2.15.0+cu132 (the PyPI wheel, run on the CPU), safetensors 0.8.0 and numpy
2.4.6 on Python 3.11. Run from the crate directory (crates/xbn-nn) with the workspace's
virtualenv:

    python3 -m venv ../../.venv
    ../../.venv/bin/pip install torch safetensors numpy
    ../../.venv/bin/python reference/gen_kernel_reference.py

Reruns give the same tensors bit for bit (only the order of the header's metadata entries may
change). The script refuses to write more than 300 KB.
"""

import os
import random

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 20261129
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "kernel_reference.safetensors")
MAX_BYTES = 300_000

rng = random.Random(SEED)
gen = torch.Generator().manual_seed(SEED)


def randn(*shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float32)


def uniform(lo, hi, *shape):
    return lo + (hi - lo) * torch.rand(*shape, generator=gen, dtype=torch.float32)


def grads(out, g, inputs):
    """Gradients of sum(out * g) with respect to `inputs`."""
    return torch.autograd.grad(out, inputs, grad_outputs=g)


def conv_cases(tensors):
    # (kernel, stride, padding): every kernel size, both strides, paddings from 0 to k//2; the
    # first is the kernel's pointwise fast path (1x1, stride 1, no padding), the last a strided
    # 1x1 convolution that is not.
    configs = [(1, 1, 0), (3, 2, 1), (5, 1, 2), (7, 2, 3), (3, 1, 0), (5, 2, 1), (1, 2, 0)]
    for i, (k, s, p) in enumerate(configs):
        n = rng.randint(1, 3)
        c_in = rng.randint(1, 6)
        c_out = rng.randint(1, 6)
        lo = max(4, k - 2 * p)
        h = rng.randint(lo, 13)
        w = rng.randint(lo, 13)
        if h == w:
            w = lo + (w - lo + 1) % (13 - lo + 1)  # non-square
        x = randn(n, c_in, h, w).requires_grad_()
        wt = (randn(c_out, c_in, k, k) / (c_in * k * k) ** 0.5).requires_grad_()
        y = F.conv2d(x, wt, stride=s, padding=p)
        g = randn(*y.shape)
        dx, dw = grads(y, g, (x, wt))
        name = f"conv.{i}"
        tensors.update(
            {
                f"{name}.x": x.detach(),
                f"{name}.w": wt.detach(),
                f"{name}.g": g,
                f"{name}.y": y.detach(),
                f"{name}.dx": dx,
                f"{name}.dw": dw,
                f"{name}.params": torch.tensor([s, p], dtype=torch.int64),
            }
        )
        print(f"{name}: x {tuple(x.shape)} w {tuple(wt.shape)} stride {s} padding {p} -> y {tuple(y.shape)}")


def bn_cases(tensors):
    # (train, relu, eps)
    modes = [(True, False, 1e-5), (True, True, 1e-5), (False, False, 1e-5), (False, True, 1e-5), (True, True, 1e-3), (False, False, 1e-3)]
    for i, (train, relu, eps) in enumerate(modes):
        n = rng.randint(1, 3)
        c = rng.randint(1, 6)
        h = rng.randint(4, 13)
        w = rng.randint(4, 13)
        for _attempt in range(1000):
            shift = uniform(-2.0, 2.0, 1, c, 1, 1)
            scale = uniform(0.5, 3.0, 1, c, 1, 1)
            x = (randn(n, c, h, w) * scale + shift).requires_grad_()
            gamma = uniform(0.5, 1.5, c) * torch.where(torch.rand(c, generator=gen) < 0.2, -1.0, 1.0)
            gamma = gamma.requires_grad_()
            beta = (0.5 * randn(c)).requires_grad_()
            running_mean = shift.flatten() + 0.3 * randn(c)
            running_var = uniform(0.3, 4.0, c)
            rm, rv = running_mean.clone(), running_var.clone()
            pre = F.batch_norm(x, rm, rv, gamma, beta, training=train, momentum=0.1, eps=eps)
            if not relu or pre.detach().abs().min().item() > 1e-3:
                break
        else:
            raise RuntimeError("could not draw BN inputs away from the ReLU kink")
        y = F.relu(pre) if relu else pre
        g = randn(*y.shape)
        dx, dgamma, dbeta = grads(y, g, (x, gamma, beta))
        name = f"bn.{i}"
        tensors.update(
            {
                f"{name}.x": x.detach(),
                f"{name}.gamma": gamma.detach(),
                f"{name}.beta": beta.detach(),
                f"{name}.g": g,
                f"{name}.y": y.detach(),
                f"{name}.dx": dx,
                f"{name}.dgamma": dgamma,
                f"{name}.dbeta": dbeta,
                f"{name}.params": torch.tensor([eps, float(train), float(relu)], dtype=torch.float64),
            }
        )
        if train:
            xd = x.detach().double()
            tensors[f"{name}.batch_mean"] = xd.mean(dim=(0, 2, 3)).float()
            tensors[f"{name}.batch_var"] = xd.var(dim=(0, 2, 3), unbiased=False).float()
        else:
            tensors[f"{name}.running_mean"] = running_mean
            tensors[f"{name}.running_var"] = running_var
        print(f"{name}: x {tuple(x.shape)} train {train} relu {relu} eps {eps}")


def pool_cases(tensors):
    configs = [(3, 2, 1), (2, 2, 0), (3, 1, 1)] * 2
    for i, (k, s, p) in enumerate(configs):
        n = rng.randint(1, 3)
        c = rng.randint(1, 6)
        h = rng.randint(4, 13)
        w = rng.randint(4, 13)
        if h == w:
            w = 4 + (w - 4 + 1) % 10
        numel = n * c * h * w
        # Distinct values (a random permutation of an evenly spaced grid): unique window maxima.
        values = torch.linspace(-3.0, 3.0, numel, dtype=torch.float32)
        x = values[torch.randperm(numel, generator=gen)].reshape(n, c, h, w).requires_grad_()
        y = F.max_pool2d(x, k, s, p)
        g = randn(*y.shape)
        (dx,) = grads(y, g, (x,))
        name = f"pool.{i}"
        tensors.update(
            {
                f"{name}.x": x.detach(),
                f"{name}.g": g,
                f"{name}.y": y.detach(),
                f"{name}.dx": dx,
                f"{name}.params": torch.tensor([k, s, p], dtype=torch.int64),
            }
        )
        print(f"{name}: x {tuple(x.shape)} kernel {k} stride {s} padding {p} -> y {tuple(y.shape)}")


def main():
    torch.manual_seed(SEED)
    tensors = {}
    conv_cases(tensors)
    bn_cases(tensors)
    pool_cases(tensors)
    counts = [sum(1 for k in tensors if k.startswith(f"{op}.") and k.endswith(".params")) for op in ("conv", "bn", "pool")]
    tensors["meta.counts"] = torch.tensor(counts, dtype=torch.int64)
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT, metadata={"generator": "reference/gen_kernel_reference.py", "torch": torch.__version__, "seed": str(SEED)})
    size = os.path.getsize(OUT)
    print(f"wrote {os.path.normpath(OUT)}: {len(tensors)} tensors, {size} bytes (torch {torch.__version__})")
    if size > MAX_BYTES:
        raise SystemExit(f"reference file is {size} bytes, over the {MAX_BYTES} budget")


if __name__ == "__main__":
    main()
