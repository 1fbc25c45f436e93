"""How much the README's headline comparisons move with the random seed.

The README's headline numbers are single runs with ``--random-state 0``.
This benchmark refits them over several seeds (the estimator's seed: initial
weights, batch order, validation split; the data and the test images stay
the same) and reports mean, standard deviation (over seeds, ddof=1), min and
max, and whether the autoencoder-vs-baseline ordering held in every seed:

a. ``digits``: the set-up job, ``aekit compare --dataset digits
   --n-components 8 --random-state SEED`` for seeds 0-9. The estimator is
   built by aekit's own argument parser from exactly those flags, then
   scored by :func:`aekit.compare.compare_with_pca` as ``aekit compare``
   does: autoencoder and PCA test error per image, fit time, epochs.
b. ``fmnist``: the README's Fashion-MNIST table (784-1000-500-250-30 vs
   PCA-30, one 35-minute run) is too long per seed, so each seed trains for
   a fixed wall-clock budget (``--budget``, i.e. ``--max-time``, checked
   after each epoch) on one thread, seeds 0-4. Seed 0 at the same budget
   shows how far a budgeted run is from the README's full run. The budget is
   wall-clock on a shared machine: a seed that got a busier minute trains
   fewer epochs (recorded per seed).
c. ``features``: the sparse-features headline (``benchmarks/features.py``:
   sparse KL codes of 1024 and 256 units, 20 epochs on the same 15,000
   Fashion-MNIST training images, logistic regression on them, all 10,000
   test images) against raw pixels and PCA, over a few seeds. Skipped when
   the run is already past ``--max-wall``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/seed_spread.py --threads 1   # ~11 min on 2 shared cores
    python benchmarks/seed_spread.py --quick --out /tmp/s.json       # seconds: checks that it runs
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
from sklearn.decomposition import PCA

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import aekit  # noqa: E402
from aekit.cli import build_parser  # noqa: E402
from aekit.cli._flags import estimator_from_args  # noqa: E402
from aekit.cli._options import load_source  # noqa: E402
from aekit.compare import compare_with_pca  # noqa: E402
from aekit.datasets import load_fashion_mnist  # noqa: E402

import features as feature_benchmark  # noqa: E402  (benchmarks/features.py: the same estimators and classifier)

PARTS = ("digits", "fmnist", "features")

#: Rough wall time of one seed of the features part (two sparse fits, two PCAs, four classifiers), one thread.
FEATURE_SECONDS_PER_SEED = 60.0

#: The single runs the README reports (seed 0), for the table and the JSON.
README = {
    "digits": {"autoencoder": 0.88, "PCA": 1.58},
    "fmnist": {"autoencoder": 6.08, "PCA": 12.24, "note": "full run: early stopping after 109 epochs, 35 min"},
    "features": {"sparse KL 1024": 0.8687, "sparse KL 256": 0.8460, "raw pixels": 0.8396, "PCA 784": 0.8114,
                 "PCA 256": 0.8291},
}


def spread(values) -> dict:
    """Mean, standard deviation over seeds (ddof=1; 0 for one value), min and max of ``values``."""
    v = np.asarray(values, dtype=np.float64)
    return {"n": int(v.size), "mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max())}


def fmt(s: dict, scale: float = 1.0, digits: int = 2) -> str:
    """``mean ± std (min–max)``."""
    return (f"{scale * s['mean']:.{digits}f} ± {scale * s['std']:.{digits}f} "
            f"({scale * s['min']:.{digits}f}–{scale * s['max']:.{digits}f})")


def compare_runs(flags: list[str], seeds, subset=None, log=print) -> tuple[list[dict], dict]:
    """``aekit compare FLAGS --random-state SEED`` for each seed, through the CLI's parser and estimator builder.

    Returns the runs and the last estimator's parameters. ``subset`` = (n_train, n_test) keeps the first
    images only (``--quick``).
    """
    parser = build_parser()
    data = None
    runs = []
    for seed in seeds:
        args = parser.parse_args(["compare", *flags, "--random-state", str(seed), "--out", "unused", "--quiet"])
        if data is None:
            data = load_source(args)
            if subset is not None:
                data = type(data)(data.X_train[:subset[0]], data.X_test[:subset[1]], data.y_train[:subset[0]],
                                  data.y_test[:subset[1]], data.image_shape, data.name, data.description,
                                  data.class_names)
        estimator = estimator_from_args(args, args.model, data=data)
        seed_used = estimator.random_state if isinstance(estimator.random_state, int) else 0  # as aekit compare
        load = os.getloadavg()[0]
        result = compare_with_pca(estimator, data.X_train, data.X_test, random_state=seed_used,
                                  y_train=data.y_train, y_test=data.y_test)
        ae, pca = result["rows"][result["method"]], result["rows"]["PCA"]
        run = {"seed": seed, "autoencoder_test_error": ae["test_error"], "pca_test_error": pca["test_error"],
               "autoencoder_train_error": ae["train_error"], "pca_train_error": pca["train_error"],
               "autoencoder_fit_seconds": ae["fit_seconds"], "pca_fit_seconds": pca["fit_seconds"],
               "epochs": ae["epochs"], "autoencoder_knn_accuracy": ae.get("knn_accuracy"),
               "pca_knn_accuracy": pca.get("knn_accuracy"), "loadavg_1min_before": load}
        runs.append(run)
        log(f"  seed {seed}: autoencoder {ae['test_error']:.4f}, PCA {pca['test_error']:.4f} "
            f"({ae['fit_seconds']:.1f} s, {ae['epochs']} epochs, load {load:.1f})")
    params = estimator.get_params()
    return runs, {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


def summarise_compare(runs: list[dict]) -> dict:
    return {"autoencoder_test_error": spread([r["autoencoder_test_error"] for r in runs]),
            "pca_test_error": spread([r["pca_test_error"] for r in runs]),
            "autoencoder_fit_seconds": spread([r["autoencoder_fit_seconds"] for r in runs]),
            "epochs": spread([r["epochs"] for r in runs]),
            "autoencoder_beat_pca_every_seed": all(r["autoencoder_test_error"] < r["pca_test_error"] for r in runs),
            "ratio_autoencoder_over_pca": spread([r["autoencoder_test_error"] / r["pca_test_error"] for r in runs])}


def feature_runs(seeds, n_train, sizes, epochs, quick, log=print) -> tuple[list[dict], dict, dict]:
    """Sparse KL codes (``features.py``'s settings) over ``seeds``; raw pixels once, PCA per seed."""
    fm = load_fashion_mnist()
    order = np.random.default_rng(0).permutation(fm.X_train.shape[0])[:n_train]  # features.py's seed-0 subsample
    X_train, y_train, X_test, y_test = fm.X_train[order], fm.y_train[order], fm.X_test, fm.y_test
    if quick:
        X_test, y_test = X_test[:1000], y_test[:1000]
    raw_accuracy, _ = feature_benchmark.evaluate(X_train, X_test, y_train, y_test)
    log(f"  raw pixels: accuracy {raw_accuracy:.4f} (no seed)")
    pca_full = min(X_train.shape)  # PCA's most components: 784, the README's "PCA (all 784 components)" row
    pca_full_model = PCA(n_components=pca_full).fit(X_train)  # full solver: no seed involved
    pca_full_accuracy, _ = feature_benchmark.evaluate(pca_full_model.transform(X_train),
                                                      pca_full_model.transform(X_test), y_train, y_test)
    log(f"  PCA-{pca_full}: accuracy {pca_full_accuracy:.4f} (no seed)")
    runs = []
    for seed in seeds:
        run = {"seed": seed, "loadavg_1min_before": os.getloadavg()[0]}
        for size in sizes:
            if size < pca_full:  # PCA cannot give more components than pixels: PCA-784 (above) stands in
                pca = PCA(n_components=size, random_state=seed).fit(X_train)
                run[f"pca_{size}_accuracy"], _ = feature_benchmark.evaluate(pca.transform(X_train),
                                                                            pca.transform(X_test), y_train, y_test)
            est = feature_benchmark.models(size, epochs, seed, "cpu")["sparse KL"]
            est.fit(X_train)
            run[f"sparse_kl_{size}_accuracy"], _ = feature_benchmark.evaluate(est.transform(X_train),
                                                                              est.transform(X_test), y_train, y_test)
            run[f"sparse_kl_{size}_fit_seconds"] = est.fit_time_
            pca_accuracy = run.get(f"pca_{size}_accuracy", pca_full_accuracy)
            log(f"  seed {seed}, size {size}: sparse KL {run[f'sparse_kl_{size}_accuracy']:.4f}, "
                f"PCA-{min(size, pca_full)} {pca_accuracy:.4f} ({est.fit_time_:.1f} s)")
        runs.append(run)
    summary = {"raw_pixels_accuracy": raw_accuracy, f"pca_{pca_full}_accuracy": pca_full_accuracy}
    for size in sizes:
        kl = [r[f"sparse_kl_{size}_accuracy"] for r in runs]
        summary[f"sparse_kl_{size}_accuracy"] = spread(kl)
        if size < pca_full:
            summary[f"pca_{size}_accuracy"] = spread([r[f"pca_{size}_accuracy"] for r in runs])
        summary[f"sparse_kl_{size}_gain_over_raw_points"] = spread([100 * (a - raw_accuracy) for a in kl])
        summary[f"sparse_kl_{size}_beat_raw_every_seed"] = all(a > raw_accuracy for a in kl)
        summary[f"sparse_kl_{size}_beat_pca_every_seed"] = all(
            r[f"sparse_kl_{size}_accuracy"] > max(r.get(f"pca_{size}_accuracy", 0.0), pca_full_accuracy) for r in runs)
    settings = {"n_train": int(X_train.shape[0]), "n_test": int(X_test.shape[0]), "epochs": epochs, "sizes": sizes,
                "pca_full": pca_full,
                "subsample": "features.py's: first n_train of default_rng(0).permutation(60000)",
                "sparse_kl": feature_benchmark.sparse_settings(sizes[0])["sparse KL"],
                "classifier": {"pipeline": "StandardScaler + LogisticRegression", **feature_benchmark.CLASSIFIER}}
    return runs, summary, settings


def compare_table(title: str, runs: list[dict], summary: dict, readme: dict) -> str:
    lines = [f"### {title}", "", "| seed | autoencoder test error | PCA test error | epochs | fit time (s) |",
             "|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {r['seed']} | {r['autoencoder_test_error']:.3f} | {r['pca_test_error']:.3f} | {r['epochs']} | "
                     f"{r['autoencoder_fit_seconds']:.1f} |")
    lines += ["", f"autoencoder: {fmt(summary['autoencoder_test_error'])} (mean ± std over "
                  f"{summary['autoencoder_test_error']['n']} seeds; min–max); PCA: {fmt(summary['pca_test_error'])}; "
                  f"autoencoder < PCA in every seed: {summary['autoencoder_beat_pca_every_seed']}; "
                  f"README (seed 0): autoencoder {readme['autoencoder']}, PCA {readme['PCA']}"]
    return "\n".join(lines)


def features_table(runs, summary, sizes, pca_full) -> str:
    head = " | ".join(f"sparse KL {s} | PCA-{min(s, pca_full)}" for s in sizes)
    lines = ["### Sparse KL features, logistic regression test accuracy (%)", "", f"| seed | {head} |",
             "|---:|" + "---:|" * (2 * len(sizes))]
    for r in runs:
        cells = " | ".join(f"{100 * r[f'sparse_kl_{s}_accuracy']:.2f} | "
                           f"{100 * r.get(f'pca_{s}_accuracy', summary[f'pca_{pca_full}_accuracy']):.2f}"
                           for s in sizes)
        lines.append(f"| {r['seed']} | {cells} |")
    lines.append("")
    lines.append(f"raw pixels {100 * summary['raw_pixels_accuracy']:.2f}, PCA-{pca_full} "
                 f"{100 * summary[f'pca_{pca_full}_accuracy']:.2f} (no seed)")
    for s in sizes:
        lines.append(f"sparse KL {s}: {fmt(summary[f'sparse_kl_{s}_accuracy'], 100)}; gain over raw pixels "
                     f"{fmt(summary[f'sparse_kl_{s}_gain_over_raw_points'])} points; beat raw pixels in every seed: "
                     f"{summary[f'sparse_kl_{s}_beat_raw_every_seed']}, beat PCA in every seed: "
                     f"{summary[f'sparse_kl_{s}_beat_pca_every_seed']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run (seconds) to check the script works")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which comparisons (default: all)")
    parser.add_argument("--digits-seeds", type=int, default=10, help="seeds 0..N-1 for the digits job (default 10)")
    parser.add_argument("--fmnist-seeds", type=int, default=5, help="seeds 0..N-1 for Fashion-MNIST (default 5)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="Fashion-MNIST training budget per seed, seconds (--max-time; default 60)")
    parser.add_argument("--feature-seeds", type=int, default=5, help="seeds 0..N-1 for the features (default 5)")
    parser.add_argument("--max-wall", type=float, default=900.0,
                        help="skip the features part if it would end the run past this many seconds, at about "
                             f"{FEATURE_SECONDS_PER_SEED:g} s per seed (default 900)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    parser.add_argument("--out", type=Path, help="JSON file (default benchmarks/results/seed_spread.json; "
                        "seed_spread_quick.json with --quick)")
    args = parser.parse_args(argv)
    # a quick run never replaces the README's results
    args.out = args.out or ROOT / "benchmarks" / "results" / f"seed_spread{'_quick' if args.quick else ''}.json"
    torch.set_num_threads(args.threads)

    def log(msg):
        print(msg, flush=True)

    start, load_start = time.perf_counter(), os.getloadavg()
    result = {"benchmark": "seed_spread", "aekit_version": aekit.__version__, "quick": args.quick,
              "std": "standard deviation over seeds, ddof=1", "readme_single_runs": README, "parts": {}}
    tables = []

    if "digits" in args.parts:
        flags = ["--dataset", "digits", "--n-components", "8"]
        extra = ["--max-epochs", "2"] if args.quick else []
        seeds = range(2 if args.quick else args.digits_seeds)
        log(f"digits: aekit compare {' '.join(flags + extra)} --random-state SEED, seeds 0-{seeds[-1]}")
        tic = time.perf_counter()
        runs, params = compare_runs(flags + extra, seeds, log=log)
        summary = summarise_compare(runs)
        result["parts"]["digits"] = {
            "command": f"aekit compare {' '.join(flags + extra)} --random-state SEED --out DIR",
            "params": params, "runs": runs, "summary": summary, "wall_seconds": time.perf_counter() - tic}
        tables.append(compare_table("digits, 8-D code (the set-up job)", runs, summary, README["digits"]))

    if "fmnist" in args.parts:
        budget = 1.0 if args.quick else args.budget
        flags = ["--dataset", "fashion-mnist", "--n-components", "30", "--hidden-layer-sizes", "1000", "500", "250",
                 "--max-time", f"{budget:g}"] + (["--max-epochs", "1"] if args.quick else [])
        seeds = range(2 if args.quick else args.fmnist_seeds)
        subset = (2000, 500) if args.quick else None
        log(f"fashion-mnist: aekit compare {' '.join(flags)} --random-state SEED --threads {args.threads}, "
            f"seeds 0-{seeds[-1]}" + (f" (quick: first {subset} images)" if subset else ""))
        tic = time.perf_counter()
        runs, params = compare_runs(flags, seeds, subset=subset, log=log)
        summary = summarise_compare(runs)
        result["parts"]["fmnist"] = {
            "command": f"aekit compare {' '.join(flags)} --random-state SEED --threads {args.threads} --out DIR",
            "budget_seconds": budget, "subset": subset, "params": params, "runs": runs, "summary": summary,
            "note": "max_time is wall-clock and checked after each epoch: on a shared machine the epochs per seed "
                    "vary with the load, so this spread mixes the seed's effect with the load's",
            "wall_seconds": time.perf_counter() - tic}
        tables.append(compare_table(f"Fashion-MNIST 784-1000-500-250-30 vs PCA-30, {budget:g} s per seed, "
                                    f"{args.threads} thread(s)", runs, summary, README["fmnist"]))

    if "features" in args.parts:
        elapsed = time.perf_counter() - start
        expected = elapsed + FEATURE_SECONDS_PER_SEED * args.feature_seeds
        if expected > args.max_wall and not args.quick:
            why = f"the run has taken {elapsed:.0f} s, about {expected:.0f} s with it > --max-wall {args.max_wall:g}"
            log(f"features: skipped, {why}")
            result["parts"]["features"] = {"skipped": why}
        else:
            n_train, sizes, epochs = (1000, [32], 2) if args.quick else (15000, [1024, 256], 20)
            seeds = list(range(2 if args.quick else args.feature_seeds))
            log(f"features: sparse KL {sizes}, {epochs} epochs, {n_train} training images, seeds {seeds}")
            tic = time.perf_counter()
            runs, summary, settings = feature_runs(seeds, n_train, sizes, epochs, args.quick, log=log)
            result["parts"]["features"] = {"command": "benchmarks/features.py's 'sparse KL' rows, --seed SEED for "
                                                      "the estimator only (the training subsample stays seed 0's)",
                                           "settings": settings, "runs": runs, "summary": summary,
                                           "wall_seconds": time.perf_counter() - tic}
            tables.append(features_table(runs, summary, sizes, settings["pca_full"]))

    wall = time.perf_counter() - start
    result["machine"] = {"note": "shared machine (2 CPU cores, other jobs running); timings and the Fashion-MNIST "
                                 "epochs per budget depend on the load",
                         "loadavg_start": load_start, "loadavg_end": os.getloadavg(), "torch_threads": args.threads,
                         "platform": platform.platform(), "torch": torch.__version__, "device": "cpu"}
    result["wall_seconds"] = wall
    print()
    print("\n\n".join(tables))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out} ({wall:.0f} s wall; load average {load_start[0]:.1f} -> {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
