"""Figures of numbers: loss curves and the histogram of code activations."""

import numbers

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._figure import DPI, _check_path, _check_positive_int, _finish

__all__ = ["loss_curve", "activation_histogram"]


# ---------------------------------------------------------------- loss curve


def _as_curve(values, name):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of per-epoch values; "
            f"got shape {values.shape}."
        )
    return values


def loss_curve(train_loss, validation_loss=None, path=None, ylabel="loss", logy=None):
    """Plot loss against epoch for training and, optionally, validation.

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
        One value per epoch; epoch numbers start at 1.
    validation_loss : array-like of shape (n_epochs_val,), optional
        Validation values, one per epoch; may be shorter than train_loss.
    path : str or path-like, optional
        Where to save the figure; its suffix picks the format.
    ylabel : str, default="loss"
        Label of the y-axis.
    logy : bool, optional
        Log-scale the y-axis. By default it is log-scaled when all finite
        values are positive and span more than 1.5 decades.

    Returns
    -------
    Figure or pathlib.Path
        The figure when ``path`` is None, else the path it was saved to.

    Raises
    ------
    ValueError
        If a curve is not a non-empty 1-D sequence, ``logy=True`` with a
        non-positive value, or the path suffix is not a figure format.

    Examples
    --------
    >>> fig = loss_curve([1.0, 0.1, 0.01], [1.2, 0.2, 0.05])
    >>> fig.axes[0].get_yscale()
    'log'
    """
    target = _check_path(path)
    curves = {"train": _as_curve(train_loss, "train_loss")}
    if validation_loss is not None:
        curves["validation"] = _as_curve(validation_loss, "validation_loss")
    finite = np.concatenate([c[np.isfinite(c)] for c in curves.values()])
    all_positive = finite.size > 0 and finite.min() > 0
    if logy is None:
        logy = bool(all_positive and np.log10(finite.max() / finite.min()) > 1.5)
    elif logy and not all_positive:
        raise ValueError(
            "logy=True needs positive loss values; the smallest finite value is "
            f"{finite.min() if finite.size else float('nan')!r}."
        )

    fig = Figure(figsize=(6.0, 4.0), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    for name, values in curves.items():
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, marker="o" if len(values) <= 30 else None,
                markersize=3, label=name)
    if logy:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return _finish(fig, target)


# ---------------------------------------------------------------- activations


def activation_histogram(H, path=None, bins=50, title=None, threshold=1e-6):
    """Histogram of all code activations, with a log-scaled count axis.

    Parameters
    ----------
    H : array-like of shape (n_samples, n_units)
        Codes; all entries are pooled.
    path : str or path-like, optional
        Where to save the figure; its suffix picks the format.
    bins : int or sequence of float, default=50
        Passed to :meth:`matplotlib.axes.Axes.hist`.
    title : str, optional
        Axes title.
    threshold : float, default=1e-6
        Values with ``|h| <= threshold`` count as near zero in the text shown
        on the plot (the same rule as :func:`aekit.metrics.code_statistics`).

    Returns
    -------
    Figure or pathlib.Path
        The figure when ``path`` is None, else the path it was saved to.

    Raises
    ------
    ValueError
        If H has no finite value, bins is not positive, threshold is
        negative, or the path suffix is not a figure format.

    Examples
    --------
    >>> H = np.maximum(np.random.default_rng(0).normal(size=(100, 8)), 0)
    >>> fig = activation_histogram(H)
    >>> fig.axes[0].get_yscale()
    'log'
    """
    target = _check_path(path)
    if isinstance(bins, numbers.Integral):
        bins = _check_positive_int(bins, "bins")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not threshold >= 0
    ):
        raise ValueError(f"threshold must be a number >= 0; got {threshold!r}.")
    values = np.asarray(H, dtype=np.float64).ravel()
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError(
            f"H must contain at least one finite value; got {values.size} entries "
            "and none finite."
        )

    fig = Figure(figsize=(6.0, 4.0), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.hist(finite, bins=bins, log=True, color="tab:blue", edgecolor="white",
            linewidth=0.3)
    near_zero = float(np.mean(np.abs(finite) <= threshold))
    text = f"|h| \u2264 {threshold:g}: {near_zero:.1%} of {finite.size} values"
    n_dropped = values.size - finite.size
    if n_dropped:
        text += f"\n{n_dropped} non-finite values not shown"
    ax.text(0.98, 0.97, text, transform=ax.transAxes, ha="right", va="top",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    ax.set_xlabel("activation")
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    return _finish(fig, target)
