"""Held-out check of the denoise benchmark's epoch budget (issue 5), on TRAINING images only.

The Fashion-MNIST Gaussian conv DAE's epochs were raised from 9 to 12 after a
full benchmark run had been scored on the test images. This script asks the
same question without the test images: train the benchmark's model
(``make_dae("conv", "gaussian", ...)``, ``level_power=2``) on all training
images but the last 600, and score it and BM3D (9 epochs run only) on 500 of
those held out (sigma 0.1 and 0.2). One thread; about 6-8 minutes per run.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/checks/denoise_epochs_heldout.py 9
    OMP_NUM_THREADS=1 python benchmarks/checks/denoise_epochs_heldout.py 12

Prints one JSON line; results of the runs: benchmarks/results/denoise_epochs_heldout.json.
"""
import sys, time, json, numpy as np, torch
ROOT = __import__('pathlib').Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'src')); sys.path.insert(0, str(ROOT / 'benchmarks'))
torch.set_num_threads(1)
import denoise as B
from aekit.datasets import load_fashion_mnist
from aekit.metrics import psnr
epochs = int(sys.argv[1])
data = load_fashion_mnist()
rng = np.random.default_rng(0)
hold = data.X_train[-600:-100]          # held-out TRAINING images (the last 100 tune the classical methods)
train = data.X_train[:-600]
args = B.main.__globals__['argparse'].Namespace(seed=0, conv_epochs=epochs, level_power=2.0, sp_epochs=6, mlp_epochs=2)
est = B.make_dae("conv", "gaussian", round(0.5 * 1.1, 3), args)
tic = time.perf_counter(); est.fit(train[rng.permutation(len(train))]); t = time.perf_counter() - tic
out = {"epochs": epochs, "train_s": round(t)}
for s in (0.1, 0.2):
    noisy = B.gaussian(hold, s, np.random.default_rng(5000 + int(s * 1000)))
    out[f"dae_{s}"] = psnr(hold, np.clip(est.denoise(noisy), 0, 1))
    if epochs == 9:
        out[f"bm3d_{s}"] = psnr(hold, np.clip(B._bm3d_mosaic(noisy.reshape(-1, 28, 28), s), 0, 1).reshape(len(hold), -1))
print(json.dumps(out), flush=True)
