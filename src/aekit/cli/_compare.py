"""``aekit compare``: the autoencoder against PCA with the same code size."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._commands import HELP
from ._flags import add_estimator_arguments, estimator_from_args, models
from ._options import (add_common_arguments, add_data_arguments, check_pattern_has_holes, check_results_dir, hold_out,
                       load_source, warn_if_scales_differ)

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help=HELP["compare"],
        description="Fit PCA and an autoencoder with the same --n-components on the same split; print the "
                    "test error per sample (squared errors summed over features, averaged over samples) and "
                    "fit times, and write results.md, results.json, figure.png (test images / autoencoder / "
                    "PCA) and loss_curve.png to --out. The autoencoder's row is named by --model (e.g. "
                    "'sparse autoencoder').")
    add_data_arguments(p)
    add_comparison_arguments(p)
    p.add_argument("--n-show", type=int, default=10, help="images per row in the figure (default: 10)")
    p.add_argument("--save-model", action="store_true", help="also save the trained model to OUT/model")
    add_common_arguments(p)
    add_estimator_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from .._atomic import atomic_directory
    from ..compare import compare_with_pca, format_table, write_comparison
    from ..images import model_image_shape

    out = check_results_dir(args.out, args.overwrite)
    if args.n_show < 1:
        raise ValueError(f"--n-show must be >= 1; got {args.n_show}.")
    data, estimator, seed = comparison_setup(args)
    result = compare_with_pca(estimator, data.X_train, data.X_test, random_state=seed, y_train=data.y_train,
                              y_test=data.y_test)
    estimator.verbose = False
    # the whole result directory appears at once, or not at all; never onto another run's (without --overwrite)
    with atomic_directory(out, replace=args.overwrite) as tmp:
        # flat rows (a CSV of pixel columns) are drawn in the --image-shape given to the estimator
        shape = data.image_shape or model_image_shape(estimator)
        paths = write_comparison(result, tmp, data.X_test, shape, estimator,
                                 dataset_description=data.description, n_show=args.n_show, seed=seed,
                                 y_test=data.y_test, class_names=data.class_names)
        if args.save_model:
            estimator.save(tmp / "model")
    print(format_table(result, data.description))
    for kind, path in paths.items():
        logger.info("wrote %s (%s)", out / path.name, kind)
    if "figure" not in paths:  # the help promises figure.png: say why there is none
        logger.info("no figure.png: %s has no image shape (its rows are not images; --image-shape H W [C] draws "
                    "rows that are); the table and results.json compare the reconstructions", data.name)
    return 0


def add_comparison_arguments(p) -> None:
    """--out, --model, --standardize and --test-fraction: what ``compare`` and ``sweep`` share."""
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--model", default="autoencoder", choices=sorted(models()), help="which estimator")
    p.add_argument("--standardize", action="store_true",
                   help="put every feature on zero mean and unit variance (the training split's) before both "
                        "methods, as is usual for tables whose columns have different units; errors are then in "
                        "standard deviations")
    p.add_argument("--test-fraction", type=float, metavar="F",
                   help="DATA without a test split (your own file): the fraction of its samples held out at "
                        "random for testing, seeded by --random-state (default: 0.2)")


def comparison_setup(args):
    """The data (split, standardised if asked), the estimator and the seed of a comparison with PCA."""
    data = load_source(args)
    estimator = estimator_from_args(args, args.model, data=data, verbose=not args.quiet)
    check_pattern_has_holes(estimator, data)
    if any(np.isnan(X).any() for X in (data.X_train, data.X_test)):  # compare_with_pca's message names X_train
        raise ValueError(f"{data.name} has missing values (NaN or empty CSV cells); PCA and the autoencoder are "
                         "compared on complete data: fill them first with an imputer (aekit impute).")
    seed = estimator.random_state if isinstance(estimator.random_state, int) else 0
    if data.X_test.shape[0] == 0:  # the user's own file: hold some of it out
        data = hold_out(args, data, seed)
    elif args.test_fraction is not None:  # it was ignored
        raise ValueError(f"--test-fraction is for DATA without a test split; {data.name} has one "
                         f"({data.X_test.shape[0]} samples).")
    if args.standardize:
        data = _standardized(data)
    elif data.image_shape is None:  # pixels share their units; a table's columns may not
        warn_if_scales_differ(data.X_train, "--standardize compares both methods on standardised features")
    return data, estimator, seed


def _standardized(data):
    """``data`` with every feature centred and scaled by the training split's mean and std (constant ones kept)."""
    from .._scaling import scaled_float32
    from ..datasets import Dataset

    center = data.X_train.mean(axis=0, dtype=np.float64)
    scale = data.X_train.std(axis=0, dtype=np.float64)
    scale[~(scale > 1e-12)] = 1.0
    # a block of rows at a time into the float32 a Dataset holds: the whole expression held two float64 copies of X
    return Dataset(scaled_float32(data.X_train, center, scale), scaled_float32(data.X_test, center, scale),
                   data.y_train, data.y_test,
                   data.image_shape, data.name, f"{data.description}; features standardised with the training "
                   "split's mean and std (errors in standard deviations)", data.class_names)

