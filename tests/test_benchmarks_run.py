"""Every script in benchmarks/ and benchmarks/checks/ still runs: its ``--quick`` mode, in a fresh process.

Nothing else runs these scripts, and the library changes underneath them. Each case runs one script's quick mode
(``sys.executable``, ``PYTHONPATH`` at this checkout's ``src``, ``OMP_NUM_THREADS=1``, outputs in ``tmp_path``,
never in ``benchmarks/results``), asserts that it exits 0, and reads back the JSON it writes: it must parse and
hold the fields the README quotes from that benchmark (or, for a check that only prints, the lines it prints).

All of them together take about 3.5 minutes on a shared 2-core machine (most of it the three slowest: denoise,
throughput, checks/outside_step, ~30 s each), too much for the suite; so the suite runs a few cheap ones that
between them go through the changed-most library code (patch reassembly, block-wise inference and metrics,
figures, the command line), about 30 s, and the rest run only with ``AEKIT_BENCHMARKS=1``, which
``.ci/benchmarks-quick`` sets (``.ci/run`` calls it after the tests)::

    AEKIT_BENCHMARKS=1 OMP_NUM_THREADS=1 PYTHONPATH=src python -m pytest -q tests/test_benchmarks_run.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
ALL = os.environ.get("AEKIT_BENCHMARKS", "") not in ("", "0")


@dataclass
class Case:
    script: str  # relative to benchmarks/
    args: list[str]  # "{tmp}" becomes the test's tmp_path
    check: Callable[[Path, str], None]  # (tmp_path, stdout)
    in_suite: bool = False  # run by the plain test suite, not only with AEKIT_BENCHMARKS=1
    needs: tuple[str, ...] = field(default_factory=tuple)  # "fashion-mnist", "keras"


def _json(path: Path) -> dict:
    assert path.is_file(), f"{path.name} was not written"
    return json.loads(path.read_text(encoding="utf-8"))


def _png(path: Path) -> None:
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"


def _last_json_line(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- what each case checks
def check_anomaly(tmp, out):
    d = _json(tmp / "anomaly.json")
    assert d["quick"] is True and d["machine"]["loadavg_start"]
    for row in d["rows"]:
        for key in ("pca_auc", "autoencoder_auc", "isolation_forest_auc"):
            assert 0 <= row[key] <= 1
        assert row["autoencoder_epochs"] >= 1
    assert set(d["mean_auc"]) == {"pca", "autoencoder", "isolation_forest"}
    assert "ROC AUC" in d["table"]


def check_complete(tmp, out):
    d = _json(tmp / "complete.json")
    assert [r["scenario"] for r in d["images"]] == ["50% at random", "central 12x12 block"]
    for r in d["images"]:
        assert r["methods"]["KNNImputer"]["rmse"] > 0 and r["ratio_to_best_sklearn"] > 0
        assert r["ours"].startswith("AutoencoderImputer")
    assert d["tabular"]["methods"]["AutoencoderImputer"]["rmse_mean"] > 0
    _png(tmp / "complete_random.png")
    _png(tmp / "complete_block.png")


def check_contractive(tmp, out):
    d = _json(tmp / "contractive.json")
    methods = [r["method"] for r in d["rows"]]
    assert methods[0] == "PCA" and any(m.startswith("contractive") for m in methods)
    for r in d["rows"]:
        assert r["test_error"] > 0 and r["jacobian_norm"] > 0 and 0 <= r["probe_accuracy"] <= 1


def check_denoise(tmp, out):
    d = _json(tmp / "denoise.json")
    for row in d["fashion_mnist"]:
        for method in ("noisy input", "non-local means", "DAE (mlp)", "DAE (conv)"):
            assert row["methods"][method]["psnr"] > 0 and -1 <= row["methods"][method]["ssim"] <= 1
    image = d["natural"]["images"][0]
    assert {"noisy input", "non-local means", "DAE"} <= set(image["methods"])
    assert set(d["targets"]) == {"fashion_gaussian_conv_minus_best_classical_at_least_1dB", "photos_dae_beats_nlm"}
    _png(tmp / "denoise.png")


def check_features(tmp, out):
    d = _json(tmp / "features.json")
    methods = {r["method"] for r in d["fashion_mnist"]}
    assert {"raw pixels", "PCA", "sparse L1", "sparse KL", "sparse top-k"} <= methods
    assert all(0 <= r["test_accuracy"] <= 1 for r in d["fashion_mnist"] + d["digits"])
    for summary in d["summary"].values():
        assert {"best_sparse", "gain_over_raw_points", "gain_over_pca_points"} <= set(summary)


def check_features_holdout(tmp, out):
    # --eval holdout is for choosing settings with the test sets untouched: the digits part scored on the digits'
    # test set all the same
    d = _json(tmp / "features.json")
    assert d["digits"] and "held-out" in out.split("digits:", 1)[1].splitlines()[0]
    assert "digits: 1150 train, 287 held-out training images" in out


def check_gpu(tmp, out):
    d = _json(tmp / "gpu_check.json")
    assert d["ok"] is True and d["device"] == "cpu (self-test)"
    assert d["syncs_do_not_grow_with_steps"] is True
    assert d["throughput"]["fp32"]["train_samples_per_s"] > 0


def check_hinton(tmp, out):
    d = _json(tmp / "hinton2006.json")
    assert d["rows"], "no runs"
    for r in d["rows"]:
        assert r["exit_code"] == 0
        assert r["ratio"] == pytest.approx(r["autoencoder_test_error"] / r["pca_test_error"], rel=1e-6)
        assert r["epochs"] >= 1 and r["peak_rss_mib"] > 0
    assert "AE/PCA" in d["table"]


def check_sparse_filters(tmp, out):
    d = _json(tmp / "sparse_filters.json")
    r = d["results"]
    assert set(r) == {"L1", "no penalty", "random filters"}
    assert 0 < r["L1"]["active_fraction"] <= 1 and r["L1"]["dead_units"] >= 0
    assert all(0 < v["concentration_median"] <= 1 for v in r.values())
    _png(tmp / "sparse_filters.png")


def check_throughput(tmp, out):
    d = _json(tmp / "throughput.json")
    assert d["train_big_fp32"]["fraction_of_matmul"] > 0 and d["sklearn_big"]["speedup_aekit"] > 0
    assert {"small_net", "ttq", "streaming", "ddp", "compile_small", "targets"} <= set(d)
    assert d["streaming"]["within_budget"] in (True, False)
    g = d["small_net"]["gemms_only"]  # the small net's products alone: what no step of it can pass
    assert g["samples_per_s"] > 0 and g["aekit_fraction"] == pytest.approx(
        d["small_net"]["aekit"]["samples_per_s"] / g["samples_per_s"])
    table = (tmp / "throughput.md").read_text()  # the table the README shows
    assert "matmul fp32" in table and "targets:" in table and "small net GEMMs only" in table


def check_keras_compare(tmp, out):
    d = _json(tmp / "keras.json")
    assert set(d["nets"]) == {"784-1000-500-250-30", "784-128-64-32"}
    for r in d["nets"].values():  # the same networks: equal parameter counts (the script asserts it per round)
        assert r["keras_samples_per_s"] > 0 and r["aekit_samples_per_s"] > 0 and r["speedup_aekit"] > 0
    assert d["nets"]["784-1000-500-250-30"]["params"] == 2 * (784 * 1000 + 1000 * 500 + 500 * 250 + 250 * 30) \
        + 1000 + 500 + 250 + 30 + 250 + 500 + 1000 + 784
    assert "aekit speed-up" in (tmp / "keras.md").read_text()


def check_variational(tmp, out):
    d = _json(tmp / "variational.json")
    expected = {(method, k) for method in ("PCA", "autoencoder", "VAE") for k in (2, 20)}
    assert {(r["method"], r["k"]) for r in d["rows"]} == expected
    assert all(r["test_error"] > 0 for r in d["rows"])
    _png(tmp / "variational.png")


def check_variational_collapse(tmp, out):
    d = _json(tmp / "variational_collapse.json")
    rows = d["rows"]
    assert rows[0]["config"] == "test images" and rows[0]["sample_diversity"] > 0
    for r in rows[1:]:
        assert {"test_kl", "active_units", "reconstruction_error", "sample_diversity"} <= set(r)


def check_outside_step(tmp, out):
    d = _json(tmp / "outside_step.json")
    cases = {r["case"] for r in d["rows"]}
    assert {"scaled_transform", "evaluate", "denoise_colour", "unet_reconstruct"} <= cases
    assert all(r["after"]["seconds"] >= 0 for r in d["rows"])


def check_command_overheads(tmp, out):
    d = _json(tmp / "command_overheads.json")
    assert d["quick"] is True and d["dataset"] == "digits" and d["machine"]["loadavg_start"]
    assert {r["case"] for r in d["rows"]} == {"compare", "compare_standardize", "sweep", "evaluate_sparse", "errors",
                                              "features", "encode"}
    for r in d["rows"]:
        assert r["after"]["seconds"] > 0 and r["after"]["maxrss_mib"] > 0, r
    assert "| case | before s | after s |" in d["table"]


def check_contractive_scale(tmp, out):
    lines = [line for line in out.splitlines() if "features  weight" in line]
    assert len(lines) == 9 and "||dh/dx||^2" in lines[0]


def check_table_outlier_width(tmp, out):
    assert out.count("rank of the planted row") == 5


def check_vae_table_scale(tmp, out):
    assert "scaling='none': KL" in out and "scaling='standard': KL" in out


def check_vae_anomaly_score(tmp, out):
    d = _json(tmp / "vae_anomaly_score.json")
    assert [r["normal"] for r in d["rows"]] == [0, 1]
    assert 0 <= d["mean"]["auc_error"] <= 1 and 0 <= d["mean"]["auc_negative_elbo"] <= 1


def check_block_heldout(tmp, out):
    assert "KNNImputer RMSE" in out and "AutoencoderImputer RMSE" in out and "mean of both" in out


def check_photo_heldout(tmp, out):
    (record,) = _json(tmp / "photo_heldout.json")
    assert set(record["psnr"]) == {"chelsea", "grace_hopper", "china"} and record["train_seconds"] >= 0


def check_denoise_epochs_heldout(tmp, out):
    d = _last_json_line(out)
    assert d["quick"] is True and d["dae_0.1"] > 0 and d["dae_0.2"] > 0


def check_anomaly_threshold(tmp, out):
    d = _json(tmp / "anomaly_threshold.json")
    assert d["quick"] is True and d["n_fit"] == 500 and d["epochs"] == 2
    assert 0 <= d["flagged_test_tshirts_percent"] <= 100 and 0 <= d["flagged_other_test_images_percent"] <= 100
    _png(tmp / "anomaly.png")


def check_bf16_matmul(tmp, out):
    d = _json(tmp / "bf16_matmul.json")
    assert isinstance(d["fast_bfloat16"], bool) and d["quick"] is True
    assert d["float32_gflops"] > 0 and d["bfloat16_gflops"] > 0 and d["autocast_bfloat16_gflops"] > 0
    assert "as fast as float32 here" in out


def check_small_step(tmp, out):
    d = _json(tmp / "small_step.json")
    assert d["quick"] is True and d["net"] == "784-128-64-32-64-128-784"
    assert set(d["samples_per_s"]) == {"gemms_only", "hand_written", "aekit", "dataloader"}
    assert all(v > 0 for v in d["samples_per_s"].values()) and d["gradient_error_vs_autograd"] < 1e-4
    assert "x DataLoader" in out


def check_long_run(tmp, out):
    d = _json(tmp / "long_run.json")
    (run,) = [r for r in d["runs"] if r["dtype"] == "float32"]
    assert run["epochs_run"] == len(run["records"]) == 4 and run["losses_finite"] is True
    assert isinstance(run["memory_flat"], bool) and run["checkpoint_mib_min_max"][0] > 0
    assert [r["epoch"] for r in run["records"]] == [1, 2, 3, 4]
    assert "| dtype | epochs | RSS after epoch 2" in out


def check_stream_baseline(tmp, out):
    d = _json(tmp / "stream_baseline.json")
    assert d["quick"] is True and d["file_mb"] == 32 and d["in_memory_2048_rows"]["rows"] == 2048
    for run in (d["streamed"], d["in_memory_2048_rows"]):
        assert run["peak_mb"] >= run["after_imports_mb"] > 0
    assert "| 2,048 rows in memory | 2048 |" in out


def check_seed_spread(tmp, out):
    # tests/test_seed_spread.py checks the digits part closely; here every part of the quick run
    d = _json(tmp / "seed_spread.json")
    assert d["quick"] is True and set(d["parts"]) >= {"digits", "fmnist"}
    for part in d["parts"].values():
        assert part["runs"] and part["summary"]


CASES = {
    "anomaly": Case("anomaly.py", ["--quick", "--threads", "1", "--out", "{tmp}/anomaly.json"], check_anomaly,
                    in_suite=True),
    "anomaly_threshold": Case("anomaly_threshold.py", ["--quick", "--out", "{tmp}/anomaly_threshold.json",
                                                       "--figure", "{tmp}/anomaly.png"], check_anomaly_threshold,
                              needs=("fashion-mnist",)),
    "complete": Case("complete.py", ["--quick", "--threads", "1", "--out", "{tmp}/complete.json"], check_complete,
                     needs=("fashion-mnist",)),
    "contractive": Case("contractive.py", ["--quick", "--threads", "1", "--out", "{tmp}/contractive.json"],
                        check_contractive),
    "denoise": Case("denoise.py", ["--quick", "--threads", "1", "--out", "{tmp}/denoise.json"], check_denoise,
                    needs=("fashion-mnist",)),
    "features": Case("features.py", ["--quick", "--threads", "1", "--out", "{tmp}/features.json"], check_features,
                     needs=("fashion-mnist",)),
    "features_holdout": Case("features.py", ["--quick", "--eval", "holdout", "--threads", "1", "--out",
                                             "{tmp}/features.json"], check_features_holdout, in_suite=True,
                             needs=("fashion-mnist",)),
    "gpu_check": Case("gpu_check.py", ["--self-test-on-cpu", "--quick", "--out", "{tmp}/gpu_check.json"],
                      check_gpu),
    # the suite runs one recipe (the command line's signal handling, checkpoints); the CI script both
    "hinton2006": Case("hinton2006.py", ["--quick", "--threads", "1", "--out", "{tmp}/runs",
                                         "--json", "{tmp}/hinton2006.json"], check_hinton),
    "hinton2006_modern": Case("hinton2006.py", ["--quick", "--recipes", "modern", "--threads", "1", "--out",
                                                "{tmp}/runs", "--json", "{tmp}/hinton2006.json"], check_hinton,
                              in_suite=True),
    "sparse_filters": Case("sparse_filters.py", ["--quick", "--out", "{tmp}/sparse_filters.png",
                                                 "--json", "{tmp}/sparse_filters.json"], check_sparse_filters,
                           in_suite=True),
    "keras_compare": Case("keras_compare.py", ["--quick", "--out", "{tmp}/keras.json"], check_keras_compare,
                          needs=("fashion-mnist", "keras")),
    "throughput": Case("throughput.py", ["--quick", "--threads", "1", "--out", "{tmp}/throughput.json"],
                       check_throughput, needs=("fashion-mnist",)),
    "variational": Case("variational.py", ["--quick", "--threads", "1", "--out", "{tmp}/variational.json",
                                           "--figure", "{tmp}/variational.png"], check_variational, in_suite=True),
    "variational_collapse": Case("variational_collapse.py", ["--quick", "--threads", "1",
                                                             "--out", "{tmp}/variational_collapse.json"],
                                 check_variational_collapse),
    "seed_spread": Case("seed_spread.py", ["--quick", "--threads", "1", "--out", "{tmp}/seed_spread.json"],
                        check_seed_spread, needs=("fashion-mnist",)),
    "checks/outside_step": Case("checks/outside_step.py", ["--quick", "--out", "{tmp}/outside_step.json"],
                                check_outside_step),
    "checks/command_overheads": Case("checks/command_overheads.py", ["--quick", "--out",
                                                                     "{tmp}/command_overheads.json"],
                                     check_command_overheads),
    "checks/contractive_scale": Case("checks/contractive_scale.py", ["--quick"], check_contractive_scale,
                                     needs=("fashion-mnist",)),
    "checks/table_outlier_width": Case("checks/table_outlier_width.py", ["--quick"], check_table_outlier_width),
    "checks/vae_table_scale": Case("checks/vae_table_scale.py", ["--quick"], check_vae_table_scale, in_suite=True),
    "checks/vae_anomaly_score": Case("checks/vae_anomaly_score.py", ["--quick", "--out",
                                                                     "{tmp}/vae_anomaly_score.json"],
                                     check_vae_anomaly_score, needs=("fashion-mnist",)),
    "checks/block_heldout": Case("checks/block_heldout.py", ["--quick", "--knn"], check_block_heldout,
                                 needs=("fashion-mnist",)),
    "checks/photo_heldout": Case("checks/photo_heldout.py", ["--quick", "--out", "{tmp}/photo_heldout.json"],
                                 check_photo_heldout, in_suite=True),
    "checks/bf16_matmul": Case("checks/bf16_matmul.py", ["--quick", "--out", "{tmp}/bf16_matmul.json"],
                               check_bf16_matmul),
    "checks/small_step": Case("checks/small_step.py", ["--quick", "--threads", "1", "--out",
                                                       "{tmp}/small_step.json"], check_small_step,
                              needs=("fashion-mnist",)),
    "checks/stream_baseline": Case("checks/stream_baseline.py", ["--quick", "--out", "{tmp}/stream_baseline.json"],
                                   check_stream_baseline),
    "checks/long_run": Case("checks/long_run.py", ["--quick", "--dtype", "float32", "--out", "{tmp}/long_run.json"],
                            check_long_run, needs=("fashion-mnist",)),
    "checks/denoise_epochs_heldout": Case("checks/denoise_epochs_heldout.py", ["9", "--quick"],
                                          check_denoise_epochs_heldout, needs=("fashion-mnist",)),
}


def test_every_script_has_a_case():
    """A new benchmark or check script gets a case here (and a --quick mode)."""
    scripts = {str(p.relative_to(ROOT / "benchmarks"))[:-3] for p in (ROOT / "benchmarks").glob("**/*.py")}
    covered = {case.script[:-3] for case in CASES.values()}
    assert scripts == covered, f"without a case: {sorted(scripts - covered)}; gone: {sorted(covered - scripts)}"


RESULTS = ROOT / "benchmarks" / "results"


def _results_state() -> dict:
    return {str(p): p.stat().st_mtime_ns for p in RESULTS.rglob("*")}


@pytest.mark.parametrize("name", list(CASES))
def test_quick_mode_runs(name, tmp_path):
    case = CASES[name]
    if not (case.in_suite or ALL):
        pytest.skip("slow for the suite: .ci/benchmarks-quick runs it (AEKIT_BENCHMARKS=1)")
    if "fashion-mnist" in case.needs and not FASHION_DIR.is_dir():
        pytest.skip(f"Fashion-MNIST not installed at {FASHION_DIR} (apt-get install dataset-fashion-mnist)")
    if "keras" in case.needs and importlib.util.find_spec("keras") is None:
        pytest.skip("Keras is not installed (pip install keras; .ci/run installs it for .ci/benchmarks-quick)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    before = _results_state()
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / case.script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    case.check(tmp_path, proc.stdout)
    assert _results_state() == before, "a quick run wrote into benchmarks/results"


def test_quick_outputs_are_never_committed():
    """A quick run without --out writes benchmarks/results/NAME_quick.* (git-ignored): none is tracked, so no quick
    run can overwrite a committed result (checks/outside_step.py --quick once replaced outside_step_quick.json)."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run([git, "-C", str(ROOT), "ls-files", "benchmarks/results"], capture_output=True,
                             text=True, check=True).stdout.split()
    assert [f for f in tracked if "_quick." in f] == []
    ignored = subprocess.run([git, "-C", str(ROOT), "check-ignore", "-q", "benchmarks/results/any_quick.json"])
    assert ignored.returncode == 0, "benchmarks/results/*_quick.* is not in .gitignore"
