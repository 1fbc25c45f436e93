"""``aekit sample``: new data drawn from a variational autoencoder's prior, as .npy and as an image grid."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from ._commands import HELP
from ._options import (a_kind, add_common_arguments, check_figure_output, check_image_shape,
                       check_image_shape_has_figure, check_output, write_figure)

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    s = sub.add_parser("sample", help=HELP["sample"],
                       description="Load MODEL_DIR (a model trained with aekit train --model variational), decode "
                                   "--n codes drawn from its prior N(0, I) and write them to --out (.npy, one row "
                                   "per sample, in the training data's units); --figure draws them as an image grid "
                                   "(image data).")
    s.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    s.add_argument("--n", type=int, default=64, metavar="N", help="number of samples (default: 64)")
    s.add_argument("--out", type=Path, required=True, help="output .npy file")
    s.add_argument("--figure", type=Path, metavar="PNG", help="also draw the samples as a near-square image grid")
    s.add_argument("--image-shape", type=int, nargs="+", metavar="N",
                   help="H W [C] of the images for --figure (default: the model's image_shape, else a square "
                        "grey image when the number of features is a square)")
    s.add_argument("--random-state", type=int, default=0, metavar="SEED",
                   help="seed of the codes drawn (default: 0, the same samples every run)")
    add_common_arguments(s)
    s.set_defaults(func=run)


def run(args) -> int:
    from .._atomic import save_npy
    from ..images import model_image_shape
    from ..persistence import load
    from ..plotting import image_rows

    out = check_output(args.out, args.overwrite, suffixes=(".npy",))
    if args.figure is not None:
        check_figure_output(args.figure, args.overwrite)
    if args.n < 1:
        raise ValueError(f"--n must be >= 1; got {args.n}.")
    if not 0 <= args.random_state < 2**32:  # numpy's seed range; its own message names no flag
        raise ValueError(f"--random-state must be in 0 .. 2**32 - 1; got {args.random_state}.")
    check_image_shape_has_figure(args, "the .npy holds one flat row per sample")
    estimator = load(args.model_dir)
    if not hasattr(estimator, "sample"):
        raise ValueError(f"{args.model_dir} holds {a_kind(estimator)}, which cannot draw new samples; "
                         "train one with aekit train --model variational.")
    shape = None
    if args.figure is not None:  # checked before the work, not after it
        shape = tuple(args.image_shape) if args.image_shape else model_image_shape(estimator)
        if shape is not None:
            shape = check_image_shape(shape, estimator.n_features_in_, "the model's features")
        if shape is None and math.isqrt(estimator.n_features_in_) ** 2 == estimator.n_features_in_:
            side = math.isqrt(estimator.n_features_in_)  # a square grey image, as the built-in data sets are
            shape = (side, side)
        if shape is None:
            raise ValueError(f"--figure needs image data; {args.model_dir} takes {estimator.n_features_in_} features "
                             f"and has no image_shape: pass --image-shape H W [C] with H*W*C = "
                             f"{estimator.n_features_in_}.")
    try:
        X = estimator.sample(args.n, random_state=args.random_state)
    except MemoryError:
        size = args.n * estimator.n_features_in_ * 4 / 2**30
        raise ValueError(f"--n {args.n}: {args.n} samples of {estimator.n_features_in_} features ({size:,.1f} GiB "
                         "as float32) do not fit in memory; draw fewer (another --random-state draws others)."
                         ) from None
    save_npy(out, X, replace=args.overwrite)
    logger.info("wrote %s: array of shape %s", out, X.shape)
    if args.figure is not None:
        cols = math.ceil(math.sqrt(args.n))
        rows = [("", X[i:i + cols]) for i in range(0, args.n, cols)]
        title = (f"{args.n} sample{'s' if args.n > 1 else ''} from {Path(args.model_dir).name} "
                 f"({type(estimator).__name__})")
        write_figure(image_rows(rows, shape, n_images=cols, title=title), args.figure, args.overwrite)
        logger.info("wrote %s", args.figure)
    return 0
