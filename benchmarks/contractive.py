"""Contractive autoencoders on Fashion-MNIST: how much contraction, at what cost, for which features.

For each contraction weight lambda (0 is the plain autoencoder), the same
784-512-k network (ReLU, the defaults otherwise) is trained on a subset of
the Fashion-MNIST training images, and the table reports on held-out images:

- the reconstruction error per image (``-score``);
- the encoder's contraction: the mean exact ``||dh/dx||_F^2``
  (:func:`aekit.contractive.jacobian_norms`), over the first 1,000 images;
- the codes as features: test accuracy of a logistic regression (fixed
  settings, standardised codes) trained on the training images' codes;
- fit time (the penalty costs a second backward pass per batch).

PCA with the same k and a denoising autoencoder (its defaults, Gaussian
noise 0.1) are reference rows. ``--eval holdout`` evaluates on the last 20 %
of the training subset instead of the test set: the default weight of
:class:`~aekit.contractive.ContractiveAutoencoder` was chosen that way,
never on the test set.

Usage::

    python benchmarks/contractive.py --quick           # seconds: checks that it runs
    python benchmarks/contractive.py --eval holdout    # for choosing settings
    python benchmarks/contractive.py                   # the benchmark (~10 min at one thread)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import aekit  # noqa: E402
from aekit import Autoencoder, ContractiveAutoencoder, DenoisingAutoencoder  # noqa: E402
from aekit.contractive import jacobian_norms  # noqa: E402
from aekit.datasets import load_digits, load_fashion_mnist  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def probe_accuracy(Z_train, y_train, Z_test, y_test) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500)).fit(Z_train, y_train)
    return float(clf.score(Z_test, y_test))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits, two weights, a few epochs")
    parser.add_argument("--eval", choices=("test", "holdout"), default="test")
    parser.add_argument("--weights", type=float, nargs="*", default=[0.0, 1e-4, 1e-3, 1e-2, 1e-1])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-components", type=int, default=64)
    parser.add_argument("--hidden", type=int, nargs="*", default=[512])
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        data = load_digits()
        args.weights, args.max_epochs, args.hidden, args.n_components, args.n_train = [0.0, 1e-2], 3, [32], 8, 1000
    else:
        data = load_fashion_mnist()
    rng = np.random.default_rng(args.seed)
    idx = rng.permutation(data.X_train.shape[0])[:args.n_train]
    X, y = data.X_train[idx], data.y_train[idx]
    if args.eval == "holdout":
        cut = int(0.8 * X.shape[0])
        X_train, y_train, X_test, y_test = X[:cut], y[:cut], X[cut:], y[cut:]
    else:
        X_train, y_train, X_test, y_test = X, y, data.X_test, data.y_test
    probe_rows = X_test[:1000]
    common = dict(n_components=args.n_components, hidden_layer_sizes=tuple(args.hidden), max_epochs=args.max_epochs,
                  random_state=args.seed, device="cpu")
    out = args.out or RESULTS / ("contractive_quick.json" if args.quick else f"contractive_{args.eval}.json")

    start, load_before = time.perf_counter(), os.getloadavg()
    rows = []
    tic = time.perf_counter()
    pca = PCA(n_components=args.n_components, random_state=args.seed).fit(X_train)
    rows.append({"method": "PCA", "weight": None, "fit_seconds": time.perf_counter() - tic,
                 "test_error": float(np.square(X_test - pca.inverse_transform(pca.transform(X_test))).sum(1).mean()),
                 "jacobian_norm": float((pca.components_ ** 2).sum()),
                 "probe_accuracy": probe_accuracy(pca.transform(X_train), y_train, pca.transform(X_test), y_test)})
    models = [(f"contractive lambda={w:g}" if w else "autoencoder (lambda=0)", w,
               ContractiveAutoencoder(contraction_weight=w, **common) if w else Autoencoder(**common))
              for w in args.weights]
    models.append(("denoising (gaussian 0.1)", None, DenoisingAutoencoder(**common)))
    for name, weight, est in models:
        tic = time.perf_counter()
        est.fit(X_train)
        seconds = time.perf_counter() - tic
        rows.append({"method": name, "weight": weight, "fit_seconds": seconds, "epochs": int(est.n_iter_),
                     "test_error": float(-est.score(X_test)),
                     "jacobian_norm": float(jacobian_norms(est, probe_rows).mean()),
                     "probe_accuracy": probe_accuracy(est.transform(X_train), y_train, est.transform(X_test),
                                                      y_test)})
        r = rows[-1]
        print(f"{name}: error {r['test_error']:.3f}, ||J||^2 {r['jacobian_norm']:.4g}, probe "
              f"{r['probe_accuracy']:.4f}, {r['epochs']} epochs, {seconds:.0f} s", flush=True)

    split = "held-out 20 % of the training subset" if args.eval == "holdout" else "test set"
    lines = [f"### Contractive autoencoders, {data.name} ({X_train.shape[0]} training images, {split}; code size "
             f"{args.n_components})", "",
             "| method | reconstruction error | mean ‖dh/dx‖²_F | linear-probe accuracy | fit (s) |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['test_error']:.3f} | {r['jacobian_norm']:.4g} | "
                     f"{100 * r['probe_accuracy']:.2f}% | {r['fit_seconds']:.1f} |")
    table = "\n".join(lines)
    print("\n" + table)
    wall = time.perf_counter() - start
    result = {
        "benchmark": "contractive", "quick": args.quick, "eval": args.eval, "dataset": data.name,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rows": rows, "table": table,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": args.threads,
                    "loadavg_start": load_before, "loadavg_end": os.getloadavg(),
                    "note": "2 CPU cores shared with other jobs; timings are indicative only"},
        "versions": {"aekit": aekit.__version__, "torch": torch.__version__},
        "total_seconds": wall,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out} ({wall:.0f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
