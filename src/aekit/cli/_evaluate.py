"""``aekit evaluate``: how well a saved model does on data; ``aekit impute``: fill a table's missing values."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import numpy as np

from ._commands import HELP
from ._options import (a_kind, add_common_arguments, add_data_arguments, add_image_shape_argument,
                       add_split_argument, check_columns, check_figure_output, check_image_shape_has_figure,
                       check_image_size, check_output, chosen_split, figure_shape, json_safe, load_source,
                       write_figure)

logger = logging.getLogger("aekit.cli")

#: How ``aekit evaluate`` names its numbers, in print order (keys absent for a kind of model are skipped).
LABELS = {
    "error_per_sample": "reconstruction error per sample",
    "mse": "reconstruction error per entry (MSE)",
    "psnr_db": "reconstruction PSNR (dB)",
    "active_fraction": "active units per sample (fraction)",
    "dead_units": "dead units",
    "mean_abs": "mean |code|",
    "negative_elbo_per_sample": "negative ELBO per sample (nats)",
    "kl_per_sample": "KL per sample (nats)",
    "noisy_error_per_sample": "noisy input: error per sample",
    "noisy_mse": "noisy input: error per entry (MSE)",
    "noisy_psnr_db": "noisy input: PSNR (dB)",
    "denoised_error_per_sample": "denoised: error per sample",
    "denoised_mse": "denoised: error per entry (MSE)",
    "denoised_psnr_db": "denoised: PSNR (dB)",
    "n_missing": "entries missing already",
    "n_hidden": "observed entries hidden and filled",
    "hidden_error_per_sample": "imputation error per sample (-score)",
    "hidden_rmse": "imputation RMSE",
    "mean_fill_rmse": "RMSE filling with column means",
}


def register(sub) -> None:
    e = sub.add_parser("evaluate", help=HELP["evaluate"],
                       description="Load MODEL_DIR and measure it on DATA or --dataset (its test split by "
                                   "default): the reconstruction error of an autoencoder (and its codes' sparsity "
                                   "for a sparse one); for a denoiser, the data corrupted by its own noise and the "
                                   "noisy and denoised errors; for an imputer, a fraction of the observed entries "
                                   "hidden and filled. Prints a table (or JSON), optionally writes it and a figure.")
    e.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    add_data_arguments(e)
    add_split_argument(e)
    e.add_argument("--noise-level", type=float, metavar="L",
                   help="a denoiser's noise level (default: its corruption_level)")
    e.add_argument("--hide", type=float, metavar="F",
                   help="an imputer's fraction of observed entries hidden and scored (default: 0.2)")
    e.add_argument("--random-state", type=int, default=0, metavar="SEED",
                   help="seed of the noise or the hidden entries (default: 0)")
    e.add_argument("--figure", type=Path, metavar="PNG", help="also draw the first 10 samples (image data)")
    add_image_shape_argument(e, "--figure")
    e.add_argument("--out", type=Path, metavar="JSON", help="also write the numbers to this JSON file")
    e.add_argument("--json", action="store_true", help="print JSON instead of text")
    e.add_argument("--mmap", action="store_true",
                   help="memory-map a .npy DATA file (bool, integers, float32 or float64) and read it block by "
                        "block instead of loading it (an autoencoder; not a denoiser or an imputer)")
    add_common_arguments(e)
    e.set_defaults(func=run_evaluate)

    i = sub.add_parser("impute", help=HELP["impute"],
                       description="Load an imputer (aekit train --model imputer, or a saved ImputerEnsemble) "
                                   "and fill the missing values of DATA: NaN in a .npy/.npz, an empty cell, NA "
                                   "or NaN in a .csv. Observed values are written back unchanged, as are the "
                                   "CSV's header and column order.")
    i.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    i.add_argument("data", type=Path, metavar="DATA", help="a .npy, .npz or .csv file with missing values")
    i.add_argument("--out", type=Path, required=True, help="the filled table: .npy or .csv")
    add_common_arguments(i)
    i.set_defaults(func=run_impute)


def _evaluation_data(args):
    data = load_source(args, mmap=args.mmap)
    X = chosen_split(args, data)
    where = f"{data.name} ({args.split or 'test'} split)" if args.dataset else str(args.data)
    return (X if isinstance(X, np.memmap) else np.asarray(X)), data.image_shape, where


def run_evaluate(args) -> int:
    from .._atomic import write_json
    from ..evaluation import _in_unit_range, _kind, evaluate, evaluation_images
    from ..images import model_image_shape
    from ..persistence import load

    if args.out is not None:
        check_output(args.out, args.overwrite)
    if args.figure is not None:
        check_figure_output(args.figure, args.overwrite)
    check_image_shape_has_figure(args)
    if args.hide is not None and not 0.0 < args.hide <= 1.0:
        raise ValueError(f"--hide must be in (0, 1]; got {args.hide}.")
    estimator = load(args.model_dir)
    # a flag for another kind of model was ignored: the numbers printed were those without it
    for flag, value, kind, what in (("--noise-level", args.noise_level, "denoiser", "adds no noise"),
                                    ("--hide", args.hide, "imputer", "fills no hidden entries")):
        if value is not None and _kind(estimator) != kind:
            raise ValueError(f"{flag} applies to a {kind}; {args.model_dir} holds {a_kind(estimator)}, "
                             f"which {what}.")
    if args.mmap and _kind(estimator) != "autoencoder":
        what = "noise" if _kind(estimator) == "denoiser" else "hidden entries"
        raise ValueError(f"--mmap reads an autoencoder's data block by block; {args.model_dir} holds "
                         f"{a_kind(estimator)}, whose seeded {what} are drawn over the whole of DATA at once (block by "
                         f"block they would differ): leave out --mmap, on a test file that fits in memory.")
    args.hide = 0.2 if args.hide is None else args.hide
    check_columns(args, estimator, args.model_dir)
    X, data_shape, where = _evaluation_data(args)
    check_image_size(estimator, args.model_dir, data_shape, where)
    shape = None
    if args.figure is not None:  # before the work: the numbers were computed, then lost to this error
        shape = figure_shape(data_shape or model_image_shape(estimator), X, where, given=args.image_shape)
    options = {"noise_level": args.noise_level, "hide": args.hide, "random_state": args.random_state}
    try:
        result = {"model_dir": str(args.model_dir), "data": where, **evaluate(estimator, X, **options)}
    except ValueError as err:
        if args.noise_level is not None and "corruption_level" in str(err):  # the level was ours, not the model's
            raise ValueError(f"--noise-level {args.noise_level}: {err}") from None
        raise
    if args.figure is not None:
        from ..plotting import image_rows  # here: matplotlib takes half a second to import, for the figure only

        unit_range = _in_unit_range(X)
        # a memory-mapped DATA comes in its file's dtype (uint8 pixels): drawn as the float32 it is to the model
        rows = [(label, np.asarray(images, dtype=np.float32)) for label, images in
                evaluation_images(estimator, X, **options)]
        write_figure(image_rows(rows, shape, title=f"{result['model']} on "
                                f"{where}", normalize="none" if unit_range else "joint"), args.figure, args.overwrite)
        logger.info("wrote %s", args.figure)
    as_json = json_safe(result)
    if args.out is not None:
        write_json(args.out, as_json, replace=args.overwrite)
        logger.info("wrote %s", args.out)
    if args.json:
        print(json.dumps(as_json, indent=2))
        return 0
    print(f"{result['model']} ({args.model_dir}) on {where}: {result['n_samples']} samples x "
          f"{result['n_features']} features")
    if "scaling" in result:
        print(f"  errors in the model's scaled units (scaling={result['scaling']!r}), as its score")
    if "noise" in result:
        print(f"  noise: {result['noise']}, level {result['noise_level']:g} (seed {args.random_state})")
    if "hidden_fraction" in result:
        print(f"  {result['hidden_fraction']:.0%} of the observed entries hidden (seed {args.random_state})")
    for key, label in LABELS.items():
        if key in result:
            value = result[key]
            text = "n/a" if value is None else f"{value:.6g}" if isinstance(value, float) else value
            print(f"  {label:<40} {text}")
    return 0


def _write_table(path: Path, X: np.ndarray, replace: bool = True) -> None:
    """``X`` as .npy, or as a CSV without header (from a .npy/.npz DATA)."""
    from .._atomic import save_npy, write_text

    if path.suffix.lower() == ".npy":
        save_npy(path, X, replace=replace)
        return
    text = io.StringIO()
    for row in X.reshape(len(X), -1):
        # the shortest text that reads back as the same value in X's dtype: "17.99", not "17.9899998" (%.9g),
        # so observed cells are written back as they were read
        text.write(",".join(_number(v) for v in row) + "\n")
    write_text(path, text.getvalue(), replace=replace)


def _write_filled_csv(path: Path, cells: list, filled: np.ndarray, missing: np.ndarray, replace: bool = True) -> None:
    """The CSV's own cells (header, observed values as written) with its missing ones replaced by ``filled``."""
    from .._atomic import write_text

    header, rows = cells
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")  # quotes a cell (a header name) holding a comma
    if header is not None:
        writer.writerow(header)
    for row, values, holes in zip(rows, filled, missing):
        writer.writerow([_number(v) if hole else cell for cell, v, hole in zip(row, values, holes)])
    write_text(path, text.getvalue(), replace=replace)


def _number(value) -> str:
    """A numpy float's shortest round-trip text, without a trailing ``.0`` ("2019", "0.1184", "1e-05")."""
    text = str(value)
    return text[:-2] if text.endswith(".0") else text


def run_impute(args) -> int:
    from .._imputer import ImputerMixin
    from ..datasets import load_array
    from ..datasets._csv import csv_cells
    from ..persistence import load

    out = check_output(args.out, args.overwrite, suffixes=(".npy", ".csv"))
    estimator = load(args.model_dir)
    if not isinstance(estimator, ImputerMixin):
        raise ValueError(f"{args.model_dir} holds a model ({type(estimator).__name__}) that does not fill missing "
                         "values; train an imputer with: aekit train DATA --model imputer --out DIR.")
    check_columns(args, estimator, args.model_dir)
    X, image_shape = load_array(args.data)
    filled = estimator.transform(X)
    missing = np.isnan(X)
    if not missing.any():
        logger.warning("%s has no missing value: written back unchanged", args.data)
    if args.data.suffix.lower() == ".csv" and out.suffix.lower() == ".csv":  # observed cells written back as they were
        _write_filled_csv(out, csv_cells(args.data), filled, missing, replace=args.overwrite)
    else:
        _write_table(out, filled if image_shape is None else filled.reshape(len(X), *image_shape),
                     replace=args.overwrite)
    logger.info("filled %s missing values in %s of %s rows; wrote %s", f"{int(missing.sum()):,}",
                f"{int(missing.any(axis=1).sum()):,}", f"{X.shape[0]:,}", out)
    return 0
