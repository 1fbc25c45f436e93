"""Autoencoder versus PCA at several code sizes: how many dimensions, and where the network earns its keep.

:func:`sweep_code_sizes` runs :func:`aekit.compare.compare_with_pca` once
per code size, with a fresh copy of the estimator each time (its other
parameters unchanged), and collects the errors: the figure is test error
against code size, one line per method (:func:`aekit.plotting.error_curve`).
An autoencoder's edge over PCA is usually largest at the smallest codes,
where a nonlinear code can keep what a linear one must drop.
"""

from __future__ import annotations

import numbers
from pathlib import Path

from sklearn.base import clone

from . import __version__
from ._atomic import write_json, write_text
from .compare import compare_with_pca
from .plotting import error_curve

__all__ = ["sweep_code_sizes", "format_sweep", "write_sweep"]


def _check_sizes(n_components) -> list[int]:
    sizes = [n_components] if isinstance(n_components, numbers.Integral) else list(n_components)
    if not sizes or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1 for k in sizes):
        raise ValueError(f"n_components must be one or more code sizes >= 1; got {n_components!r}.")
    return sorted({int(k) for k in sizes})


def sweep_code_sizes(estimator, X_train, X_test, n_components, random_state=0, y_train=None, y_test=None) -> dict:
    """Compare PCA and ``estimator`` at each code size in ``n_components``.

    Parameters
    ----------
    estimator : Autoencoder
        An unfitted (or fitted: it is not changed) aekit estimator with
        ``scaling="none"``; each size fits a clone of it with that
        ``n_components``.
    X_train : array-like of shape (n_train, n_features)
        Complete training data, for both methods.
    X_test : array-like of shape (n_test, n_features)
        Complete held-out data on which the errors are measured.
    n_components : int or sequence of int
        Code sizes (duplicates dropped, run smallest first); each at most
        ``min(n_train, n_features)``.
    random_state : int, default=0
        Seed of PCA's randomised solver.
    y_train, y_test : ndarray, optional
        Class labels: with both, each code is also scored by the test accuracy
        of a 5-nearest-neighbour classifier fitted on the training codes, as
        :func:`~aekit.compare.compare_with_pca` does.

    Returns
    -------
    result : dict
        ``n_components`` (the sizes run), ``method`` (the estimator's row
        name, e.g. "autoencoder"), ``n_train``, and ``rows``: per method, lists
        over the sizes of ``test_error``, ``train_error``, ``fit_seconds``
        (and ``epochs`` for the estimator; ``knn_accuracy`` with labels); and
        ``ratio``, the estimator's test error over PCA's at each size;
        ``max_epochs``, the estimator's.
        Errors are squared errors summed over features, averaged over
        samples.

    Raises
    ------
    ValueError
        As :func:`~aekit.compare.compare_with_pca` does, at the first size
        that fails (checked for all sizes before any training); or if a size
        is not an integer >= 1.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import Autoencoder
    >>> X = np.random.default_rng(0).random((60, 6))
    >>> ae = Autoencoder(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    >>> result = sweep_code_sizes(ae, X[:40], X[40:], [1, 3])
    >>> result["n_components"], list(result["rows"])
    ([1, 3], ['PCA', 'autoencoder'])
    >>> len(result["rows"]["PCA"]["test_error"])
    2
    """
    sizes = _check_sizes(n_components)
    n_train, n_features = (X_train.shape if hasattr(X_train, "shape") else (len(X_train), len(X_train[0])))
    if sizes[-1] > min(n_train, n_features):  # said before an hour of training at the smaller sizes
        raise ValueError(f"n_components={sizes[-1]} is larger than PCA allows for X_train of shape "
                         f"{(n_train, n_features)}: at most {min(n_train, n_features)}.")
    rows: dict[str, dict[str, list]] = {}
    result: dict = {"n_components": sizes}
    for k in sizes:
        # PCA is fitted at every size on purpose: one fit of the largest would give the smaller ones exactly only with
        # the 'full' and 'covariance_eigh' solvers; the randomised one ('auto' for > 1000 features or < 10 samples
        # per feature) is not nested, and a fit (0.4 s on Fashion-MNIST) is small beside the training at each size
        one = compare_with_pca(clone(estimator).set_params(n_components=k), X_train, X_test,
                               random_state=random_state, y_train=y_train, y_test=y_test)
        for name, row in one["rows"].items():
            for key, value in row.items():
                rows.setdefault(name, {}).setdefault(key, []).append(value)
        result.setdefault("ratio", []).append(one["ratio"])
        result.update(method=one["method"], n_train=one["n_train"])
    result["rows"] = rows
    result["max_epochs"] = int(estimator.max_epochs)
    return result


def _shown(ratio: float | None) -> str:
    """A ratio to PCA for the table: "n/a" where PCA was exact (``compare_with_pca`` gives None)."""
    return "n/a" if ratio is None else f"{ratio:.3f}"


def format_sweep(result: dict, title: str = "") -> str:
    """Markdown table of a :func:`sweep_code_sizes` result: one line per code size.

    Parameters
    ----------
    result : dict
        What :func:`sweep_code_sizes` returned.
    title : str, default=""
        Written above the table as a ``###`` heading; empty for none.

    Returns
    -------
    str
    """
    name, rows = result["method"], result["rows"]
    knn = "knn_accuracy" in rows["PCA"] and "knn_accuracy" in rows[name]
    header = (f"| code size | PCA test error | {name} test error | {name} / PCA | {name} fit (s) | epochs |"
              + (f" PCA 5-NN | {name} 5-NN |" if knn else ""))
    lines = [f"### {title}\n" if title else "", header, "|---:" * (header.count("|") - 1) + "|"]
    for i, k in enumerate(result["n_components"]):
        line = (f"| {k} | {rows['PCA']['test_error'][i]:.4f} | {rows[name]['test_error'][i]:.4f} | "
                f"{_shown(result['ratio'][i])} | {rows[name]['fit_seconds'][i]:.1f} | {rows[name]['epochs'][i]} |")
        if knn:
            line += f" {rows['PCA']['knn_accuracy'][i]:.3f} | {rows[name]['knn_accuracy'][i]:.3f} |"
        lines.append(line)
    capped = [k for k, epochs in zip(result["n_components"], rows[name]["epochs"])
              if epochs == result.get("max_epochs")]
    if capped:  # early stopping never stopped it: a budget, not the method, may be what the error shows
        lines += ["", f"At code size {', '.join(map(str, capped))} the {name} ran all max_epochs="
                      f"{result['max_epochs']} epochs without early stopping: more epochs may lower its error."]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_sweep(result: dict, out_dir, estimator, dataset_description: str = "") -> dict:
    """Write ``results.json``, ``results.md`` and ``errors.png`` (test error against code size) into ``out_dir``.

    Parameters
    ----------
    result : dict
        What :func:`sweep_code_sizes` returned.
    out_dir : str or path-like
        Directory to write into; created if missing; files written
        atomically, existing ones replaced.
    estimator : Autoencoder
        The estimator the sweep cloned: its ``get_params()`` (but
        ``n_components``) go to ``results.json``.
    dataset_description : str, default=""
        The table's title and ``results.json``'s ``dataset``.

    Returns
    -------
    dict of str to pathlib.Path
        ``"figure"``, ``"json"`` and ``"markdown"``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = result["method"]
    figure = error_curve(result["n_components"], {m: result["rows"][m]["test_error"] for m in (name, "PCA")},
                         path=out_dir / "errors.png",
                         title="test error against code size" + (f"\n{dataset_description}" if dataset_description
                                                                  else ""))
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in estimator.get_params(deep=False).items()
              if k != "n_components"}
    summary = {"aekit_version": __version__, "dataset": dataset_description, "n_train": result["n_train"],
               "n_components": result["n_components"], "method": name, "ratio": result["ratio"],
               "rows": result["rows"], "params": params}
    return {"figure": figure, "json": write_json(out_dir / "results.json", summary),
            "markdown": write_text(out_dir / "results.md", format_sweep(result, dataset_description))}
