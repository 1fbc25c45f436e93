"""The README's measured numbers are the ones in ``benchmarks/results/*.json``.

The benchmark scripts write their results as JSON and the README quotes them by hand, so a rerun could leave the
README quoting the old run. Each case below names where a number sits in the README (a heading, then a table
cell picked by header text, row label and column, or a short phrase around it) and where it sits in a results file
(a key path, or a function of the files for a number the README derives), and checks that they agree at the
README's precision: 6.08 allows 6.075 to 6.085, 35 min allows 34.5 to 35.5 minutes.

There is one test per results file, so a rerun of one benchmark fails one test, which lists every README number
from that file that is out of step, with its line; update those numbers. When a README sentence is reworded, the
test says its phrase is gone: update the phrase in its case. Only files are read (no torch, nothing runs), so the
module takes well under a second.
"""

from __future__ import annotations

import bisect
import json
import re
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Union

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
NUMBER = r"([+\-−]?\d[\d,]*(?:\.\d+)?)"  # 6.08, −0.62, 2,393; group 1
N = r"([\d.]+)"  # a plain number in a phrase


@dataclass(frozen=True)
class Cell:
    """A table cell: the table whose header row contains ``table``, the row whose leading cells are ``row`` (an
    entry ending in "..." is a prefix), the column named ``column`` (or a position, -1 the last cell)."""

    table: str
    row: tuple[str, ...]
    column: Union[str, int]
    pattern: str = NUMBER  # group 1 is the number, first match in the cell


@dataclass(frozen=True)
class Text:
    """A number in running text: ``pattern`` (markup and line breaks removed, one space between words)."""

    pattern: str
    group: int = 1


Key = Union[tuple, Callable[[Callable[[str], object]], float]]


@dataclass(frozen=True)
class Case:
    id: str
    section: str  # the README heading the number sits under, as written ("## Anomaly detection")
    where: Union[Cell, Text]
    json: str  # file in benchmarks/results
    key: Key  # path into that file ({field: value} picks the one list entry that has it; "abc..." a dict key
    # starting with "abc"), or a function of load(name) -> parsed file, for derived numbers
    scale: float = 1.0  # README number = JSON value * scale (100 for percentages, 1/60 for minutes)


@dataclass(frozen=True)
class At:
    """A key of a phrase's group with its own scale, or in another file than the phrase's other groups."""

    key: Key
    scale: float = 1.0
    json: Union[str, None] = None


# ---------------------------------------------------------------- reading the README and the results


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "").replace("`", "")).strip()


@lru_cache(maxsize=None)
def _sections() -> dict[str, list[tuple[int, str]]]:
    """heading -> its (line number, line) pairs outside fenced code, up to the next heading of its level or above."""
    lines = README.read_text(encoding="utf-8").splitlines()
    headings, fenced, inside = [], set(), False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            inside = not inside
            fenced.add(number)
        elif inside:
            fenced.add(number)
        elif re.match(r"#+ ", line):
            headings.append((number, len(line) - len(line.lstrip("#")), line.strip()))
    sections = {}
    for i, (start, level, title) in enumerate(headings):
        end = next((n for n, lv, _ in headings[i + 1:] if lv <= level), len(lines) + 1)
        sections[title] = [(n, lines[n - 1]) for n in range(start + 1, end) if n not in fenced]
    return sections


def _section(title: str) -> list[tuple[int, str]]:
    sections = _sections()
    assert title in sections, f"README.md has no heading {title!r}"
    return sections[title]


def _cells(line: str) -> list[str]:
    return [_clean(c) for c in line.strip().strip("|").split("|")]


def _matches(cells: list[str], row: tuple[str, ...]) -> bool:
    return len(cells) >= len(row) and all(
        cell.startswith(want[:-3]) if want.endswith("...") else cell == want for cell, want in zip(cells, row))


def _find_cell(section: str, cell: Cell) -> tuple[int, str]:
    tables, current = [], []
    for number, line in _section(section) + [(0, "")]:
        if line.startswith("|"):
            current.append((number, line))
        elif current:
            tables.append(current)
            current = []
    chosen = [t for t in tables if cell.table in _clean(t[0][1])]
    assert len(chosen) == 1, f"README {section!r}: {len(chosen)} tables with {cell.table!r} in the header"
    header, *body = chosen[0]
    rows = [(n, _cells(line)) for n, line in body if not re.fullmatch(r"[\s|:\-]+", line)]
    hits = [(n, cells) for n, cells in rows if _matches(cells, cell.row)]
    assert len(hits) == 1, f"README {section!r}, table {cell.table!r}: {len(hits)} rows {cell.row}"
    number, cells = hits[0]
    if isinstance(cell.column, int):
        return number, cells[cell.column]
    names = _cells(header[1])
    assert cell.column in names, f"README {section!r}, table {cell.table!r}: no column {cell.column!r} in {names}"
    return number, cells[names.index(cell.column)]


def _readme_number(case: Case) -> tuple[str, int]:
    """The number as the README writes it, and its line."""
    if isinstance(case.where, Cell):
        line, text = _find_cell(case.section, case.where)
        found = re.search(case.where.pattern, text)
        assert found, f"README line {line}: no number matching {case.where.pattern!r} in cell {text!r}"
        return found.group(1), line
    parts, starts, at = [], [], 0
    for number, line in _section(case.section):
        starts.append((at, number))
        parts.append(_clean(line))
        at += len(parts[-1]) + 1
    text = " ".join(parts)
    found = list(re.finditer(case.where.pattern, text))
    assert len(found) == 1, f"README {case.section!r}: {len(found)} matches of {case.where.pattern!r}"
    offset = found[0].start(case.where.group)
    line = starts[bisect.bisect_right([s for s, _ in starts], offset) - 1][1]
    return found[0].group(case.where.group), line


@lru_cache(maxsize=None)
def _load(name: str):
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def _resolve(data, path: tuple):
    for step in path:
        if isinstance(step, dict):
            hits = [x for x in data if all(x.get(k) == v for k, v in step.items())]
            assert len(hits) == 1, f"{len(hits)} entries with {step}"
            data = hits[0]
        elif isinstance(step, str) and step.endswith("..."):
            hits = [k for k in data if k.startswith(step[:-3])]
            assert len(hits) == 1, f"{len(hits)} keys starting with {step[:-3]!r}: {hits}"
            data = data[hits[0]]
        else:
            data = data[step]
    return data


def _json_value(case: Case) -> float:
    if callable(case.key):
        return float(case.key(_load))
    return float(_resolve(_load(case.json), case.key))


def _tolerance(written: str, value: float) -> float:
    """Half a unit in the last written digit, plus float slack (8.7 for 8.65 is right)."""
    if "e" in written.lower():
        return 1e-9 * abs(value)
    decimals = len(written.split(".")[1]) if "." in written else 0
    return 0.5 * 10.0 ** -decimals + 1e-9 * max(1.0, abs(value))


# ---------------------------------------------------------------- the cases

CASES: list[Case] = []


def _readable(pattern: str) -> str:
    """A test id from a pattern: number groups as #, no regex escapes."""
    pattern = re.sub(r"\((?:\[\\d[.,]\]\+|\\d\+|1e-3)\)", "#", pattern.replace(NUMBER, "#"))
    return re.sub(r"\\(.)", r"\1", pattern).strip("^$")


def _text(section, pattern, json_name, *keys):
    """One case per group of ``pattern``: keys[i] (a path, a function or an ``At``) for group i + 1."""
    name = _readable(pattern)
    name = name if len(name) <= 60 else name[:57] + "..."
    for group, key in enumerate(keys, 1):
        at = key if isinstance(key, At) else At(key)
        CASES.append(Case(f"{section.lstrip('# ')}: {name} [{group}]", section, Text(pattern, group),
                          at.json or json_name, at.key, at.scale))


def _cell(section, table, row, column, json_name, key, scale=1.0, pattern=NUMBER):
    label = "/".join(r.rstrip(".") for r in row)
    how = "" if pattern == NUMBER else f" ({_readable(pattern)})"
    CASES.append(Case(f"{section.lstrip('# ')}: {table} / {label} | {column}{how}", section,
                      Cell(table, row, column, pattern), json_name, key, scale))


def _runs_at(load, epochs: int) -> list[float]:
    """Fashion-MNIST test errors of the seed-spread runs that trained exactly ``epochs`` epochs, one per seed."""
    errors = {}
    for name in ("seed_spread.json", "seed_spread_first_run.json"):
        for run in load(name)["parts"]["fmnist"]["runs"]:
            if run["epochs"] == epochs:
                errors.setdefault(run["seed"], run["autoencoder_test_error"])
    return list(errors.values())


# Set up: the digits seed spread
SPREAD = ("parts", "digits", "summary", "autoencoder_test_error")
_text("## Set up", rf"the autoencoder scores {N} ± {N} \({N}–{N}; seed 0", "seed_spread.json",
      SPREAD + ("mean",), SPREAD + ("std",), SPREAD + ("min",), SPREAD + ("max",))
_text("## Set up", rf"and PCA {N} every time", "seed_spread.json",
      ("parts", "digits", "summary", "pca_test_error", "mean"))
_text("## Set up", r"benchmarks/seed_spread.py --threads 1, (\d+) min", "seed_spread.json",
      At(("wall_seconds",), 1 / 60))

# Autoencoder vs PCA on Fashion-MNIST
S = "## Autoencoder vs PCA on Fashion-MNIST"
_text(S, r"early stopping after (\d+) epochs", "compare_fashion_mnist.json", ("rows", "autoencoder", "epochs"))
for row, method in (("PCA",), "PCA"), (("autoencoder 784-1000-500-250-30",), "autoencoder"):
    _cell(S, "method (30-D code)", row, "test error per image", "compare_fashion_mnist.json",
          ("rows", method, "test_error"))
    _cell(S, "method (30-D code)", row, "train error per image", "compare_fashion_mnist.json",
          ("rows", method, "train_error"))
_cell(S, "method (30-D code)", ("PCA",), "fit time", "compare_fashion_mnist.json", ("rows", "PCA", "fit_seconds"))
_cell(S, "method (30-D code)", ("autoencoder...",), "fit time", "compare_fashion_mnist.json",
      ("rows", "autoencoder", "fit_seconds"), 1 / 60, pattern=r"(\d+) min")
FM = ("parts", "fmnist", "summary", "autoencoder_test_error")
_text(S, rf"seeds 0-4 give {N} ± {N} \({N}–{N}; seed 0 {N}\) against PCA's {N}", "seed_spread.json",
      FM + ("mean",), FM + ("std",), FM + ("min",), FM + ("max",),
      ("parts", "fmnist", "runs", {"seed": 0}, "autoencoder_test_error"),
      ("parts", "fmnist", "summary", "pca_test_error", "mean"))


def _margin_in_spreads(load) -> float:
    """How many of the autoencoder's seed spreads PCA's Fashion-MNIST error lies above its mean."""
    part = load("seed_spread.json")["parts"]["fmnist"]["summary"]
    ae = part["autoencoder_test_error"]
    return (part["pca_test_error"]["mean"] - ae["mean"]) / ae["std"]


_text(S, r"by about (\d+) times the spread", "seed_spread.json", _margin_in_spreads)
_text(S, rf"at exactly 6 epochs the five seeds give {N} ± {N}", "seed_spread_first_run.json",
      lambda load: statistics.mean(_runs_at(load, 6)), lambda load: statistics.stdev(_runs_at(load, 6)))
for row, method in (("PCA",), "PCA"), (("autoencoder 784-1000-500-250-2",), "autoencoder"):
    _cell(S, "method (2-D code)", row, "test error per image", "compare_fashion_mnist_2d.json",
          ("rows", method, "test_error"))
    _cell(S, "method (2-D code)", row, "5-NN accuracy of the codes", "compare_fashion_mnist_2d.json",
          ("rows", method, "knn_accuracy"))
    _cell(S, "method (2-D code)", row, "fit time", "compare_fashion_mnist_2d.json", ("rows", method, "fit_seconds"))
_cell(S, "method (2-D code)", ("autoencoder...",), "fit time", "compare_fashion_mnist_2d.json",
      ("rows", "autoencoder", "epochs"), pattern=r"\((\d+) epochs")

# Sparse autoencoders: filters on photo patches, features for a classifier, seed spread
S = "## Sparse autoencoders"
_text(S, rf"{N}% of units active per sample, no dead units", "sparse_filters.json",
      At(("results", "L1", "active_fraction"), 100.0))
_text(S, rf"strongest 10% of pixels {N}, against {N} for the same network without the penalty and {N} for random",
      "sparse_filters.json", ("results", "L1", "concentration_median"),
      ("results", "no penalty", "concentration_median"), ("results", "random filters", "concentration_median"))
_text(S, r"python benchmarks/features.py \((\d+) s wall", "features.json", ("wall_seconds",))
FEATURES = [("raw pixels", 784, "raw pixels"), ("PCA", 256, "PCA"), ("autoencoder (linear code)", 256, None),
            ("ReLU code, no sparsity", 256, None), ("sparse L1", 256, None), ("sparse KL", 256, None),
            ("sparse top-k", 256, None), ("PCA (all 784 components)", 784, "PCA"),
            ("autoencoder (linear code)", 1024, None), ("ReLU code, no sparsity", 1024, None),
            ("sparse L1", 1024, None), ("sparse KL", 1024, None), ("sparse top-k", 1024, None)]
for label, size, method in FEATURES:
    entry = ("fashion_mnist", {"method": method or label, "size": size})
    row = (label, str(size))
    _cell(S, "active units / sample", row, "test accuracy", "features.json", entry + ("test_accuracy",), 100.0)
    _cell(S, "active units / sample", row, "active units / sample", "features.json",
          entry + ("active_fraction_test",), 100.0)
    if label != "raw pixels":
        _cell(S, "active units / sample", row, "fit time (s)", "features.json", entry + ("fit_seconds",))
KL = ("parts", "features", "summary")
_text(S, rf"KL-1024 scores {N} ± {N}% \({N}–{N}\), \+{N} ± {N} points over raw pixels \(\+{N} at worst\), "
         rf"and KL-256 {N} ± {N}% \({N}–{N}\)", "seed_spread.json",
      *[At(KL + ("sparse_kl_1024_accuracy", stat), 100.0) for stat in ("mean", "std", "min", "max")],
      *[KL + ("sparse_kl_1024_gain_over_raw_points", stat) for stat in ("mean", "std", "min")],
      *[At(KL + ("sparse_kl_256_accuracy", stat), 100.0) for stat in ("mean", "std", "min", "max")])
_text(S, rf"beat raw pixels by {N} accuracy points", "features.json", ("summary", "1024", "gain_over_raw_points"))
_text(S, rf"all 784 components score {N}%", "features.json",
      At(("fashion_mnist", {"method": "PCA", "size": 784}, "test_accuracy"), 100.0))
_text(S, rf"beat PCA-256 by {N} points but raw pixels by only {N} points", "features.json",
      ("summary", "256", "gain_over_pca_points"), ("summary", "256", "gain_over_raw_points"))


def _gain_over_raw(method: str, size: int) -> Callable:
    def gain(load):
        rows = load("features.json")["fashion_mnist"]
        return 100 * (_resolve(rows, ({"method": method, "size": size}, "test_accuracy"))
                      - _resolve(rows, ({"method": "raw pixels"}, "test_accuracy")))
    return gain


_text(S, rf"\(L1 \+{N}, top-k \+{N}\)", "features.json", _gain_over_raw("sparse L1", 1024),
      _gain_over_raw("sparse top-k", 1024))
_text(S, rf"raw pixels give {N}%, the L1 codes with 256 units {N}% and the top-k ones {N}%", "features.json",
      At(("digits", {"method": "raw pixels"}, "test_accuracy"), 100.0),
      At(("digits", {"method": "sparse L1", "size": 256}, "test_accuracy"), 100.0),
      At(("digits", {"method": "sparse top-k", "size": 256}, "test_accuracy"), 100.0))

# Contractive autoencoders
S = "## Contractive autoencoders"
_text(S, r"python benchmarks/contractive.py \((\d+) s", "contractive_test.json", ("total_seconds",))
CONTRACTIVE = [("PCA-64", "PCA"), ("autoencoder", "autoencoder (lambda=0)"),
               ("contractive, λ = 1e-4", "contractive lambda=0.0001"),
               ("contractive, λ = 1e-3 (default)", "contractive lambda=0.001"),
               ("contractive, λ = 1e-2", "contractive lambda=0.01"),
               ("contractive, λ = 1e-1", "contractive lambda=0.1"),
               ("denoising (Gaussian 0.1)", "denoising (gaussian 0.1)")]
J = "mean ‖dh/dx‖²_F"
for label, method in CONTRACTIVE:
    entry = ("rows", {"method": method})
    _cell(S, J, (label,), "reconstruction error", "contractive_test.json", entry + ("test_error",))
    _cell(S, J, (label,), J, "contractive_test.json", entry + ("jacobian_norm",))
    _cell(S, J, (label,), "linear-probe accuracy", "contractive_test.json", entry + ("probe_accuracy",), 100.0)
_text(S, rf"\({N} % at 1e-2; {N} % at 1e-1, below PCA's {N} %\)", "contractive_test.json",
      At(("rows", {"method": "contractive lambda=0.01"}, "probe_accuracy"), 100.0),
      At(("rows", {"method": "contractive lambda=0.1"}, "probe_accuracy"), 100.0),
      At(("rows", {"method": "PCA"}, "probe_accuracy"), 100.0))


def _best_contractive_weight(load) -> float:
    """The contraction weight whose codes probed best on held-out training images."""
    rows = [r for r in load("contractive_holdout.json")["rows"] if r["method"].startswith("contractive")]
    return max(rows, key=lambda r: r["probe_accuracy"])["weight"]


_text(S, r"The default weight \((1e-3)\) was the best contractive one", "contractive_holdout.json",
      _best_contractive_weight)

# Variational autoencoders
S = "## Variational autoencoders"
_text(S, r"python benchmarks/variational.py --threads 1 \((\d+) s", "variational.json", ("total_seconds",))
ELBO = "test −ELBO (nats)"
for method in ("PCA", "autoencoder", "VAE"):
    for k in (2, 20):
        entry = ("rows", {"method": method, "k": k})
        row = (method, str(k))
        _cell(S, ELBO, row, "reconstruction error", "variational.json", entry + ("test_error",))
        _cell(S, ELBO, row, "linear-probe accuracy", "variational.json", entry + ("probe_accuracy",), 100.0)
        if method == "VAE":
            _cell(S, ELBO, row, ELBO, "variational.json", entry + ("test_negative_elbo",))
            _cell(S, ELBO, row, "KL (nats)", "variational.json", entry + ("test_kl",))
VAE20, AE20, PCA20 = (("rows", {"method": m, "k": 20}) for m in ("VAE", "autoencoder", "PCA"))
_text(S, rf"\(error {N} against {N}: the KL term lets the code carry only {N} nats", "variational.json",
      VAE20 + ("test_error",), AE20 + ("test_error",), VAE20 + ("test_kl",))
_text(S, rf"less linearly separable \({N} % against {N} %, below PCA's {N} %\)", "variational.json",
      At(VAE20 + ("probe_accuracy",), 100.0), At(AE20 + ("probe_accuracy",), 100.0),
      At(PCA20 + ("probe_accuracy",), 100.0))
_text(S, r"python benchmarks/variational_collapse.py \((\d+) s", "variational_collapse.json", ("total_seconds",))
_text(S, rf"\({N} between two test images\)", "variational_collapse.json",
      ("rows", {"config": "test images"}, "sample_diversity"))
for label, config in (('loss="mse" (default)', "mse (default)"), ('loss="bce"', "bce"),
                      ('loss="mse", scaling="standard"', "mse, scaling='standard'")):
    entry = ("rows", {"config": config})
    _cell(S, "sample spread", (label,), "test KL (nats)", "variational_collapse.json", entry + ("test_kl",))
    _cell(S, "sample spread", (label,), "active units", "variational_collapse.json", entry + ("active_units",))
    _cell(S, "sample spread", (label,), "reconstruction error", "variational_collapse.json",
          entry + ("reconstruction_error",))
    _cell(S, "sample spread", (label,), "sample spread", "variational_collapse.json", entry + ("sample_diversity",))

# Anomaly detection
S = "## Anomaly detection"
_text(S, r"python benchmarks/anomaly.py --threads 1 \((\d+) s", "anomaly.json", ("total_seconds",))
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
for column, field in (("PCA-32", "pca"), ("autoencoder", "autoencoder"), ("IsolationForest", "isolation_forest")):
    for number, label in enumerate(CLASSES):
        _cell(S, "IsolationForest", (label,), column, "anomaly.json", ("rows", {"normal_class": number},
                                                                      f"{field}_auc"))
    _cell(S, "IsolationForest", ("mean",), column, "anomaly.json", ("mean_auc", field))
_text(S, rf"mean AUC {N}, against the autoencoder's {N}\)", "vae_anomaly_score.json", ("mean", "auc_error"),
      At(("mean_auc", "autoencoder"), json="anomaly.json"))
_text(S, rf"\(-elbo_samples: {N}, and below", "vae_anomaly_score.json", ("mean", "auc_negative_elbo"))
_text(S, r"vae_anomaly_score.py, (\d+) s", "vae_anomaly_score.json", ("seconds",))

# Speed: the throughput table and the prose under it, outside the training step, commands end to end
S = "### Measured"
THROUGHPUT = [  # (row, cell position, key, scale, pattern)
    (("matmul fp32", "1024^3..."), -1, ("matmul", "gflops_1024_median"), 1.0, NUMBER),
    (("matmul fp32", "the net's GEMMs..."), -1, ("matmul", "net_gemms_median"), 1.0, NUMBER),
    (("aekit fp32",), -3, ("train_big_fp32", "samples_per_s"), 1.0, NUMBER),
    (("aekit fp32",), -2, ("train_big_fp32", "gflops"), 1.0, NUMBER),
    (("aekit fp32",), -1, ("train_big_fp32", "fraction_of_matmul"), 100.0, NUMBER),
    (("aekit bf16",), -2, ("train_big_bf16", "samples_per_s"), 1.0, NUMBER),
    (("aekit bf16",), -1, ("train_big_bf16", "gflops"), 1.0, NUMBER),
    (("aekit", "inference..."), -2, ("inference_big", "samples_per_s"), 1.0, NUMBER),
    (("aekit", "inference..."), -1, ("inference_big", "gflops"), 1.0, NUMBER),
    (("sklearn MLPRegressor",), -2, ("sklearn_big", "samples_per_s"), 1.0, NUMBER),
    (("sklearn MLPRegressor",), -1, ("sklearn_big", "speedup_aekit"), 1.0, r"^x([\d.]+)"),
    (("sklearn MLPRegressor",), -1, ("sklearn_big", "speedup_aekit_bf16"), 1.0, r"\(x([\d.]+)\)"),
    (("DataLoader loop",), -3, ("small_net", "dataloader", "samples_per_s"), 1.0, NUMBER),
    (("DataLoader loop",), -2, ("small_net", "aekit", "samples_per_s"), 1.0, NUMBER),
    (("DataLoader loop",), -1, ("small_net", "speedup_aekit"), 1.0, r"^x([\d.]+)"),
    (("DataLoader loop",), -1, ("small_net", "speedup_aekit_bf16"), 1.0, r"\(x([\d.]+)\)"),
    (("aekit small net",), -2, ("small_net", "gflops_aekit"), 1.0, NUMBER),
    (("time to quality", "aekit defaults:..."), 1, ("ttq", "pca30_test_error"), 1.0, r"test error ([\d.]+)"),
    (("time to quality", "aekit defaults:..."), -1, ("ttq", "new_defaults", "seconds"), 1.0, NUMBER),
    (("time to quality", "aekit defaults:..."), -1, ("ttq", "new_defaults", "epochs", -1), 1.0, r"epoch (\d+)"),
    (("time to quality", "aekit defaults, bf16..."), -1, ("ttq", "new_defaults_bf16", "seconds"), 1.0, NUMBER),
    (("time to quality", "aekit defaults, bf16..."), -1, ("ttq", "new_defaults_bf16", "epochs", -1), 1.0,
     r"epoch (\d+)"),
    (("time to quality", "old defaults..."), -1, ("ttq", "old_defaults", "epochs", -1), 1.0, r"in (\d+) epochs"),
    (("time to quality", "old defaults..."), -1, ("ttq", "old_defaults", "train_seconds", -1), 1.0, r"\((\d+) s\)"),
    (("streaming memmap",), 1, ("streaming", "file_mb"), 1.0, r"(\d+) MB file"),
    (("streaming memmap",), 1, ("streaming", "budget_mb"), 1.0, r"budget (\d+) MB"),
    (("streaming memmap",), -1, ("streaming", "peak_rss_mb"), 1.0, NUMBER),
    (("streaming memmap",), -1, ("streaming", "rss_after_imports_mb"), 1.0, r"\((\d+) MB\)"),
    (("DDP gloo",), -3, ("ddp", "2proc_1thread_each"), 1.0, NUMBER),
    (("DDP gloo",), -2, ("ddp", "1proc_1thread"), 1.0, r": (\d+)"),
    (("DDP gloo",), -1, ("ddp", "1proc_2thread"), 1.0, r": (\d+)"),
    (("torch.compile",), -2, ("compile_small", "speedup_steady"), 1.0, r"x([\d.]+)"),
    (("torch.compile",), -1, ("compile_small", "compiled", "first_epoch_s"), 1.0, NUMBER),
    (("machine",), -2, ("machine", "threads"), 1.0, NUMBER),
    (("machine",), -1, ("machine", "loadavg_before", 0), 1.0, r"([\d.]+) ->"),
    (("machine",), -1, ("machine", "loadavg_after", 0), 1.0, r"-> ([\d.]+)"),
]
for row, position, key, scale, pattern in THROUGHPUT:
    CASES.append(Case(f"Measured: {'/'.join(r.rstrip('.') for r in row)} [{position}] {'.'.join(map(str, key))}",
                      S, Cell("measure", row, position, pattern), "throughput.json", key, scale))


def _small_net_fraction(load) -> float:
    """The small net's training rate in percent of the net's own GEMMs' rate."""
    data = load("throughput.json")
    return 100 * data["small_net"]["gflops_aekit"] / data["matmul"]["net_gemms_median"]


def _sklearn_gflops(load) -> float:
    """MLPRegressor's rate on the big net: aekit's float32 rate over aekit's speed-up."""
    data = load("throughput.json")
    return data["train_big_fp32"]["gflops"] / data["sklearn_big"]["speedup_aekit"]


def _ddp_speedup(load) -> float:
    ddp = load("throughput.json")["ddp"]
    return ddp["2proc_1thread_each"] / ddp["1proc_1thread"]


_cell(S, "measure", ("aekit small net",), -1, "throughput.json", _small_net_fraction)
_text(S, r"of the matmul rate: met \((\d+) %\)", "throughput.json",
      At(("train_big_fp32", "fraction_of_matmul"), 100.0))
_text(S, rf"MLPRegressor: not met in float32 \(x{N}\), met with bf16 \(x{N}\)", "throughput.json",
      ("sklearn_big", "speedup_aekit"), ("sklearn_big", "speedup_aekit_bf16"))
_text(S, rf"on the small net: not met in float32 \(x{N}\), met with bf16 \(x{N}\)", "throughput.json",
      ("small_net", "speedup_aekit"), ("small_net", "speedup_aekit_bf16"))
_text(S, rf"time to quality <= 40 s: met \({N} s\)", "throughput.json", ("ttq", "new_defaults", "seconds"))
_text(S, r"reaches about (\d+) GFLOP/s on the same net", "throughput.json", _sklearn_gflops)
_text(S, r"the measured matmul peak \((\d+) on the net's GEMMs\)", "throughput.json", ("matmul", "net_gemms_median"))
_text(S, r"on the small net aekit already runs at (\d+) % of peak", "throughput.json", _small_net_fraction)
_text(S, rf"Time to quality\. {N} s \(epoch (\d+)\) here", "throughput.json", ("ttq", "new_defaults", "seconds"),
      ("ttq", "new_defaults", "epochs", -1))
_text(S, rf"{N} s with bf16\.", "throughput.json", ("ttq", "new_defaults_bf16", "seconds"))
_text(S, rf"\({N} after (\d+)\)", "throughput.json", ("ttq", "old_defaults", "test_error", -1),
      ("ttq", "old_defaults", "epochs", -1))
_text(S, r"kept the peak RSS at (\d+) MB \(budget (\d+) MB\), (\d+) MB of which", "throughput.json",
      ("streaming", "peak_rss_mb"), ("streaming", "budget_mb"), ("streaming", "rss_after_imports_mb"))
_text(S, r"2 processes x 1 thread gave (\d+) samples/s against (\d+) for one process with one thread "
         r"\(x([\d.]+)\) and (\d+)", "throughput.json",
      ("ddp", "2proc_1thread_each"), ("ddp", "1proc_1thread"), _ddp_speedup, ("ddp", "1proc_2thread"))
_text(S, r"CPU \(x([\d.]+) here", "throughput.json", ("compile_small", "speedup_steady"))
A2 = "throughput_avx2.json"


def _streaming_itself(name: str) -> Callable:
    return lambda load: load(name)["streaming"]["peak_rss_mb"] - load(name)["streaming"]["rss_after_imports_mb"]


_text(S, rf"load average {N} -> {N}, 2 threads, \d+ minutes\): matmul {N} GFLOP/s on the net's GEMMs, aekit fp32 "
         rf"training {N} GFLOP/s \((\d+) %, met\), x{N} against MLPRegressor \(not met: OpenBLAS reached (\d+) "
         rf"GFLOP/s; .* its three rounds here ran at (\d+) to (\d+) samples/s\), x{N} against the DataLoader loop on "
         rf"the small net \(not met: aekit ran that net at (\d+) % of the matmul rate", A2,
      ("machine", "loadavg_before", 0), ("machine", "loadavg_after", 0), ("matmul", "net_gemms_median"),
      ("train_big_fp32", "gflops"), At(("train_big_fp32", "fraction_of_matmul"), 100.0),
      ("sklearn_big", "speedup_aekit"),
      lambda load: load(A2)["sklearn_big"]["samples_per_s"] * load(A2)["step_flops_per_sample_big"] / 1e9,
      lambda load: min(r["samples_per_s"] for r in load(A2)["sklearn_big"]["rounds"]),
      lambda load: max(r["samples_per_s"] for r in load(A2)["sklearn_big"]["rounds"]),
      ("small_net", "speedup_aekit"),
      lambda load: 100 * load(A2)["small_net"]["gflops_aekit"] / load(A2)["matmul"]["net_gemms_median"])
_text(S, rf"The same run timed the small net's step products alone: (\d+) samples/s \({N} GFLOP/s\), x{N} the "
         rf"DataLoader loop, with aekit at (\d+) % of that rate", A2,
      ("small_net", "gemms_only", "samples_per_s"), ("small_net", "gemms_only", "gflops"),
      ("small_net", "gemms_only", "speedup_over_dataloader"), At(("small_net", "gemms_only", "aekit_fraction"), 100.0))


def _batch_ms(kind: str) -> Callable:
    return lambda load: 256e3 / load("small_step.json")["samples_per_s"][kind]


_text(S, rf"load average {N} -> {N}\) also times a step written by hand", "small_step.json",
      ("machine", "loadavg_before", 0), ("machine", "loadavg_after", 0))
_text(S, rf"A batch of 256 took {N} ms for the products alone, {N} ms for the hand-written step, {N} ms for "
         rf"aekit's and {N} ms for the DataLoader loop: x{N}, x{N} and x{N} the DataLoader loop's rate\. 2x needs "
         rf"{N} ms", "small_step.json",
      *(_batch_ms(k) for k in ("gemms_only", "hand_written", "aekit", "dataloader")),
      *(("speedup_over_dataloader", k) for k in ("gemms_only", "hand_written", "aekit")),
      lambda load: _batch_ms("dataloader")(load) / 2)
_text(S, rf"time to quality {N} s \(met\), and bfloat16 emulated at {N} GFLOP/s \(x{N} of MLPRegressor", A2,
      ("ttq", "new_defaults", "seconds"), ("train_big_bf16", "gflops"), ("sklearn_big", "speedup_aekit_bf16"))
_text(S, r"The streamed 2 GB file peaked at (\d+) MB of RSS, (?:over|within) the (\d+) MB budget[^:]*: (\d+) MB of it "
         r"is Python, "
         r"PyTorch and scikit-learn after import on this machine \((\d+) MB on the other\), the training run "
         r"(\d+) MB \((\d+) MB there\)", A2,
      ("streaming", "peak_rss_mb"), ("streaming", "budget_mb"), ("streaming", "rss_after_imports_mb"),
      At(("streaming", "rss_after_imports_mb"), json="throughput.json"), _streaming_itself(A2),
      At(_streaming_itself("throughput.json"), json="throughput.json"))
_text(S, r"the same fit grew by (\d+) MB streaming a 2 GB file and by (\d+) MB on 2,048 rows held in memory",
      "stream_baseline.json", ("streamed", "growth_mb"), ("in_memory_2048_rows", "growth_mb"))
KERAS = [("nets", net, key) for net in ("784-1000-500-250-30", "784-128-64-32")
         for key in ("keras_samples_per_s", "aekit_samples_per_s", "speedup_aekit")]
_text(S, r"Keras trained the 784-1000-500-250-30 net at (\d+) samples/s and aekit at (\d+) \(x([\d.]+)\), the small "
         r"784-128-64-32 net at (\d+) and (\d+) \(x([\d.]+)\)", "keras_compare.json", *KERAS)
OUT = "outside_step.json"
_text(S, rf"in {N} s and (\d+) MiB of numpy allocations at the peak \(before: {N} s, ([\d,]+) MiB\)", OUT,
      ("rows", {"case": "scaled_transform"}, "after", "seconds"),
      ("rows", {"case": "scaled_transform"}, "after", "traced_peak_mib"),
      ("rows", {"case": "scaled_transform"}, "before", "seconds"),
      ("rows", {"case": "scaled_transform"}, "before", "traced_peak_mib"))
_text(S, r"evaluate (\d+) MiB \(([\d,]+) MiB\)", OUT, ("rows", {"case": "evaluate"}, "after", "traced_peak_mib"),
      ("rows", {"case": "evaluate"}, "before", "traced_peak_mib"))
_text(S, rf"colour photo {N} s and (\d+) MiB \({N} s, ([\d,]+) MiB\)", OUT,
      ("rows", {"case": "denoise_colour"}, "after", "seconds"),
      ("rows", {"case": "denoise_colour"}, "after", "traced_peak_mib"),
      ("rows", {"case": "denoise_colour"}, "before", "seconds"),
      ("rows", {"case": "denoise_colour"}, "before", "traced_peak_mib"))
_text(S, r"at (\d+) MiB peak RSS \(([\d,]+) MiB\)", OUT, ("rows", {"case": "unet_reconstruct"}, "after", "maxrss_mib"),
      ("rows", {"case": "unet_reconstruct"}, "before", "maxrss_mib"))
CMD = "command_overheads.json"
_text(S, rf"peak RSS (\d+) -> (\d+) MiB, {N} -> {N} s\)", CMD, ("rows", {"case": "compare"}, "before", "maxrss_mib"),
      ("rows", {"case": "compare"}, "after", "maxrss_mib"), ("rows", {"case": "compare"}, "before", "seconds"),
      ("rows", {"case": "compare"}, "after", "seconds"))
_text(S, r"training set \((\d+) -> (\d+) MiB\)", CMD,
      ("rows", {"case": "compare_standardize"}, "before", "maxrss_mib"),
      ("rows", {"case": "compare_standardize"}, "after", "maxrss_mib"))

# Reproducing Hinton & Salakhutdinov (2006)
S = "## Reproducing Hinton & Salakhutdinov (2006)"
HINTON = [(("faces", "GELU, fresh..."), "hinton2006.json", ("rows", {"dataset": "faces"})),
          (("Fashion-MNIST", "GELU, mirrored..."), "hinton2006.json", ("rows", {"dataset": "fashion-mnist"})),
          (("Fashion-MNIST", "GELU, --no-flip"), "hinton2006.json", ("superseded_rows", 0)),
          (("faces", "logistic..."), "hinton2006_first_run.json", ("rows", {"dataset": "faces", "recipe": "paper"})),
          (("Fashion-MNIST", "logistic..."), "hinton2006_first_run.json",
           ("rows", {"dataset": "fashion-mnist", "recipe": "paper"}))]
for row, name, entry in HINTON:
    _cell(S, "peak RSS", row, "training", name, entry + ("budget_minutes",), pattern=r"(\d+) min")
    if row[1].startswith("GELU"):
        _cell(S, "peak RSS", row, "training", name, entry + ("epochs",), pattern=r"(\d+) epochs")
    _cell(S, "peak RSS", row, "autoencoder", name, entry + ("autoencoder_test_error",))
    _cell(S, "peak RSS", row, "PCA-30", name, entry + ("pca_test_error",))
    _cell(S, "peak RSS", row, "AE / PCA", name, entry + ("ratio",))
    _cell(S, "peak RSS", row, "peak RSS", name, entry + ("peak_rss_mib",), 1 / 1024)
    if row[0] == "faces":
        _cell(S, "peak RSS", row, "paper AE / PCA", name, entry + ("paper_ratio",), pattern=r"([\d.]+)$")
_cell(S, "peak RSS", HINTON[0][0], "paper AE / PCA", "hinton2006.json", HINTON[0][2] + ("paper", "autoencoder"),
      pattern=r"^(\d+) /")
_cell(S, "peak RSS", HINTON[0][0], "paper AE / PCA", "hinton2006.json", HINTON[0][2] + ("paper", "PCA"),
      pattern=r"/ (\d+) =")
FIRST = ("rows", {"dataset": "faces", "recipe": "modern"})
_text(S, rf"older initialisation: {N} \({N}\) without, {N} \({N}\) with", "hinton2006_first_run.json",
      FIRST + ("autoencoder_test_error",), FIRST + ("ratio",),
      At(("results", "rows", "autoencoder", "test_error"), json="hinton2006_faces_augmented.json"),
      At(("results", "ratio"), json="hinton2006_faces_augmented.json"))
_text(S, rf"and Fashion-MNIST at {N} \({N}\)", "hinton2006_first_run.json",
      ("rows", {"dataset": "fashion-mnist", "recipe": "modern"}, "autoencoder_test_error"),
      ("rows", {"dataset": "fashion-mnist", "recipe": "modern"}, "ratio"))
_text(S, rf"PCA-30 on our face patches gives {N} on the test people and {N} on the training people",
      "hinton2006_faces_augmented.json", ("results", "rows", "PCA", "test_error"),
      ("results", "rows", "PCA", "train_error"))


def _load_averages(load) -> list[float]:
    """The 1-minute load averages before and after every row of both benchmark runs."""
    rows = load("hinton2006.json")["rows"] + load("hinton2006.json")["superseded_rows"]
    rows = rows + load("hinton2006_first_run.json")["rows"]
    return [r[k][0] for r in rows for k in ("load_average_before", "load_average_after")]


_text(S, rf"1-minute load average {N}-{N}\)", "hinton2006_first_run.json", lambda load: min(_load_averages(load)),
      lambda load: max(_load_averages(load)))

# Denoising and completing data: the benchmarks
S = "### Benchmarks"
D = "denoise.json"
_text(S, r"denoise.py --threads 1 \((\d+) s", D, ("total_seconds",))
_text(S, r"12 epochs on 60000 images \((\d+) s\)", D,
      ("training", {"noise": "gaussian", "architecture": "conv"}, "seconds"))
_text(S, r"salt and pepper, 32 / 16, 6 epochs \((\d+) s\)", D,
      ("training", {"noise": "salt_and_pepper", "architecture": "conv"}, "seconds"))
DENOISE_ROWS = [("Gaussian σ=0.1", "gaussian", 0.1), ("Gaussian σ=0.2", "gaussian", 0.2),
                ("Gaussian σ=0.3", "gaussian", 0.3), ("Gaussian σ=0.5", "gaussian", 0.5),
                ("salt & pepper 10%", "salt_and_pepper", 0.1), ("salt & pepper 20%", "salt_and_pepper", 0.2),
                ("salt & pepper 30%", "salt_and_pepper", 0.3)]
DENOISE_COLUMNS = [("noisy", "noisy input"), ("NLM", "non-local means"), ("TV", "total variation"),
                   ("wavelet", "wavelet"), ("median", "median"), ("BM3D", "BM3D"), ("DAE (MLP)", "DAE (mlp)"),
                   ("DAE (conv)", "DAE (conv)")]
CLASSICAL = ("non-local means", "total variation", "wavelet", "median", "BM3D")


def _conv_margin(noise: str, level: float) -> Callable:
    def margin(load):
        methods = _resolve(load(D), ("fashion_mnist", {"noise": noise, "level": level}, "methods"))
        return methods["DAE (conv)"]["psnr"] - max(methods[m]["psnr"] for m in CLASSICAL)
    return margin


for label, noise, level in DENOISE_ROWS:
    entry = ("fashion_mnist", {"noise": noise, "level": level}, "methods")
    for column, method in DENOISE_COLUMNS:
        _cell(S, "conv − best classical", (label,), column, D, entry + (method, "psnr"))
    _cell(S, "conv − best classical", (label,), "conv − best classical", D, _conv_margin(noise, level))
H = "denoise_epochs_heldout.json"
_text(S, rf"σ = 0.1, 9 epochs {N} dB, 12 epochs {N} dB, BM3D {N} dB \(\+{N} and \+{N} dB\)", H,
      ("runs", {"epochs": 9}, "dae_0.1"), ("runs", {"epochs": 12}, "dae_0.1"), ("runs", {"epochs": 9}, "bm3d_0.1"),
      ("sigma_0.1_margin_over_bm3d_dB", "9"), ("sigma_0.1_margin_over_bm3d_dB", "12"))
_text(S, r"trained 4 epochs \((\d+) s, one thread\) on (\d+) 32x32 patches", D, ("natural", "train_seconds"),
      ("natural", "n_patches"))
for image in ("camera", "coins", "moon", "clock"):
    entry = ("natural", "images", {"image": image}, "methods")
    for column, method in (("noisy", "noisy input"), ("NLM (h tuned)", "non-local means"), ("DAE (U-Net)", "DAE"),
                           ("BM3D", "BM3D")):
        _cell(S, "DAE − NLM", (image,), column, D, entry + (method, "psnr"))
    _cell(S, "DAE − NLM", (image,), "DAE − NLM", D, ("targets", "photos_dae_beats_nlm", "dae_minus_nlm_db", image))
P = "photo_heldout.json"
for phrase, index in (("NLM", 0), ("the old net", 1), ("U-Net predicting the clean patch", 3),
                      ("predicting the noise", 2), ("plus five training photographs", 4),
                      (r"plus twice the patches \(this net\)", 6)):
    _text(S, rf"{phrase} {N} / {N} / {N}[;.]", P, (index, "psnr", "chelsea"), (index, "psnr", "grace_hopper"),
          (index, "psnr", "china"))
_text(S, rf"On held-out china it stayed {N} dB below NLM", P,
      lambda load: load(P)[0]["psnr"]["china"] - load(P)[6]["psnr"]["china"])
C = "complete.json"
_text(S, r"python benchmarks/complete.py --threads 2 \((\d+) s", C, ("total_seconds",))
_text(S, r"averaged by ImputerEnsemble \((\d+) s,", C,
      ("images", {"scenario": "central 12x12 block"}, "methods", "AutoencoderImputer...", "seconds"))
for label in ("25% at random", "50% at random", "75% at random", "central 12x12 block"):
    entry = ("images", {"scenario": label})
    for column, method in (("mean", "mean"), ("KNNImputer", "KNNImputer"), ("IterativeImputer", "IterativeImputer"),
                           ("low-rank SVD", "low-rank SVD"), ("AutoencoderImputer", "AutoencoderImputer...")):
        _cell(S, "ours / best scikit-learn", (label,), column, C, entry + ("methods", method, "rmse"))
    _cell(S, "ours / best scikit-learn", (label,), "ours / best scikit-learn", C, entry + ("ratio_to_best_sklearn",))
BLOCK = ("images", {"scenario": "central 12x12 block"})
_text(S, rf"the block narrowly: {N} / {N} = {N}\.", C, BLOCK + ("methods", "AutoencoderImputer...", "rmse"),
      BLOCK + ("methods", "KNNImputer", "rmse"), BLOCK + ("ratio_to_best_sklearn",))
TAB = ("tabular", "methods")
_text(S, rf"mean {N} ± {N}, KNNImputer {N} ± {N}, IterativeImputer {N} ± {N}, low-rank SVD {N} ± {N}, "
         rf"AutoencoderImputer \(MLP 64-8\) {N} ± {N}", C,
      *[TAB + (method, stat) for method in ("mean", "KNNImputer", "IterativeImputer", "low-rank SVD",
                                            "AutoencoderImputer") for stat in ("rmse_mean", "rmse_std")])

_text("## Anomaly detection", rf"That threshold flags {N} % of the test T-shirts and (\d+) % of the other test images",
      "anomaly_threshold.json", ("flagged_test_tshirts_percent",), ("flagged_other_test_images_percent",))

LR = "long_run.json"
LONG = ("runs", {"dtype": "float32"})
_text("## Reliability: checkpoints, resume, safe files",
      rf"for (\d+) epochs with a checkpoint after every epoch and records each epoch "
      rf"\(benchmarks/results/long_run.json; (\d+) s, one thread, machine shared\): resident memory went from "
      rf"{N} MiB after epoch 2 to {N} MiB at the end, all of it by epoch (\d+) .* the checkpoint directory stayed "
      rf"at {N} MiB .*\(training {N} -> {N}, validation {N} at the last epoch", LR,
      LONG + ("epochs_run",), LONG + ("seconds",), LONG + ("records", 1, "rss_mib"), LONG + ("records", -1, "rss_mib"),
      lambda load: next(r["epoch"] for r in _resolve(load(LR), LONG + ("records",))
                        if r["rss_mib"] >= _resolve(load(LR), LONG + ("records", -1, "rss_mib")) - 0.5),
      LONG + ("checkpoint_mib_min_max", 1), LONG + ("loss_first_last", 0), LONG + ("loss_first_last", 1),
      LONG + ("val_loss_best_last", 1))


# ---------------------------------------------------------------- the tests


def _mismatch(case: Case) -> Union[str, None]:
    """None when the README and the results file agree on the case's number, else a line saying where they differ."""
    try:
        written, line = _readme_number(case)
        value = _json_value(case) * case.scale
    except (AssertionError, KeyError, IndexError, TypeError) as error:
        return f"cannot compare [{case.id}]: {error}"
    readme = float(written.replace(",", "").replace("−", "-"))
    if abs(readme - value) <= _tolerance(written, value):
        return None
    scaled = "" if case.scale == 1 else f" (the JSON value times {case.scale:.6g})"
    return f"README.md line {line} says {written}, the results give {value:.6g}{scaled} [{case.id}]"


@pytest.mark.parametrize("name", sorted({case.json for case in CASES}))
def test_readme_quotes_the_results_file(name):
    """One test per results file (a rerun of its benchmark fails one test), listing every number out of step."""
    cases = [case for case in CASES if case.json == name]
    problems = [problem for problem in map(_mismatch, cases) if problem]
    assert not problems, (f"{len(problems)} of the README's {len(cases)} numbers from benchmarks/results/{name} "
                          "are not the file's:\n" + "\n".join(problems))


def test_every_results_file_the_readme_names_is_checked():
    named = set(re.findall(r"benchmarks/results/([\w.-]+\.json)", README.read_text(encoding="utf-8")))
    assert len(named) >= 15
    checked = {case.json for case in CASES}
    assert named <= checked, f"README names results files that no case checks: {sorted(named - checked)}"
    assert all((RESULTS / name).is_file() for name in checked)


def test_case_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
