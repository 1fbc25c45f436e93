"""``aekit errors``: each sample's reconstruction error, the anomaly score of a model trained on normal data."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._commands import HELP
from ._options import (a_kind, add_common_arguments, add_data_arguments, add_image_shape_argument,
                       add_split_argument, check_columns, check_figure_output, check_image_shape_has_figure,
                       check_image_size, check_output, chosen_split, figure_shape, load_source, write_figure)

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    e = sub.add_parser("errors", help=HELP["errors"],
                       description="Load MODEL_DIR and write the reconstruction error of each sample of DATA (squared "
                                   "errors summed over features, = -score_samples; in the model's scaled units "
                                   "for a model trained with --scaling) to --out (.npy), and print their "
                                   "distribution and the samples with the largest: trained on normal data, an "
                                   "autoencoder reconstructs unusual samples worst. --figure draws the samples "
                                   "reconstructed worst and best, with their reconstructions (image data).")
    e.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    add_data_arguments(e)
    add_split_argument(e)
    e.add_argument("--out", type=Path, required=True,
                   help="output .npy file: one error per sample, in DATA's order (an image folder's: its files by "
                        "name)")
    e.add_argument("--top", type=int, default=5, metavar="K",
                   help="print the K samples with the largest errors (default: 5; an image folder's by file name)")
    e.add_argument("--figure", type=Path, metavar="PNG",
                   help="also draw the 10 samples with the largest errors and the 10 with the smallest, with their "
                        "reconstructions (image data)")
    add_image_shape_argument(e, "--figure")
    e.add_argument("--mmap", action="store_true",
                   help="memory-map a .npy DATA file (bool, integers, float32 or float64) and read it block by "
                        "block instead of loading it")
    add_common_arguments(e)
    e.set_defaults(func=run)


def run(args) -> int:
    from .._atomic import save_npy
    from ..evaluation import _in_unit_range, extreme_samples
    from ..images import model_image_shape
    from ..persistence import load

    out = check_output(args.out, args.overwrite, suffixes=(".npy",))
    if args.figure is not None:
        check_figure_output(args.figure, args.overwrite)
    check_image_shape_has_figure(args)
    if args.top < 0:
        raise ValueError(f"--top must be >= 0; got {args.top}.")
    estimator = load(args.model_dir)
    if not hasattr(estimator, "score_samples"):
        raise ValueError(f"{args.model_dir} holds {a_kind(estimator)}, which fills holes rather than "
                         "reconstructing rows; aekit evaluate scores it on hidden entries.")
    check_columns(args, estimator, args.model_dir)
    data = load_source(args, mmap=args.mmap)
    check_image_size(estimator, args.model_dir, data.image_shape, args.data or data.name)
    X = chosen_split(args, data)
    shape = None
    if args.figure is not None:  # checked before the work, not after it
        shape = figure_shape(data.image_shape or model_image_shape(estimator), X, data.name, given=args.image_shape)
    if getattr(estimator, "architecture", None) == "unet":
        logger.warning("%s holds a U-Net, which has no bottleneck (its skip connections carry the input past "
                       "it): its errors measure how much it denoises each sample, not how unusual the sample is",
                       args.model_dir)
    errors = -estimator.score_samples(X)
    save_npy(out, errors, replace=args.overwrite)
    if not args.quiet:
        # an image folder's rows are known by their files (DATA is used whole, in the files' order)
        print(summary(errors, args.top, *_row_names(args, data)))
        if estimator._scales():  # as evaluate says: not the squared differences of DATA and aekit reconstruct's output
            print(f"errors in the model's scaled units (scaling="
                  f"{getattr(estimator, 'scaling_', estimator.scaling)!r}), as its score")
    logger.info("wrote %s: array of shape %s", out, errors.shape)
    if args.figure is not None:
        from ..plotting import image_rows  # here: matplotlib takes half a second to import, for the figure only

        # a memory-mapped DATA comes in its file's dtype (uint8 pixels): drawn as the float32 it is to the model
        rows = [(label, images.astype(np.float32, copy=False)) for label, images in
                extreme_samples(estimator, X, errors=errors)]
        # the samples shown decide the grey scale, as in evaluate (not the whole of a memory-mapped X): pixels
        # stay on [0, 1] even where a reconstruction leaves it (else 'auto' stretched each column, black went grey)
        unit_range = _in_unit_range(np.concatenate([images for label, images in rows[::2]]))
        write_figure(image_rows(rows, shape, normalize="none" if unit_range else "joint",
                                title=f"{type(estimator).__name__} on {data.name}: the samples reconstructed worst "
                                      "and best"), args.figure, args.overwrite)
        logger.info("wrote %s", args.figure)
    return 0


def _row_names(args, data) -> tuple:
    """``(names, label)`` for :func:`summary`: an image folder's files (DATA is used whole, in the files' order);
    a CSV's rows as "row (line N)", the line a user finds them at (the rows count from 0, as in --out's array,
    while a CSV's errors name file lines); else ``(None, "row")``."""
    from ..datasets._csv import csv_data_lines

    if args.dataset:
        return None, "row"
    if data.sample_names is not None:
        return data.sample_names, "file"
    if Path(args.data).suffix.lower() == ".csv":
        return [f"{i} (line {line})" for i, line in enumerate(csv_data_lines(args.data))], \
            f"row (line in {Path(args.data).name})"
    return None, "row"


def summary(errors: np.ndarray, top: int, names=None, label: str | None = None) -> str:
    """The distribution of per-sample errors and the ``top`` largest, as printed by ``aekit errors``; ``names``
    (one per row: an image folder's files, a CSV's rows with their lines) label the largest instead of their row
    numbers, under ``label`` (default: "row", or "file" with ``names``)."""
    if errors.size == 0:
        return "no samples"
    q = np.quantile(errors, [0.5, 0.9, 0.99])
    lines = [f"{errors.size} samples: reconstruction error mean {errors.mean():.6g}, median {q[0]:.6g}, "
             f"90% {q[1]:.6g}, 99% {q[2]:.6g}, max {errors.max():.6g}"]
    order = np.argsort(-errors, kind="stable")[:top]
    if order.size:
        label = label or ("row" if names is None else "file")
        lines.append(f"largest ({label}: error): "
                     + ", ".join(f"{i if names is None else names[i]}: {errors[i]:.6g}" for i in order))
    return "\n".join(lines)
