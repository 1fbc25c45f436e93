"""``aekit sweep``: the autoencoder against PCA at several code sizes."""

from __future__ import annotations

import logging

from ._commands import HELP
from ._compare import add_comparison_arguments, comparison_setup
from ._flags import add_estimator_arguments
from ._options import add_common_arguments, add_data_arguments, check_results_dir

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help=HELP["sweep"],
        description="Fit PCA and an autoencoder at each code size given to --n-components (the other estimator "
                    "flags as for every size), on the same split, and write results.md, results.json and "
                    "errors.png (test error against code size, one line per method) to --out. The errors are "
                    "aekit compare's: squared errors summed over features, averaged over test samples.")
    add_data_arguments(p)
    add_comparison_arguments(p)
    p.add_argument("--n-components", dest="sweep_sizes", type=int, nargs="+", required=True, metavar="K",
                   help="the code sizes, e.g. --n-components 2 4 8 16 32")
    add_common_arguments(p)
    add_estimator_arguments(p, skip=("n_components",))
    # its own --n-components takes the sizes; the errors about them still name it as a flag (cli.main's as_flags)
    p.set_defaults(_estimator_flags={**p.get_default("_estimator_flags"), "n_components": "int"})
    p.set_defaults(func=run)


def run(args) -> int:
    from .._atomic import atomic_directory
    from ..sweep import _check_sizes, format_sweep, sweep_code_sizes, write_sweep

    out = check_results_dir(args.out, args.overwrite)
    sizes = _check_sizes(args.sweep_sizes)  # refused before the data are read
    data, estimator, seed = comparison_setup(args)
    result = sweep_code_sizes(estimator, data.X_train, data.X_test, sizes, random_state=seed,
                              y_train=data.y_train, y_test=data.y_test)
    # the whole result directory appears at once, or not at all; never onto another run's (without --overwrite)
    with atomic_directory(out, replace=args.overwrite) as tmp:
        paths = write_sweep(result, tmp, estimator, dataset_description=data.description)
    print(format_sweep(result, data.description), end="")
    for kind, path in paths.items():
        logger.info("wrote %s (%s)", out / path.name, kind)
    return 0
