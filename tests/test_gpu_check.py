"""benchmarks/gpu_check.py: the logic of the GPU check, run on the CPU (its ``--self-test-on-cpu`` mode).

No GPU is needed: the correctness and throughput parts are replaced by stubs where a test is about the rest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gpu_check(monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    monkeypatch.setattr(gpu_check, "DEVICE", gpu_check.DEVICE)  # main() sets it for the process; restored after
    return gpu_check


def test_sync_counts_are_keyed_by_the_rows_each_epoch_trained_on(gpu_check, monkeypatch, tmp_path):
    """The two epochs compared have different numbers of steps, and the JSON names the rows each one had."""
    X = np.random.default_rng(0).random((512, 784), dtype=np.float32)
    monkeypatch.setattr(gpu_check, "data", lambda n: X)  # fewer rows than the sizes the check once assumed
    monkeypatch.setattr(gpu_check, "check_correctness", lambda X: {"stub_ok": True})
    monkeypatch.setattr(gpu_check, "throughput", lambda X, seconds, batch_size: {})
    rows, count = [], gpu_check.count_syncs
    monkeypatch.setattr(gpu_check, "count_syncs", lambda X, n: rows.append(len(X[:n])) or count(X, n))
    out = tmp_path / "g.json"
    assert gpu_check.main(["--self-test-on-cpu", "--quick", "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert [int(k) for k in result["syncs_per_epoch"]] == rows
    assert rows[0] < rows[1]  # more steps in the second epoch: else "does not grow with steps" says nothing
    assert result["syncs_do_not_grow_with_steps"] is True and result["ok"] is True
