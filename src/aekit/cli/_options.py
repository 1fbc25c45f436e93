"""Flags shared by sub-commands: data sources and outputs, and the checks on them.

The estimator parameters' flags are in :mod:`aekit.cli._flags`.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

import numpy as np

__all__ = ["add_data_arguments", "load_source",
           "chosen_split", "hold_out", "json_safe", "check_output", "check_results_dir", "check_has_code",
           "add_common_arguments", "add_split_argument", "warn_if_scales_differ", "check_no_empty_column",
           "check_pattern_has_holes", "check_figure_output", "check_no_data_dir", "write_figure", "csv_columns",
           "check_columns", "check_image_size", "a_kind", "figure_shape", "add_image_shape_argument",
           "check_image_shape", "check_image_shape_has_figure"]

logger = logging.getLogger("aekit.cli")


def one_line(message: str) -> str:
    r"""A multi-line message as one line: its lines joined, with "; " where a line ends without punctuation.

    Examples
    --------
    >>> one_line("not found. Searched:\n  a (path)\n  b (cache)\nTo get it: ...")
    'not found. Searched: a (path); b (cache); To get it: ...'
    """
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return " ".join(line if i == len(lines) - 1 or line[-1] in ".:;,!?" else line + ";"
                    for i, line in enumerate(lines))


def existing_path(value: str) -> Path:
    """``--data-dir``'s type: a path that exists (a typo must not fall back silently to other places)."""
    path = Path(value).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{value} does not exist")
    return path


def add_data_arguments(parser: argparse.ArgumentParser, positional: bool = True) -> None:
    """DATA (a file or folder) or ``--dataset NAME``, plus ``--data-dir``."""
    from ..datasets import DATASETS

    if positional:
        parser.add_argument("data", nargs="?", metavar="DATA",
                            help="data file (.npy, .npz, .csv) or folder of images")
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="a named dataset instead of DATA")
    parser.add_argument("--data-dir", type=existing_path, help="where to look for the dataset's files first")


def load_source(args, mmap: bool = False):
    """The :class:`aekit.datasets.Dataset` named by DATA or ``--dataset``; ``mmap`` memory-maps a .npy DATA."""
    from ..datasets import load_data, load_dataset

    data = getattr(args, "data", None)
    if args.dataset and data:
        raise ValueError("give either DATA or --dataset, not both.")
    if args.dataset:
        return load_dataset(args.dataset, data_dir=args.data_dir)
    if not data:
        raise ValueError("no data: give a DATA file or --dataset NAME.")
    check_no_data_dir(args, f"DATA ({data})")
    return load_data(data, mmap=mmap)


def check_no_data_dir(args, what: str) -> None:
    """Refuse ``--data-dir`` without ``--dataset`` (it was ignored): ``what`` is the data read instead."""
    if args.data_dir is not None and not args.dataset:
        raise ValueError(f"--data-dir is where --dataset NAME's files are looked for; {what} is read as it is.")


def add_split_argument(parser: argparse.ArgumentParser) -> None:
    """``--split`` of a named ``--dataset`` (test when not given)."""
    parser.add_argument("--split", choices=("train", "test"), default=None,
                        help="which split of --dataset (default: test)")


def chosen_split(args, data):
    """The samples a command works on: ``--split`` of a named ``--dataset`` (default: test), else every sample of
    DATA (a ``--split`` given with DATA is refused: it was ignored)."""
    split = getattr(args, "split", None)
    if not args.dataset:
        if split is not None:
            raise ValueError(f"--split chooses a split of --dataset NAME; DATA ({args.data}) is used whole.")
        return data.X_train
    return data.X_train if split == "train" else data.X_test


def hold_out(args, data, seed: int):
    """``data`` with ``--test-fraction`` (default 0.2) of its rows held out at random (``seed``), for DATA without a
    test split."""
    # None: not given (compare's and sweep's default, so that a named dataset's test split can refuse the flag)
    fraction = 0.2 if args.test_fraction is None else args.test_fraction
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"--test-fraction must be in (0, 1); got {fraction}.")
    n = len(data.X_train)
    if not 1 <= round(fraction * n) < n:  # held_out's message names the Python parameter
        raise ValueError(f"--test-fraction {fraction} holds out {round(fraction * n)} of the {n} samples; it must "
                         "leave at least one for training and one for testing.")
    data = data.held_out(fraction, seed)
    logger.info("%s: %d of %d samples held out at random for testing (--test-fraction %g)", data.name,
                len(data.X_test), len(data.X_train) + len(data.X_test), fraction)
    return data


def json_safe(values: dict) -> dict:
    """``values`` with NaN and infinite floats as None: JSON has neither (a PSNR is inf where noise changed nothing)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()}


def add_image_shape_argument(parser, what: str) -> None:
    """``--image-shape H W [C]``: how to draw ``what``'s flat rows as images."""
    parser.add_argument("--image-shape", type=int, nargs="+", metavar="N",
                        help=f"H W [C] of the images for {what}, C 1, 3 or 4 (default: the data's own image shape, "
                             "else the model's)")


def check_image_shape(shape, n_features: int, features_of: str) -> tuple:
    """``--image-shape``'s H W [C], checked: drawable, and holding the ``n_features`` of ``features_of``."""
    shape, text = tuple(shape), " ".join(map(str, shape))
    if len(shape) not in (2, 3) or min(shape) < 1 or shape[2:] not in ((), (1,), (3,), (4,)):
        raise ValueError(f"--image-shape must be H W [C] with C 1, 3 or 4 and H*W*C = {n_features} ({features_of}); "
                         f"got {text}.")
    if math.prod(shape) != n_features:
        raise ValueError(f"--image-shape {text} holds {math.prod(shape)} values; {features_of} are {n_features}.")
    return shape


def figure_shape(shape, X, where: str, given=None) -> tuple:
    """The image shape of the rows of ``X`` for a ``--figure``, checked: ``given`` (``--image-shape``), else
    ``shape`` (the data's or the model's own); ``where`` names the data."""
    if given:
        return check_image_shape(given, X.shape[1], f"the features of {where}")
    if shape is None or int(np.prod(shape)) != X.shape[1]:
        raise ValueError(f"--figure needs image data; {where} has {X.shape[1]} features and no image shape: give "
                         "the images as a folder or a .npy of shape (n, height, width[, channels]), pass "
                         "--image-shape H W [C], or leave --figure out.")
    return shape


def check_image_shape_has_figure(args, why: str = "the numbers do not depend on it") -> None:
    """Refuse ``--image-shape`` without the ``--figure`` it shapes: it would be ignored without a word."""
    if args.image_shape and args.figure is None:
        raise ValueError(f"--image-shape shapes the images of --figure; give --figure PNG too ({why}).")


def a_kind(estimator) -> str:
    """"an Autoencoder", "a SparseAutoencoder": the estimator's class with its article, for messages."""
    name = type(estimator).__name__
    return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"


def check_has_code(estimator, model_dir) -> None:
    """Refuse a model whose ``transform`` is not an encoding: an imputer's fills holes, a U-Net's returns X."""
    from .._imputer import ImputerMixin

    if isinstance(estimator, ImputerMixin):
        raise ValueError(f"{model_dir} holds {a_kind(estimator)}, whose transform fills missing values "
                         "rather than encoding: use aekit impute MODEL_DIR DATA --out FILE.")
    if getattr(estimator, "architecture", None) == "unet":
        raise ValueError(f"{model_dir} holds a U-Net {type(estimator).__name__}: its skip connections carry the "
                         "input past the bottleneck, so it has no code (its transform returns the input).")


def check_output(path: Path, overwrite: bool, suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse to replace an existing output unless ``overwrite``, and ``--out`` not ending in one of ``suffixes``."""
    from .._atomic import check_parents

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it.")
    check_parents(path)  # before the work, not when saving after it
    if suffixes and path.suffix.lower() not in suffixes:  # OUT.NPY too
        raise ValueError(f"--out must end in {' or '.join(suffixes)}; got {path}.")
    return path


def check_model_dir(path: Path, overwrite: bool) -> Path:
    """:func:`check_output` for a model directory, which ``--overwrite`` replaces whole (train, train-denoiser):
    only an empty folder or a model, refused before the training, not when saving after it."""
    from ..persistence import _check_replaceable

    path = check_output(path, overwrite)
    if path.exists() or path.is_symlink():
        _check_replaceable(path)
    return path


def check_results_dir(path: Path, overwrite: bool) -> Path:
    """:func:`check_output` for a results directory, which ``--overwrite`` replaces whole (compare, sweep, reproduce):
    only an empty folder or an earlier run's results (:func:`aekit._atomic.check_results_folder`)."""
    from .._atomic import check_results_folder

    path = check_output(path, overwrite)
    check_results_folder(path, "--out")
    return path


def check_figure_output(path: Path, overwrite: bool, flag: str = "--figure") -> Path:
    """:func:`check_output` for a figure, its format (the suffix) checked too: before the work, not after it
    (a bad suffix stopped ``aekit errors`` after it had written its .npy)."""
    from ..plotting._figure import _check_path  # matplotlib: imported only when a figure is asked for

    path = check_output(path, overwrite)
    try:
        _check_path(path)
    except ValueError as err:  # "path must end in a figure format suffix, ...": say which path
        raise ValueError(f"{flag}: {err}") from None
    return path


def write_figure(fig, path: Path, overwrite: bool) -> Path:
    """Save ``fig`` (drawn with ``path=None``) to ``path`` atomically; an existing ``path`` only if ``overwrite``."""
    from .._atomic import atomic_path
    from ..plotting._figure import _check_path

    path, fmt = _check_path(path)
    with atomic_path(path, suffix=path.suffix, replace=overwrite) as tmp:
        fig.savefig(tmp, format=fmt)
    return path


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quiet``, ``--overwrite`` and ``--threads``."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info messages")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch CPU threads (default: torch's choice, one per core; 1 is much faster than 2 on "
                             "a machine busy with other work; results of conv nets differ between counts)")


def warn_if_scales_differ(X, advice: str, ratio: float = 10.0) -> None:
    """Log a warning when a few large-scale columns will dominate a squared error (a table, not pixels)."""
    if isinstance(X, np.memmap):  # streamed data: not read for a warning
        return
    sd = np.asarray(X).std(axis=0, dtype=np.float64)
    sd = sd[sd > 1e-12]  # constant columns cost nothing and would pull the median to 0
    if sd.size > 1 and sd.max() > ratio * np.median(sd):
        logger.warning("the columns' standard deviations range from %.3g to %.3g (median %.3g), so the squared "
                       "errors are mostly those of the largest; %s", sd.min(), sd.max(), np.median(sd), advice)


def check_no_empty_column(args, data) -> None:
    """Refuse a CSV DATA with a column empty in every row, naming it by its header (the estimators count from 0)."""
    from ..datasets._csv import csv_header

    path = getattr(args, "data", None)
    if not path or Path(path).suffix.lower() != ".csv" or not data.X_train.size:
        return
    empty = np.flatnonzero(np.isnan(data.X_train).all(axis=0))
    if empty.size:
        names = csv_header(path)
        named = f" ({names[empty[0]]!r})" if names else ""
        more = f" (as are {empty.size - 1} more columns)" if empty.size > 1 else ""
        raise ValueError(f"{path}: column {empty[0] + 1}{named} has no value in any row{more}; drop it first: "
                         "no model can learn a column it never sees.")


def csv_columns(path) -> list[str] | None:
    """The column names of a CSV ``path`` (its header's cells, stripped), or None: not a CSV, no header, or
    pandas' default ``0,1,2,...`` (which names nothing)."""
    from ..datasets._csv import _default_column_names, csv_header

    if not path or Path(path).suffix.lower() != ".csv":
        return None
    names = csv_header(path)
    if names is None or _default_column_names(names):
        return None
    return [name.strip() for name in names]


def _model_columns(estimator, model_dir) -> list[str] | None:
    """The column names ``estimator`` was trained on: its ``feature_names_in_`` (fitted on a DataFrame), else the
    CSV header ``aekit train`` recorded in the model's ``metrics.json``; None when neither is known."""
    import json

    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(name).strip() for name in names]
    try:
        names = json.loads((Path(model_dir) / "metrics.json").read_text(encoding="utf-8")).get("columns")
    except (OSError, ValueError, AttributeError):  # no metrics.json (saved from Python), or not a dict
        return None
    return [str(name) for name in names] if isinstance(names, list) else None


def check_columns(args, estimator, model_dir) -> None:
    """Refuse a CSV DATA whose header names other columns, or the same in another order, than the model was
    trained on: read by position, its values would go into the wrong inputs without a word."""
    given = csv_columns(getattr(args, "data", None))
    expected = _model_columns(estimator, model_dir)
    if given is None or expected is None or given == expected:
        return
    if len(given) != len(expected):
        extra = [name for name in given if name not in expected]
        lacking = [name for name in expected if name not in given]
        told = "; ".join(part for part in (f"not the model's: {extra[:3]}" if extra else "",
                                           f"missing: {lacking[:3]}" if lacking else "") if part)
        raise ValueError(f"{args.data} has {len(given)} columns, but {model_dir} was trained on {len(expected)}"
                         f" ({told}); give it the columns it was trained on, in that order.")
    i = next(i for i, (a, b) in enumerate(zip(given, expected)) if a != b)
    how = "the same columns in another order" if sorted(given) == sorted(expected) else "other columns"
    raise ValueError(f"{args.data} has {how} than {model_dir} was trained on: column {i + 1} is {given[i]!r}, "
                     f"the model's is {expected[i]!r}; reorder or rename its columns to the model's.")


def check_image_size(estimator, model_dir, image_shape, where) -> None:
    """Refuse images of another size than a model of images (or of patches) takes, saying which: scikit-learn's
    "X has 480 features, but ... is expecting 64" did not say that the model works on 8x8 patches."""
    model_shape = getattr(estimator, "image_shape", None)
    if model_shape is None or image_shape is None or tuple(model_shape) == tuple(image_shape):
        return
    if int(np.prod(model_shape)) == int(np.prod(image_shape)):  # the same pixels in another layout: as before
        return
    size = lambda shape: "x".join(map(str, shape))  # noqa: E731
    raise ValueError(f"{where} holds {size(image_shape)} images, but {model_dir} takes {size(model_shape)} ones; "
                     "a model of patches denoises or fills larger images with aekit denoise or aekit inpaint, "
                     "which cut them into its patches.")


def check_pattern_has_holes(estimator, data) -> None:
    """Refuse an imputer with ``corruption="pattern"`` on data without missing values (a :class:`Dataset`).

    'pattern' hides other rows' holes while training; complete data has none, so the imputer trained on
    uncorrupted rows without a word (train-denoiser refuses the same unless --practice-mask gives a hole).
    """
    if getattr(estimator, "corruption", None) == "pattern" and not np.isnan(data.X_train).any():
        raise ValueError(f"--corruption pattern hides the holes of other rows while training, and {data.name} has no "
                         "missing value: use --corruption masking (random entries), or for images aekit "
                         "train-denoiser --practice-mask HOLE.png.")
