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

Measured (2026-11-29, shared 2-core machine): without scaling 312th of 569, with it
first; then (16,) ranks it 1, 27, 1, 1, 1;
(64,) 1, 1, 3, 218, 197; the default (256, 128) 188, 568, 418, 569, 499
(read from a float32 CSV instead, 333, 567, 456, 569, 537). Once scaled, the
planted cell (18.7 standard deviations of its column, which it widens) is
2 % of the data's sum of squares: a network with room to spare spends part
of its code on it and reconstructs it well.
"""

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer

from aekit import Autoencoder


def main() -> None:
    torch.set_num_threads(1)
    X = load_breast_cancer().data
    small = int(np.argmin(X.std(axis=0)))
    X[7, small] = X[:, small].mean() + 30 * X[:, small].std()
    for scaling in ("none", "standard"):  # the README's first numbers: tests/test_scaling.py's settings
        ae = Autoencoder(n_components=4, hidden_layer_sizes=(16,), max_epochs=30, scaling=scaling,
                         random_state=0).fit(X)
        rank = int(np.flatnonzero(np.argsort(ae.score_samples(X)) == 7)[0]) + 1
        print(f"scaling={scaling!r}, (16,), 30 epochs, seed 0: rank of the planted row {rank} of {len(X)}", flush=True)
    for layers in [(16,), (64,), (256, 128)]:
        ranks = []
        for seed in range(5):
            ae = Autoencoder(n_components=4, hidden_layer_sizes=layers, scaling="standard", random_state=seed).fit(X)
            ranks.append(int(np.flatnonzero(np.argsort(ae.score_samples(X)) == 7)[0]) + 1)
        print(f"hidden_layer_sizes={layers}: rank of the planted row over seeds 0-4: {ranks}", flush=True)


if __name__ == "__main__":
    main()
