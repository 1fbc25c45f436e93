"""Check: how fast can a training step of the small 784-128-64-32 net go on this CPU, with no framework at all?

Issue 6 asks aekit to train that net at least 2x as fast as a plain ``DataLoader`` loop (batch 256, Adam, MSE).
This check measures, in alternating rounds on the same 60,000 Fashion-MNIST images held in memory:

* ``gemms_only``: the step's matrix products alone (:func:`throughput.gemm_rate`), the rate no step can pass;
* ``hand_written``: a step with no autograd and no ``nn.Module`` calls: ``addmm`` forward with ReLU in place,
  the backward products written into preallocated gradients, the MSE gradient in place, and Adam's fused kernel
  called directly (``torch._fused_adam_``; torch.optim.Adam's ``step`` before torch 2.4, which has no CPU kernel). Its
  gradients are checked against autograd's on one batch before it is timed;
* ``aekit``: aekit's ``Trainer`` (:func:`throughput.trainer_rate`, as the benchmark measures it);
* ``dataloader``: the plain ``DataLoader`` loop of :func:`throughput.dataloader_rate`.

and prints each one's samples/s and speed-up over the ``DataLoader`` loop (medians of the rounds). If even the
hand-written step is below 2x, the target is out of reach for any PyTorch training loop on this machine.

Usage::

    PYTHONPATH=src python benchmarks/checks/small_step.py                # 3 rounds, ~2 minutes
    PYTHONPATH=src python benchmarks/checks/small_step.py --quick        # seconds: checks that it runs

Writes ``benchmarks/results/small_step.json`` (``small_step_quick.json`` with ``--quick``, git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from throughput import SMALL, dataloader_rate, gemm_rate, step_flops, trainer_rate  # noqa: E402

BATCH = 256
WIDTHS = (784, *SMALL, 32, *SMALL[::-1], 784)


class HandWrittenStep:
    """One Adam step of the MLP autoencoder on a batch, MSE loss, without autograd (see the module docstring)."""

    def __init__(self, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        pairs = list(zip(WIDTHS[:-1], WIDTHS[1:]))
        bound = [1 / i**0.5 for i, _ in pairs]  # nn.Linear's default range
        self.W = [(torch.rand(o, i, generator=g) * 2 - 1) * b for (i, o), b in zip(pairs, bound)]
        self.b = [(torch.rand(o, generator=g) * 2 - 1) * b for (_, o), b in zip(pairs, bound)]
        self.params = self.W + self.b
        self.grads = [torch.zeros_like(p) for p in self.params]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = [torch.zeros(()) for _ in self.params]
        self.fused = torch.__version__ >= "2.4"  # torch's fused Adam runs on CPU from 2.4, as aekit's Trainer knows
        if not self.fused:  # torch's Adam over the same tensors, stepping on the gradients written below
            for p, grad in zip(self.params, self.grads):
                p.grad = grad
            self.adam = torch.optim.Adam(self.params, lr=1e-3, foreach=True)
        self.adam_kind = "torch._fused_adam_" if self.fused else "torch.optim.Adam(foreach=True).step"

    def gradients(self, x: torch.Tensor) -> float:
        """Write the gradients of the mean squared error on ``x`` into ``self.grads``; return the loss."""
        L = len(self.W)
        hs = [x]
        for j in range(L):
            h = torch.addmm(self.b[j], hs[-1], self.W[j].t())
            if j < L - 1:
                h.clamp_min_(0)
            hs.append(h)
        d = hs[-1].sub_(x)  # the output's residual, turned into the loss gradient in place
        loss = float(torch.dot(d.view(-1), d.view(-1))) / d.numel()
        d.mul_(2.0 / d.numel())
        for j in reversed(range(L)):
            torch.mm(d.t(), hs[j], out=self.grads[j])
            torch.sum(d, 0, out=self.grads[L + j])
            if j:  # the first layer's input (the data) needs no gradient
                d = torch.mm(d, self.W[j]).mul_(hs[j] > 0)
        return loss

    def __call__(self, x: torch.Tensor) -> None:
        self.gradients(x)
        if self.fused:  # torch.optim.Adam counts the step first too: the kernel's bias correction divides by it
            torch._foreach_add_(self.steps, 1)
            torch._fused_adam_(self.params, self.grads, self.exp_avg, self.exp_avg_sq, [], self.steps, lr=1e-3,
                               beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)
        else:
            self.adam.step()

    def autograd_error(self, x: torch.Tensor) -> float:
        """Largest difference between :meth:`gradients` and autograd's on ``x``, relative to autograd's largest."""
        self.gradients(x)
        params = [p.clone().requires_grad_(True) for p in self.params]
        L = len(self.W)
        h = x
        for j in range(L):
            h = torch.addmm(params[L + j], h, params[j].t())
            h = h.relu() if j < L - 1 else h
        want = torch.autograd.grad(torch.nn.functional.mse_loss(h, x), params)
        return max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(self.grads, want))


def hand_written_rate(X: torch.Tensor, seconds: float) -> dict:
    """Samples/s of :class:`HandWrittenStep` over shuffled batches of ``X`` (a short warm-up first)."""
    step = HandWrittenStep()
    error = step.autograd_error(X[:BATCH])
    if error > 1e-4:
        raise AssertionError(f"the hand-written gradients differ from autograd's by {error:.2g} (relative)")
    g = torch.Generator().manual_seed(0)

    def run(n_batches):
        for i, idx in enumerate(torch.split(torch.randperm(X.shape[0], generator=g), BATCH)):
            if i == n_batches:
                break
            step(X.index_select(0, idx))

    tic = time.perf_counter()
    run(8)
    rate = 8 * BATCH / (time.perf_counter() - tic)
    n_batches = int(min(X.shape[0] // BATCH, max(4, rate * seconds / BATCH)))
    tic = time.perf_counter()
    run(n_batches)
    return {"samples_per_s": n_batches * BATCH / (time.perf_counter() - tic), "n": n_batches * BATCH,
            "adam": step.adam_kind, "gradient_error_vs_autograd": error}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 short round on 2,048 images: checks that it runs")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (median reported)")
    p.add_argument("--seconds", type=float, default=4.0, help="time per measurement")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON file (default benchmarks/results/small_step[_quick].json)")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 1, 0.3
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or ROOT / "benchmarks" / "results" / f"small_step{'_quick' if args.quick else ''}.json"

    from aekit.datasets import load_fashion_mnist

    X = torch.from_numpy(load_fashion_mnist().X_train)
    if args.quick:
        X = X[:2048]
    flops = step_flops(784, SMALL, 32)  # per sample
    load_before = os.getloadavg()
    rounds = []
    for r in range(args.rounds):
        row = {"gemms_only": gemm_rate(SMALL, 32, args.seconds / 2) * 1e9 / flops,
               "hand_written": hand_written_rate(X, args.seconds),
               "aekit": trainer_rate(X, SMALL, BATCH, seconds=args.seconds),
               "dataloader": dataloader_rate(X, SMALL, BATCH, args.seconds)}
        rounds.append(row)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v if isinstance(v, float) else v['samples_per_s']:.0f}"
                                             for k, v in row.items()) + " samples/s", flush=True)
    rate = {k: float(np.median([r[k] if k == "gemms_only" else r[k]["samples_per_s"] for r in rounds]))
            for k in rounds[0]}
    result = {
        "check": "small_step", "quick": args.quick, "net": "-".join(map(str, WIDTHS)), "batch": BATCH,
        "flops_per_sample": flops, "samples_per_s": rate,
        "speedup_over_dataloader": {k: v / rate["dataloader"] for k, v in rate.items() if k != "dataloader"},
        "adam": rounds[0]["hand_written"]["adam"],
        "gradient_error_vs_autograd": rounds[0]["hand_written"]["gradient_error_vs_autograd"],
        "rounds": rounds,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg()},
    }
    print(f"{result['net']}, batch {BATCH}, {torch.get_num_threads()} threads, medians of {args.rounds} round(s):")
    print(f"{'':>14} {'samples/s':>10} {'GFLOP/s':>8} {'x DataLoader':>13}")
    for k, v in rate.items():
        x = result["speedup_over_dataloader"].get(k)
        print(f"{k:>14} {v:10.0f} {v * flops / 1e9:8.1f} {'' if x is None else f'x{x:.2f}':>13}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
