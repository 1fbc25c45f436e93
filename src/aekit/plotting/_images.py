"""Figures of images: rows of samples and reconstructions, grids of filters."""

import math
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties

from ._figure import (DPI, LABEL_FONTSIZE, TITLE_FONTSIZE, Figure, _as_images, _check_image_shape, _check_path,
                      _check_positive_int, _finish, _finite_range)

__all__ = ["image_rows", "filter_grid"]


def _joint_ranges(images_per_row, n_cols):
    """One (vmin, vmax) per column, shared by all rows that have that column."""
    ranges = []
    for j in range(n_cols):
        column = [images[j] for images in images_per_row if j < len(images)]
        ranges.append(_finite_range(np.stack(column)))
    return ranges


def _unit_ranges(images_per_row, n_cols):
    return [(0.0, 1.0)] * n_cols


def _auto_ranges(images_per_row, n_cols):
    """[0, 1] for pixel data (then a dim reconstruction looks dim), else joint."""
    lo, hi = _finite_range(np.concatenate([images.ravel() for images in images_per_row]))
    if lo >= 0.0 and hi <= 1.0:
        return _unit_ranges(images_per_row, n_cols)
    return _joint_ranges(images_per_row, n_cols)


NORMALIZATIONS = {"auto": _auto_ranges, "joint": _joint_ranges, "none": _unit_ranges}

# NaN and infinite pixels (entries missing from the data) get a colour no grey image has, so holes stand out
MISSING_COLOUR = "tab:red"
FRAME_COLOUR = "0.7"  # a thin light grey line around each image of image_rows
LABEL_CHARS = 32  # longer row labels are wrapped onto several lines
MIN_CELL = 0.2  # inches: the smallest image drawn, however many columns
MAX_CELL = 3.0  # inches: the largest (a 512x512 photo in one or two columns; 1 inch showed a fifth of its pixels)
LINE_HEIGHT = 1.3 * LABEL_FONTSIZE / 72  # inches per line of a label
CAPTION_FONTSIZE = 9
FILTER_CAPTION = "each filter scaled by its own largest |weight|:\nmid grey 0, lighter positive, darker negative"


def _text_width_inches(texts, fontsize):
    """Width in inches of the widest line of the texts when drawn at ``fontsize``."""
    renderer = RendererAgg(1, 1, DPI)
    prop = FontProperties(size=fontsize)
    widths = [
        renderer.get_text_width_height_descent(line, prop, ismath=False)[0]
        for t in texts
        for line in t.split("\n")
    ]
    return max(widths, default=0.0) / DPI


def _wrap(label):
    """The label with each line longer than LABEL_CHARS wrapped at spaces."""
    lines = []
    for line in label.split("\n"):
        lines.extend(textwrap.wrap(line, LABEL_CHARS, break_long_words=False) or [line])
    return "\n".join(lines)


def _mark_missing_rgb(image):
    """An RGB image with every pixel that has a non-finite channel painted MISSING_COLOUR."""
    missing = ~np.isfinite(image).all(axis=-1)
    image = np.where(missing[..., None], to_rgb(MISSING_COLOUR), image)
    return image


def image_rows(
    rows,
    image_shape,
    path=None,
    n_images=10,
    title=None,
    cmap="gray",
    normalize="auto",
):
    """Draw rows of images, one row per data set, with a label on the left.

    The usual use is the comparison figure: test images, the autoencoder's
    reconstructions and PCA's reconstructions of the same images, column by
    column.

    Parameters
    ----------
    rows : dict or list of (str, array-like of shape (n_samples, n_features))
        Ordered ``label -> images`` pairs, drawn top to bottom. Labels such
        as ``"autoencoder (err 12.3)"`` are shown left of their row; labels
        longer than 32 characters are wrapped at spaces. Rows may hold
        different numbers of images; missing cells stay blank. NaN or
        infinite entries (missing values) are drawn in red, and a note under
        the grid says so.
    image_shape : tuple of int
        ``(H, W)`` for grey images or ``(H, W, 3)`` for RGB images;
        ``n_features`` must equal ``prod(image_shape)``. ``(H, W, 4)``
        (RGBA, as :func:`aekit.datasets.load_array` gives for such an
        array) is drawn without its alpha channel.
    path : str or path-like, optional
        Where to save the figure; its suffix picks the format.
    n_images : int, default=10
        Number of columns: the first ``n_images`` images of each row.
    title : str, optional
        Title above the grid.
    cmap : str or Colormap, default="gray"
        Colormap for grey images (ignored for RGB).
    normalize : {"auto", "joint", "none"}, default="auto"
        ``"none"``: the values are shown on a fixed [0, 1] scale (clipped),
        so a faint reconstruction looks faint. ``"joint"``: each column is
        scaled linearly so that the smallest value over its rows is black and
        the largest white, so mean-subtracted data displays fine and a
        column's images stay comparable. ``"auto"``: ``"none"`` when every
        finite value is in [0, 1] (pixel data), else ``"joint"``.

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
    >>> fig.axes[0].images[0].get_clim()  # pixels in [0, 1]: a fixed scale
    (0.0, 1.0)
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
    labels = [_wrap(str(label)) for label, _ in pairs]
    images_per_row = [
        _as_images(X, shape, f"rows[{label!r}]", n_images) for label, X in pairs
    ]
    n_cols = max(len(images) for images in images_per_row)
    if n_cols == 0:
        raise ValueError("rows must hold at least one image; all arrays are empty.")
    shape = images_per_row[0].shape[1:]  # as drawn: RGBA without its alpha
    ranges = NORMALIZATIONS[normalize](images_per_row, n_cols)
    rgb = len(shape) == 3
    missing = any(not np.isfinite(images).all() for images in images_per_row)
    if not rgb:
        cmap = (colormaps[cmap] if isinstance(cmap, str) else cmap).with_extremes(bad=MISSING_COLOUR)

    # Layout in inches: label margin | n_cols cells. The longer side of an
    # image gets `side` inches (smaller for wide grids, so the figure stays
    # printable; up to its own pixels, at most MAX_CELL, for a few big images,
    # which one inch drew at a fraction of their pixels), the other side keeps
    # the image's aspect ratio; a row is at least as tall as its label, its
    # images centred in it.
    h, w = shape[:2]
    side = min(max(1.0, min(MAX_CELL, max(h, w) / DPI)), max(MIN_CELL, 12.0 / n_cols))
    cell_w, cell_h = side * w / max(h, w), side * h / max(h, w)
    row_h = [max(cell_h, LINE_HEIGHT * (label.count("\n") + 1)) for label in labels]
    gap = 0.04
    pad = 0.1
    label_w = _text_width_inches(labels, LABEL_FONTSIZE) + 2 * pad
    title_h = 0.45 if title else 0.0
    notes = [(text, colour) for text, colour, shown in (
        ("red: missing values (NaN or infinite)", MISSING_COLOUR, missing),
        # a stretched scale says so: mean-subtracted data's mid-grey is 0, and a faint row does not look faint
        (f"{'colours' if rgb else 'grey scale'}: each column stretched from its lowest value over the rows "
         f"({'darkest' if rgb else 'black'}) to its highest ({'brightest' if rgb else 'white'})", "black",
         any(tuple(r) != (0.0, 1.0) for r in ranges)),
    ) if shown]
    note_h = LINE_HEIGHT * len(notes)
    grid_w = n_cols * cell_w + (n_cols - 1) * gap
    fig_w = max(label_w + grid_w + pad, _text_width_inches([title or ""], TITLE_FONTSIZE) + 2 * pad,
                _text_width_inches([text for text, _ in notes] or [""], LABEL_FONTSIZE - 2) + label_w + pad)
    fig_h = title_h + sum(row_h) + (len(row_h) - 1) * gap + 2 * pad + note_h
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)

    top = fig_h - title_h - pad
    for label, images, height in zip(labels, images_per_row, row_h):
        bottom = top - height
        fig.text(
            (label_w - pad) / fig_w,
            (bottom + height / 2) / fig_h,
            label,
            ha="right",
            va="center",
            fontsize=LABEL_FONTSIZE,
        )
        for j, image in enumerate(images):
            left = label_w + j * (cell_w + gap)
            ax = fig.add_axes(
                [left / fig_w, (bottom + (height - cell_h) / 2) / fig_h, cell_w / fig_w, cell_h / fig_h]
            )
            vmin, vmax = ranges[j]
            if rgb:
                scale = vmax - vmin if vmax > vmin else 1.0
                ax.imshow(np.clip(_mark_missing_rgb((image - vmin) / scale), 0.0, 1.0))
            else:
                ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
            _frame(ax)
        top = bottom - gap
    if title:
        fig.text(
            0.5,
            1.0 - pad / fig_h,
            title,
            ha="center",
            va="top",
            fontsize=TITLE_FONTSIZE,
        )
    for i, (text, colour) in enumerate(reversed(notes)):
        fig.text(label_w / fig_w, (pad / 2 + i * LINE_HEIGHT) / fig_h, text, ha="left", va="bottom",
                 fontsize=LABEL_FONTSIZE - 2, color=colour)
    return _finish(fig, target)


def _frame(ax) -> None:
    """No ticks, and a thin grey frame: an image's white edges would otherwise merge into the white page (a dark
    shape on white read as a shape with no image around it)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_edgecolor(FRAME_COLOUR)


def filter_grid(W, image_shape, path=None, n_max=256, title=None):
    """Show encoder filters as a near-square grid of images.

    Each filter is scaled by its own largest absolute value, so zero is mid
    grey in every cell, positive weights are light and negative dark; a
    caption under the grid says so. NaN or infinite weights are drawn in
    red (the scale is taken over the finite ones), and the caption says so.

    Parameters
    ----------
    W : array-like of shape (n_units, n_features)
        Encoder weights, one row per hidden unit (the layout of
        ``torch.nn.Linear.weight``).
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, 3)``; ``n_features`` must equal its product.
        ``(H, W, 4)`` (RGBA) is drawn without its alpha channel.
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
    shape = filters.shape[1:]  # as drawn: RGBA without its alpha

    axes = tuple(range(1, filters.ndim))
    finite = np.isfinite(filters)
    # non-finite weights (a diverged model's) are drawn red: as NaN they came out white, as the strongest positive
    # weights do, and an infinite one flattened the rest of its filter to mid grey
    scale = np.max(np.abs(np.where(finite, filters, 0.0)), axis=axes, keepdims=True)
    filters = np.where(finite, filters, 0.0) / np.where(scale > 0, scale, 1.0)  # each in [-1, 1]
    missing = ~finite.all(axis=-1) if len(shape) == 3 else ~finite  # (n, h, w)

    n = len(filters)
    h, w = shape[:2]
    gap = 1  # pixels
    # a near-square grid of cells; for very wide or tall filters, a near-square mosaic instead
    # (ten 10x40 filters in 2 columns, not a thin strip of 4)
    cell_aspect = (h + gap) / (w + gap)
    n_cols = math.ceil(math.sqrt(n * cell_aspect if not 0.5 <= cell_aspect <= 2.0 else n))
    n_cols = min(n, n_cols)
    n_rows = math.ceil(n / n_cols)
    mosaic_shape = (n_rows * (h + gap) - gap, n_cols * (w + gap) - gap) + shape[2:]
    # Gaps are NaN (grey) or white (RGB) so cells stay apart from each other.
    mosaic = np.full(mosaic_shape, np.nan if len(shape) == 2 else 1.0)
    red = np.zeros(mosaic_shape[:2] + (4,))  # RGBA over the mosaic: MISSING_COLOUR where a weight is not finite
    for k, f in enumerate(filters):
        r, c = divmod(k, n_cols)
        top, left = r * (h + gap), c * (w + gap)
        mosaic[top : top + h, left : left + w] = f if len(shape) == 2 else 0.5 + f / 2
        red[top : top + h, left : left + w][missing[k]] = to_rgba(MISSING_COLOUR)

    side = min(8.0, max(2.5, 0.6 * max(n_rows, n_cols)))
    aspect = mosaic_shape[0] / mosaic_shape[1]
    title_h = 0.4 if title else 0.0
    caption = FILTER_CAPTION + ("\nred: NaN or infinite weights" if missing.any() else "")
    caption_h = (caption.count("\n") + 1) * LINE_HEIGHT * CAPTION_FONTSIZE / LABEL_FONTSIZE + 0.1
    fig_w, fig_h = (side, side * aspect) if aspect <= 1 else (side / aspect, side)
    # room for the whole title and caption, however narrow the mosaic
    fig_w = max(fig_w, _text_width_inches([title or ""], TITLE_FONTSIZE) + 0.2,
                _text_width_inches([FILTER_CAPTION], CAPTION_FONTSIZE) + 0.2)
    height = fig_h + title_h + caption_h
    fig = Figure(figsize=(fig_w, height), dpi=DPI)
    ax = fig.add_axes([0.0, caption_h / height, 1.0, fig_h / height])
    if len(shape) == 2:
        cmap = colormaps["gray"].with_extremes(bad="white")
        ax.imshow(mosaic, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(np.clip(mosaic, 0.0, 1.0), interpolation="nearest")
    if missing.any():
        ax.imshow(red, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.text(0.5, 1.0 - 0.08 / height, title, ha="center", va="top",
                 fontsize=TITLE_FONTSIZE)
    # the scale is per filter: a weak filter looks as strong as a strong one, which the figure must say
    fig.text(0.5, 0.05 / height, caption, ha="center", va="bottom", fontsize=CAPTION_FONTSIZE)
    return _finish(fig, target)
