"""Exploratory check: does a wide network learn the outlier it should flag?

The README's anomaly section plants one outlier in a table (scikit-learn's
breast cancer data, one cell of its smallest-unit column moved 30 standard
deviations, as ``tests/test_scaling.py`` does), trains on all 569 rows with
``scaling="standard"`` and 4 components, and ranks the rows by reconstruction
error. This prints that row's rank without and with scaling (the settings of
``tests/test_scaling.py``), then with scaling for three layer sizes over seeds 0-4.
One thread, about 10 s.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/table_outlier_width.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/table_outlier_width.py --quick   # 3 epochs, seeds 0-1

Measured (2026-11-29, shared 2-core machine): without scaling 312th of 569, with it
first; then (16,) ranks it 1, 27, 1, 1, 1;
(64,) 1, 1, 3, 218, 197; the default (256, 128) 188, 568, 418, 569, 499
(read from a float32 CSV instead, 333, 567, 456, 569, 537). Once scaled, the
planted cell (18.7 standard deviations of its column, which it widens) is
2 % of the data's sum of squares: a network with room to spare spends part
of its code on it and reconstructs it well.
"""

import argparse

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer

from aekit import Autoencoder


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 epochs per fit, seeds 0-1 (seconds)")
    args = parser.parse_args(argv)
    # the quick run checks that the script works; its ranks mean nothing
    first_epochs, epochs, seeds = (3, 3, range(2)) if args.quick else (30, None, range(5))
    torch.set_num_threads(1)
    X = load_breast_cancer().data
    small = int(np.argmin(X.std(axis=0)))
    X[7, small] = X[:, small].mean() + 30 * X[:, small].std()
    for scaling in ("none", "standard"):  # the README's first numbers: tests/test_scaling.py's settings
        ae = Autoencoder(n_components=4, hidden_layer_sizes=(16,), max_epochs=first_epochs, scaling=scaling,
                         random_state=0).fit(X)
        rank = int(np.flatnonzero(np.argsort(ae.score_samples(X)) == 7)[0]) + 1
        print(f"scaling={scaling!r}, (16,), {first_epochs} epochs, seed 0: rank of the planted row {rank} of "
              f"{len(X)}", flush=True)
    for layers in [(16,), (64,), (256, 128)]:
        ranks = []
        for seed in seeds:
            ae = Autoencoder(n_components=4, hidden_layer_sizes=layers, scaling="standard", random_state=seed,
                             **({} if epochs is None else {"max_epochs": epochs})).fit(X)
            ranks.append(int(np.flatnonzero(np.argsort(ae.score_samples(X)) == 7)[0]) + 1)
        print(f"hidden_layer_sizes={layers}: rank of the planted row over seeds 0-{seeds[-1]}: {ranks}",
              flush=True)


if __name__ == "__main__":
    main()
