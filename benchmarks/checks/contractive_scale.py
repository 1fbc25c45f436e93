"""Exploratory check: does the useful ``contraction_weight`` scale like ``1 / n_features``?

The README once said so (the loss is a mean over features, the Jacobian norm
a sum over them). This trains ContractiveAutoencoder(784-256-16 shaped, 16
codes) on the first 3000 Fashion-MNIST training images average-pooled to
7x7, 14x14 and 28x28 pixels, with weights 0, 1e-3 and 1e-2, and prints the
test MSE per entry and the mean exact ||dh/dx||_F^2 on 1000 test images. One
thread, about 30 s.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/contractive_scale.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/contractive_scale.py --quick   # seconds

Measured (2026-11-29, shared 2-core machine): the plain autoencoder's norm
is 17.95 / 11.16 / 5.91 at 49 / 196 / 784 features; 1e-3 divides it by
4.0 / 4.1 / 3.8 and 1e-2 by 20 / 26 / 23. The same weight has about the same
effect at every size, where ``1 / n_features`` predicts a factor of 16
between 7x7 and 28x28: on images (neighbouring pixels alike) the useful
weight does not follow the number of features.
"""

import argparse

import numpy as np
import torch

from aekit.contractive import ContractiveAutoencoder, jacobian_norms
from aekit.datasets import load_fashion_mnist


def pooled(A: np.ndarray, f: int) -> np.ndarray:
    n, s = A.shape[0], 28 // f
    return A.reshape(n, s, f, s, f).mean(axis=(2, 4)).reshape(n, -1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 training and 100 test images, 2 epochs (seconds)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = load_fashion_mnist()
    n_train, n_test, epochs = (300, 100, 2) if args.quick else (3000, 1000, 15)
    X, T = data.X_train[:n_train], data.X_test[:n_test]
    for f in (4, 2, 1):
        Xf, Tf = pooled(X, f), pooled(T, f)
        for weight in (0.0, 1e-3, 1e-2):
            cae = ContractiveAutoencoder(n_components=16, hidden_layer_sizes=(256,), contraction_weight=weight,
                                         max_epochs=epochs, random_state=0).fit(Xf)
            print(f"{Xf.shape[1]:4d} features  weight {weight:<6g} test MSE/entry {-cae.score(Tf) / Xf.shape[1]:.5f}"
                  f"  mean ||dh/dx||^2 {jacobian_norms(cae, Tf).mean():.4g}", flush=True)


if __name__ == "__main__":
    main()
