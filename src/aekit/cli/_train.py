"""``aekit train``, ``encode`` and ``reconstruct``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np

from ._blocks import output_block_rows, save_rows
from ._commands import HELP
from ._flags import (add_estimator_arguments, as_flags, check_flags_apply, chosen_params, estimator_from_args, flag_of,
                     models)
from ._options import (a_kind, add_common_arguments, add_data_arguments, add_split_argument, check_columns,
                       check_has_code, check_image_size, check_model_dir, check_no_empty_column, check_output,
                       check_pattern_has_holes, chosen_split, csv_columns, hold_out, json_safe, load_source,
                       warn_if_scales_differ)

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    p = sub.add_parser("train", help=HELP["train"],
                       description="Train an autoencoder on DATA or --dataset and save the model directory "
                                   "(weights, parameters, metrics.json, loss_curve.png). With --checkpoint-dir "
                                   "the training state is saved as it goes, and on SIGINT/SIGTERM/SIGUSR1 (exit "
                                   "130/143/138); --resume continues it exactly. If training diverges (NaN/inf "
                                   "loss) the last "
                                   "good epoch's weights are saved to --out (nothing if the first epoch diverges) "
                                   "and the exit status is 3.")
    add_data_arguments(p)
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--model", default="autoencoder", choices=sorted(models()), help="which estimator")
    add_checkpoint_arguments(p)
    p.add_argument("--mmap", action="store_true",
                   help="memory-map a .npy DATA file (bool, integers, float32 or float64) and stream it batch by "
                        "batch instead of loading it: for data larger than memory (other files are read as usual)")
    p.add_argument("--warm-start", type=Path, metavar="MODEL_DIR", dest="warm_start_from",
                   help="train this saved model further on DATA (fine-tuning, or more epochs) instead of a new "
                        "one: its parameters, updated by the flags given (--max-epochs, --learning-rate, ...; "
                        "not those that shape the network)")
    p.add_argument("--test-fraction", type=float, metavar="F",
                   help="DATA without a test split (your own file): hold out this fraction of its rows at random "
                        "(seeded by --random-state) and report their error in metrics.json")
    add_common_arguments(p)
    add_estimator_arguments(p)
    p.set_defaults(func=run_train)

    for name, what in (("encode", "codes (transform)"), ("reconstruct", "reconstructions")):
        q = sub.add_parser(name, help=HELP[name],
                           description=f"Load MODEL_DIR and write the {what} of DATA to --out (.npy).")
        q.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
        add_data_arguments(q)
        add_split_argument(q)
        q.add_argument("--out", type=Path, required=True, help="output .npy file")
        q.add_argument("--mmap", action="store_true",
                       help="memory-map a .npy DATA file (bool, integers, float32 or float64) and read it block by "
                            "block instead of loading it")
        add_common_arguments(q)
        q.set_defaults(func=run_apply, method="transform" if name == "encode" else "reconstruct")

    d = sub.add_parser("decode", help=HELP["decode"],
                       description="Load MODEL_DIR and write the data its decoder makes of the codes in CODES "
                                   "(inverse_transform; one code per row, as aekit encode writes them) to --out "
                                   "(.npy): rows of the model's features, in DATA's units.")
    d.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    d.add_argument("codes", type=Path, metavar="CODES", help="the codes: a .npy, .npz or .csv of one code per row")
    d.add_argument("--out", type=Path, required=True, help="output .npy file")
    add_common_arguments(d)
    d.set_defaults(func=run_decode)


def _metrics(estimator, data) -> dict:
    import torch

    metrics = {
        "train_error_per_sample": -estimator.score(data.X_train),
        "n_train": int(data.X_train.shape[0]),
        "epochs": estimator.n_iter_,
        "best_epoch": estimator.best_epoch_,
        "fit_seconds": estimator.fit_time_,
        "final_loss": estimator.loss_curve_[-1] if estimator.loss_curve_ else None,
        "torch_threads": torch.get_num_threads(),  # conv nets' results differ between thread counts
    }
    if data.X_test.shape[0]:
        metrics["test_error_per_sample"] = -estimator.score(data.X_test)
        metrics["n_test"] = int(data.X_test.shape[0])
    if hasattr(estimator, "diagnostics"):  # e.g. sparsity of a SparseAutoencoder's codes
        metrics.update(estimator.diagnostics())
    return metrics


def add_checkpoint_arguments(p) -> None:
    """--checkpoint-dir, --checkpoint-every and --resume (read back by :func:`_checkpoint_options`)."""
    p.add_argument("--checkpoint-dir", type=Path, metavar="DIR",
                   help="save the training state to DIR/checkpoint.safetensors as training goes")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="epochs between checkpoints (default: 1); also saved at the end and on SIGINT/SIGTERM/SIGUSR1")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in --checkpoint-dir (if there is one); same flags and data")


def _checkpoint_options(args) -> tuple:
    """(directory, every, resume) from the flags; an old checkpoint without --resume needs --overwrite, and is
    cleared by :func:`_start_over` once the command is about to train (not before its data and flags are checked:
    a typo would lose it)."""
    from .._atomic import check_parents
    from ..checkpoint import CHECKPOINT_FILE

    every = 1 if args.checkpoint_every is None else args.checkpoint_every
    if args.checkpoint_dir is None:
        if args.resume or args.checkpoint_every is not None:
            raise ValueError("--resume and --checkpoint-every need --checkpoint-dir DIR.")
        return None, every, False
    if every < 1:
        raise ValueError(f"--checkpoint-every must be >= 1; got {every}.")
    if args.checkpoint_dir.resolve().is_relative_to(args.out.resolve()):
        raise ValueError(f"--checkpoint-dir {args.checkpoint_dir} is inside --out {args.out}: saving the model "
                         "replaces that whole directory; put the checkpoints beside it.")
    old = args.checkpoint_dir / CHECKPOINT_FILE
    check_parents(old)  # before the work, not when the first checkpoint is written after an epoch of it
    if old.exists() and not args.resume and not args.overwrite:
        raise FileExistsError(f"{old} exists; pass --resume to continue it or --overwrite to start over.")
    return args.checkpoint_dir, every, args.resume


def _start_over(args) -> None:
    """Remove the old checkpoint on --overwrite without --resume, right before training starts."""
    from ..checkpoint import CHECKPOINT_FILE

    if args.checkpoint_dir is None or args.resume or not args.overwrite:
        return
    old = args.checkpoint_dir / CHECKPOINT_FILE
    if old.exists():
        old.unlink(missing_ok=True)  # under torchrun every rank gets here: another may have removed it just now
        logger.info("removed the old checkpoint %s (--overwrite)", old)


def _save_model(estimator, data, out, replace=True, **more) -> dict:
    from ..persistence import save
    from ..compare import draw_loss_curve

    # a saved model should neither draw progress bars nor (after --warm-start) keep training when refitted
    estimator.set_params(verbose=False, warm_start=False)
    metrics = json_safe(_metrics(estimator, data))
    metrics["dataset"] = data.description
    metrics.update(more)

    def extras(directory: Path) -> None:
        (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        if estimator.loss_curve_:
            draw_loss_curve(estimator, directory / "loss_curve.png")

    save(estimator, out, extras=extras, replace=replace)
    return metrics


def run_train(args) -> int:
    """Train and save; under ``torchrun`` every rank trains its share and rank 0 writes."""
    from .. import distributed

    with distributed.session() as is_parallel:
        if is_parallel and not distributed.is_main_process():
            logging.getLogger("aekit").setLevel(logging.ERROR)  # one rank reports and warns (all see the same)
        return _train(args, distributed.is_main_process())


def _train(args, main_process: bool) -> int:
    from ..checkpoint import checkpointing  # a TrainingInterrupted is reported by cli.main
    from ..training import TrainingDivergedError

    out = check_model_dir(args.out, args.overwrite)
    checkpoint_dir, every, resume = _checkpoint_options(args)
    data = load_source(args, mmap=args.mmap)
    if isinstance(data.X_train, np.memmap) and not data.X_train.flags.c_contiguous:
        data = _rows_contiguous(data, args.data)
    check_no_empty_column(args, data)
    if args.warm_start_from is None:
        estimator = estimator_from_args(args, args.model, data=data, verbose=not args.quiet)
    else:
        estimator = _warm_estimator(args)
    streamed = isinstance(data.X_train, np.memmap)
    if not streamed:
        check_pattern_has_holes(estimator, data)
    if args.test_fraction is not None:
        data = _held_out(args, data, estimator, streamed)
    if data.image_shape is None and estimator.scaling == "none":  # the imputer scales by default
        warn_if_scales_differ(data.X_train, "pass --scaling standard (the model then standardises its inputs)"
                              if args.warm_start_from is None else  # which keeps the model's scaling
                              "train a new model with --scaling standard (--warm-start keeps scaling 'none')")
    logger.info("training %s on %s: %d samples x %d features%s", type(estimator).__name__, data.name,
                *data.X_train.shape, " (memory-mapped, streamed)" if streamed else "")
    _start_over(args)
    try:
        with checkpointing(estimator, checkpoint_dir, every, resume):
            estimator.fit(data.X_train)
    except TrainingDivergedError as err:
        if not main_process:
            return 3
        kept = f" Nothing was saved to {out}: no epoch finished."  # the error's "weights were kept": in memory
        if estimator.n_iter_ >= 1:  # keep the last good weights on disk
            _save_model(estimator, data, out, replace=args.overwrite, diverged=str(err), **_columns(args))
            kept = f" The weights of epoch {estimator.n_iter_} were saved to {out}."
        print(f"aekit {args.command}: error: {as_flags(str(err), args._estimator_flags)}{kept}", file=sys.stderr)
        return 3
    if not main_process:
        return 0
    if out.exists() and not args.overwrite:  # checked at the start; since then another job wrote it
        kept = "" if checkpoint_dir is None else (f"; {checkpoint_dir} holds this training: the same command with "
                                                 "another --out and --resume saves it there without training again")
        raise FileExistsError(f"{out} was written by something else while this run trained (two jobs with the same "
                              f"--out?); it is not replaced without --overwrite{kept}.")
    more = _columns(args)
    if args.warm_start_from is not None:
        more["warm_start_from"] = str(args.warm_start_from)
    try:
        metrics = _save_model(estimator, data, out, replace=args.overwrite, **more)
    except KeyboardInterrupt:  # Ctrl-C or a scheduler's SIGTERM while measuring and saving: no model written
        if checkpoint_dir is not None:
            print(f"aekit {args.command}: stopped before {out} was saved; the checkpoint in {checkpoint_dir} holds "
                  "the finished training: the same command plus --resume saves the model without training again.",
                  file=sys.stderr)
        raise
    def shown(value):  # json_safe turned a NaN/inf error into None
        return "n/a" if value is None else f"{value + 0.0:.6g}"  # + 0.0: no "-0" for a negative zero

    msg = f"saved {out}: train error {shown(metrics['train_error_per_sample'])}"
    if "test_error_per_sample" in metrics:
        msg += f", test error {shown(metrics['test_error_per_sample'])}"
    logger.info("%s per sample; %s, %.1f s%s", msg, _epochs_run(estimator), estimator.fit_time_,
                "" if checkpoint_dir is None else f"; checkpoint in {checkpoint_dir}")
    return 0


def _columns(args) -> dict:
    """``{"columns": names}`` for a CSV DATA with a header, recorded in metrics.json so that the commands using
    the model refuse a table with its columns in another order (``check_columns``); else ``{}``."""
    names = csv_columns(getattr(args, "data", None))
    return {} if names is None else {"columns": names}


def _epochs_run(estimator) -> str:
    """"90 of 300 epochs (weights of epoch 85 kept)": whether training stopped early, and which weights were saved."""
    n, best = estimator.n_iter_, estimator.best_epoch_
    text = f"{n} of {estimator.max_epochs} epochs" if n < estimator.max_epochs else f"{n} epoch{'s' * (n != 1)}"
    if 0 < best < n and estimator.validation_scores_:  # the trainer put back the best validation weights
        text += f" (weights of epoch {best}, the best on validation, kept)"
    return text


def _warm_estimator(args):
    """The model in ``--warm-start``, its parameters updated by the flags given, set to train further."""
    from ..persistence import load

    estimator = load(args.warm_start_from)
    check_columns(args, estimator, args.warm_start_from)
    name = getattr(type(estimator), "_cli_name", None)
    if not hasattr(estimator, "net_") or models().get(name) is not type(estimator):
        raise ValueError(f"--warm-start {args.warm_start_from} holds {a_kind(estimator)}, which aekit "
                         "train cannot train further; train a new model instead.")
    if args.model not in ("autoencoder", name):  # "autoencoder" is --model's default: not given, or the same
        raise ValueError(f"--model {args.model} but --warm-start {args.warm_start_from} holds an "
                         f"{type(estimator).__name__} (--model {name}); leave --model out.")
    given = chosen_params(args, name)
    before = estimator.get_params(deep=False)
    trained_with = estimator.__dict__.get("scaling_", "none") if estimator._scales_inputs else before["scaling"]
    if given.get("scaling", trained_with) != trained_with:
        raise ValueError(f"--scaling {given['scaling']} but {args.warm_start_from} was trained with scaling "
                         f"{trained_with!r}, which --warm-start keeps; leave --scaling out, or train a new model.")
    shaping = []
    for key, value in given.items():  # one at a time: which of the changed flags would make another network
        if value != before[key]:
            estimator.set_params(**{key: value})
            try:
                estimator._check_params()
                estimator._check_net_matches_params("")
            except ValueError:
                shaping.append(f"{flag_of(key)} (the model has {before[key]!r})")
            estimator.set_params(**{key: before[key]})
    if shaping:
        raise ValueError(f"--warm-start trains the network of {args.warm_start_from} further, so the flags that "
                         f"shape it cannot change: {', '.join(shaping)}; leave them out, or train a new model.")
    estimator.set_params(**given, warm_start=True, verbose=not args.quiet)
    estimator._check_params()
    check_flags_apply(estimator, given)
    return estimator


def _rows_contiguous(data, path):
    """``data`` with its Fortran-ordered memory map read whole as float32: training draws batches of random rows,
    and each row of such a file is spread over the whole file (inference, row blocks in order, streams it)."""
    from dataclasses import replace

    logger.warning("%s is Fortran-ordered: each of its rows is spread over the whole file, which every training "
                   "batch of random rows would then read, so it is read whole into memory (%.3g MB as float32) to "
                   "train, not streamed. For data larger than memory, convert it to C order once, a block of "
                   "rows at a time (numpy.lib.format.open_memmap)", path, data.X_train.size * 4 / 1e6)
    X = np.ascontiguousarray(data.X_train, dtype=np.float32)
    return replace(data, X_train=X, X_test=X[:0])


def _held_out(args, data, estimator, streamed):
    """``data`` with ``--test-fraction`` of its rows held out, the same on every rank (seeded by the estimator)."""
    if data.X_test.shape[0]:
        raise ValueError(f"--test-fraction is for DATA without a test split; {data.name} has one "
                         f"({data.X_test.shape[0]} samples).")
    if streamed:
        raise ValueError("--test-fraction needs DATA in memory; with --mmap, keep the test rows in a file of "
                         "their own and measure them with aekit evaluate MODEL_DIR TEST.npy.")
    return hold_out(args, data, estimator.random_state if isinstance(estimator.random_state, int) else 0)


def run_decode(args) -> int:
    from ..datasets import load_array
    from ..persistence import load

    out = check_output(args.out, args.overwrite, suffixes=(".npy",))
    estimator = load(args.model_dir)
    check_has_code(estimator, args.model_dir)  # an imputer or an ensemble of them, a U-Net: no code to decode
    codes, _ = load_array(args.codes)  # a 3-D/4-D array comes flattened, as a code map from encode would be
    try:  # decoded and written a block of rows at a time: the output may be far larger than the codes
        shape = save_rows(out, estimator.inverse_transform, codes, output_block_rows(estimator), args.overwrite)
    except ValueError as err:  # sklearn's checks name the array "Z": say which file
        raise ValueError(f"{args.codes}: {err}") from None
    logger.info("wrote %s: array of shape %s", out, shape)
    return 0


def run_apply(args) -> int:
    from ..persistence import load

    out = check_output(args.out, args.overwrite, suffixes=(".npy",))
    estimator = load(args.model_dir)
    if not hasattr(estimator, "net_"):  # an ImputerEnsemble: no code, no reconstruction
        raise ValueError(f"{args.model_dir} holds {a_kind(estimator)}, which only fills holes (aekit "
                         "impute for tables, aekit inpaint for images); it has no code or reconstruction.")
    if args.method == "transform":
        check_has_code(estimator, args.model_dir)
    check_columns(args, estimator, args.model_dir)
    data = load_source(args, mmap=args.mmap)
    check_image_size(estimator, args.model_dir, data.image_shape, args.data or data.name)
    X = chosen_split(args, data)
    # computed and written a block of rows at a time: neither a memory-mapped DATA nor the output is held whole
    shape = save_rows(out, getattr(estimator, args.method), X, output_block_rows(estimator), args.overwrite)
    logger.info("wrote %s: array of shape %s", out, shape)
    return 0
