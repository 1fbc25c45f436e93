"""Posterior collapse: which likelihood a VAE on pixels in [0, 1] should use.

A :class:`~aekit.VariationalAutoencoder` with k=20 (784-256-128-20, the
defaults otherwise: up to 200 epochs, early stopping) is trained on a
Fashion-MNIST subset with the default ``loss="mse"`` (a unit-variance
Gaussian around the decoded pixels), with ``loss="bce"`` (Bernoulli) and
with ``loss="mse", scaling="standard"``. On held-out test images it
reports the KL per image in nats (what the code carries), the active code
units (variance of mu over the test images > 0.01), the squared
reconstruction error per image in pixel units, and the mean pairwise L2
distance between 500 samples from the prior (the test images' own: the
first line printed), a measure of how varied the samples are.

Usage::

    python benchmarks/variational_collapse.py --quick   # seconds: digits, checks that it runs
    python benchmarks/variational_collapse.py           # ~2 min at one thread
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from aekit import VariationalAutoencoder
from aekit.datasets import load_digits, load_fashion_mnist

RESULTS = Path(__file__).resolve().parent / "results"
CONFIGS = [("mse (default)", {}), ("bce", {"loss": "bce"}), ("mse, scaling='standard'", {"scaling": "standard"})]


def mean_pairwise_distance(A: np.ndarray) -> float:
    A = A.astype(np.float64)
    sq = (A * A).sum(axis=1)
    d2 = np.clip(sq[:, None] + sq[None, :] - 2.0 * A @ A.T, 0.0, None)
    return float(np.sqrt(d2)[np.triu_indices(len(A), 1)].mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--n-components", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_digits() if args.quick else load_fashion_mnist()
    max_epochs = 3 if args.quick else 200
    X, X_test = data.X_train[:args.n_train], data.X_test[:args.n_test]
    start, load_before = time.perf_counter(), os.getloadavg()
    rows = [{"config": "test images", "sample_diversity": mean_pairwise_distance(X_test[:500])}]
    print(f"test images: mean pairwise distance {rows[0]['sample_diversity']:.2f}")
    for name, params in CONFIGS:
        tic = time.perf_counter()
        vae = VariationalAutoencoder(n_components=args.n_components, max_epochs=max_epochs, random_state=0,
                                     **params).fit(X)
        mu = vae.transform(X_test)
        rows.append({"config": name, "epochs": int(vae.n_iter_), "test_kl": float(vae.kl_samples(X_test).mean()),
                     "active_units": int((mu.var(axis=0) > 0.01).sum()),
                     "reconstruction_error": float(np.square(vae.reconstruct(X_test) - X_test).sum(axis=1).mean()),
                     "sample_diversity": mean_pairwise_distance(vae.sample(500, random_state=0)),
                     "fit_seconds": time.perf_counter() - tic})
        r = rows[-1]
        print(f"{name}: KL {r['test_kl']:.2f} nats, {r['active_units']}/{args.n_components} active units, "
              f"error {r['reconstruction_error']:.2f}, sample distance {r['sample_diversity']:.2f}, "
              f"{r['epochs']} epochs, {r['fit_seconds']:.0f} s", flush=True)
    out = args.out or RESULTS / ("variational_collapse_quick.json" if args.quick else "variational_collapse.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "variational_collapse", "dataset": data.name, "args": {k: str(v) for k, v in vars(args).items()},
        "max_epochs": max_epochs, "rows": rows,
        "machine": {"cpus": os.cpu_count(), "torch_threads": args.threads, "loadavg_start": load_before,
                    "loadavg_end": os.getloadavg(), "note": "2 CPU cores shared with other jobs"},
        "total_seconds": time.perf_counter() - start}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
