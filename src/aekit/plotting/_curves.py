"""Figures of numbers: loss curves, error against code size, and the histogram of code activations."""

import numbers
import textwrap

import numpy as np
from matplotlib.ticker import FixedLocator, MaxNLocator

from ._figure import DPI, Figure, _check_path, _check_positive_int, _finish

__all__ = ["loss_curve", "error_curve", "activation_histogram"]


# ---------------------------------------------------------------- loss curve


def _as_curve(values, name):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of per-epoch values; "
            f"got shape {values.shape}."
        )
    return values


def _best_epoch(curves, best_epoch):
    """The 1-based epoch to mark: the lowest finite validation (else training) loss, or the one given."""
    if best_epoch is not None:
        if isinstance(best_epoch, bool) or not isinstance(best_epoch, numbers.Integral) or best_epoch < 0:
            raise ValueError(f"best_epoch must be an epoch number >= 1, 0 for no mark, or None; got {best_epoch!r}.")
        n_epochs = max(len(c) for c in curves.values())
        return int(best_epoch) if 0 < best_epoch <= n_epochs else 0
    monitored = curves.get("validation", curves["train"])
    finite = np.isfinite(monitored)
    return int(np.flatnonzero(finite)[np.argmin(monitored[finite])]) + 1 if finite.any() else 0


def loss_curve(train_loss, validation_loss=None, path=None, ylabel="loss", logy=None, title=None, best_epoch=None):
    """Plot loss against epoch for training and, optionally, validation.

    The best epoch is marked with a star and its value written next to it;
    epochs whose loss is NaN or infinite (a diverging run) are marked with a
    red cross at the top of the axes rather than silently left out.

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
        One value per epoch; epoch numbers start at 1.
    validation_loss : array-like of shape (n_epochs_val,), optional
        Validation values, one per epoch; may be shorter than train_loss.
        Empty means none, as an estimator's ``validation_scores_`` is when
        it trained without validation (``validation_fraction=0``).
    path : str or path-like, optional
        Where to save the figure; its suffix picks the format.
    ylabel : str, default="loss"
        Label of the y-axis.
    logy : bool, optional
        Log-scale the y-axis. By default it is log-scaled when all finite
        values are positive and span more than 1.5 decades.
    title : str, optional
        Axes title.
    best_epoch : int, optional
        The epoch to mark as best (e.g. an estimator's ``best_epoch_``), on
        the validation curve if there is one; 0 for no mark. By default the
        epoch of the lowest validation loss, or of the lowest training loss
        without validation.

    Returns
    -------
    Figure or pathlib.Path
        The figure when ``path`` is None, else the path it was saved to.

    Raises
    ------
    ValueError
        If train_loss is not a non-empty 1-D sequence (validation_loss: a
        1-D one), ``logy=True`` with a
        non-positive value, ``best_epoch`` is negative, or the path suffix is
        not a figure format.

    Examples
    --------
    >>> fig = loss_curve([1.0, 0.1, 0.01], [1.2, 0.2, 0.05])
    >>> fig.axes[0].get_yscale()
    'log'
    >>> fig.axes[0].texts[0].get_text()
    '\u2605 best: epoch 3, 0.05'
    """
    target = _check_path(path)
    curves = {"train": _as_curve(train_loss, "train_loss")}
    # a model fitted without validation has validation_scores_ == []: loss_curve(m.loss_curve_, m.validation_scores_)
    if validation_loss is not None and np.size(validation_loss) > 0:
        curves["validation"] = _as_curve(validation_loss, "validation_loss")
    best = _best_epoch(curves, best_epoch)
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
    n_epochs = max(len(values) for values in curves.values())
    for name, values in curves.items():
        epochs = np.arange(1, len(values) + 1)
        # a point whose neighbours are NaN has no line to show it: always mark points on short curves
        line, = ax.plot(epochs, values, marker="o" if len(values) <= 30 else None, markersize=3, label=name)
        bad = ~np.isfinite(values)
        if bad.any():  # at the top edge, whatever the y-range: a diverged epoch is news, not a gap
            ax.scatter(epochs[bad], np.ones(bad.sum()), marker="x", color="tab:red", zorder=3, clip_on=False,
                       transform=ax.get_xaxis_transform(), label="_non-finite")
    notes = []  # lower left: the corner a falling loss curve leaves empty (the legend goes where the data is not)
    if best:
        values = curves.get("validation", curves["train"])
        if best > len(values) or not np.isfinite(values[best - 1]):
            values = curves["train"]
        if best <= len(values) and np.isfinite(values[best - 1]):
            ax.scatter([best], [values[best - 1]], marker="*", s=120, color="black", zorder=4, label="_best")
            notes.append((f"\u2605 best: epoch {best}, {values[best - 1]:.3g}", "black"))
    non_finite = sorted({int(e) + 1 for c in curves.values() for e in np.flatnonzero(~np.isfinite(c))})
    if non_finite:
        shown = ", ".join(map(str, non_finite[:8])) + (", ..." if len(non_finite) > 8 else "")
        notes.append((f"\u00d7 NaN or infinite loss at epoch {shown}", "tab:red"))
    for i, (text, colour) in enumerate(reversed(notes)):
        ax.text(0.02, 0.03 + 0.07 * i, text, transform=ax.transAxes, color=colour, fontsize=9, ha="left",
                va="bottom", bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none",
                                   "alpha": 0.8})
    if logy:
        ax.set_yscale("log")
    margin = max(0.5, 0.03 * n_epochs)  # explicit, so a single epoch or an all-NaN curve gets a sane axis
    ax.set_xlim(1 - margin, n_epochs + margin)
    # one epoch: the integer locator would still label 0.5, 0.6, ... 1.5
    ax.xaxis.set_major_locator(FixedLocator([1]) if n_epochs == 1 else MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    # not a fixed corner: upper right hid the end of a validation curve above the training one, and its best star
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    return _finish(fig, target)


# ---------------------------------------------------------------- error against code size


def error_curve(n_components, errors, path=None, ylabel="test error per sample", title=None):
    """Plot each method's error against code size (the figure of ``aekit sweep``).

    Parameters
    ----------
    n_components : sequence of int
        The code sizes, increasing.
    errors : dict of str to sequence of float
        Per method (e.g. ``"autoencoder"``, ``"PCA"``), one error per code
        size; NaN where a method has none.
    path : str or path-like, optional
        Where to save the figure; its suffix picks the format.
    ylabel : str, default="test error per sample"
        Label of the y-axis.
    title : str, optional
        Axes title.

    Returns
    -------
    Figure or pathlib.Path
        The figure when ``path`` is None, else the path it was saved to.

    Raises
    ------
    ValueError
        If the sizes are not positive and increasing, ``errors`` is empty,
        a method's errors do not match the sizes, or the path suffix is not
        a figure format.

    Examples
    --------
    >>> fig = error_curve([2, 8, 32], {"autoencoder": [5.0, 2.0, 1.0], "PCA": [9.0, 4.0, 1.5]})
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['autoencoder', 'PCA']
    >>> fig.axes[0].get_xscale()  # sizes spanning more than a factor 8: a log scale, ticks at the sizes
    'log'
    """
    target = _check_path(path)
    sizes = np.asarray(n_components, dtype=np.float64)
    if sizes.ndim != 1 or sizes.size == 0 or not (sizes > 0).all() or not (np.diff(sizes) > 0).all():
        raise ValueError(f"n_components must be positive, increasing code sizes; got {list(n_components)!r}.")
    if not errors:
        raise ValueError("errors must name at least one method's errors; got none.")
    curves = {str(name): _as_curve(values, f"errors[{name!r}]") for name, values in errors.items()}
    for name, values in curves.items():
        if values.size != sizes.size:
            raise ValueError(f"errors[{name!r}] has {values.size} values for {sizes.size} code sizes.")
    finite = np.concatenate([c[np.isfinite(c)] for c in curves.values()])
    fig = Figure(figsize=(6.0, 4.0), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    for (name, values), marker in zip(curves.items(), "osD^v<>ph*"):
        ax.plot(sizes, values, marker=marker, markersize=5, label=name)  # markers too: not told apart by hue only
    if sizes[-1] / sizes[0] > 8:
        ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(FixedLocator([]))
    ax.set_xticklabels([f"{k:g}" for k in sizes])
    if finite.size and finite.min() > 0 and np.log10(finite.max() / finite.min()) > 1.5:
        ax.set_yscale("log")
    ax.set_xlabel("code size (n_components)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best")
    if title:  # a dataset's description can be long: wrapped to the axes' width
        lines = [textwrap.fill(line, 70) for line in str(title).splitlines()]
        ax.set_title("\n".join(lines), fontsize=10 if "\n" in "".join(lines) else None)
    return _finish(fig, target)


# ---------------------------------------------------------------- activations


def _float64_blocks(values, size=1 << 20):
    """Consecutive pieces of the 1-D array ``values`` as float64."""
    for start in range(0, values.size, size):
        yield np.asarray(values[start:start + size], dtype=np.float64)


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
    values = np.asarray(H)
    if not isinstance(H, np.ndarray) or not np.issubdtype(values.dtype, np.number):
        values = np.asarray(H, dtype=np.float64)
    values = values.reshape(-1)
    n_finite, n_near_zero, low, high = 0, 0, np.inf, -np.inf
    for block in _float64_blocks(values):  # min, max and counts without float64 copies of all of H
        block = block[np.isfinite(block)]
        if block.size:
            n_finite += block.size
            n_near_zero += int(np.count_nonzero(np.abs(block) <= threshold))
            low, high = min(low, block.min()), max(high, block.max())
    if n_finite == 0:
        raise ValueError(
            f"H must contain at least one finite value; got {values.size} entries "
            "and none finite."
        )

    fig = Figure(figsize=(6.0, 4.0), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    style = {"log": True, "color": "tab:blue", "edgecolor": "white", "linewidth": 0.3}
    if isinstance(bins, numbers.Integral):
        # the counts numpy gives all finite values (equal-width bins from their min to max), a block at a time,
        # drawn as one weighted value per bin
        edges = np.histogram_bin_edges(np.array([low, high]), bins)
        counts = np.zeros(bins)
        for block in _float64_blocks(values):
            counts += np.histogram(block[np.isfinite(block)], bins=bins, range=(edges[0], edges[-1]))[0]
        ax.hist(edges[:-1], bins=edges, weights=counts, **style)
    else:
        finite = np.asarray(values, dtype=np.float64)
        counts = ax.hist(finite[np.isfinite(finite)], bins=bins, **style)[0]
    near_zero = n_near_zero / n_finite
    text = f"|h| \u2264 {threshold:g}: {near_zero:.1%} of {n_finite} values"
    n_dropped = values.size - n_finite
    if n_dropped:
        text += f"\n{n_dropped} non-finite value{'' if n_dropped == 1 else 's'} not shown"
    ax.text(0.98, 0.97, text, transform=ax.transAxes, ha="right", va="top",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    # room at the top for that note: it covered the peak of a code centred on zero
    note = 0.06 + 0.07 * (text.count("\n") + 1)  # of the axes height
    bottom = ax.get_ylim()[0]
    ax.set_ylim(bottom, bottom * (counts.max() / bottom) ** (1 / (1 - note - 0.03)))
    ax.set_xlabel("activation")
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    return _finish(fig, target)
