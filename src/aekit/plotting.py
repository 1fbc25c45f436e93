"""Figures for autoencoder experiments.

Every function builds a :class:`matplotlib.figure.Figure` directly (never
through ``pyplot``), so no global state is touched and no display is needed.
With ``path=None`` the figure is returned; with a path it is saved atomically
(written to a temporary file in the same folder, then renamed over ``path``)
and the path is returned as a :class:`pathlib.Path`. The file format follows
the suffix of ``path`` (``.png``, ``.pdf``, ``.svg``, ...).
"""

import logging
import math
import numbers
import os
import pathlib
import secrets

import numpy as np
from matplotlib import colormaps
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

__all__ = ["image_rows", "loss_curve", "filter_grid", "activation_histogram"]

logger = logging.getLogger(__name__)

DPI = 100
LABEL_FONTSIZE = 11
TITLE_FONTSIZE = 12


# ---------------------------------------------------------------- saving


def _check_path(path):
    """Return ``(Path, format)`` for an output path, or None for no path."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str, a path-like or None; got {path!r}.")
    path = pathlib.Path(path)
    fmt = path.suffix[1:].lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(
            f"path must end in a figure format suffix, one of "
            f"{sorted(supported)}; got {str(path)!r}."
        )
    return path, fmt


def _open_temp(path):
    """Create and open a new hidden temporary file next to ``path``."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            # 0o666 filtered by the umask: the final file gets the same
            # permissions as one written by a plain open().
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return tmp, fd


def _finish(fig, target):
    """Return ``fig``, or save it atomically to ``target`` and return the path."""
    if target is None:
        return fig
    path, fmt = target
    tmp, fd = _open_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.debug("saved figure to %s", path)
    return path


# ---------------------------------------------------------------- checks


def _check_image_shape(image_shape):
    """Return image_shape as a tuple (H, W) or (H, W, C) with C in {1, 3}."""
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError:
        raise TypeError(
            f"image_shape must be a tuple (H, W) or (H, W, 3); got {image_shape!r}."
        ) from None
    if (
        len(shape) not in (2, 3)
        or min(shape) < 1
        or (len(shape) == 3 and shape[2] not in (1, 3))
    ):
        raise ValueError(
            f"image_shape must be (H, W) for grey images or (H, W, 3) for RGB "
            f"images; got {image_shape!r}."
        )
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]
    return shape


def _as_images(X, image_shape, name, limit):
    """The first ``limit`` rows of (n, n_features) data as float64 images."""
    X = np.asarray(X)
    n_values = math.prod(image_shape)
    if X.ndim < 2 or math.prod(X.shape[1:]) != n_values:
        raise ValueError(
            f"{name} must have shape (n_samples, {n_values}) to be shown as "
            f"images of shape {image_shape}; got shape {X.shape}."
        )
    # Slice before converting: only the shown rows of a big test set are copied.
    return X[:limit].astype(np.float64).reshape(-1, *image_shape)


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _finite_range(values):
    """(min, max) of the finite entries, (0, 1) if there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


# ---------------------------------------------------------------- image rows


def _joint_ranges(images_per_row, n_cols):
    """One (vmin, vmax) per column, shared by all rows that have that column."""
    ranges = []
    for j in range(n_cols):
        column = [images[j] for images in images_per_row if j < len(images)]
        ranges.append(_finite_range(np.stack(column)))
    return ranges


def _unit_ranges(images_per_row, n_cols):
    return [(0.0, 1.0)] * n_cols


NORMALIZATIONS = {"joint": _joint_ranges, "none": _unit_ranges}


def _text_width_inches(texts, fontsize):
    """Width in inches of the widest text when drawn at ``fontsize``."""
    renderer = RendererAgg(1, 1, DPI)
    prop = FontProperties(size=fontsize)
    widths = [
        renderer.get_text_width_height_descent(t, prop, ismath=False)[0]
        for t in texts
    ]
    return max(widths, default=0.0) / DPI


def image_rows(
    rows,
    image_shape,
    path=None,
    n_images=10,
    title=None,
    cmap="gray",
    normalize="joint",
):
    """Draw rows of images, one row per data set, with a label on the left.

    The usual use is the comparison figure: test images, the autoencoder's
    reconstructions and PCA's reconstructions of the same images, column by
    column.

    Parameters
    ----------
    rows : dict or list of (str, array-like of shape (n_samples, n_features))
        Ordered ``label -> images`` pairs, drawn top to bottom. Labels such
        as ``"autoencoder (err 12.3)"`` are shown left of their row. Rows may
        hold different numbers of images; missing cells stay blank.
    image_shape : tuple of int
        ``(H, W)`` for grey images or ``(H, W, 3)`` for RGB images;
        ``n_features`` must equal ``prod(image_shape)``.
    path : str or path-like, optional
        Where to save the figure; its suffix picks the format.
    n_images : int, default=10
        Number of columns: the first ``n_images`` images of each row.
    title : str, optional
        Title above the grid.
    cmap : str or Colormap, default="gray"
        Colormap for grey images (ignored for RGB).
    normalize : {"joint", "none"}, default="joint"
        ``"joint"``: each column is scaled linearly so that the smallest value
        over its rows is black and the largest white, so mean-subtracted data
        displays fine and a column's images stay comparable. ``"none"``: the
        values are shown on a fixed [0, 1] scale (clipped).

    Returns
    -------
    Figure or pathlib.Path
        The figure when ``path`` is None, else the path it was saved to.

    Raises
    ------
    ValueError
        If rows is empty, an array does not match image_shape, n_images is
        not a positive integer, normalize is unknown, or the path suffix is
        not a figure format.
    TypeError
        If rows is not a dict or list of pairs, or path is not path-like.

    Examples
    --------
    >>> X = np.random.default_rng(0).random((4, 64))
    >>> fig = image_rows({"test images": X, "PCA": X.round(1)}, (8, 8), n_images=3)
    >>> len(fig.axes)
    6
    """
    target = _check_path(path)
    if normalize not in NORMALIZATIONS:
        raise ValueError(
            f"normalize must be one of {sorted(NORMALIZATIONS)}; got {normalize!r}."
        )
    n_images = _check_positive_int(n_images, "n_images")
    shape = _check_image_shape(image_shape)
    pairs = list(rows.items()) if isinstance(rows, dict) else list(rows)
    if not pairs:
        raise ValueError("rows must hold at least one (label, images) pair; got none.")
    if not all(isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
        raise TypeError(
            "rows must be a dict {label: images} or a list of (label, images) pairs."
        )
    labels = [str(label) for label, _ in pairs]
    images_per_row = [
        _as_images(X, shape, f"rows[{label!r}]", n_images) for label, X in pairs
    ]
    n_cols = max(len(images) for images in images_per_row)
    if n_cols == 0:
        raise ValueError("rows must hold at least one image; all arrays are empty.")
    ranges = NORMALIZATIONS[normalize](images_per_row, n_cols)
    rgb = len(shape) == 3

    # Layout in inches: label margin | n_cols cells, cells keep the image's
    # aspect ratio; wide grids get smaller cells so the figure stays printable.
    n_rows = len(pairs)
    cell_w = min(1.0, max(0.4, 12.0 / n_cols))
    cell_h = cell_w * shape[0] / shape[1]
    gap = 0.04
    pad = 0.1
    label_w = _text_width_inches(labels, LABEL_FONTSIZE) + 2 * pad
    title_h = 0.45 if title else 0.0
    fig_w = label_w + n_cols * cell_w + (n_cols - 1) * gap + pad
    fig_h = title_h + n_rows * cell_h + (n_rows - 1) * gap + 2 * pad
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)

    for i, (label, images) in enumerate(zip(labels, images_per_row)):
        bottom = fig_h - title_h - pad - (i + 1) * cell_h - i * gap
        fig.text(
            (label_w - pad) / fig_w,
            (bottom + cell_h / 2) / fig_h,
            label,
            ha="right",
            va="center",
            fontsize=LABEL_FONTSIZE,
        )
        for j, image in enumerate(images):
            left = label_w + j * (cell_w + gap)
            ax = fig.add_axes(
                [left / fig_w, bottom / fig_h, cell_w / fig_w, cell_h / fig_h]
            )
            vmin, vmax = ranges[j]
            if rgb:
                scale = vmax - vmin if vmax > vmin else 1.0
                ax.imshow(np.clip((image - vmin) / scale, 0.0, 1.0))
            else:
                ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_axis_off()
    if title:
        fig.text(
            0.5,
            1.0 - pad / fig_h,
            title,
            ha="center",
            va="top",
            fontsize=TITLE_FONTSIZE,
        )
    return _finish(fig, target)


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


# ---------------------------------------------------------------- filters


def filter_grid(W, image_shape, path=None, n_max=256, title=None):
    """Show encoder filters as a near-square grid of images.

    Each filter is scaled by its own largest absolute value, so zero is mid
    grey in every cell, positive weights are light and negative dark.

    Parameters
    ----------
    W : array-like of shape (n_units, n_features)
        Encoder weights, one row per hidden unit (the layout of
        ``torch.nn.Linear.weight``).
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, 3)``; ``n_features`` must equal its product.
    path : str or path-like, optional
        Where to save the figure; its suffix picks the format.
    n_max : int, default=256
        Show at most the first ``n_max`` units.
    title : str, optional
        Title above the grid.

    Returns
    -------
    Figure or pathlib.Path
        The figure when ``path`` is None, else the path it was saved to.

    Raises
    ------
    ValueError
        If W does not match image_shape, n_max is not a positive integer, or
        the path suffix is not a figure format.

    Examples
    --------
    >>> W = np.random.default_rng(0).normal(size=(10, 64))
    >>> fig = filter_grid(W, (8, 8))
    >>> fig.axes[0].images[0].get_array().shape  # 3 rows x 4 columns of 8x8
    (26, 35)
    """
    target = _check_path(path)
    n_max = _check_positive_int(n_max, "n_max")
    shape = _check_image_shape(image_shape)
    filters = _as_images(W, shape, "W", n_max)
    if len(filters) == 0:
        raise ValueError("W must hold at least one filter; got 0 rows.")

    axes = tuple(range(1, filters.ndim))
    scale = np.max(np.abs(np.nan_to_num(filters)), axis=axes, keepdims=True)
    filters = filters / np.where(scale > 0, scale, 1.0)  # each in [-1, 1]

    n = len(filters)
    n_cols = math.ceil(math.sqrt(n))
    n_rows = math.ceil(n / n_cols)
    h, w = shape[:2]
    gap = 1  # pixels
    mosaic_shape = (n_rows * (h + gap) - gap, n_cols * (w + gap) - gap) + shape[2:]
    # Gaps are NaN (grey) or white (RGB) so cells stay apart from each other.
    mosaic = np.full(mosaic_shape, np.nan if len(shape) == 2 else 1.0)
    for k, f in enumerate(filters):
        r, c = divmod(k, n_cols)
        top, left = r * (h + gap), c * (w + gap)
        mosaic[top : top + h, left : left + w] = f if len(shape) == 2 else 0.5 + f / 2

    side = min(8.0, max(2.5, 0.6 * max(n_rows, n_cols)))
    aspect = mosaic_shape[0] / mosaic_shape[1]
    title_h = 0.4 if title else 0.0
    fig_w, fig_h = (side, side * aspect) if aspect <= 1 else (side / aspect, side)
    fig = Figure(figsize=(fig_w, fig_h + title_h), dpi=DPI)
    ax = fig.add_axes([0.0, 0.0, 1.0, fig_h / (fig_h + title_h)])
    if len(shape) == 2:
        cmap = colormaps["gray"].with_extremes(bad="white")
        ax.imshow(mosaic, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(np.clip(mosaic, 0.0, 1.0), interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.text(0.5, 1.0 - 0.08 / (fig_h + title_h), title, ha="center", va="top",
                 fontsize=TITLE_FONTSIZE)
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
