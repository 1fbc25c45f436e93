"""Variational autoencoders on Fashion-MNIST: the ELBO, and what the VAE costs and gives against an AE and PCA.

For each code size k (2 and 20 by default) the same 784-512-256-k network
(ReLU, Bernoulli likelihood: ``loss="bce"``, the defaults otherwise) is
trained as a :class:`~aekit.VariationalAutoencoder` and as a deterministic
:class:`~aekit.Autoencoder`, with PCA at the same k as a reference. On the
10,000 test images the table reports:

- the negative ELBO in nats per image (``-elbo_samples``, 10 draws of z per
  image; an upper bound on ``-log p(x)`` under the Bernoulli likelihood)
  and its KL part, for the VAE;
- the squared reconstruction error per image (``-score``: the VAE decodes
  its posterior mean mu);
- the codes as features: test accuracy of a logistic regression (fixed
  settings, standardised codes) trained on the training images' codes
  (the VAE's mu);
- fit time.

It also draws ``docs/variational.png``: images sampled from the k=20 VAE's
prior, and the k=2 VAE's decoder over a grid of the latent plane (the
inverse normal CDF of an even grid, as in Kingma & Welling's figure 4).

Usage::

    python benchmarks/variational.py --quick    # seconds: digits, checks that it runs
    python benchmarks/variational.py            # the benchmark (~10 min at one thread)
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
from scipy.stats import norm
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import aekit  # noqa: E402
from aekit import Autoencoder, VariationalAutoencoder  # noqa: E402
from aekit.datasets import load_digits, load_fashion_mnist  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DOCS = Path(__file__).resolve().parents[1] / "docs"


def probe_accuracy(Z_train, y_train, Z_test, y_test) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500)).fit(Z_train, y_train)
    return float(clf.score(Z_test, y_test))


def mosaic(images: np.ndarray, shape, cols: int, pad: int = 2) -> np.ndarray:
    """Images (n, H*W) tiled row by row into one (rows*(H+pad)-pad, cols*(W+pad)-pad) array, grey gaps."""
    h, w = shape
    rows = -(-len(images) // cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), 0.35)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = img.reshape(h, w)
    return out


def draw_figure(samples, manifold, grid: int, shape, path: Path, ks, name: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6.6), dpi=110, layout="constrained")
    left, right = fig.subplots(1, 2)
    cols = int(np.ceil(np.sqrt(len(samples))))
    left.imshow(mosaic(samples, shape, cols), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    left.set_title(f"{name}: {len(samples)} samples from the k={ks[1]} VAE\n(decode(z), z ~ N(0, I))")
    right.imshow(mosaic(manifold, shape, grid, pad=0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    right.set_title(f"the k={ks[0]} VAE's decoder over the latent plane\n"
                    f"(z = inverse normal CDF of a {grid}x{grid} grid in [0.03, 0.97]²)")
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits, small nets, a few epochs")
    parser.add_argument("--components", type=int, nargs=2, default=[2, 20], metavar=("K_SMALL", "K_LARGE"),
                        help="code sizes: the first is drawn as a latent grid, the second sampled")
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--hidden", type=int, nargs="*", default=[512, 256])
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        data = load_digits()
        args.max_epochs, args.hidden, args.n_train = 3, [32], 1000
    else:
        data = load_fashion_mnist()
    idx = np.random.default_rng(args.seed).permutation(data.X_train.shape[0])[:args.n_train]
    X_train, y_train, X_test, y_test = data.X_train[idx], data.y_train[idx], data.X_test, data.y_test
    out = args.out or RESULTS / ("variational_quick.json" if args.quick else "variational.json")
    figure = args.figure or (RESULTS / "variational_quick.png" if args.quick else DOCS / "variational.png")
    common = dict(hidden_layer_sizes=tuple(args.hidden), loss="bce", max_epochs=args.max_epochs,
                  random_state=args.seed, device="cpu")

    start, load_before = time.perf_counter(), os.getloadavg()
    rows, vaes = [], {}
    for k in args.components:
        tic = time.perf_counter()
        pca = PCA(n_components=k, random_state=args.seed).fit(X_train)
        err = float(np.square(X_test - pca.inverse_transform(pca.transform(X_test))).sum(1).mean())
        rows.append({"method": "PCA", "k": k, "fit_seconds": time.perf_counter() - tic, "test_error": err,
                     "probe_accuracy": probe_accuracy(pca.transform(X_train), y_train, pca.transform(X_test), y_test)})
        for name, est in (("autoencoder", Autoencoder(n_components=k, **common)),
                          ("VAE", VariationalAutoencoder(n_components=k, **common))):
            tic = time.perf_counter()
            est.fit(X_train)
            row = {"method": name, "k": k, "fit_seconds": time.perf_counter() - tic, "epochs": int(est.n_iter_),
                   "test_error": float(-est.score(X_test)),
                   "probe_accuracy": probe_accuracy(est.transform(X_train), y_train, est.transform(X_test), y_test)}
            if name == "VAE":
                elbo, kl = est.elbo_samples(X_test, n_draws=10), est.kl_samples(X_test)
                row.update(test_negative_elbo=float(-elbo.mean()), test_kl=float(kl.mean()),
                           test_reconstruction_nll=float((-elbo - kl).mean()))
                vaes[k] = est
            rows.append(row)
            r = rows[-1]
            print(f"{name} k={k}: error {r['test_error']:.2f}, probe {r['probe_accuracy']:.4f}"
                  + (f", -ELBO {r['test_negative_elbo']:.1f} nats (KL {r['test_kl']:.1f})" if name == "VAE" else "")
                  + f", {r['epochs']} epochs, {r['fit_seconds']:.0f} s", flush=True)

    shape = tuple(data.image_shape)
    grid = 20 if not args.quick else 8
    u = norm.ppf(np.linspace(0.03, 0.97, grid))
    # rows top to bottom: z2 from high to low, as on a plot's y axis
    Z = np.array([[a, b] for b in u[::-1] for a in u], dtype=np.float32)
    small, large = args.components
    manifold = vaes[small].inverse_transform(Z) if small == 2 else vaes[small].sample(grid * grid, random_state=0)
    draw_figure(vaes[large].sample(64, random_state=args.seed), manifold, grid, shape, figure, args.components,
                data.name)

    lines = [f"### Variational autoencoders, {data.name} ({X_train.shape[0]} training images, "
             f"{X_test.shape[0]} test images; {'-'.join(map(str, [X_train.shape[1], *args.hidden]))}-k, "
             f"{args.max_epochs} epochs at most)", "",
             "| method | k | test −ELBO (nats) | KL (nats) | reconstruction error | linear-probe accuracy "
             "| fit (s) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        elbo = f"{r['test_negative_elbo']:.1f}" if "test_negative_elbo" in r else "–"
        kl = f"{r['test_kl']:.1f}" if "test_kl" in r else "–"
        lines.append(f"| {r['method']} | {r['k']} | {elbo} | {kl} | {r['test_error']:.2f} | "
                     f"{100 * r['probe_accuracy']:.2f}% | {r['fit_seconds']:.1f} |")
    table = "\n".join(lines)
    print("\n" + table)
    wall = time.perf_counter() - start
    result = {
        "benchmark": "variational", "quick": args.quick, "dataset": data.name,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rows": rows, "table": table, "figure": str(figure),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": args.threads,
                    "loadavg_start": load_before, "loadavg_end": os.getloadavg(),
                    "note": "2 CPU cores shared with other jobs; timings are indicative only"},
        "versions": {"aekit": aekit.__version__, "torch": torch.__version__},
        "total_seconds": wall,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out} and {figure} ({wall:.0f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
