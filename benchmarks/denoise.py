"""Image denoising: denoising autoencoders against classical denoisers.

Part 1, Fashion-MNIST (pixels in [0, 1]): test images with additive Gaussian
noise (sigma in {0.1, 0.2, 0.3, 0.5}, not clipped) and salt-and-pepper noise
(10, 20, 30 % of the pixels set to 0 or 1), on the last 500 test images (the
first ones were looked at while the architecture was chosen). PSNR and SSIM
of the noisy input, scikit-image's non-local means, total variation
(Chambolle), wavelet shrinkage (needs PyWavelets), a median filter, BM3D
(only where the optional ``bm3d`` package is installed: its licence forbids
redistribution, so it is never a requirement of aekit) and aekit's denoising
autoencoders (MLP and fully convolutional).

Part 2, natural photographs (grey; scikit-image's bundled ones, plus
scikit-learn's flower): a residual U-Net denoising autoencoder trained on
32x32 patches of some photographs denoises whole other photographs by
overlapping patches, sigma = 25/255, against non-local means and BM3D.

Fairness. Each classical method's parameter (NLM's h, TV's weight, the
wavelet rule, the median size, BM3D's sigma for impulse noise) is picked per
noise setting from a small grid on noisy *training* images, never on the test
images; Gaussian methods are told the true sigma. BM3D runs on mosaics of
10x10 test images (one call per 100 images): faster than per image and, as
measured, stronger (it finds similar blocks across images). Every output is
clipped to [0, 1] before scoring. The autoencoders are "blind": one model per
noise type, trained with a noise level drawn per image uniformly up to a
little above the largest level tested (``random_level=True``), with a fixed
epoch budget (this machine has 2 shared CPU cores); the numbers are what that
budget buys, not the models' ceiling.

Usage::

    python benchmarks/denoise.py --quick     # seconds: checks that it runs
    python benchmarks/denoise.py --threads 1 # the benchmark (~30 min at one thread, 2 shared cores)
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
from scipy.ndimage import median_filter
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import aekit  # noqa: E402
from aekit import DenoisingAutoencoder  # noqa: E402
from aekit.datasets import load_fashion_mnist  # noqa: E402
from aekit.images import denoise_image, sample_patches  # noqa: E402
from aekit.metrics import psnr, ssim  # noqa: E402
from aekit.plotting import image_rows  # noqa: E402

try:
    import bm3d
except ImportError:  # optional, benchmark-only
    bm3d = None
try:
    import pywt  # noqa: F401  (scikit-image's wavelet denoiser needs PyWavelets)
    HAVE_PYWT = True
except ImportError:
    HAVE_PYWT = False

RESULTS = Path(__file__).resolve().parent / "results"
SHAPE = (28, 28)
# chosen with held-out photographs (chelsea, grace_hopper, china: benchmarks/checks/photo_heldout.py): the last
# five (flower is scikit-learn's, motorcycle the left view of skimage's stereo_motorcycle) were added there
TRAIN_PHOTOS = ("astronaut", "brick", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field", "retina",
                "colorwheel", "flower", "motorcycle", "grass", "gravel", "cell")
TEST_PHOTOS = ("camera", "coins", "moon", "clock")
DAE_PHOTO = "DAE"  # the photo denoiser's column
NATURAL_EPOCHS = 4  # with 160000 patches: about 11 minutes at one thread


# ------------------------------------------------------------------ noise
def gaussian(X, level, rng):
    return (X + level * rng.standard_normal(X.shape)).astype(np.float32)


def salt_and_pepper(X, level, rng):
    hit = rng.random(X.shape) < level
    return np.where(hit, (rng.random(X.shape) < 0.5).astype(np.float32), X).astype(np.float32)


NOISES = {"gaussian": gaussian, "salt_and_pepper": salt_and_pepper}


# ------------------------------------------------------ classical methods
def _nlm(img, h, sigma):
    return denoise_nl_means(img, h=h, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True)


def _bm3d_mosaic(images, sigma, side=10):
    """BM3D on mosaics of side x side images (one call per mosaic)."""
    n, h, w = images.shape
    out = np.empty_like(images)
    per = side * side
    for start in range(0, n, per):
        block = images[start:start + per]
        k = len(block)
        pad = np.zeros((per, h, w), dtype=images.dtype)
        pad[:k] = block
        mosaic = pad.reshape(side, side, h, w).transpose(0, 2, 1, 3).reshape(side * h, side * w)
        den = np.asarray(bm3d.bm3d(mosaic, sigma_psd=sigma), dtype=np.float32)
        out[start:start + k] = den.reshape(side, h, side, w).transpose(0, 2, 1, 3).reshape(per, h, w)[:k]
    return out


def classical_methods(noise, level):
    """name -> list of (setting label, fn(images (n, H, W)) -> images)."""
    s = level
    per_image = lambda f: (lambda imgs: np.stack([f(im) for im in imgs]))  # noqa: E731
    if noise == "gaussian":
        nlm = [(f"h={k}sigma", per_image(lambda im, k=k: _nlm(im, k * s, s))) for k in (0.6, 0.8, 1.0)]
        tv = [(f"weight={k}sigma", per_image(lambda im, k=k: denoise_tv_chambolle(im, weight=k * s)))
              for k in (0.25, 0.5, 1.0, 2.0)]
        wav = [(f"{m}", per_image(lambda im, m=m: denoise_wavelet(im, sigma=s, method=m, mode="soft",
                                                                   rescale_sigma=True)))
               for m in ("BayesShrink", "VisuShrink")]
        bm = [("sigma=true", lambda imgs: _bm3d_mosaic(imgs, s))]
    else:
        nlm = [(f"h={h}", per_image(lambda im, h=h: _nlm(im, h, 0.0))) for h in (0.1, 0.2, 0.3, 0.45)]
        tv = [(f"weight={w}", per_image(lambda im, w=w: denoise_tv_chambolle(im, weight=w)))
              for w in (0.05, 0.1, 0.2, 0.4)]
        wav = [(f"sigma={w}", per_image(lambda im, w=w: denoise_wavelet(im, sigma=w, method="BayesShrink",
                                                                        mode="soft", rescale_sigma=True)))
               for w in (0.1, 0.2, 0.3)]
        bm = [(f"sigma={w}", lambda imgs, w=w: _bm3d_mosaic(imgs, w)) for w in (0.2, 0.35)]
    methods = {
        "non-local means": nlm,
        "total variation": tv,
        "wavelet": wav,
        "median": [(f"size={k}", per_image(lambda im, k=k: median_filter(im, size=k))) for k in (3, 5)],
    }
    if not HAVE_PYWT:  # pip install PyWavelets for this baseline
        del methods["wavelet"]
    if bm3d is not None:
        methods["BM3D"] = bm
    return methods


def tune(settings, noisy_val, clean_val):
    """The setting with the best PSNR on the validation images."""
    if len(settings) == 1:
        return settings[0]
    scores = [psnr(clean_val, np.clip(fn(noisy_val), 0, 1).reshape(len(clean_val), -1)) for _, fn in settings]
    return settings[int(np.argmax(scores))]


# ------------------------------------------------------------ autoencoders
def make_dae(arch, noise, level, args, image_shape=SHAPE, epochs=None):
    """The benchmark's Fashion-MNIST autoencoders. Settings chosen on held-out training images: for Gaussian
    noise the wider conv net (64 channels, code 32) gained about 1 dB at sigma = 0.1 over 32/16 at the same
    epochs, and level_power=2 (weak noise drawn more often) another 0.46 dB there for 0.25 dB less at sigma =
    0.3-0.5 (20000 images, 3 epochs); salt and pepper needs no more than the small net."""
    common = dict(corruption=noise, corruption_level=level, random_level=True, lr_schedule="cosine",
                  validation_fraction=0.05, n_iter_no_change=1000, device="cpu", random_state=args.seed,
                  image_shape=image_shape)
    if arch == "conv" and noise == "gaussian":
        return DenoisingAutoencoder(32, hidden_layer_sizes=(64,), architecture="fully_conv", batch_size=16,
                                    learning_rate=1e-3, max_epochs=epochs or args.conv_epochs,
                                    level_power=args.level_power, **common)
    if arch == "conv":
        return DenoisingAutoencoder(16, hidden_layer_sizes=(32,), architecture="fully_conv", batch_size=32,
                                    learning_rate=2e-3, max_epochs=epochs or args.sp_epochs, **common)
    return DenoisingAutoencoder(512, hidden_layer_sizes=(1024,), architecture="mlp", batch_size=32,
                                learning_rate=1e-3, max_epochs=epochs or args.mlp_epochs, **common)


def make_photo_dae(sigma, args):
    """The natural-photograph denoiser: a residual U-Net (``architecture="unet"``, stages of 32, 64, 64 channels;
    it predicts the noise and subtracts it), trained for one noise level, learning rate 1e-3, cosine schedule.

    Chosen on held-out photographs (benchmarks/checks/photo_heldout.py, whose docstring has the table: chelsea,
    the centre of grace_hopper, a crop of china; never the test photographs): there it scored 30.93 / 30.66 /
    25.33 dB against 29.50 / 29.73 / 25.58 for non-local means and 30.28 / 29.23 / 21.85 for the former
    fully_conv net (685 s of training at one thread).

    The residual (predicting the noise) gained 0.1 dB on two photographs and 0.8 dB on china; the five added
    photographs 0.1-0.2 dB on each, twice the patches another 0.1-0.2 dB; wider context (48x48 patches, same
    pixels) did not help, nor did lr 2e-3; a wider net in the same time was 0.1 dB worse on two photographs,
    0.05 dB better on china and twice as slow to apply. china (a landscape with a building) stays 0.25 dB below
    non-local means, as the former net stayed below it on camera and coins: the margin over NLM is not clear on
    every held-out photograph. On the test photographs (scored once, after the choice) it beat NLM on all four:
    +0.49 (camera) to +1.93 dB (clock); re-run with mirrored border context (2026-11-30): +0.52 to +1.78 dB.
    """
    common = dict(batch_size=32, corruption="gaussian", corruption_level=sigma, lr_schedule="cosine",
                  validation_fraction=0.05, n_iter_no_change=1000, device="cpu", random_state=args.seed,
                  image_shape=(args.patch_size, args.patch_size))
    return DenoisingAutoencoder(args.natural_code, hidden_layer_sizes=tuple(args.natural_hidden),
                                architecture=args.natural_arch, learning_rate=args.natural_lr,
                                max_epochs=args.natural_epochs, **common)


def score(clean, estimate):
    return psnr(clean, estimate), ssim(clean, estimate, SHAPE)


# ------------------------------------------------------------------ parts
def fashion_part(args, results):
    data = load_fashion_mnist()
    rng = np.random.default_rng(args.seed)
    X_train = data.X_train[rng.permutation(len(data.X_train))[: args.n_train]]
    # the last test images: the first ones were looked at while the architecture was being chosen
    X_test = data.X_test[-args.n_test:]
    val = data.X_train[-args.n_val:]  # tuning images (training split, not seen by the scoring)
    levels = {"gaussian": args.sigmas, "salt_and_pepper": args.sp_levels}
    models = {}
    for noise, lv in levels.items():
        top = round(max(lv) * 1.1, 3)
        for arch in ("mlp", "conv"):
            est = make_dae(arch, noise, top if noise == "gaussian" else min(1.0, top), args)
            tic = time.perf_counter()
            est.fit(X_train)
            models[(noise, arch)] = est
            results["training"].append({"noise": noise, "architecture": arch, "levels": f"U[0, {top}]",
                                        "epochs": est.n_iter_, "n_train": len(X_train),
                                        "seconds": round(time.perf_counter() - tic, 1),
                                        "params": {k: v for k, v in est.get_params().items()
                                                   if k in ("n_components", "hidden_layer_sizes", "architecture",
                                                            "batch_size", "learning_rate", "max_epochs")}})
            if args.models:
                est.save(args.models / f"fashion_{noise}_{arch}")
            log(f"trained {arch} DAE for {noise}: {est.n_iter_} epochs, {time.perf_counter() - tic:.0f} s")
    figure_rows = None
    for noise, lv in levels.items():
        for level in lv:
            noisy = NOISES[noise](X_test, level, np.random.default_rng(1000 + int(level * 1000)))
            noisy_val = NOISES[noise](val, level, np.random.default_rng(2000 + int(level * 1000)))
            row = {"noise": noise, "level": level, "n_test": len(X_test), "methods": {}}
            p, s = score(X_test, np.clip(noisy, 0, 1))
            row["methods"]["noisy input"] = {"psnr": p, "ssim": s, "psnr_unclipped": psnr(X_test, noisy)}
            imgs = noisy.reshape(-1, *SHAPE)
            for name, settings in classical_methods(noise, level).items():
                tic = time.perf_counter()
                label, fn = tune(settings, noisy_val.reshape(-1, *SHAPE), val)
                t_tune = time.perf_counter() - tic
                tic = time.perf_counter()
                out = np.clip(fn(imgs), 0, 1).reshape(len(X_test), -1)
                p, s = score(X_test, out)
                row["methods"][name] = {"psnr": p, "ssim": s, "setting": label,
                                        "ms_per_image": 1000 * (time.perf_counter() - tic) / len(X_test),
                                        "tuning_seconds": round(t_tune, 1)}
                if name == "BM3D" or (name == "non-local means" and "BM3D" not in row["methods"]):
                    classical_best = out
            for arch in ("mlp", "conv"):
                est = models[(noise, arch)]
                tic = time.perf_counter()
                out = np.clip(est.denoise(noisy), 0, 1)
                p, s = score(X_test, out)
                row["methods"][f"DAE ({arch})"] = {"psnr": p, "ssim": s,
                                                   "ms_per_image": 1000 * (time.perf_counter() - tic) / len(X_test)}
            results["fashion_mnist"].append(row)
            log(format_row(row))
            if noise == "gaussian" and abs(level - args.figure_sigma) < 1e-9:
                figure_rows = [(f"noisy (sigma={level})", np.clip(noisy, 0, 1)),
                               ("DAE (conv)", np.clip(models[(noise, "conv")].denoise(noisy), 0, 1)),
                               ("BM3D" if bm3d is not None else "non-local means", classical_best),
                               ("clean", X_test)]
    return figure_rows


def _photo(name):
    """A grey photograph in [0, 1]: scikit-image's by name, or "flower" / "china" (scikit-learn's sample images),
    "grace_hopper" (matplotlib's sample data), "motorcycle" (the left view of skimage's stereo_motorcycle)."""
    import skimage.color
    import skimage.data

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        im = load_sample_image(f"{name}.jpg")
    elif name == "grace_hopper":
        import matplotlib.cbook
        import matplotlib.image

        im = matplotlib.image.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg"))
    elif name == "motorcycle":
        im = skimage.data.stereo_motorcycle()[0]
    else:
        im = getattr(skimage.data, name)()
    im = im[..., :3] if im.ndim == 3 else im
    return (skimage.color.rgb2gray(im) if im.ndim == 3 else im / 255.0).astype(np.float32)


def photo_nlm(sigma):
    """Non-local means for the photographs, ``(k, denoise)``: h = k * sigma with k from (0.6, 0.8, 1.0) picked on
    a noisy crop of the astronaut training photograph (noise seed 8); patch 7, distance 11, fast mode."""

    def nlm(im, k):
        return denoise_nl_means(im, h=k * sigma, sigma=sigma, patch_size=7, patch_distance=11, fast_mode=True)

    crop = _photo("astronaut")[:256, 128:384]
    noisy_crop = (crop + sigma * np.random.default_rng(8).standard_normal(crop.shape)).astype(np.float32)
    k = max((0.6, 0.8, 1.0), key=lambda k: psnr(crop.reshape(1, -1), np.clip(nlm(noisy_crop, k), 0, 1).reshape(1, -1)))
    return k, lambda im: nlm(im, k)


def natural_part(args, results):
    sigma = 25 / 255
    patch = (args.patch_size, args.patch_size)
    train_imgs = [_photo(n) for n in TRAIN_PHOTOS]
    X = sample_patches(train_imgs, patch, args.n_patches, seed=args.seed)
    est = make_photo_dae(sigma, args)
    tic = time.perf_counter()
    est.fit(X)
    train_s = time.perf_counter() - tic
    log(f"trained natural-image DAE ({args.natural_arch}): {est.n_iter_} epochs on {len(X)} patches, {train_s:.0f} s")
    if args.models:
        est.save(args.models / f"photos_gaussian_{args.natural_arch}")
    h, nlm = photo_nlm(sigma)
    out = {"sigma": sigma, "nlm_h": f"{h}sigma", "train_photos": list(TRAIN_PHOTOS), "n_patches": len(X),
           "patch": list(patch), "params": {k: v for k, v in est.get_params().items()
                                            if k in ("n_components", "hidden_layer_sizes", "architecture",
                                                     "batch_size", "learning_rate", "max_epochs")},
           "epochs": est.n_iter_, "train_seconds": round(train_s, 1), "stride": args.stride,
           "ensemble_8_flips_and_turns": not args.no_ensemble, "images": []}
    for name in TEST_PHOTOS[: args.n_photos]:
        clean = _photo(name)
        if args.photo_crop:
            top, left = (max(0, d - args.photo_crop) // 2 for d in clean.shape[:2])
            clean = np.ascontiguousarray(clean[top:top + args.photo_crop, left:left + args.photo_crop])
        noisy = (clean + sigma * np.random.default_rng(7).standard_normal(clean.shape)).astype(np.float32)
        flat = lambda a: a.reshape(1, -1)  # noqa: E731
        entry = {"image": name, "shape": list(clean.shape), "methods": {}}
        entry["methods"]["noisy input"] = {"psnr": psnr(flat(clean), flat(np.clip(noisy, 0, 1)))}
        runs = {"non-local means": lambda: nlm(noisy),
                DAE_PHOTO: lambda: denoise_image(est, noisy, stride=args.stride, ensemble=not args.no_ensemble)}
        if bm3d is not None:
            runs["BM3D"] = lambda: bm3d.bm3d(noisy, sigma_psd=sigma)
        for method, fn in runs.items():
            tic = time.perf_counter()
            den = np.clip(fn(), 0, 1)
            entry["methods"][method] = {"psnr": psnr(flat(clean), flat(den)),
                                        "ssim": ssim(flat(clean), flat(den), clean.shape),
                                        "seconds": round(time.perf_counter() - tic, 2)}
        out["images"].append(entry)
        log(f"{name}: " + ", ".join(f"{k} {v['psnr']:.2f}" for k, v in entry["methods"].items()))
    results["natural"] = out


def targets(results):
    """The issue's targets, measured: conv DAE >= best classical + 1 dB at every Gaussian sigma (Fashion-MNIST);
    the photo DAE above non-local means on every test photograph."""
    out = {}
    gauss = [r for r in results["fashion_mnist"] if r["noise"] == "gaussian"]
    if gauss:
        gaps = {}
        for r in gauss:
            m = r["methods"]
            best = max((k for k in m if k != "noisy input" and not k.startswith("DAE")), key=lambda k: m[k]["psnr"])
            gap = round(m["DAE (conv)"]["psnr"] - m[best]["psnr"], 2)
            gaps[str(r["level"])] = {"best_classical": best, "gap_db": gap}
        out["fashion_gaussian_conv_minus_best_classical_at_least_1dB"] = {
            "per_sigma": gaps, "met": all(g["gap_db"] >= 1.0 for g in gaps.values())}
    nat = results.get("natural")
    if nat:
        gaps = {e["image"]: round(e["methods"][DAE_PHOTO]["psnr"] - e["methods"]["non-local means"]["psnr"], 2)
                for e in nat["images"]}
        out["photos_dae_beats_nlm"] = {"dae_minus_nlm_db": gaps, "met": all(g > 0 for g in gaps.values())}
    return out


# ---------------------------------------------------------------- output
_T0 = time.perf_counter()


def log(msg):
    print(f"[{time.perf_counter() - _T0:6.0f} s] {msg}", file=sys.stderr, flush=True)


def format_row(row):
    return f"{row['noise']} {row['level']}: " + ", ".join(f"{k} {v['psnr']:.2f}" for k, v in row["methods"].items())


def markdown(results):
    lines = []
    rows = results["fashion_mnist"]
    if rows:
        methods = list(rows[0]["methods"])
        lines.append(f"Fashion-MNIST, last {rows[0]['n_test']} test images: PSNR (dB) / SSIM")
        lines.append("")
        lines.append("| noise | " + " | ".join(methods) + " | conv DAE - best classical |")
        lines.append("|---|" + "---|" * (len(methods) + 1))
        for r in rows:
            m = r["methods"]
            classical = [k for k in m if k != "noisy input" and not k.startswith("DAE")]
            best = max(m[k]["psnr"] for k in classical)
            label = f"Gaussian sigma={r['level']}" if r["noise"] == "gaussian" else f"salt & pepper {r['level']:.0%}"
            cells = [f"{m[k]['psnr']:.2f} / {m[k]['ssim']:.3f}" for k in methods]
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {m['DAE (conv)']['psnr'] - best:+.2f} dB |")
    nat = results.get("natural")
    if nat:
        lines.append("")
        lines.append(f"Natural photographs (grey), sigma = 25/255, DAE trained on {nat['n_patches']} "
                     f"{nat['patch'][0]}x{nat['patch'][1]} patches of {', '.join(nat['train_photos'])}: PSNR (dB)")
        lines.append("")
        methods = list(nat["images"][0]["methods"])
        lines.append("| image | " + " | ".join(methods) + " |")
        lines.append("|---|" + "---|" * len(methods))
        for e in nat["images"]:
            lines.append(f"| {e['image']} | " + " | ".join(f"{e['methods'][k]['psnr']:.2f}" for k in methods) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny run (seconds) to check the script works")
    p.add_argument("--n-test", type=int, default=500, help="Fashion-MNIST test images scored (default 500)")
    p.add_argument("--n-train", type=int, default=60000, help="training images for the DAEs (default 60000)")
    p.add_argument("--n-val", type=int, default=100, help="training images for tuning classical methods")
    p.add_argument("--conv-epochs", type=int, default=12, help="conv DAE epochs, Gaussian noise")
    p.add_argument("--level-power", type=float, default=2.0,
                   help="conv DAE, Gaussian noise: training levels 0.55 * u**p (p > 1: weak noise more often)")
    p.add_argument("--sp-epochs", type=int, default=6, help="conv DAE epochs, salt-and-pepper noise")
    p.add_argument("--mlp-epochs", type=int, default=2)
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.5])
    p.add_argument("--sp-levels", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    p.add_argument("--figure-sigma", type=float, default=0.3)
    p.add_argument("--no-natural", action="store_true", help="skip the natural-image part")
    p.add_argument("--no-fashion", action="store_true", help="skip the Fashion-MNIST part")
    p.add_argument("--patch-size", type=int, default=32)
    p.add_argument("--n-patches", type=int, default=160000, help="photo DAE training patches")
    p.add_argument("--natural-arch", default="unet", choices=("unet", "fully_conv"),
                   help="photo DAE architecture (fully_conv: the former net, with --natural-hidden 32 32 "
                        "--natural-lr 2e-3 --natural-epochs 6)")
    p.add_argument("--natural-epochs", type=int, default=NATURAL_EPOCHS)
    p.add_argument("--natural-hidden", type=int, nargs="+", default=[32, 64, 64], help="photo DAE stage channels")
    p.add_argument("--natural-code", type=int, default=32, help="photo DAE code channels (fully_conv only)")
    p.add_argument("--natural-lr", type=float, default=1e-3, help="photo DAE learning rate")
    p.add_argument("--n-photos", type=int, default=len(TEST_PHOTOS))
    p.add_argument("--stride", type=int, default=8)
    p.add_argument("--photo-crop", type=int, help="score only the central N x N pixels of each test photo "
                   "(default: all; --quick: 128)")
    p.add_argument("--no-ensemble", action="store_true",
                   help="photo DAE: one pass instead of the average over the 8 flips and quarter turns")
    p.add_argument("--models", type=Path, help="also save the trained models in this folder")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/denoise.json)")
    args = p.parse_args(argv)
    if args.quick:
        args.n_test, args.n_train, args.n_val = 20, 500, 10
        args.conv_epochs = args.sp_epochs = args.mlp_epochs = args.natural_epochs = 1
        args.sigmas, args.sp_levels, args.n_patches, args.n_photos = [0.1, 0.5], [0.2], 500, 1
        args.figure_sigma, args.photo_crop = 0.5, args.photo_crop or 128  # the quick run draws its figure too
    out = args.out or RESULTS / ("denoise_quick.json" if args.quick else "denoise.json")
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    results = {"benchmark": "denoise", "quick": args.quick, "args": {k: str(v) for k, v in vars(args).items()},
               "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": args.threads,
                           "loadavg_start": os.getloadavg(),
                           "note": "2 CPU cores shared with other jobs; timings are indicative only"},
               "versions": {"aekit": aekit.__version__, "torch": torch.__version__,
                            "bm3d": getattr(bm3d, "__version__", "installed") if bm3d else None},
               "training": [], "fashion_mnist": []}
    tic = time.perf_counter()
    fig_rows = None if args.no_fashion else fashion_part(args, results)
    if not args.no_natural:
        natural_part(args, results)
    results["targets"] = targets(results)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["total_seconds"] = round(time.perf_counter() - tic, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if fig_rows is not None:
        image_rows(fig_rows, SHAPE, path=out.with_suffix(".png"), n_images=10, normalize="none")
    print(markdown(results))
    print(f"\nwrote {out} ({results['total_seconds']:.0f} s, load average {results['machine']['loadavg_start']})")


if __name__ == "__main__":
    main()
