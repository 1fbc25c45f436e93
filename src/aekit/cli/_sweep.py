"""``aekit sweep``: the autoencoder against PCA at several code sizes."""

from __future__ import annotations

import logging
from pathlib import Path

from ._compare import _standardized
from ._options import (add_common_arguments, add_data_arguments, add_estimator_arguments, check_output,
                       estimator_from_args, hold_out, load_source, models, warn_if_scales_differ)

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="autoencoder vs PCA at several code sizes: table and figure",
        description="Fit PCA and an autoencoder at each code size given to --n-components (the other estimator "
                    "flags as for every size), on the same split, and write results.md, results.json and "
                    "errors.png (test error against code size, one line per method) to --out. The errors are "
                    "aekit compare's: squared errors summed over features, averaged over test samples.")
    add_data_arguments(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--n-components", dest="sweep_sizes", type=int, nargs="+", required=True, metavar="K",
                   help="the code sizes, e.g. --n-components 2 4 8 16 32")
    p.add_argument("--model", default="autoencoder", choices=sorted(models()), help="which estimator")
    p.add_argument("--standardize", action="store_true",
                   help="put every feature on zero mean and unit variance (the training split's) before both "
                        "methods; errors are then in standard deviations")
    p.add_argument("--test-fraction", type=float, default=0.2, metavar="F",
                   help="DATA without a test split (your own file): the fraction of its samples held out at "
                        "random for testing, seeded by --random-state (default: 0.2)")
    add_common_arguments(p)
    add_estimator_arguments(p, skip=("n_components",))
    p.set_defaults(func=run)


def run(args) -> int:
    from .._atomic import atomic_directory
    from ..sweep import _check_sizes, format_sweep, sweep_code_sizes, write_sweep

    out = check_output(args.out, args.overwrite)
    sizes = _check_sizes(args.sweep_sizes)  # refused before the data are read
    data = load_source(args)
    estimator = estimator_from_args(args, args.model, data=data, verbose=not args.quiet)
    seed = estimator.random_state if isinstance(estimator.random_state, int) else 0
    if data.X_test.shape[0] == 0:  # the user's own file: hold some of it out
        data = hold_out(args, data, seed)
    if args.standardize:
        data = _standardized(data)
    elif data.image_shape is None:
        warn_if_scales_differ(data.X_train, "--standardize compares both methods on standardised features")
    result = sweep_code_sizes(estimator, data.X_train, data.X_test, sizes, random_state=seed,
                              y_train=data.y_train, y_test=data.y_test)
    with atomic_directory(out) as tmp:  # the whole result directory appears at once, or not at all
        paths = write_sweep(result, tmp, estimator, dataset_description=data.description)
    print(format_sweep(result, data.description), end="")
    for kind, path in paths.items():
        logger.info("wrote %s (%s)", out / path.name, kind)
    return 0
