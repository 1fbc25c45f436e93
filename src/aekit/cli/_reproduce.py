"""``aekit reproduce``: published experiments in one command."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ._commands import HELP
from ._flags import add_estimator_arguments
from ._options import add_common_arguments, check_results_dir, existing_path, one_line

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    from ..experiments import EXPERIMENTS
    from ..experiments.hinton2006 import DATASETS, FACE_LIGHTING, FACE_MIRROR, FRESH_PATCHES, recipe_defaults
    from ._train import add_checkpoint_arguments

    p = sub.add_parser(
        "reproduce", help=HELP["reproduce"],
        description="hinton2006: the deep autoencoder against PCA with 30-D codes of Hinton & Salakhutdinov "
                    "(Science, 2006). Trains the paper's network on --dataset within --budget-minutes of "
                    "wall-clock time, fits PCA on the same split, and writes to --out: figure.png (random "
                    "test images / autoencoder / PCA), results.md and results.json (test error per image, "
                    "the paper's numbers beside ours), loss_curve.png and params.json (every parameter used). "
                    "Estimator flags override the recipe (e.g. --activation sigmoid --pretraining rbm for the "
                    "paper's logistic units and RBM pretraining); --random-state seeds everything (default: 0).")
    p.add_argument("experiment", choices=sorted(EXPERIMENTS), help="which experiment")
    p.add_argument("--dataset", required=True, metavar="NAME",
                   help=f"one of {', '.join(DATASETS)} (digits: 8x8, offline, seconds)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--budget-minutes", type=float, default=30.0,
                   help="wall-clock budget for training the autoencoder, pretraining included (default: 30); "
                        "the epochs that fit in it vary from run to run: for a run that repeats exactly, also "
                        "pass --max-epochs N and an --lr-schedule other than constant, with a budget they fit in")
    p.add_argument("--data-dir", type=existing_path, help="where to look for the dataset's files first")
    p.add_argument("--pretraining-epochs", type=int, help="epochs per layer of greedy pretraining "
                   "(default: min(10, max_epochs))")
    p.add_argument("--fresh-patches", type=int, default=FRESH_PATCHES,
                   help=f"faces: new patches per epoch after the first, 0 for a fixed training set "
                        f"(default: {FRESH_PATCHES})")
    p.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=FACE_MIRROR,
                   help=f"faces: also draw fresh patches from mirrored training faces (default: {FACE_MIRROR})")
    p.add_argument("--lighting", type=float, default=FACE_LIGHTING, metavar="L",
                   help=f"faces: random contrast 1 +- L and brightness +- L/2 (pixels in [0, 1]) per fresh "
                        f"patch, 0 for none (default: {FACE_LIGHTING})")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="not faces: train on a random half of the images mirrored left-right, anew each epoch "
                        "(without a validation split) (default: for fashion-mnist only)")
    p.add_argument("--no-download", dest="download", action="store_false",
                   help="never download missing data files (default: download when online)")
    p.add_argument("--n-show", type=int, default=10, help="images per row in the figure (default: 10)")
    add_checkpoint_arguments(p)
    add_common_arguments(p)
    add_estimator_arguments(p, classes=[_autoencoder()], shown_defaults=recipe_defaults())
    p.set_defaults(func=run)


def _autoencoder():
    from .._base import Autoencoder

    return Autoencoder


def run(args) -> int:
    from ..experiments import hinton2006

    if args.dataset not in hinton2006.DATASETS:
        raise ValueError(f"--dataset must be one of {', '.join(hinton2006.DATASETS)}; got {args.dataset!r}.")
    if args.n_show < 1:
        raise ValueError(f"--n-show must be >= 1; got {args.n_show}.")
    if not args.budget_minutes > 0:
        raise ValueError(f"--budget-minutes must be > 0; got {args.budget_minutes}.")
    if args.pretraining_epochs is not None and args.pretraining_epochs < 1:
        raise ValueError(f"--pretraining-epochs must be >= 1; got {args.pretraining_epochs}.")
    if args.fresh_patches < 0:  # checked here too, to name the flags, and before the faces are read
        raise ValueError(f"--fresh-patches must be >= 0; got {args.fresh_patches}.")
    if not 0.0 <= args.lighting < 1.0:
        raise ValueError(f"--lighting must be in [0, 1); got {args.lighting}.")
    from ._train import _checkpoint_options, _start_over

    out = check_results_dir(args.out, args.overwrite)
    checkpoint_dir, every, resume = _checkpoint_options(args)
    specs = _autoencoder()._param_specs
    params = {name: (tuple(v) if isinstance(v, list) else v) for name, v in vars(args).items()
              if name in specs and name != "verbose"}
    _start_over(args)
    try:
        summary = hinton2006.run(args.dataset, out, budget_minutes=args.budget_minutes, params=params,
                                 pretraining_epochs=args.pretraining_epochs, fresh_patches=args.fresh_patches,
                                 data_dir=args.data_dir, download=args.download, mirror=args.mirror,
                                 lighting=args.lighting, flip=args.flip,
                                 seed=params.get("random_state") or 0, n_show=args.n_show,
                                 checkpoint_dir=checkpoint_dir, checkpoint_every=every, resume=resume,
                                 replace=args.overwrite)
    except FileNotFoundError as err:
        # the command line reports one line: keep where the files were looked for and how to get them
        raise FileNotFoundError(one_line(str(err))) from None
    print(summary["table"], end="")
    for kind, path in summary["paths"].items():
        logger.info("wrote %s (%s)", path, kind)
    return 0
