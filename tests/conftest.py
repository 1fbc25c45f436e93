"""Shared fixtures: small seeded data sets and the location of the real data files."""

import os
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning: spinning threads starve each other
# (and the subprocesses some tests start) on a 2-core machine. Must precede torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
import torch

# The tests train tiny networks, for which one thread is faster than several (no
# synchronisation cost) and never oversubscribes a busy machine.
torch.set_num_threads(1)

SHARED_DATA = Path(os.environ.get("AEKIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(autouse=True)
def _one_thread():
    """Every test starts on one thread, whatever an earlier test set."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def small_X(rng):
    """(120, 10) float64 data with a 3-D linear structure plus noise."""
    Z = rng.normal(size=(120, 3))
    W = rng.normal(size=(3, 10))
    return Z @ W + 0.05 * rng.normal(size=(120, 10))


@pytest.fixture
def unit_X(rng):
    """(100, 12) data in [0, 1], for binary cross-entropy."""
    return rng.random((100, 12))


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path, monkeypatch):
    """Keep dataset caches of the tests out of the user's home."""
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "aekit_data"))
