"""benchmarks/seed_spread.py: its quick mode runs and writes the fields the README's spreads come from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def seed_spread():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    threads = torch.get_num_threads()
    try:
        import seed_spread

        yield seed_spread
    finally:
        torch.set_num_threads(threads)  # main() sets --threads for the whole process
        sys.path.remove(str(ROOT / "benchmarks"))


def test_spread_is_mean_sample_std_min_max(seed_spread):
    assert seed_spread.spread([1.0, 2.0, 3.0]) == {"n": 3, "mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0}
    assert seed_spread.spread([5.0])["std"] == 0.0
    assert seed_spread.fmt(seed_spread.spread([0.5, 0.7])) == "0.60 ± 0.14 (0.50–0.70)"


def test_quick_digits_writes_runs_summary_and_machine(seed_spread, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert seed_spread.main(["--quick", "--parts", "digits", "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["quick"] is True and set(result["parts"]) == {"digits"}
    digits = result["parts"]["digits"]
    assert [r["seed"] for r in digits["runs"]] == [0, 1]
    # the CLI's settings for `aekit compare --dataset digits --n-components 8`: the estimator's defaults otherwise
    assert digits["params"]["n_components"] == 8 and digits["params"]["hidden_layer_sizes"] == [256, 128]
    assert digits["params"]["random_state"] == 1 and digits["params"]["max_epochs"] == 2
    for run in digits["runs"]:
        assert run["autoencoder_test_error"] > 0 and run["pca_test_error"] > 0 and run["epochs"] <= 2
    summary = digits["summary"]
    for key in ("autoencoder_test_error", "pca_test_error", "autoencoder_fit_seconds"):
        assert set(summary[key]) == {"n", "mean", "std", "min", "max"} and summary[key]["n"] == 2
    errors = [r["autoencoder_test_error"] for r in digits["runs"]]
    assert summary["autoencoder_test_error"]["min"] == min(errors)
    assert summary["autoencoder_beat_pca_every_seed"] == all(
        r["autoencoder_test_error"] < r["pca_test_error"] for r in digits["runs"])
    assert summary["pca_test_error"]["std"] < 1e-6  # the same PCA fit whatever the seed
    machine = result["machine"]
    assert len(machine["loadavg_start"]) == 3 and len(machine["loadavg_end"]) == 3
    assert "shared" in machine["note"] and machine["torch_threads"] == 1
    assert "| seed | autoencoder test error |" in capsys.readouterr().out


def test_quick_run_without_out_keeps_the_committed_results(seed_spread, tmp_path, monkeypatch):
    """--quick without --out writes seed_spread_quick.json, never the seed_spread.json the README quotes."""
    monkeypatch.setattr(seed_spread, "ROOT", tmp_path)  # where the default output goes
    assert seed_spread.main(["--quick", "--parts", "digits"]) == 0
    results = tmp_path / "benchmarks" / "results"
    assert not (results / "seed_spread.json").exists()
    assert json.loads((results / "seed_spread_quick.json").read_text(encoding="utf-8"))["quick"] is True


@pytest.mark.skipif(not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file(),
                    reason=f"Fashion-MNIST not installed at {FASHION_DIR}")
def test_quick_fashion_mnist_parts(seed_spread, tmp_path):
    out = tmp_path / "s.json"
    assert seed_spread.main(["--quick", "--parts", "fmnist", "features", "--out", str(out)]) == 0
    parts = json.loads(out.read_text(encoding="utf-8"))["parts"]
    fmnist = parts["fmnist"]
    assert fmnist["budget_seconds"] == 1.0 and fmnist["params"]["max_time"] == 1.0
    assert fmnist["params"]["hidden_layer_sizes"] == [1000, 500, 250] and fmnist["params"]["n_components"] == 30
    assert len(fmnist["runs"]) == 2 and isinstance(fmnist["summary"]["autoencoder_beat_pca_every_seed"], bool)
    features = parts["features"]
    assert [r["seed"] for r in features["runs"]] == [0, 1]
    assert 0 < features["summary"]["raw_pixels_accuracy"] <= 1
    assert set(features["summary"]["sparse_kl_32_accuracy"]) == {"n", "mean", "std", "min", "max"}
    assert features["settings"]["sparse_kl"]["sparsity"] == "kl"
