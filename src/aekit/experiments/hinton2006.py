"""Hinton & Salakhutdinov (2006): a deep autoencoder against PCA with 30-D codes.

:func:`run` trains the paper's network for a data set within a wall-clock
budget, fits PCA with the same code size on the same split, and writes the
seed figure (random test images / autoencoder / PCA), a Markdown and JSON
table of test error per image with the paper's numbers beside ours, the
training curve and every parameter used.

The networks are the paper's: 625-2000-1000-500-30 with linear outputs and
squared error for 25x25 face patches; 784-1000-500-250-30 with logistic
outputs and cross-entropy for 28x28 digits (MNIST, Fashion-MNIST). The 8x8
scikit-learn digits (offline, seconds) get a scaled-down 64-256-128-64-10
network. Hidden units are GELU by default (``activation="sigmoid"`` with
``pretraining="rbm"`` is the paper's recipe).

Training runs until the budget is spent, not for a guessed number of
epochs: a Trainer callback stops when the next epoch would overrun it and,
with ``lr_schedule="constant"``, anneals the learning rate from its peak to
zero along a cosine of the *elapsed time*. Face patches are drawn afresh
for every epoch after the first (the generator is unlimited), from the
training people only, with the training set's normalisation, from the faces
and their mirror images and under random lighting (the autoencoder
otherwise learns the 30 training people's photographs rather than faces).

Reference: G. E. Hinton and R. R. Salakhutdinov, "Reducing the
dimensionality of data with neural networks", Science 313 (2006) 504-507.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from .._atomic import atomic_directory, check_results_folder, write_json, write_text
from .._base import Autoencoder
from .._device import fast_bfloat16
from .augment import FlippedImages, FreshFacePatches
from .budget import WallClockBudget

__all__ = ["DATASETS", "PAPER_ERRORS", "SETTINGS", "FreshFacePatches", "FlippedImages", "WallClockBudget", "run",
           "make_estimator", "format_table", "recipe_defaults"]

logger = logging.getLogger(__name__)

#: Average squared reconstruction error per test image in the paper (30-D codes).
PAPER_ERRORS = {
    "faces": {"autoencoder": 126.0, "PCA": 135.0},
    "mnist": {"autoencoder": 3.00, "logistic PCA": 8.01, "PCA": 13.87},
}


@dataclass(frozen=True)
class Setting:
    """The network and loss used for one data set."""

    hidden_layer_sizes: tuple
    n_components: int
    loss: str
    image_shape: tuple
    description: str


SETTINGS = {
    "faces": Setting((2000, 1000, 500), 30, "mse", (25, 25),
                     "Olivetti face patches 25x25 (first 30 people train, last 10 test), normalised"),
    "mnist": Setting((1000, 500, 250), 30, "bce", (28, 28), "MNIST 28x28 in [0, 1]"),
    "fashion-mnist": Setting((1000, 500, 250), 30, "bce", (28, 28), "Fashion-MNIST 28x28 in [0, 1]"),
    "digits": Setting((256, 128, 64), 10, "bce", (8, 8), "scikit-learn digits 8x8 in [0, 1]"),
}

#: Data sets ``run`` accepts.
DATASETS = tuple(SETTINGS)

#: Estimator parameters of the default (modern) recipe; the per-data-set
#: network and loss are added from :data:`SETTINGS`, and callers override any.
#: ``precision`` defaults to "bfloat16" where :func:`fast_bfloat16` (training
#: under autocast; evaluation is float32).
DEFAULT_PARAMS = {
    "activation": "gelu",
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "lr_schedule": "constant",  # annealed over the wall-clock budget by WallClockBudget
    "batch_size": 256,
    "max_epochs": 100_000,  # the budget stops training
    "validation_fraction": 0.05,
    "n_iter_no_change": 1000,
    "random_state": 0,
}

def recipe_defaults() -> dict[str, str]:
    """What the recipe uses for each estimator parameter it sets, as text for ``--help`` (per data set where it varies).

    Returns
    -------
    dict of str to str
        Parameter name to a description of its value: the ``repr`` of
        :data:`DEFAULT_PARAMS`' value, per data set for the network and
        loss, and the rule for ``precision``.

    Examples
    --------
    >>> recipe_defaults()["n_components"]
    'faces 30, mnist 30, fashion-mnist 30, digits 10'
    """
    shown = {name: repr(value) for name, value in DEFAULT_PARAMS.items()}
    shown["precision"] = "'bfloat16' where the device runs it fast, else 'float32'"
    for name in ("hidden_layer_sizes", "n_components", "loss"):
        shown[name] = ", ".join(f"{key} {getattr(setting, name)!r}" for key, setting in SETTINGS.items())
    return shown


#: Fresh face patches per epoch after the first.
FRESH_PATCHES = 32_768
#: Data sets whose images are augmented with left-right mirror images by default.
FLIP_DATASETS = ("fashion-mnist",)
#: Face-patch augmentation (see :class:`FreshFacePatches`): measured with 8
#: minutes of training on a shared 2-core CPU, test error 116.9 with it and
#: 121.7 without (PCA-30: 151.5).
FACE_MIRROR, FACE_LIGHTING = True, 0.2


class _BudgetedAutoencoder(Autoencoder):
    """Autoencoder with a wall-clock budget and optional fresh data per epoch (experiment-only)."""

    _budget: WallClockBudget | None = None
    _fresh = None
    _n_pretraining_epochs: int | None = None

    def _fit(self, X, mask=None):
        if self._budget is not None:
            self._budget.start(elapsed=_seconds_already_trained(self))
        return super()._fit(X, mask)

    def _fit_callback(self):
        return self._budget

    def _epoch_data(self):
        return self._fresh

    def _pretraining_epochs(self) -> int:
        if self._n_pretraining_epochs is None:
            return super()._pretraining_epochs()
        return self._n_pretraining_epochs


def _seconds_already_trained(est) -> float:
    """Training seconds in the checkpoint a fit inside ``checkpointing(..., resume=True)`` will resume, else 0."""
    from ..checkpoint import read_checkpoint_info

    session = est.__dict__.get("_checkpointing")
    if session is None or not session.resume_requested or not session.path.exists():
        return 0.0
    return float(read_checkpoint_info(session.directory).get("seconds", 0.0))


def make_estimator(dataset: str, params: dict | None = None, budget_seconds: float | None = None,
                   epoch_data=None, pretraining_epochs: int | None = None) -> Autoencoder:
    """The paper's network for ``dataset`` with :data:`DEFAULT_PARAMS`, updated by ``params``.

    The estimator is an :class:`~aekit.Autoencoder` (a private subclass
    that adds the budget and the fresh data); ``precision`` is
    ``"bfloat16"`` where :func:`fast_bfloat16` unless ``params`` sets it.

    Parameters
    ----------
    dataset : {"faces", "mnist", "fashion-mnist", "digits"}
        Picks the network, code size and loss from :data:`SETTINGS`.
    params : dict, default=None
        Estimator parameters overriding the recipe's (validated here).
    budget_seconds : float, default=None
        Attaches a :class:`WallClockBudget` of this many seconds (its clock
        starts when ``fit`` does, so pretraining counts; it anneals the
        learning rate when ``lr_schedule="constant"``). None: no budget.
    epoch_data : callable, default=None
        ``epoch_data(epoch) -> X or None``, the Trainer's hook (0-based
        epoch): an array of shape (n, n_features) replaces the training data
        for that epoch, None keeps the data given to ``fit``. Wrap a
        :class:`FreshFacePatches` or :class:`FlippedImages`, which take
        ``(n, epoch)``, as :func:`run` does. None: no fresh data.
    pretraining_epochs : int, default=None
        Epochs per pretrained layer (>= 1), with ``pretraining`` in
        ``params``; None: the estimator's default.

    Returns
    -------
    Autoencoder
        Unfitted.

    Raises
    ------
    ValueError
        If ``dataset`` is unknown, ``pretraining_epochs < 1``, or a
        parameter is invalid (``TypeError`` for some wrong types).

    Examples
    --------
    >>> est = make_estimator("faces", {"activation": "sigmoid", "pretraining": "rbm"})
    >>> est.hidden_layer_sizes, est.n_components, est.loss, est.activation
    ((2000, 1000, 500), 30, 'mse', 'sigmoid')
    """
    _check_dataset(dataset)
    setting = SETTINGS[dataset]
    chosen = {**DEFAULT_PARAMS, "hidden_layer_sizes": setting.hidden_layer_sizes,
              "n_components": setting.n_components, "loss": setting.loss, **(params or {})}
    if "precision" not in (params or {}):
        chosen["precision"] = "bfloat16" if fast_bfloat16(chosen.get("device", "auto")) else "float32"
    est = _BudgetedAutoencoder(**chosen)
    est._check_params()
    if budget_seconds is not None:
        est._budget = WallClockBudget(budget_seconds, anneal=est.lr_schedule == "constant")
    est._fresh = epoch_data
    if pretraining_epochs is not None:
        if pretraining_epochs < 1:
            raise ValueError(f"pretraining_epochs must be >= 1; got {pretraining_epochs!r}.")
        est._n_pretraining_epochs = int(pretraining_epochs)
    return est


def _check_dataset(dataset: str) -> None:
    if dataset not in SETTINGS:
        allowed = "{" + ", ".join(repr(k) for k in SETTINGS) + "}"
        raise ValueError(f"dataset must be one of {allowed}; got {dataset!r}.")


# ------------------------------------------------------------------ data
def load(dataset: str, data_dir=None, seed: int = 0, download: bool = True, mirror: bool = False,
         lighting: float = 0.0):
    """``(X_train, X_test, image_shape, description, fresh)`` for ``dataset``.

    ``fresh(n, epoch)`` draws at least ``n`` new training samples for an
    epoch (faces only; None for the others). Missing files raise
    ``FileNotFoundError`` saying where they were looked for and how to get
    them. ``mirror`` and ``lighting`` go to :class:`FreshFacePatches`.
    """
    from .. import datasets

    _check_dataset(dataset)
    setting = SETTINGS[dataset]
    if dataset == "faces":
        X_train, X_test = datasets.olivetti_patches(data_dir, seed=seed, download=download)
        fresh = FreshFacePatches(data_dir, seed, X_train, mirror=mirror, lighting=lighting)
        return X_train, X_test, setting.image_shape, setting.description, fresh
    data = datasets.load_dataset(dataset, data_dir=data_dir, download=download)
    return data.X_train, data.X_test, setting.image_shape, data.description, None


# ----------------------------------------------------------------- tables
def format_table(dataset: str, rows: dict, ratio: float, n_components: int) -> str:
    """Markdown table: our test error per image beside the paper's.

    Parameters
    ----------
    dataset : str
        Key of :data:`PAPER_ERRORS` (the paper's numbers; none for a data
        set it did not use).
    rows : dict
        Per method, a dict with ``test_error``, ``train_error`` and
        ``fit_seconds`` (:func:`aekit.compare.compare_with_pca`'s ``rows``).
        Methods the paper reports but ``rows`` lacks are listed as "not run".
    ratio : float
        Our autoencoder / PCA test error.
    n_components : int
        Code size, for the header.

    Returns
    -------
    str
        The Markdown table and the two ratios (ours, the paper's).
    """
    paper = PAPER_ERRORS.get(dataset, {})
    lines = [f"| method ({n_components}-D code) | test error per image (ours) | paper | train error (ours) "
             "| fit time (s) |", "|---|---:|---:|---:|---:|"]
    names = list(rows) + [m for m in paper if m not in rows]
    for name in names:
        row = rows.get(name)
        ours = "not run" if row is None else f"{row['test_error']:.4g}"
        train = "" if row is None else f"{row['train_error']:.4g}"
        secs = "" if row is None else f"{row['fit_seconds']:.0f}"
        ref = f"{paper[name]:g}" if name in paper else "—"
        lines.append(f"| {name} | {ours} | {ref} | {train} | {secs} |")
    paper_ratio = (f"{paper['autoencoder'] / paper['PCA']:.3f}" if {"autoencoder", "PCA"} <= set(paper)
                   else "— (not in the paper)")
    lines += ["", f"autoencoder / PCA test error: **{ratio:.3f}** (paper: {paper_ratio})"]
    return "\n".join(lines) + "\n"


def _environment() -> dict:
    import torch

    return {
        "aekit_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        # os.getloadavg does not exist on Windows
        "load_average_1_5_15min": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
    }


# -------------------------------------------------------------------- run
def run(dataset: str, out_dir, *, budget_minutes: float = 30.0, params: dict | None = None,
        pretraining_epochs: int | None = None, fresh_patches: int | None = FRESH_PATCHES, data_dir=None,
        download: bool = True, mirror: bool = FACE_MIRROR, lighting: float = FACE_LIGHTING,
        flip: bool | None = None, seed: int = 0, n_show: int = 10, checkpoint_dir=None,
        checkpoint_every: int = 1, resume: bool = False, replace: bool = True) -> dict:
    """Reproduce the autoencoder-vs-PCA comparison on ``dataset`` and write ``out_dir``.

    Parameters
    ----------
    dataset : {"faces", "mnist", "fashion-mnist", "digits"}
        The data set; :data:`SETTINGS` gives its network and loss.
    out_dir : str or path-like
        Written atomically (a complete folder or nothing).
    budget_minutes : float, default=30.0
        Wall-clock budget for training the autoencoder (pretraining
        included), > 0.
    params : dict, default=None
        Estimator parameters overriding the defaults (e.g.
        ``{"activation": "sigmoid", "pretraining": "rbm"}``).
    pretraining_epochs : int, default=None
        Epochs per layer of greedy pretraining; None: the estimator's.
    fresh_patches : int or None, default=32768
        Faces only: fresh patches per epoch after the first
        (:data:`FRESH_PATCHES`); None or 0 trains on the fixed training set.
    data_dir : str or path-like, default=None
        Where to look for the data files first.
    download : bool, default=True
        Download missing data files (to ``$AEKIT_DATA``) when online.
    mirror : bool, default=True
        Faces only: also draw fresh patches from mirrored training faces
        (see :class:`FreshFacePatches`).
    lighting : float, default=0.2
        Faces only: random lighting of the fresh patches, in [0, 1)
        (see :class:`FreshFacePatches`).
    flip : bool, default=None
        Not for faces: train on a random half of the images mirrored anew
        each epoch (:class:`FlippedImages`). Default: for the data sets in
        :data:`FLIP_DATASETS`. The validation split for early stopping is
        then off (``validation_fraction=0``) unless ``params`` sets one,
        since mirrored validation images would be trained on.
    seed : int, default=0
        Seeds the patch set, the figure's choice of images and PCA.
    n_show : int, default=10
        Images per row of the figure.
    checkpoint_dir : str or path-like, default=None
        Checkpoint the autoencoder's training there (see
        :func:`aekit.checkpoint.checkpointing`); None: no checkpoints.
    checkpoint_every : int, default=1
        Epochs between checkpoints.
    resume : bool, default=False
        Continue from the checkpoint in ``checkpoint_dir`` if there is one;
        the budget counts the time already trained. The learning rate
        anneals by wall-clock time, so a resumed run is close to, not bit
        for bit, an uninterrupted one.
    replace : bool, default=True
        True: an ``out_dir`` that holds an earlier run's results
        (``results.json``) is replaced; one holding other files is refused
        before any training. False: raise ``FileExistsError`` rather than
        replace an ``out_dir`` that exists when the results are moved there
        (another run meanwhile).

    Returns
    -------
    summary : dict
        What ``results.json`` holds, plus ``paths`` (the files written, by
        kind) and ``table`` (the Markdown comparison).

    Raises
    ------
    ValueError
        If ``dataset`` is unknown, ``budget_minutes`` is not > 0,
        ``fresh_patches`` is negative, a parameter in ``params`` is
        invalid, or ``out_dir`` holds files but no ``results.json``.
    FileNotFoundError
        If the data files are missing and cannot be downloaded (the message
        says where they were looked for).
    """
    _check_dataset(dataset)
    if replace:  # before the training, not after it: a folder of other files would be replaced whole
        check_results_folder(out_dir)
    if not budget_minutes > 0:
        raise ValueError(f"budget_minutes must be > 0; got {budget_minutes!r}.")
    if fresh_patches is not None and fresh_patches < 0:
        raise ValueError(f"fresh_patches must be >= 0 or None; got {fresh_patches!r}.")
    tic = time.perf_counter()
    X_train, X_test, image_shape, description, fresh = load(dataset, data_dir=data_dir, seed=seed,
                                                             download=download, mirror=mirror, lighting=lighting)
    logger.info("%s: %d train, %d test, %d features (%.1f s)", description, X_train.shape[0], X_test.shape[0],
                X_train.shape[1], time.perf_counter() - tic)
    flip = (dataset in FLIP_DATASETS) if flip is None else bool(flip)
    if flip and fresh is None:
        fresh, fresh_patches = FlippedImages(X_train, image_shape, seed), len(X_train)
        params = {"validation_fraction": 0.0, **(params or {})}
    else:
        flip = False
    epoch_data = None
    if fresh is not None and fresh_patches:
        def epoch_data(epoch: int):
            return None if epoch == 0 else fresh(fresh_patches, epoch)
    est = make_estimator(dataset, params, budget_seconds=60.0 * budget_minutes, epoch_data=epoch_data,
                         pretraining_epochs=pretraining_epochs)
    from ..checkpoint import checkpointing
    from ..compare import compare_with_pca, write_comparison  # PCA, k-NN, figures: not needed to build the CLI

    with checkpointing(est, checkpoint_dir, checkpoint_every, resume):
        result = compare_with_pca(est, X_train, X_test, random_state=seed)
    experiment = {
        "experiment": "hinton2006",
        "dataset": dataset,
        "description": description,
        "budget_minutes": budget_minutes,
        "training_seconds": est.fit_time_,
        "epochs": est.n_iter_,
        "best_epoch": est.best_epoch_,
        "pretraining_epochs_per_layer": est._pretraining_epochs() if est.pretraining != "none" else 0,
        "fresh_patches_per_epoch": int(fresh_patches or 0) if dataset == "faces" else 0,
        "mirror": bool(mirror) if dataset == "faces" else False,
        "lighting": float(lighting) if dataset == "faces" else 0.0,
        "flip": flip,
        "lr_annealing": "cosine over the wall-clock budget" if est._budget.anneal else est.lr_schedule,
        "seed": seed,
    }
    params_used = {k: (list(v) if isinstance(v, tuple) else v) for k, v in est.get_params(deep=False).items()}
    with atomic_directory(out_dir, replace=replace) as tmp:
        paths = write_comparison(result, tmp, X_test, image_shape, est, dataset_description=description,
                                 n_show=n_show, seed=seed)
        summary = {
            "aekit_version": __version__,
            "dataset": dataset,
            "description": description,
            "n_train": result["n_train"],
            "n_test": int(X_test.shape[0]),
            "n_components": result["n_components"],
            "rows": result["rows"],
            "ratio": result["ratio"],
            "paper": PAPER_ERRORS.get(dataset),
            "paper_ratio": (PAPER_ERRORS[dataset]["autoencoder"] / PAPER_ERRORS[dataset]["PCA"]
                            if dataset in PAPER_ERRORS else None),
            "loss_curve": est.loss_curve_,
            "validation_curve": est.validation_scores_,
            "experiment": experiment,
        }
        write_json(tmp / "results.json", summary)
        table = format_table(dataset, result["rows"], result["ratio"], result["n_components"])
        write_text(tmp / "results.md", f"### Hinton & Salakhutdinov (2006) on {description}\n\n{table}\n"
                                       f"Budget {budget_minutes:g} min: {est.n_iter_} epochs in "
                                       f"{est.fit_time_:.0f} s. Parameters: params.json.\n")
        write_json(tmp / "params.json", {"estimator": params_used, "experiment": experiment,
                                         "environment": _environment()})
        names = {"figure": "figure.png", "loss_curve": "loss_curve.png", "json": "results.json",
                 "markdown": "results.md", "params": "params.json"}
    summary["paths"] = {kind: Path(out_dir) / name for kind, name in names.items() if kind in paths or
                        kind == "params"}
    summary["table"] = table
    return summary
