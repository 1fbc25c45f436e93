"""The classic result: a sparse autoencoder on natural-image patches learns localized, oriented edge filters.

Trains an L1 sparse autoencoder on ZCA-whitened 12x12 patches of
scikit-image's bundled photographs (``aekit.datasets.image_patches``) and
draws its encoder filters (``docs/sparse_filters.png`` by default). As a
number to go with the picture, it reports how concentrated each filter's
energy is: the share of its squared weights in its strongest 10% of pixels,
against the same share for random Gaussian filters (about 0.4) and for the
same network trained without the penalty.

Usage::

    python benchmarks/sparse_filters.py --quick        # seconds (writes benchmarks/results/sparse_filters_quick.*)
    python benchmarks/sparse_filters.py                # ~1 min on a shared core
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aekit import SparseAutoencoder  # noqa: E402
from aekit.datasets import image_patches  # noqa: E402
from aekit.plotting import filter_grid  # noqa: E402
from aekit.sparse import encoder_filters  # noqa: E402


def concentration(W: np.ndarray, top: float = 0.1) -> np.ndarray:
    """Per filter: share of the squared weights in its ``top`` fraction of strongest pixels."""
    energy = np.sort(W.astype(np.float64) ** 2, axis=1)[:, ::-1]
    n_top = max(1, int(round(top * W.shape[1])))
    return energy[:, :n_top].sum(axis=1) / energy.sum(axis=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--patch-size", type=int, default=12)
    parser.add_argument("--n-patches", type=int, default=20000)
    parser.add_argument("--n-components", type=int, default=144)
    parser.add_argument("--sparsity-weight", type=float, default=0.03)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="figure (default docs/sparse_filters.png; "
                        "benchmarks/results/sparse_filters_quick.png with --quick)")
    parser.add_argument("--json", type=Path, help="JSON file (default benchmarks/results/sparse_filters.json; "
                        "sparse_filters_quick.json with --quick)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.quick:
        args.n_patches, args.epochs, args.n_components = 2000, 2, 36
    # a quick run never replaces the README's figure and numbers
    root, quick = Path(__file__).resolve().parents[1], "_quick" if args.quick else ""
    args.out = args.out or (root / "benchmarks" / "results" / "sparse_filters_quick.png" if args.quick
                            else root / "docs" / "sparse_filters.png")
    args.json = args.json or root / "benchmarks" / "results" / f"sparse_filters{quick}.json"
    load = os.getloadavg()
    ps = args.patch_size
    X = image_patches(patch_size=ps, n_patches=args.n_patches, whiten=True, epsilon=0.1, seed=args.seed)
    results = {}
    for name, weight in (("L1", args.sparsity_weight), ("no penalty", 0.0)):
        sae = SparseAutoencoder(n_components=args.n_components, sparsity="l1", sparsity_weight=weight,
                                max_epochs=args.epochs, random_state=args.seed, device="cpu").fit(X)
        W = encoder_filters(sae)
        results[name] = {"sparsity_weight": weight, "fit_seconds": sae.fit_time_, "epochs": sae.n_iter_,
                         **sae.diagnostics(), "reconstruction_error_per_feature": float(-sae.score(X) / X.shape[1]),
                         "concentration_median": float(np.median(concentration(W)))}
        if weight > 0:
            filter_grid(W, (ps, ps), path=args.out,
                        title=f"L1 sparse autoencoder: {args.n_components} encoder filters, "
                              f"{ps}x{ps} whitened photo patches")
    rng = np.random.default_rng(args.seed)
    results["random filters"] = {"concentration_median": float(np.median(
        concentration(rng.normal(size=(args.n_components, ps * ps)))))}
    print(f"{args.n_patches} whitened {ps}x{ps} patches, {args.n_components} code units, {args.epochs} epochs")
    print("| model | active units / sample | dead units | energy in top 10% of pixels (median) | fit (s) |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        active = f"{100 * r['active_fraction']:.1f}%" if "active_fraction" in r else ""
        dead = r.get("dead_units", "")
        fit = f"{r['fit_seconds']:.1f}" if "fit_seconds" in r else ""
        print(f"| {name} | {active} | {dead} | {r['concentration_median']:.2f} | {fit} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"quick": args.quick, "args": {k: str(v) for k, v in vars(args).items()},
                                     "results": results, "loadavg_start": load, "loadavg_end": os.getloadavg(),
                                     "machine": "shared 2-core machine, torch threads 1"}, indent=2) + "\n")
    print(f"wrote {args.out} and {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
