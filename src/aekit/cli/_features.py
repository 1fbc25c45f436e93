"""``aekit features``: the codes of a data file as features for another task, with sparsity diagnostics."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._commands import HELP
from ._options import (add_common_arguments, add_data_arguments, add_split_argument, check_columns,
                       check_has_code, check_image_size, check_output, chosen_split, load_source, write_figure)

logger = logging.getLogger("aekit.cli")

FILTERS_FIGURE = "filters.png"
HISTOGRAM_FIGURE = "activations.png"


def register(sub) -> None:
    p = sub.add_parser(
        "features", help=HELP["features"],
        description="Load MODEL_DIR, write the codes (transform) of DATA to --out (.npy) and print how sparse "
                    "they are: the mean fraction of active units per sample, the dead units (active on no "
                    "sample) and the mean |h|. With --figures DIR, also draw the learned filters (the first "
                    f"encoder layer's weights as images: {FILTERS_FIGURE}) and the histogram of code "
                    f"activations ({HISTOGRAM_FIGURE}).")
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    add_data_arguments(p)
    add_split_argument(p)
    p.add_argument("--out", type=Path, required=True, help="output .npy file for the codes")
    p.add_argument("--figures", type=Path, metavar="DIR", help="also write the filter grid and histogram here")
    p.add_argument("--image-shape", type=int, nargs="+", metavar="N",
                   help="H W [C] of the inputs for the filter grid, C 1 or 3 (default: the data's own, if known)")
    p.add_argument("--mmap", action="store_true",
                   help="memory-map a .npy DATA file (bool, integers, float32 or float64) and read it block by "
                        "block instead of loading it")
    add_common_arguments(p)
    p.set_defaults(func=run)


def _filter_shape(args, data, n_features: int):
    shape = tuple(args.image_shape) if args.image_shape else data.image_shape
    if shape is None:
        return None
    size = 1
    for s in shape:
        size *= s
    if not args.image_shape and size != n_features:  # the data's own shape: the data does not suit the model
        raise ValueError(f"the data's images are {'x'.join(map(str, shape))} ({size} values) but the model takes "
                         f"{n_features} features.")
    if len(shape) not in (2, 3) or size != n_features:
        raise ValueError(f"--image-shape must be H W [C] with H*W[*C] = {n_features} (the model's features); "
                         f"got {' '.join(map(str, shape))}.")
    if len(shape) == 3 and shape[2] not in (1, 3):  # filters are drawn grey or RGB; checked before any output
        if not args.image_shape:  # the data's own, e.g. RGBA images: no filter figure, the rest still works
            logger.info("no filter figure: the data's %s images are neither grey nor RGB; pass --image-shape "
                        "H W [1|3]", "x".join(map(str, shape)))
            return None
        raise ValueError(f"--image-shape must be H W, H W 1 or H W 3 (filters are drawn grey or RGB) with "
                         f"{n_features} values; got {' '.join(map(str, shape))}.")
    return shape


def format_diagnostics(stats: dict, n_units: int, threshold: float) -> str:
    """Human-readable lines for :func:`aekit.metrics.code_statistics` output."""
    return "\n".join([
        f"active units per sample: {stats['active_fraction']:.1%} (|h| > {threshold:g})",
        f"dead units (active on no sample): {stats['dead_units']} of {n_units}",
        f"mean |h|: {stats['mean_abs']:.4g}",
        f"mean h: {stats['mean_activation']:.4g}",
    ])


def run(args) -> int:
    from ..metrics._codes import CodeTally
    from ..persistence import load
    from ._blocks import output_block_rows, save_rows

    out = check_output(args.out, args.overwrite, suffixes=(".npy",))
    if args.image_shape and args.figures is None:
        raise ValueError("--image-shape shapes the filter grid of --figures; give --figures DIR too (the codes do "
                         "not depend on it).")
    figures = None
    if args.figures is not None:
        if args.figures.exists() and not args.figures.is_dir():
            raise NotADirectoryError(f"--figures {args.figures} exists and is not a directory.")
        figures = {name: check_output(args.figures / name, args.overwrite)
                   for name in (FILTERS_FIGURE, HISTOGRAM_FIGURE)}
    estimator = load(args.model_dir)
    check_has_code(estimator, args.model_dir)
    check_columns(args, estimator, args.model_dir)
    data = load_source(args, mmap=args.mmap)
    check_image_size(estimator, args.model_dir, data.image_shape, args.data or data.name)
    X = chosen_split(args, data)
    filters = figures and estimator.architecture == "mlp"  # a conv net has no per-unit filters over the input
    shape = _filter_shape(args, data, estimator.n_features_in_) if filters else None

    threshold = getattr(estimator, "activity_threshold_", 1e-6)
    tally = CodeTally(threshold)

    def encode(block):
        H = estimator.transform(block)  # (block, n_components)
        tally.add(H)
        return H

    # the codes computed, counted and written a block of rows at a time: neither a memory-mapped DATA nor its codes
    # are held whole
    n_samples, n_units = save_rows(out, encode, X, output_block_rows(estimator), args.overwrite)
    print(f"codes of {n_samples} sample{'' if n_samples == 1 else 's'}: {n_units} features -> {out}")
    print(format_diagnostics(tally.statistics(), n_units, threshold))
    if figures:
        from ..plotting import activation_histogram, filter_grid  # here: matplotlib takes half a second to import
        from ..sparse import encoder_filters

        args.figures.mkdir(parents=True, exist_ok=True)
        H = np.load(out, allow_pickle=False)  # the codes as written, (n_samples, n_components)
        write_figure(activation_histogram(H, threshold=threshold, title=f"code activations "
                                          f"({type(estimator).__name__}, {H.shape[0]} samples)"),
                     figures[HISTOGRAM_FIGURE], args.overwrite)
        logger.info("wrote %s", figures[HISTOGRAM_FIGURE])
        if estimator.architecture != "mlp":
            logger.info("no filter figure: the first layer of a %s network is a convolution, not one filter per "
                        "unit over the input", estimator.architecture)
        elif shape is None:
            if data.image_shape is None:  # (an unplottable shape of its own was reported by _filter_shape)
                logger.info("no filter figure: the data has no image shape; pass --image-shape H W")
        else:
            W = encoder_filters(estimator)
            # a pixel constant in the data (digits' corners, a border) never moves a unit: its weights are
            # left as initialised, and drawn black and white they read as learnt; drawn as 0, mid grey
            varies = _varies(X)
            title = f"first-layer filters ({min(len(W), 256)} of {len(W)})"
            if not varies.all():
                W = W * varies
                n = int((~varies).sum())
                title += f"; {n} pixel{'' if n == 1 else 's'} constant in the data drawn as 0"
            write_figure(filter_grid(W, shape, title=title), figures[FILTERS_FIGURE], args.overwrite)
            logger.info("wrote %s", figures[FILTERS_FIGURE])
    return 0


def _varies(X) -> np.ndarray:
    """Whether each column of X takes more than one value, a block of rows at a time (a memory map is not read
    whole)."""
    from .._memmap_io import row_blocks

    lo = hi = None
    for block in row_blocks(X):
        lo = block.min(axis=0) if lo is None else np.minimum(lo, block.min(axis=0))
        hi = block.max(axis=0) if hi is None else np.maximum(hi, block.max(axis=0))
    return hi > lo
