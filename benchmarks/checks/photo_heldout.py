"""Held-out selection of the natural-photograph denoiser (issue 5, benchmarks/denoise.py part 2).

Trains one denoising autoencoder on 32x32 (or --patch) patches of training
photographs at sigma = 25/255 and scores it, with the benchmark's
``denoise_image(est, noisy, stride=8, ensemble=True)``, on HELD-OUT
photographs that are neither training nor test photographs; non-local means
(the benchmark's rule: h from (0.6, 0.8, 1.0) x sigma picked on a crop of the
astronaut training photo, patch 7, distance 11, fast mode) is scored on the
same noisy images. The test photographs (camera, coins, moon, clock) are never
loaded here. One torch thread.

Held-out photographs (grey, noise seed 7 as in the benchmark):
chelsea (skimage, 300x451), grace_hopper (matplotlib's sample data, the
384x384 centre of 600x512) and china (scikit-learn's sample image, columns
80:560 of 427x640): a cat's fur, a portrait with a smooth background and
sharp uniform edges, a building in a landscape. The former held-out pair
(chelsea, a crop of cell) predicted the test badly (DAE above NLM by 0.6 and
1.6 dB there, below it on camera and coins); grace_hopper and china are
ordinary photographs like camera and coins, and with the former net they
show the test's pattern (below NLM on both).

Training photographs: ``--photos old`` is the benchmark's former
TRAIN_PHOTOS; ``--photos more`` adds flower (scikit-learn), the left view
of stereo_motorcycle, grass, gravel and cell (skimage): more ordinary
photographs (flower, motorcycle), textures, and a grey image with a flat
background (cell). The right view of stereo_motorcycle is used nowhere (a
near copy of the left one).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/checks/photo_heldout.py --arch unet --hidden 32 64 64 \
        --photos more --epochs 4 --n-patches 80000

``--quick`` (seconds, to check that it runs): 300 patches, 1 epoch, the
held-out photographs cut to their central 64x64. Each run appends one
record to ``--out`` (default benchmarks/results/photo_heldout.json,
photo_heldout_quick.json with ``--quick``; ``--nlm``
scores non-local means only). Measured, PSNR (dB) chelsea / grace_hopper /
china and training seconds (one thread, the other core busy)::

    non-local means (the benchmark's h rule, 0.6 sigma)              29.50 / 29.73 / 25.58
    former fully_conv 32/32 code 32, lr 2e-3, 8 photos, 80000 x 6 ep  30.28 / 29.23 / 21.85  268 s
    U-Net predicting the clean patch, 8 photos, 80000 x 4 epochs      30.66 / 30.13 / 24.31  340 s
    residual U-Net, 8 photos, 80000 x 4 epochs                        30.74 / 30.24 / 25.08  335 s
    residual U-Net, 13 photos, 80000 x 4 epochs                       30.83 / 30.43 / 25.22  340 s
    residual U-Net, 13 photos, 48x48 patches, 36000 x 4 epochs        30.74 / 30.22 / 25.18  328 s
    residual U-Net, 13 photos, 160000 x 4 epochs (chosen)             30.93 / 30.66 / 25.33  685 s
    residual U-Net, 13 photos, 160000 x 4 epochs, lr 2e-3             30.45 / 30.35 / 25.21  677 s
    wider residual U-Net 48/96/96, 13 photos, 80000 x 4 epochs        30.82 / 30.52 / 25.38  688 s

Commands: ``--nlm``; ``--arch fully_conv --hidden 32 32 --code 32 --lr 2e-3
--epochs 6 --photos old``; ``--direct --photos old``; ``--photos old``;
``--photos more``; ``--photos more --patch 48 --n-patches 36000``;
``--photos more --n-patches 160000`` (and ``--lr 2e-3``); ``--photos more
--hidden 48 96 96``; unet 32 64 64, 4 epochs, lr 1e-3 unless given.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from denoise import TRAIN_PHOTOS, photo_nlm  # noqa: E402
from denoise import _photo as photo  # noqa: E402

from aekit import DenoisingAutoencoder  # noqa: E402
from aekit.images import denoise_image, sample_patches  # noqa: E402
from aekit.metrics import psnr  # noqa: E402

# the benchmark's former TRAIN_PHOTOS; "more" is its TRAIN_PHOTOS now (these plus flower, motorcycle, grass, gravel,
# cell)
OLD = ("astronaut", "brick", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field", "retina", "colorwheel")
SIGMA = 25 / 255  # photo(name): grey in [0, 1]; skimage's by name, flower/china, grace_hopper, motorcycle
OUT = ROOT / "benchmarks" / "results" / "photo_heldout.json"


def held_out(crop=None):
    """``(name, clean, noisy)`` for each held-out photograph, the noise seeded (7) alike for every method.

    ``crop``: keep only the central ``crop x crop`` pixels (the quick run).
    """
    photos = {"chelsea": photo("chelsea"), "grace_hopper": photo("grace_hopper")[108:492, 64:448],
              "china": photo("china")[:, 80:560]}
    for name, clean in photos.items():
        if crop:
            top, left = (clean.shape[0] - crop) // 2, (clean.shape[1] - crop) // 2
            clean = np.ascontiguousarray(clean[top:top + crop, left:left + crop])
        yield name, clean, (clean + SIGMA * np.random.default_rng(7).standard_normal(clean.shape)).astype(np.float32)


def nlm_scores(crop=None):
    h, nlm = photo_nlm(SIGMA)  # the benchmark's rule
    out = {"h": h}
    for name, clean, noisy in held_out(crop):
        out[name] = round(psnr(clean.reshape(1, -1), np.clip(nlm(noisy), 0, 1).reshape(1, -1)), 2)
    return out


class _Direct(DenoisingAutoencoder):
    """The U-Net without the residual (for the comparison only)."""

    def _build_net(self, n_features):
        net = super()._build_net(n_features)
        net.residual = False
        return net


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nlm", action="store_true", help="score non-local means only")
    p.add_argument("--arch", default="unet", choices=("unet", "fully_conv"))
    p.add_argument("--hidden", type=int, nargs="+", default=[32, 64, 64])
    p.add_argument("--code", type=int, default=32, help="fully_conv code channels")
    p.add_argument("--direct", action="store_true",
                   help="unet: predict the clean patch instead of the noise (x_hat = net(x_tilde))")
    p.add_argument("--photos", default="old", choices=("old", "more"))
    p.add_argument("--patch", type=int, default=32)
    p.add_argument("--n-patches", type=int, default=80000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--no-ensemble", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="300 patches, 1 epoch, 64x64 crops of the held-out photos")
    p.add_argument("--out", type=Path, help="JSON file the record is appended to (default "
                   "benchmarks/results/photo_heldout.json, photo_heldout_quick.json with --quick)")
    args = p.parse_args(argv)
    crop = None
    if args.quick:
        args.n_patches, args.epochs, crop = 300, 1, 64
    torch.set_num_threads(1)
    record = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "loadavg": os.getloadavg()}
    if args.nlm:
        record["psnr"] = nlm_scores(crop)
    else:
        names = TRAIN_PHOTOS if args.photos == "more" else OLD
        X = sample_patches([photo(n) for n in names], (args.patch, args.patch), args.n_patches, seed=args.seed)
        cls = _Direct if args.direct else DenoisingAutoencoder
        est = cls(args.code, hidden_layer_sizes=tuple(args.hidden), architecture=args.arch, batch_size=args.batch,
                  learning_rate=args.lr, max_epochs=args.epochs, corruption="gaussian", corruption_level=SIGMA,
                  lr_schedule="cosine", validation_fraction=0.05, n_iter_no_change=1000, device="cpu",
                  random_state=args.seed, image_shape=(args.patch, args.patch))
        tic = time.perf_counter()
        est.fit(X)
        record["train_seconds"] = round(time.perf_counter() - tic, 1)
        record["val_loss"] = float(est.validation_scores_[-1]) if est.validation_scores_ else None
        record["psnr"] = {}
        tic = time.perf_counter()
        for name, clean, noisy in held_out(crop):
            den = np.clip(denoise_image(est, noisy, stride=8, ensemble=not args.no_ensemble), 0, 1)
            record["psnr"][name] = round(psnr(clean.reshape(1, -1), den.reshape(1, -1)), 2)
        record["denoise_seconds"] = round(time.perf_counter() - tic, 1)
    print(json.dumps(record), flush=True)
    out = args.out or (OUT.with_name("photo_heldout_quick.json") if args.quick else OUT)
    runs = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps(runs + [record], indent=1) + "\n")


if __name__ == "__main__":
    main()
