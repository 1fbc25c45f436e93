"""``aekit train-denoiser``, ``denoise`` and ``inpaint``: image files of any size through patch models."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from ._commands import HELP
from ._flags import add_estimator_arguments, estimator_from_args
from ._options import (a_kind, add_common_arguments, check_model_dir, check_no_data_dir, check_output, existing_path,
                       json_safe)

logger = logging.getLogger("aekit.cli")

#: train-denoiser's choices where the user gives no flag: a small fully convolutional net.
TRAIN_DEFAULTS = {
    "architecture": "fully_conv",
    "hidden_layer_sizes": (32,),
    "n_components": 16,
    "batch_size": 64,
    "learning_rate": 2e-3,
    "lr_schedule": "cosine",
    "max_epochs": 20,
}


def register(sub) -> None:
    from ..datasets import DATASETS
    from ..denoising import DenoisingAutoencoder
    from ..impute import AutoencoderImputer
    from ._train import add_checkpoint_arguments

    t = sub.add_parser(
        "train-denoiser", help=HELP["train-denoiser"],
        description="Train a denoising autoencoder on patches of clean images (a folder of PNG/JPEG/TIFF/BMP/WebP "
                    "files, or --dataset) corrupted with --corruption at --corruption-level, and save it to --out. "
                    "Unless given, the net is fully convolutional: --architecture fully_conv "
                    "--hidden-layer-sizes 32 --n-components 16 --max-epochs 20. metrics.json holds the "
                    "PSNR of noisy and denoised held-out patches. With --checkpoint-dir the training state is "
                    "saved as it goes, and on SIGINT/SIGTERM/SIGUSR1; --resume continues it exactly.")
    t.add_argument("data", nargs="?", metavar="DIR", type=Path,
                   help="folder of clean images (PNG, JPEG, TIFF, BMP, WebP)")
    t.add_argument("--dataset", choices=sorted(DATASETS), help="a named image dataset instead of DIR")
    t.add_argument("--data-dir", type=existing_path, help="where to look for the dataset's files first")
    t.add_argument("--out", type=Path, required=True, help="model directory to write")
    t.add_argument("--patch-size", type=int, help="side of the square training patches (default: 16 for a "
                                                  "folder, the whole image for a dataset)")
    t.add_argument("--n-patches", type=int, default=20000, help="training patches (default: 20000)")
    t.add_argument("--color", action="store_true", help="train on RGB patches (default: grey)")
    t.add_argument("--model", default="denoising", choices=("denoising", "imputer"),
                   help="denoising (default) or imputer (for inpaint)")
    t.add_argument("--practice-mask", type=Path, metavar="MASK",
                   help="with --model imputer --corruption pattern: a PNG of the patch's size whose white pixels are "
                        "the hole to practise on (the hole you will fill)")
    add_checkpoint_arguments(t)
    add_common_arguments(t)
    add_estimator_arguments(t, classes=[DenoisingAutoencoder, AutoencoderImputer],
                            shown_defaults={k: repr(v) for k, v in TRAIN_DEFAULTS.items()})
    t.set_defaults(func=run_train_denoiser)

    d = sub.add_parser(
        "denoise", help=HELP["denoise"],
        description="Denoise each image IN (PNG, JPEG, TIFF, BMP or WebP files, or folders of them) with MODEL by "
                    "overlapping patches of the model's size averaged back together; write DIR/<name> for each.")
    d.add_argument("model_dir", type=Path, metavar="MODEL")
    d.add_argument("inputs", type=Path, nargs="+", metavar="IN")
    d.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    d.add_argument("--stride", type=int, help="step between patches, at most the patch side (default: a quarter of it)")
    d.add_argument("--ensemble", action="store_true",
                   help="also denoise the 8 flips and quarter turns and average them (8x the time; for natural "
                        "photographs about +0.15 dB)")
    add_common_arguments(d)
    d.set_defaults(func=run_denoise)

    i = sub.add_parser(
        "inpaint", help=HELP["inpaint"],
        description="Fill the pixels of IMAGE that are white (> 50%) in MASK with MODEL (an imputer, or a "
                    "denoiser trained with masking noise), by overlapping patches; observed pixels are kept.")
    i.add_argument("model_dir", type=Path, metavar="MODEL")
    i.add_argument("image", type=Path, metavar="IMAGE")
    i.add_argument("--mask", type=Path, required=True, help="PNG of the image's size; white = missing")
    i.add_argument("--out", type=Path, required=True, help="output image (.png, .jpg, .tif, .bmp, .webp)")
    i.add_argument("--stride", type=int, help="step between patches, at most the patch side (default: a quarter of it)")
    add_common_arguments(i)
    i.set_defaults(func=run_inpaint)


# ------------------------------------------------------------ train-denoiser
def _training_patches(args):
    """(patches, image_shape, description) from DIR or --dataset."""
    from ..datasets._files import image_files
    from ..images import IMAGE_KINDS, read_image, sample_patches

    if args.n_patches < 1:
        raise ValueError(f"--n-patches must be >= 1; got {args.n_patches}.")
    if args.patch_size is not None and args.patch_size < 2:
        raise ValueError(f"--patch-size must be >= 2; got {args.patch_size}.")
    if (args.data is None) == (args.dataset is None):
        raise ValueError("give either DIR (a folder of clean images) or --dataset NAME.")
    check_no_data_dir(args, "DIR")
    if args.dataset is not None:
        from ..datasets import load_dataset

        data = load_dataset(args.dataset, data_dir=args.data_dir)
        if data.image_shape is None:
            raise ValueError(f"dataset {args.dataset!r} has no image shape.")
        if args.color and (len(data.image_shape) != 3):
            raise ValueError(f"--color: dataset {args.dataset!r} is grey.")
        X = data.X_train
        if args.patch_size is None:
            n = min(args.n_patches, len(X))
            idx = np.random.default_rng(0).permutation(len(X))[:n]
            return X[idx], tuple(data.image_shape), data.description
        images = X.reshape(-1, *data.image_shape)
        side = (args.patch_size, args.patch_size)
        return sample_patches(images, side, args.n_patches), (*side, *data.image_shape[2:]), data.description
    folder = args.data
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder of images.")
    files = image_files(folder)
    if not files:
        raise FileNotFoundError(f"{folder} holds no {IMAGE_KINDS} image.")
    mode = "rgb" if args.color else "grey"
    images = [read_image(p, mode=mode) for p in files]
    side = args.patch_size or 16
    patches = sample_patches(images, (side, side), args.n_patches)  # refuses images all smaller than a patch
    small = [p.name for p, im in zip(files, images) if min(im.shape[:2]) < side]
    if small:  # sample_patches skips them: they were counted among the training images without a word
        logger.warning("%d of the %d images in %s are smaller than the %dx%d patches and give none: %s", len(small),
                       len(files), folder, side, side, ", ".join(small[:3]) + (", ..." if len(small) > 3 else ""))
    shape = (side, side, 3) if args.color else (side, side)
    return patches, shape, f"{len(files) - len(small)} images in {folder} ({mode})"


def _practice_holes(args, estimator, shape) -> np.ndarray | None:
    """The --practice-mask hole as a flat bool row of the patches' layout, or None; clear errors."""
    from ..images import read_image

    pattern = args.model == "imputer" and estimator.corruption == "pattern"
    if args.practice_mask is None:
        if pattern:
            raise ValueError("--corruption pattern hides the holes of other training samples, and clean training "
                             "images have none: give --practice-mask HOLE.png (white = missing, the patch's size) "
                             "or use --corruption masking.")
        return None
    if not pattern:
        raise ValueError("--practice-mask needs --model imputer --corruption pattern.")
    hole = read_image(args.practice_mask, mode="grey") > 0.5
    if hole.shape != tuple(shape[:2]):
        raise ValueError(f"--practice-mask {args.practice_mask} is {hole.shape[1]}x{hole.shape[0]} pixels but the "
                         f"patches are {shape[1]}x{shape[0]}; the mask must have the patch's size.")
    if not hole.any():
        raise ValueError(f"--practice-mask {args.practice_mask} marks no pixel as missing (white = missing).")
    channels = shape[2] if len(shape) == 3 else 1
    return np.repeat(hole[:, :, None], channels, axis=2).reshape(-1)


def _held_out_psnr(estimator, X: np.ndarray, holes: np.ndarray | None = None) -> dict:
    import torch

    from ..impute import AutoencoderImputer
    from ..metrics import psnr
    from ..observed import pattern_corruption

    corrupt = estimator._make_corruption() if holes is None else pattern_corruption(~holes[None, :], 1.0)
    g = torch.Generator().manual_seed(0)
    lo, hi = float(X.min()), float(X.max())
    data_range = (hi - lo) or 1.0
    if isinstance(estimator, AutoencoderImputer):  # an imputer fills NaNs: the entries the corruption hides
        hidden = corrupt(torch.ones(X.shape), g).numpy() == 0
        noisy = np.where(hidden, 0.0, X)
        denoised = np.clip(estimator.transform(np.where(hidden, np.nan, X)), lo, hi)
    else:
        noisy = corrupt(torch.from_numpy(X), g).numpy()
        denoised = np.clip(estimator.denoise(noisy), lo, hi)
    noisy = np.clip(noisy, lo, hi)
    # a patch the noise left unchanged (masking on black) has an infinite PSNR, which made the mean inf:
    # those patches are not scored, and their number is reported
    changed = ((noisy - X) ** 2).reshape(len(X), -1).sum(axis=1) > 0
    if not changed.any():
        changed[:] = True
    return {"psnr_noisy": psnr(X[changed], noisy[changed], data_range),
            "psnr_denoised": psnr(X[changed], denoised[changed], data_range), "n_held_out": int(len(X)),
            "n_unchanged_by_noise": int((~changed).sum())}


def run_train_denoiser(args) -> int:
    from ..checkpoint import checkpointing
    from ..compare import draw_loss_curve
    from ..persistence import save
    from ._train import _checkpoint_options, _epochs_run, _start_over

    out = check_model_dir(args.out, args.overwrite)
    if "image_shape" in vars(args):
        raise ValueError("train-denoiser sets image_shape from the patches; use --patch-size instead.")
    checkpoint_dir, every, resume = _checkpoint_options(args)
    patches, shape, description = _training_patches(args)
    overrides = {k: v for k, v in TRAIN_DEFAULTS.items() if k not in vars(args)}
    estimator = estimator_from_args(args, args.model, image_shape=shape, verbose=not args.quiet, **overrides)
    holes = _practice_holes(args, estimator, shape)
    n_held = min(500, len(patches) // 10)
    train, held = patches[n_held:], patches[:n_held]
    logger.info("training %s on %s: %d patches of %s (%d more held out), %s noise at %g", type(estimator).__name__,
                description.rstrip("."), len(train), "x".join(map(str, shape)), n_held, estimator.corruption,
                estimator.corruption_level)
    _start_over(args)
    with checkpointing(estimator, checkpoint_dir, every, resume):  # a TrainingInterrupted: cli.main reports it
        if holes is None:
            estimator.fit(train)
        else:
            estimator.fit(train, patterns=holes)
    estimator.verbose = False
    metrics = {"data": description, "epochs": estimator.n_iter_, "fit_seconds": estimator.fit_time_,
               "final_loss": estimator.loss_curve_[-1]}
    if holes is not None:
        metrics["practice_mask"] = str(args.practice_mask)
    if n_held:
        psnrs = _held_out_psnr(estimator, held, holes)
        metrics.update(json_safe(psnrs))

    def extras(directory: Path) -> None:
        (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        draw_loss_curve(estimator, directory / "loss_curve.png")

    save(estimator, out, extras=extras, replace=args.overwrite)
    trained = f"{_epochs_run(estimator)}, {estimator.fit_time_:.1f} s"
    if n_held:
        logger.info("saved %s: held-out PSNR %.2f dB noisy -> %.2f dB denoised; %s", out, psnrs["psnr_noisy"],
                    psnrs["psnr_denoised"], trained)
    else:
        logger.info("saved %s; %s", out, trained)
    return 0


# ------------------------------------------------------------------- denoise
def _expand_inputs(paths) -> list[Path]:
    from ..datasets._files import image_files
    from ..images import IMAGE_KINDS, IMAGE_SUFFIXES

    files = []
    for p in paths:
        if p.is_dir():
            found = image_files(p)
            if not found:
                raise FileNotFoundError(f"{p} holds no {IMAGE_KINDS} image.")
            files += found
        elif not p.is_file():
            raise FileNotFoundError(f"{p}: no such image file or folder.")
        elif p.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"{p} is not a {IMAGE_KINDS} file (by its suffix: one of {sorted(IMAGE_SUFFIXES)}).")
        else:
            files.append(p)
    return files


def _check_stride_flag(args, model=None) -> None:
    if args.stride is not None and args.stride < 1:
        raise ValueError(f"--stride must be >= 1; got {args.stride}.")
    if model is not None and args.stride is not None:
        from ..images import model_patch_shape

        side = min(model_patch_shape(model)[:2])
        if args.stride > side:  # the pixels between patches were written black
            raise ValueError(f"--stride must be at most the model's patch side ({side}); got {args.stride}, which "
                             "would leave pixels that no patch covers.")


def run_denoise(args) -> int:
    from ..images import (IMAGE_SUFFIXES, check_model_image, denoise_image, model_patch_shape, output_bit_depth,
                          read_alpha, read_image, write_image)
    from ..persistence import load

    if args.out.suffix.lower() in IMAGE_SUFFIXES and not args.out.is_dir():  # would be made a folder of that name
        raise ValueError(f"--out is the folder the denoised images are written to, each under its own name; got "
                         f"{args.out}, an image file's name: give a folder, e.g. --out denoised/.")
    model = load(args.model_dir)
    if not hasattr(model, "reconstruct"):
        raise ValueError(f"{args.model_dir} holds {a_kind(model)}, which fills holes (aekit inpaint); "
                         "it does not denoise.")
    model_patch_shape(model)
    _check_stride_flag(args, model)
    files = _expand_inputs(args.inputs)
    if args.out.exists() and not args.out.is_dir():
        raise NotADirectoryError(f"--out {args.out} exists and is not a folder.")
    targets = [args.out / f.name for f in files]
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"several inputs are named {dup[0]!r}; they would write the same output file.")
    for t in targets:
        check_output(t, args.overwrite)
    images = []
    for f in files:  # read and check everything before writing anything
        image, bits = read_image(f, return_bit_depth=True)
        check_model_image(model, image, str(f))
        images.append((image, bits))
    for k, (f, (image, bits), t) in enumerate(zip(files, images, targets)):  # a 16-bit grey PNG stays 16-bit
        # a large photograph takes a minute (eight with --ensemble): say which one is under way
        logger.info("denoising %s (%dx%d%s%s) ...", f, image.shape[1], image.shape[0],
                    ", 8 flips and turns" if args.ensemble else "", f", image {k + 1} of {len(files)}"
                    if len(files) > 1 else "")
        tic = time.perf_counter()
        write_image(t, denoise_image(model, image, stride=args.stride, ensemble=args.ensemble),
                    bit_depth=output_bit_depth(t, image, bits), replace=args.overwrite,
                    alpha=read_alpha(f))  # the model sees colour alone; transparency is kept as it was
        logger.info("wrote %s (%.1f s)", t, time.perf_counter() - tic)
    return 0


# ------------------------------------------------------------------- inpaint
def _check_fills_holes(model, model_dir) -> None:
    """Refuse a model that never learnt to fill holes: the zeros put into them come back about as zeros."""
    from ..ensemble import ImputerEnsemble
    from ..impute import AutoencoderImputer

    if isinstance(model, (AutoencoderImputer, ImputerEnsemble)) or getattr(model, "corruption", None) == "masking":
        return
    # a gaussian denoiser filled a moon photograph's holes with near-black: 16 times the error of their mean
    how = f"with {model.corruption} noise" if hasattr(model, "corruption") else "without masking noise"
    raise ValueError(f"{model_dir} holds {a_kind(model)} trained {how}, which never learnt to fill holes; "
                     "aekit inpaint needs an imputer (aekit train-denoiser --model imputer) or a denoiser trained "
                     "with --corruption masking.")


def run_inpaint(args) -> int:
    from ..images import (IMAGE_SUFFIXES, check_model_image, inpaint_image, output_bit_depth, read_alpha, read_image,
                          write_image)
    from ..persistence import load

    out = check_output(args.out, args.overwrite)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"--out must end in one of {sorted(IMAGE_SUFFIXES)}; got {out}.")
    _check_stride_flag(args)
    model = load(args.model_dir)
    _check_fills_holes(model, args.model_dir)
    _check_stride_flag(args, model)
    image, bits = read_image(args.image, return_bit_depth=True)
    check_model_image(model, image, str(args.image))
    mask = read_image(args.mask, mode="grey") > 0.5
    if mask.shape != image.shape[:2]:
        raise ValueError(
            f"--mask {args.mask} is {mask.shape[1]}x{mask.shape[0]} pixels but {args.image} is "
            f"{image.shape[1]}x{image.shape[0]}; the mask must have the image's size."
        )
    if not mask.any():
        raise ValueError(f"--mask {args.mask} marks no pixel as missing (white = missing).")
    if mask.all():  # the model's guess from nothing was written as the filled image
        raise ValueError(f"--mask {args.mask} marks every pixel as missing, which leaves nothing to fill from "
                         "(white = missing; an inverted mask?).")
    if mask.mean() > 0.5:
        logger.warning("--mask %s marks %.0f%% of the pixels as missing (white = missing; an inverted mask?)",
                       args.mask, 100 * mask.mean())
    holed = image.copy()
    holed[mask] = np.nan
    logger.info("filling %s pixels of %s (%dx%d) ...", f"{int(mask.sum()):,}", args.image, image.shape[1],
                image.shape[0])
    tic = time.perf_counter()
    completed = inpaint_image(model, holed, stride=args.stride)
    write_image(out, completed, bit_depth=output_bit_depth(out, image, bits), replace=args.overwrite,
                alpha=read_alpha(args.image))
    logger.info("wrote %s (%.1f s)", out, time.perf_counter() - tic)
    return 0
