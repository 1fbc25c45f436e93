"""Anomaly detection by reconstruction error: one-class Fashion-MNIST (and digits as a quick check).

The classic use of an autoencoder outside dimensionality reduction: train it
on normal data only, then flag the samples it reconstructs worst. The
standard one-class protocol: for each class c, the normal data are the
training images of class c; the test set is the whole test split, class c
normal and the nine other classes anomalies. The score of a test image is
its reconstruction error (``-Autoencoder.score_samples``, ``aekit errors``);
the table gives the ROC AUC (1 = every anomaly scores above every normal
image, 0.5 = chance) per normal class, and its mean.

Compared, all fitted on the normal training images only:

- PCA with the same code size, scored by its reconstruction error (the
  linear autoencoder);
- aekit's ``Autoencoder`` (784-512-256-k, the defaults otherwise: early
  stopping on 10 % of the normal training images);
- scikit-learn's ``IsolationForest`` (default settings), a standard
  detector that does not reconstruct.

Nothing was tuned on the test anomalies: the code size and the network are
fixed in advance (``--n-components``, ``--hidden``); the autoencoder's epochs
come from early stopping on held-out *normal* images.

Usage::

    python benchmarks/anomaly.py --quick      # seconds: digits, two classes
    python benchmarks/anomaly.py --threads 1  # Fashion-MNIST, all ten classes (~10 min at one thread)
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
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import aekit  # noqa: E402
from aekit import Autoencoder  # noqa: E402
from aekit.datasets import load_digits, load_fashion_mnist  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def pca_errors(X_train: np.ndarray, X_test: np.ndarray, k: int, seed: int) -> np.ndarray:
    pca = PCA(n_components=min(k, *X_train.shape), random_state=seed).fit(X_train)
    return np.square(X_test - pca.inverse_transform(pca.transform(X_test))).sum(axis=1)


def one_class(X_train, y_train, X_test, y_test, normal: int, args) -> dict:
    """AUCs of the three detectors with ``normal`` as the normal class."""
    X_normal = X_train[y_train == normal]
    anomalous = (y_test != normal).astype(int)
    row = {"normal_class": int(normal), "n_train": int(X_normal.shape[0])}

    tic = time.perf_counter()
    row["pca_auc"] = float(roc_auc_score(anomalous, pca_errors(X_normal, X_test, args.n_components, args.seed)))
    row["pca_seconds"] = time.perf_counter() - tic

    tic = time.perf_counter()
    ae = Autoencoder(n_components=args.n_components, hidden_layer_sizes=tuple(args.hidden), loss="bce",
                     max_epochs=args.max_epochs, random_state=args.seed, device="cpu").fit(X_normal)
    row["autoencoder_auc"] = float(roc_auc_score(anomalous, -ae.score_samples(X_test)))
    row["autoencoder_seconds"] = time.perf_counter() - tic
    row["autoencoder_epochs"] = int(ae.n_iter_)

    tic = time.perf_counter()
    forest = IsolationForest(random_state=args.seed).fit(X_normal)
    row["isolation_forest_auc"] = float(roc_auc_score(anomalous, -forest.score_samples(X_test)))
    row["isolation_forest_seconds"] = time.perf_counter() - tic
    return row


METHODS = (("pca", "PCA"), ("autoencoder", "autoencoder"), ("isolation_forest", "IsolationForest"))


def format_table(rows: list[dict], names, title: str) -> str:
    head = "| normal class | " + " | ".join(label for _, label in METHODS) + " | AE epochs |"
    lines = [f"### {title}", "", head, "|" + "---|" * (len(METHODS) + 2)]
    for r in rows:
        aucs = " | ".join(f"{r[f'{key}_auc']:.3f}" for key, _ in METHODS)
        lines.append(f"| {names[r['normal_class']]} | {aucs} | {r['autoencoder_epochs']} |")
    mean = {key: np.mean([r[f"{key}_auc"] for r in rows]) for key, _ in METHODS}
    best = max(mean.values())
    means = " | ".join(f"**{m:.3f}**" if m == best else f"{m:.3f}" for m in mean.values())  # the best in bold
    lines.append(f"| mean | {means} | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits, two normal classes, a few epochs")
    parser.add_argument("--n-components", type=int, default=32)
    parser.add_argument("--hidden", type=int, nargs="*", default=[512, 256])
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--classes", type=int, nargs="*", help="normal classes to run (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        data, args.max_epochs, args.hidden, args.n_components = load_digits(), 5, [32], 8
        classes = args.classes or [0, 1]
    else:
        data = load_fashion_mnist()
        classes = args.classes if args.classes is not None else list(range(10))
    names = data.class_names or [str(c) for c in range(10)]
    out = args.out or RESULTS / ("anomaly_quick.json" if args.quick else "anomaly.json")

    start, load_before = time.perf_counter(), os.getloadavg()
    rows = []
    for c in classes:
        rows.append(one_class(data.X_train, data.y_train, data.X_test, data.y_test, c, args))
        r = rows[-1]
        print(f"normal class {names[c]}: PCA {r['pca_auc']:.3f}, autoencoder {r['autoencoder_auc']:.3f} "
              f"({r['autoencoder_epochs']} epochs, {r['autoencoder_seconds']:.0f} s), IsolationForest "
              f"{r['isolation_forest_auc']:.3f}", flush=True)
    table = format_table(rows, names, f"One-class anomaly detection, {data.name}: ROC AUC (code size "
                                      f"{args.n_components})")
    print("\n" + table)
    wall = time.perf_counter() - start
    result = {
        "benchmark": "anomaly", "quick": args.quick, "dataset": data.name,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rows": rows,
        "mean_auc": {key: float(np.mean([r[f"{key}_auc"] for r in rows])) for key, _ in METHODS},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": args.threads,
                    "loadavg_start": load_before, "loadavg_end": os.getloadavg(),
                    "note": "2 CPU cores shared with other jobs; timings are indicative only"},
        "versions": {"aekit": aekit.__version__, "torch": torch.__version__},
        "total_seconds": wall, "table": table,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out} ({wall:.0f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
