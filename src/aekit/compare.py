"""Autoencoder versus PCA on the same split: the comparison of Hinton & Salakhutdinov (2006).

:func:`compare_with_pca` fits both with the same ``n_components`` and
reports test error as the average squared error per sample (squared errors
summed over features, averaged over samples). :func:`write_comparison`
turns the result into a table (Markdown and JSON) and the seed figure:
random test images, their autoencoder reconstructions, their PCA
reconstructions.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils import check_array

from . import __version__
from ._atomic import write_json, write_text
from .metrics import squared_error_per_sample
from .plotting import code_scatter, image_rows, loss_curve

__all__ = ["compare_with_pca", "write_comparison", "format_table", "draw_loss_curve", "method_name"]

logger = logging.getLogger(__name__)


def draw_loss_curve(estimator, path):
    """Draw a fitted estimator's loss curve(s) to ``path``, naming the loss and marking its best epoch.

    The epoch marked is the estimator's ``best_epoch_`` (the weights it kept)
    when it had a validation split, else the one of the lowest training loss.

    Parameters
    ----------
    estimator : Autoencoder
        A fitted aekit estimator (it has ``loss_curve_``); its
        ``validation_scores_``, when not empty, are drawn as a second curve.
    path : str or path-like, or None
        Image file to write (the format follows the suffix, e.g. ``.png``),
        atomically; None returns the figure instead.

    Returns
    -------
    pathlib.Path or matplotlib.figure.Figure
        The path written, or the figure when ``path`` is None.
    """
    loss = getattr(estimator, "loss", "loss")
    penalty = estimator._make_penalty() is not None if hasattr(estimator, "_make_penalty") else False
    ylabel = f"{loss.upper() if loss in ('mse', 'bce') else loss} per entry" + (
        f" + {getattr(estimator, '_penalty_name', 'penalty')}" if penalty else "")
    # the loss is of the scaled data (an imputer's default): an MSE of 0.5 on pixels in [0, 1] read as a failure
    ylabel += {"standard": ", standardised features", "minmax": ", min-max scaled features"}.get(
        getattr(estimator, "scaling", "none"), "")
    validation = list(getattr(estimator, "validation_scores_", None) or []) or None
    best = getattr(estimator, "best_epoch_", None) if validation else None
    return loss_curve(estimator.loss_curve_, validation, path=path, ylabel=ylabel, best_epoch=best,
                      title=f"{_public_class(estimator).__name__}: training loss by epoch")


def method_name(estimator) -> str:
    """The row name of ``estimator`` in a comparison: its class name in words ("sparse autoencoder").

    A private subclass (an experiment's) is named by the public class it extends.

    Parameters
    ----------
    estimator : object
        Any estimator (fitted or not); only its class is read.

    Returns
    -------
    str
        The class name split at capitals and lower-cased.

    Examples
    --------
    >>> from aekit import SparseAutoencoder
    >>> method_name(SparseAutoencoder())
    'sparse autoencoder'
    """
    return re.sub(r"(?<!^)(?=[A-Z])", " ", _public_class(estimator).__name__).lower()


def _public_class(estimator):
    """The class of ``estimator``, or for a private subclass (an experiment's) the public class it extends."""
    return next(c for c in type(estimator).__mro__ if not c.__name__.startswith("_"))


def compare_with_pca(estimator, X_train, X_test, random_state=0, y_train=None, y_test=None) -> dict:
    """Fit PCA and ``estimator`` with the same ``n_components`` and compare them.

    Parameters
    ----------
    estimator : Autoencoder
        An aekit estimator with ``scaling="none"``, fitted in place on
        ``X_train`` (a fitted one is refitted). Its ``n_components`` is PCA's.
    X_train : array-like of shape (n_train, n_features)
        Complete (no NaN) training data; both methods are fitted on it.
    X_test : array-like of shape (n_test, n_features)
        Complete held-out data on which test errors are measured.
    random_state : int, default=0
        Seed for PCA's randomised solver.
    y_train : ndarray of shape (n_train,), default=None
        Class labels of ``X_train``; used only together with ``y_test``.
    y_test : ndarray of shape (n_test,), default=None
        Class labels of ``X_test``. With them, each method's codes are also scored by how
        well they keep the classes apart: the test accuracy of a 5-nearest-
        neighbour classifier fitted on the training codes (not for models
        without a code: imputers, U-Nets, nor when no test label occurs in
        ``y_train``, as in a split by person, where it would be 0).

    Returns
    -------
    result : dict
        ``rows``: per method, ``train_error``, ``test_error``,
        ``fit_seconds`` and, with labels, ``knn_accuracy`` (the estimator's
        row is named by :func:`method_name`, e.g. "sparse autoencoder");
        ``ratio``: estimator / PCA test error (None when PCA reconstructs
        ``X_test`` exactly, to rounding: a code as large as the data, or data
        of lower rank than the code); ``method``: that name; ``reconstructions``: test
        reconstructions by method; with labels and 2-D codes, ``codes``:
        the test codes by method (for :func:`aekit.plotting.code_scatter`);
        ``n_components`` and ``n_train``. Errors are squared errors summed
        over features, averaged over samples, in ``X``'s units squared.

    Raises
    ------
    ValueError
        If the estimator scales its inputs (``scaling`` other than
        ``"none"``), ``X_train`` or ``X_test`` contains NaN, or
        ``n_components`` exceeds ``min(n_train, n_features)``.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import Autoencoder
    >>> X = np.random.default_rng(0).random((60, 5))
    >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
    >>> result = compare_with_pca(ae, X[:40], X[40:])
    >>> list(result["rows"]), result["method"]
    (['PCA', 'autoencoder'], 'autoencoder')
    >>> print(format_table(result).splitlines()[0])
    | method (2-D code) | test error per sample | train error per sample | fit time (s) |
    """
    k = estimator.n_components
    if getattr(estimator, "_scales_inputs", False) and estimator.scaling != "none":
        raise ValueError(f"scaling={estimator.scaling!r} would score the autoencoder in scaled units and PCA in "
                         "X's own: standardise X for both instead (aekit compare --standardize) and leave "
                         "scaling='none'.")
    # a DataFrame or a list as an array (PCA's and the estimator's fits would take it, the checks here not)
    X_train, X_test = (X if isinstance(X, np.ndarray) else check_array(X, ensure_all_finite="allow-nan")
                       for X in (X_train, X_test))
    for name, X in (("X_train", X_train), ("X_test", X_test)):
        if np.isnan(X).any():  # PCA's own message points to scikit-learn's estimators
            raise ValueError(f"{name} contains NaN (missing values); PCA and the autoencoder are compared on "
                             "complete data: fill them first (an AutoencoderImputer, aekit impute).")
    if k > min(X_train.shape):
        raise ValueError(
            f"n_components={k} is larger than PCA allows for X_train of shape {X_train.shape}."
        )
    if k >= X_train.shape[1]:  # the ratio was then a number like 5e13, PCA's error being rounding's
        logger.warning("n_components=%d is not below the %d features: PCA reconstructs X exactly, so the comparison "
                       "says nothing of either; choose a code smaller than the data", k, X_train.shape[1])
    rows, recon = {}, {}
    tic = time.perf_counter()
    # arrays whatever sklearn.set_config(transform_output=...) says: the codes are multiplied and scored here
    pca = PCA(n_components=k, random_state=random_state).set_output(transform="default").fit(X_train)
    pca_seconds = time.perf_counter() - tic
    labelled = y_train is not None and y_test is not None
    # a classifier of training codes can name no test sample's class when the split is by class (Olivetti's by
    # person): its accuracy would be 0 for any codes, so it says nothing about them
    scored = labelled and bool(np.isin(np.asarray(y_test), np.asarray(y_train)).any())
    if labelled and not scored:
        logger.info("no test label occurs in the training labels (a split by class): no 5-NN accuracy")
    # each set encoded once, for its error and its k-NN codes
    pca_codes = (pca.transform(X_train), pca.transform(X_test))
    recon["PCA"] = _pca_reconstruction(pca, pca_codes[1]).astype(np.float32, copy=False)
    rows["PCA"] = {
        "train_error": squared_error_per_sample(X_train, _pca_reconstruction(pca, pca_codes[0])),
        "test_error": squared_error_per_sample(X_test, recon["PCA"]),
        "fit_seconds": pca_seconds,
    }
    logger.info("PCA-%d: test error %.4g (%.2f s)", k, rows["PCA"]["test_error"], pca_seconds)
    name = method_name(estimator)
    estimator.fit(X_train)
    encode = labelled and _has_code(estimator)
    train_errors, train_codes, _ = _reconstruction_pass(estimator, X_train, encode, keep=False)
    _, test_codes, recon[name] = _reconstruction_pass(estimator, X_test, encode, keep=True)
    rows[name] = {
        # the same measure as the test error and PCA's: an imputer's score is its error on hidden entries
        "train_error": float(train_errors.mean()),
        "test_error": squared_error_per_sample(X_test, recon[name]),
        "fit_seconds": estimator.fit_time_,
        "epochs": estimator.n_iter_,
    }
    logger.info("%s: test error %.4g (%.1f s, %d epochs)", name, rows[name]["test_error"],
                estimator.fit_time_, estimator.n_iter_)
    result = {
        "n_components": k,
        "n_train": int(X_train.shape[0]),
        "method": name,
        "rows": rows,
        "ratio": _ratio(rows[name]["test_error"], rows["PCA"]["test_error"], X_test, k),
        "reconstructions": recon,
    }
    if encode:
        codes = {"PCA": pca_codes, name: (train_codes, test_codes)}
        if scored:
            for name, (Z_train, Z_test) in codes.items():
                knn = KNeighborsClassifier(n_neighbors=5).fit(Z_train, y_train)
                rows[name]["knn_accuracy"] = float(knn.score(Z_test, y_test))
            logger.info("5-NN accuracy of the codes: PCA %.3f, %s %.3f", rows["PCA"]["knn_accuracy"], name,
                        rows[name]["knn_accuracy"])
        if all(Z_test.shape[1] == 2 for _, Z_test in codes.values()):
            result["codes"] = {name: Z_test for name, (_, Z_test) in codes.items()}
    return result


def _pca_reconstruction(pca, Z):
    """``pca.inverse_transform(Z)`` (``whiten=False``) with the mean added in place: the same values, one array of
    X's size instead of two (the product and the sum)."""
    X_hat = Z @ pca.components_
    return np.add(X_hat, pca.mean_, out=X_hat if X_hat.dtype == np.result_type(X_hat, pca.mean_) else None)


def _reconstruction_pass(estimator, X, encode: bool, keep: bool):
    """``(errors, codes, reconstruction)`` of the fitted ``estimator`` on ``X`` from one pass of its network.

    ``errors``: each row's squared errors summed over features, against X as given (float64), as
    :func:`~aekit.metrics.squared_error_per_sample` takes them; ``codes`` (float32) with ``encode``, else None;
    the whole reconstruction with ``keep``, else None: the train error needs only the errors, and reconstructing all
    of X_train to take one number held a copy of it (180 MiB for Fashion-MNIST). The network goes over X once,
    a block of its inference rows at a time: ``decode(encode(x))``, its forward, with the codes kept on the way
    (encoding X again for the k-NN codes ran half the network a second time); the values are ``reconstruct``'s and
    ``transform``'s, bit for bit. A model with its own ``reconstruct`` (an imputer's) is asked block by block.
    """
    from ._base import Autoencoder
    from .metrics._errors import _squared_error_rows

    n, errors = len(X), np.empty(len(X))
    codes = reconstruction = None
    if not n or type(estimator).reconstruct is not Autoencoder.reconstruct:  # an imputer's: from the observed entries
        rows = estimator._block_rows() if hasattr(estimator, "_block_rows") else max(n, 1)
        kept = []
        for start in range(0, max(n, 1), rows):  # no rows: once, for reconstruct's own answer
            block = estimator.reconstruct(X[start:start + rows])
            errors[start:start + rows] = _squared_error_rows(X[start:start + rows], block)
            kept += [block] if keep else []
        if keep:
            reconstruction = kept[0] if len(kept) == 1 else np.concatenate(kept)
        return errors, (estimator.transform(X) if encode else None), reconstruction
    from ._inference import coded

    net, width = estimator.net_, estimator.n_features_in_
    start = 0
    for _, out in estimator._batches_out(coded(net) if encode else net,
                                         estimator._network_input(estimator._inference_X(X))):
        stop = start + len(out)
        if encode:
            if codes is None:
                codes = np.empty((n, out.shape[1] - width), np.float32)
            codes[start:stop], out = out[:, :-width], out[:, -width:]
        block = estimator._unscaled(out)
        if keep:
            if reconstruction is None:
                reconstruction = np.empty((n, width), block.dtype)
            reconstruction[start:stop] = block
        errors[start:stop] = _squared_error_rows(X[start:stop], block)
        start = stop
    return errors, codes, reconstruction


def _has_code(estimator) -> bool:
    """Whether ``transform`` encodes: an imputer's fills holes, a U-Net's returns its input."""
    from ._imputer import ImputerMixin

    return not isinstance(estimator, ImputerMixin) and getattr(estimator, "architecture", None) != "unet"


def _ratio(error: float, pca_error: float, X_test: np.ndarray, k: int) -> float | None:
    """``error / pca_error``, or None when PCA's error is rounding's (the quotient would be a number like 5e13).

    That is when the code is as large as the data, or when the test data lie in a space of at most ``k``
    dimensions (a rank below the code's, columns that are constant or copies of others).
    """
    if k >= X_test.shape[1]:  # warned about before the fits
        return None
    # float32 rounding leaves ~1e-12 of the data's squared size per sample: 1e-9 is far above it, below any real fit's
    flat = np.ravel(X_test)
    if flat.dtype.kind not in "fc":  # integers (uint8 pixels) would overflow in the dot product
        flat = flat.astype(np.float64)
    size = float(np.dot(flat, flat)) / max(len(X_test), 1)
    if pca_error <= 1e-9 * size:
        logger.warning("PCA-%d reconstructs the test data exactly (error %.3g per sample, within rounding of 0): "
                       "they lie in a space of at most %d dimensions, so no ratio to PCA is given; choose a smaller "
                       "code", k, pca_error, k)
        return None
    return error / pca_error


def format_table(result: dict, title: str = "") -> str:
    """Markdown table of a :func:`compare_with_pca` result.

    Parameters
    ----------
    result : dict
        What :func:`compare_with_pca` returned (``n_components``, ``rows``,
        ``ratio`` and ``method`` are read). A ``5-NN accuracy`` column is
        added when every row has ``knn_accuracy``.
    title : str, default=""
        Written above the table as a ``###`` heading; empty for none.

    Returns
    -------
    str
        The Markdown: one row per method (test and train error per sample,
        fit seconds), then the estimator-to-PCA test error ratio in bold.
    """
    k = result["n_components"]
    lines = [f"### {title}" if title else "", "",
             f"| method ({k}-D code) | test error per sample | train error per sample | fit time (s) |",
             "|---|---:|---:|---:|"]
    knn = all("knn_accuracy" in row for row in result["rows"].values())
    if knn:
        lines[2] += " 5-NN accuracy of the codes |"
        lines[3] += "---:|"
    for name, row in result["rows"].items():
        line = f"| {name} | {row['test_error']:.4f} | {row['train_error']:.4f} | {row['fit_seconds']:.1f} |"
        lines.append(line + (f" {row['knn_accuracy']:.3f} |" if knn else ""))
    name = result.get("method", "autoencoder")
    ratio = result["ratio"]
    shown = f"**{ratio:.3f}**" if ratio is not None else "undefined (PCA reconstructs the test data exactly)"
    lines += ["", f"{name} / PCA test error: {shown}", ""]
    return "\n".join(lines).lstrip("\n")


def write_comparison(result: dict, out_dir, X_test, image_shape, estimator, dataset_description: str = "",
                     n_show: int = 10, seed: int = 0, y_test=None, class_names=None) -> dict:
    """Write ``results.json``, ``results.md``, ``figure.png`` and ``loss_curve.png`` into ``out_dir``.

    The figure is skipped for data without an image shape. With 2-D codes
    in ``result`` and the test labels ``y_test``, ``codes.png`` shows them:
    PCA's and the autoencoder's, side by side, coloured by class (at most
    500 per class). Files are written atomically; existing ones are
    replaced.

    Parameters
    ----------
    result : dict
        What :func:`compare_with_pca` returned.
    out_dir : str or path-like
        Directory to write into; created (with its parents) if missing.
    X_test : ndarray of shape (n_test, n_features)
        The test data ``result`` was computed on: the figure shows some of
        its rows next to their reconstructions from ``result``.
    image_shape : tuple of int or None
        Shape of one sample as an image, e.g. ``(28, 28)``; None skips
        ``figure.png``. Test data within [0, 1] are drawn on that fixed
        scale, other data with a scale shared by all rows.
    estimator : Autoencoder
        The fitted estimator of ``result``: its loss curve is drawn and its
        ``get_params()`` are written to ``results.json``.
    dataset_description : str, default=""
        Written to ``results.json`` as ``dataset`` and used as the
        Markdown table's title.
    n_show : int, default=10
        Test images in the figure (fewer if ``X_test`` has fewer rows).
    seed : int, default=0
        Seeds which test images the figure shows and which samples the code
        scatter plot draws.
    y_test : ndarray of shape (n_test,), default=None
        Test labels; with 2-D codes in ``result`` they colour ``codes.png``.
    class_names : sequence of str, default=None
        Legend names of the classes ``0, 1, ...`` in ``codes.png``; None
        shows the label values.

    Returns
    -------
    dict of str to pathlib.Path
        The paths written, by kind: ``"figure"``, ``"codes"`` (when drawn),
        ``"loss_curve"``, ``"json"`` and ``"markdown"``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    if image_shape is not None:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(X_test.shape[0], size=min(n_show, X_test.shape[0]), replace=False))
        rows = [("test images", X_test[pick])]
        for name, rec in result["reconstructions"].items():
            err = result["rows"][name]["test_error"]
            rows.append((f"{name}\nerror {err:.3g}", rec[pick]))  # the table's number, named
        # autoencoder before PCA, as in the paper's figure
        rows = [rows[0], *sorted(rows[1:], key=lambda r: r[0].startswith("PCA"))]
        # pixels in [0, 1] are shown on that fixed scale; standardised data column by column
        in_unit_range = X_test.min() >= 0.0 and X_test.max() <= 1.0
        paths["figure"] = image_rows(rows, image_shape, path=out_dir / "figure.png", n_images=len(pick),
                                     normalize="none" if in_unit_range else "joint",
                                     title=f"{result['n_components']}-D codes: test images and their reconstructions "
                                           "(error: squared error per image, summed over pixels)")
    if "codes" in result and y_test is not None:
        paths["codes"] = code_scatter(result["codes"], y_test, path=out_dir / "codes.png", max_per_class=500,
                                      seed=seed, class_names=class_names,
                                      title=f"2-D codes of the test set: {', '.join(result['codes'])}")
    paths["loss_curve"] = draw_loss_curve(estimator, out_dir / "loss_curve.png")
    summary = {
        "aekit_version": __version__,
        "dataset": dataset_description,
        "n_train": result["n_train"],
        "n_test": int(X_test.shape[0]),
        "n_components": result["n_components"],
        "method": result.get("method", "autoencoder"),
        "ratio": result["ratio"],
        "rows": result["rows"],
        "params": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in estimator.get_params(deep=False).items()},
    }
    paths["json"] = write_json(out_dir / "results.json", summary)
    paths["markdown"] = write_text(out_dir / "results.md", format_table(result, dataset_description))
    return paths
