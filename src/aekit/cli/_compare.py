"""``aekit compare``: the autoencoder against PCA with the same code size."""

from __future__ import annotations

import logging
from pathlib import Path

from ._options import (add_common_arguments, add_data_arguments, add_estimator_arguments, check_output,
                       estimator_from_args, load_source, models)

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="autoencoder vs PCA: table and figure",
        description="Fit PCA and an autoencoder with the same --n-components on the same split; print the "
                    "test error per sample (squared errors summed over features, averaged over samples) and "
                    "fit times, and write results.md, results.json, figure.png (test images / autoencoder / "
                    "PCA) and loss_curve.png to --out.")
    add_data_arguments(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--model", default="autoencoder", choices=sorted(models()), help="which estimator")
    p.add_argument("--n-show", type=int, default=10, help="images per row in the figure (default: 10)")
    p.add_argument("--save-model", action="store_true", help="also save the trained model to OUT/model")
    add_common_arguments(p)
    add_estimator_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from .._atomic import atomic_directory
    from ..compare import compare_with_pca, format_table, write_comparison

    out = check_output(args.out, args.overwrite)
    if args.n_show < 1:
        raise ValueError(f"--n-show must be >= 1; got {args.n_show}.")
    data = load_source(args)
    if data.X_test.shape[0] == 0:
        raise ValueError(f"{data.name} has no test split; compare needs one (use --dataset or a split file).")
    estimator = estimator_from_args(args, args.model, data=data, verbose=not args.quiet)
    seed = estimator.random_state if isinstance(estimator.random_state, int) else 0
    result = compare_with_pca(estimator, data.X_train, data.X_test, random_state=seed)
    estimator.verbose = False
    with atomic_directory(out) as tmp:  # the whole result directory appears at once, or not at all
        paths = write_comparison(result, tmp, data.X_test, data.image_shape, estimator,
                                 dataset_description=data.description, n_show=args.n_show, seed=seed)
        if args.save_model:
            estimator.save(tmp / "model")
    print(format_table(result, data.description))
    for kind, path in paths.items():
        logger.info("wrote %s (%s)", out / path.name, kind)
    return 0
