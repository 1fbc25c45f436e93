"""benchmarks/throughput.py and benchmarks/gpu_check.py count the floating-point work a training step does.

Their "fraction of the matmul rate" compares aekit's training rate with the rate of the matrix products of one
training step, so both sides must count the products the step performs: autograd computes no gradient for the
data, so the first layer has two products, not three. Counting six per weight for every layer (``6 x params``)
credited the training with about 10 % more work than it did, and its products' rate with one it never runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from aekit.nets import MLPAutoencoder
from aekit.training import Trainer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def throughput():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import throughput

        yield throughput
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def _trainer_flops(hidden, k, batch):
    """Floating-point operations torch counts in one Trainer step of the 784-hidden-k autoencoder on ``batch`` rows."""
    torch.manual_seed(0)
    trainer = Trainer(MLPAutoencoder(784, hidden, k), batch_size=batch, max_epochs=1)
    with FlopCounterMode(display=False) as counter:
        trainer.fit(torch.rand(batch, 784))
    return counter.get_total_flops()


@pytest.mark.parametrize("hidden, k", [((1000, 500, 250), 30), ((128, 64), 32)])
def test_step_flops_are_the_trainers(throughput, hidden, k):
    batch = 8
    assert throughput.step_flops(784, hidden, k, batch) == _trainer_flops(hidden, k, batch)


@pytest.mark.parametrize("net", ["BIG", "SMALL"])  # the matmul rate (big net) and the small net's GEMM-only rate
def test_matmul_rate_times_the_products_of_a_training_step(throughput, net):
    batch = 8
    hidden, k = getattr(throughput, net), 30 if net == "BIG" else 32
    products = throughput.step_products(784, hidden, k, batch)
    with FlopCounterMode(display=False) as counter:
        for a, b in products:
            a @ b
    assert counter.get_total_flops() == _trainer_flops(hidden, k, batch)


def test_gpu_check_train_gflops_count_the_products_of_a_training_step(monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    monkeypatch.setattr(gpu_check, "DEVICE", "cpu")  # its --self-test-on-cpu mode
    X = np.random.default_rng(0).random((16, 784), dtype=np.float32)
    out = gpu_check.throughput(X, seconds=0.01, batch_size=8)
    per_sample = _trainer_flops(gpu_check.BIG, 30, 8) / 8
    for mode in ("fp32", "tf32", "bf16"):
        r = out[mode]
        assert r["train_gflops"] == pytest.approx(r["train_samples_per_s"] * per_sample / 1e9, rel=1e-9)


def test_the_hand_written_small_step_has_autograds_gradients():
    # benchmarks/checks/small_step.py times a step without autograd to bound what any loop could reach; its
    # gradients (and so its work) must be the real step's
    sys.path.insert(0, str(ROOT / "benchmarks" / "checks"))
    try:
        import small_step
    finally:
        sys.path.remove(str(ROOT / "benchmarks" / "checks"))
    step = small_step.HandWrittenStep()
    x = torch.rand(64, 784, generator=torch.Generator().manual_seed(0))
    assert step.autograd_error(x) < 1e-5
    want = [p.clone().requires_grad_(True) for p in step.params]  # torch's Adam on the same gradients
    adam = torch.optim.Adam(want, lr=1e-3)
    for _ in range(2):
        step(x)
        for p, g in zip(want, step.grads):
            p.grad = g.clone()
        adam.step()
        for a, b in zip(step.params, want):
            torch.testing.assert_close(a, b.detach(), rtol=1e-5, atol=1e-6)
