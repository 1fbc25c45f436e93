"""Exploratory check (issue 5): the central-12x12-block completion imputer on HELD-OUT training images.

Reproduces benchmarks/complete.py's block scenario with ``--eval holdout``
(training images with a 12x12 block at a random place each; scored on the
last 1000 of the permuted training split with the central block missing;
the test images are never touched), trains one AutoencoderImputer and
scores it plain and with the given test-time flips. Used to choose the
benchmark's block settings. One thread.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/checks/block_heldout.py --epochs 14 [--n-train 20000] [--knn]
    OMP_NUM_THREADS=1 python benchmarks/checks/block_heldout.py --epochs 56 --practice fill \
        --extra 'optimizer="adamw",weight_decay=0.1'        # one of the benchmark's block imputers
    python benchmarks/checks/block_heldout.py --epochs 56 --practice fill --members 4 \
        --extra 'optimizer="adamw",weight_decay=0.1'        # the benchmark's ensemble (~45 min, 2 cores)
    OMP_NUM_THREADS=1 python benchmarks/checks/block_heldout.py --quick --knn   # seconds: checks that it runs

Measured (2026-11-29, 20000 training images, one thread, another job on the
other core), RMSE on the block's pixels; KNNImputer (k=10) 0.1753:

    U-Net (32, 64, 64), batch 16, lr 1e-3, 14 epochs   0.1562   312 s
    the same, 28 epochs (the previous choice)           0.1498   608 s
    the same, 56 epochs                                 0.1459  1161 s
    batch 32, lr 2e-3, 28 epochs                        0.1557   521 s
    lr 5e-4, 28 epochs                                  0.1497   621 s
    channels (32, 64, 128), 20 epochs                   0.1529   577 s
    MLP 1024-512 code 128, batch 64, 30 epochs          0.1721   195 s
    full-resolution stage added (*), 14 epochs          0.1508   615 s
    mean of two seeds' U-Nets (*), 14 epochs each       0.1542   595 s

(*) ad hoc variants, not in aekit: a U-Net with two 3x3 convolutions of 32
channels at full resolution before the first down-sampling and a merge
after the last up-sampling (2.1x the cost per sample); and two imputers
differing only in random_state, their fills averaged. Per second of
training neither beats the plain U-Net trained longer.

Practising on the holes to fill (``--practice fill``: ``fit(X,
patterns=np.isnan(X_in))``, so half of the practice holes are the held-out
images' central block, positions only), same data, one thread:

    --practice fill, 14 / 28 / 56 epochs (+)            0.1477 / 0.1447 / 0.1436
    --practice fill --extra 'optimizer="adamw",weight_decay=0.1', 28 epochs
                                                        0.1425   630 s
    the same, weight decay 0.03 / 0.3                   0.1436 / 0.1454
    the same, weight decay 0.1, 56 epochs (the
    benchmark's choice)                                 0.1401  1268 s  (0.799 x KNNImputer)
    central block only (**), 7 / 14 / 28 epochs         0.1520 / 0.1460 / 0.1472 (it overfits)
    central block only (**), weight decay 0.1, 28 ep.   0.1442
    weight decay 0.1, 112 epochs, random_state 0 / 1     0.1401 / 0.1393  2651 s each
    the mean of those two fills (++)                    0.1375  (0.784 x KNNImputer)
    the mean of three (those and the 56-epoch one)      0.1371
    --members 4, 56 epochs (the benchmark's ensemble;
    run after the test run, not used to choose)        0.1377  2679 s, 2 cores (0.786 x KNNImputer;
                                                        members alone 0.1403-0.1407)

(++) ad hoc: the two runs in separate processes (random_state 0 and 1),
their saved fills averaged, as ``--members 2`` does with seeds drawn from
``--seed`` (the benchmark's ImputerEnsemble). More epochs stopped helping
(56 and 112 epochs with random_state 0 both 0.1401); more members kept
helping, so the benchmark averages 4 imputers of 56 epochs. Also not
better, at 28 epochs with weight decay 0.1 (against 0.1425), ad hoc
augmentations of each training batch: a random left-right flip 0.1450 (and
averaging with the mirrored fill 0.1441), a random shift of up to 2 pixels
0.1477.

(+) measured with an equivalent pool before ``patterns`` existed: the
training holes plus 20 copies of the held-out holes, drawn uniformly (half
and half). (**) ad hoc: every practice hole the central one. Also not
better, practising on the training holes only (ad hoc variants, 14 epochs
unless said): a fully connected layer across the U-Net's coarsest stage
(context-encoder style) 0.1570; of 4 borrowed holes the one hiding the most
ink 0.1558; all 59000 training images for 10 epochs (the time of 28 epochs
on 20000) 0.1484, but KNNImputer on them gets 0.1689 (ratio 0.88).

(the MLP: ``--architecture mlp --channels 1024 512 --n-components 128
--batch-size 64 --epochs 30``). Averaging with the fill of the mirrored
image always hurt (0.1614 at 28 epochs): the shoes of Fashion-MNIST all
face left.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
torch.set_num_threads(1)

from complete import SIDE, block, with_nan  # noqa: E402
from sklearn.impute import KNNImputer  # noqa: E402

from aekit import AutoencoderImputer, ImputerEnsemble  # noqa: E402
from aekit.datasets import load_fashion_mnist  # noqa: E402
from aekit.metrics import rmse_on_mask  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--n-train", type=int, default=20000)
p.add_argument("--n-test", type=int, default=1000)
p.add_argument("--epochs", type=int, default=14)
p.add_argument("--architecture", default="unet")
p.add_argument("--n-components", type=int, default=32)
p.add_argument("--channels", type=int, nargs="+", default=[32, 64, 64])
p.add_argument("--batch-size", type=int, default=16)
p.add_argument("--learning-rate", type=float, default=1e-3)
p.add_argument("--pattern-level", type=float, default=1.0)
p.add_argument("--knn", action="store_true", help="also score KNNImputer (k=10) on the same images")
p.add_argument("--extra", default="", help="extra imputer params, k=v,k=v (python literals)")
p.add_argument("--practice", choices=("own", "fill"), default="own",
               help="own: practise on the training images' holes only; fill: also (half of the time) on the holes "
                    "to fill, fit(X, patterns=np.isnan(X_in)) as benchmarks/complete.py does")
p.add_argument("--members", type=int, default=1,
               help="ImputerEnsemble of this many imputers (seeds drawn from --seed), fitted in parallel processes")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--quick", action="store_true", help="200 training and 20 held-out images, 1 epoch (seconds)")
args = p.parse_args()
if args.quick:
    args.n_train, args.n_test, args.epochs = 200, 20, 1

data = load_fashion_mnist()
rng = np.random.default_rng(args.seed)
order = rng.permutation(len(data.X_train))
X_train = data.X_train[order[: args.n_train]]
X_test = data.X_train[order[-args.n_test:]]
train_holes, test_holes = block(len(X_train), rng), block(len(X_test))
X_fit, X_in = with_nan(X_train, train_holes), with_nan(X_test, test_holes)
if args.knn:
    tic = time.perf_counter()
    knn = KNNImputer(n_neighbors=10).fit(X_fit)
    print(f"KNNImputer RMSE {rmse_on_mask(X_test, knn.transform(X_in), test_holes):.4f} "
          f"({time.perf_counter() - tic:.0f} s)", flush=True)
extra = {k: eval(v) for k, v in (kv.split("=", 1) for kv in args.extra.split(",") if kv)}
est = AutoencoderImputer(args.n_components, hidden_layer_sizes=tuple(args.channels), architecture=args.architecture, image_shape=(SIDE, SIDE),
                         scaling="none", mask_input=True, corruption="pattern", corruption_level=args.pattern_level,
                         batch_size=args.batch_size, learning_rate=args.learning_rate, lr_schedule="cosine",
                         max_epochs=args.epochs, validation_fraction=0.05, n_iter_no_change=1000,
                         random_state=args.seed, device="cpu", **extra)
tic = time.perf_counter()
if args.members > 1:
    est = ImputerEnsemble(est, n_members=args.members, n_jobs=min(args.members, os.cpu_count() or 1),
                          random_state=args.seed)
if args.practice == "own":
    est.fit(X_fit)
else:
    est.fit(X_fit, patterns=np.isnan(X_in))
print(f"trained {args} in {time.perf_counter() - tic:.0f} s", flush=True)
plain = est.transform(X_in)
print(f"AutoencoderImputer RMSE {rmse_on_mask(X_test, plain, test_holes):.4f}", flush=True)
for i, member in enumerate(getattr(est, "estimators_", [])):
    print(f"  member {i} alone {rmse_on_mask(X_test, member.transform(X_in), test_holes):.4f}", flush=True)
# horizontal flip: fill the mirrored images, mirror back, average
flip = lambda A: A.reshape(-1, SIDE, SIDE)[:, :, ::-1].reshape(len(A), -1)  # noqa: E731
mirrored = flip(est.transform(flip(X_in)))
print(f"  mirrored only {rmse_on_mask(X_test, mirrored, test_holes):.4f}; "
      f"mean of both {rmse_on_mask(X_test, (plain + mirrored) / 2, test_holes):.4f}", flush=True)
