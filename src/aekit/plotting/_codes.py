"""Two-dimensional codes as scatter plots, one panel per method, points coloured by class.

The figure of Hinton & Salakhutdinov (2006, Fig. 3): the first two principal
components of digits against a 784-1000-500-250-2 autoencoder's codes.
"""

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_rgba
from matplotlib.lines import Line2D

from ._figure import DPI, LABEL_FONTSIZE, TITLE_FONTSIZE, Figure, _check_path, _check_positive_int, _finish
from ._images import _text_width_inches

__all__ = ["code_scatter"]

MAX_LEGEND = 20  # classes with a legend entry and a colour of their own (petroff10 / tab20); more get a colour bar
#: Up to ten classes: M. A. Petroff's ten colours ("Accessible Color Sequences for Data Visualization", 2021;
#: matplotlib >= 3.10 ships them as color_sequences["petroff10"]), chosen to stay apart under the common colour
#: vision deficiencies, where tab10's green and red, and its blue and purple, look alike.
PETROFF10 = ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6", "#a96b59", "#e76300", "#b9ac70", "#717581",
             "#92dadd")


def _subsample(y, max_per_class, seed):
    """Indices of at most ``max_per_class`` samples of each class (seeded), in their original order."""
    if max_per_class is None or len(y) == 0:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(np.flatnonzero(y == c))[:max_per_class] for c in np.unique(y)]
    return np.sort(np.concatenate(keep))


def _limits(values):
    """(lo, hi) of the central 99 % of the finite values, padded; (-1, 1) if there are none."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return -1.0, 1.0
    lo, hi = np.percentile(values, [0.5, 99.5])
    pad = 0.05 * (hi - lo) if hi > lo else 0.5 * max(abs(lo), 1e-6)  # all equal: a window around them
    return lo - pad, hi + pad


def code_scatter(panels, y, path=None, title=None, max_per_class=None, class_names=None, seed=0):
    """Scatter two-dimensional codes, one panel per method, coloured by class.

    Parameters
    ----------
    panels : dict or list of (str, array-like of shape (n_samples, 2))
        Ordered ``label -> codes`` pairs, drawn left to right (e.g. PCA, then
        the autoencoder); every panel holds the codes of the same samples.
    y : array-like of shape (n_samples,)
        Class labels (integers), one colour each.
    path : str or path-like, optional
        Where to save the figure; its suffix picks the format.
    title : str, optional
        Title above the panels.
    max_per_class : int, optional
        Draw at most this many samples of each class (the paper shows 500
        per digit), drawn with ``seed``; None draws all. Each panel's axes
        span the central 99 % of its codes (0.5th to 99.5th percentile), so
        a few far-flung codes do not squeeze the others into a corner.
    class_names : sequence of str, optional
        Legend entries by label value; default the labels themselves. Up to
        20 classes get a legend entry each (in two columns above 12); more
        classes are coloured along a continuous colormap with a colour bar.
        Codes that are NaN or infinite are left out, and counted on their
        panel.
    seed : int, default=0
        Seeds the choice of ``max_per_class`` samples per class.

    Returns
    -------
    Figure or pathlib.Path
        The figure when ``path`` is None, else the path it was saved to.

    Raises
    ------
    ValueError
        If there is no panel, codes are not (n_samples, 2), y does not
        have one integer label per sample, or ``class_names`` has no name
        for a label.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 60)
    >>> fig = code_scatter({"PCA": rng.normal(size=(60, 2)), "autoencoder": rng.normal(size=(60, 2)) + y[:, None]}, y)
    >>> len(fig.axes)
    2
    """
    target = _check_path(path)
    items = list(panels.items()) if isinstance(panels, dict) else list(panels)
    if not items:
        raise ValueError("panels is empty: give at least one (label, codes) pair.")
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a 1-D array of integer labels; got dtype {y.dtype} and shape {y.shape}.")
    codes = []
    for label, Z in items:
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != 2 or Z.shape[0] != y.shape[0]:
            raise ValueError(f"the codes of {label!r} must have shape ({y.shape[0]}, 2), one 2-D code per label; "
                             f"got {Z.shape}.")
        codes.append((str(label), Z))
    if class_names is not None and y.size:
        if y.min() < 0:
            raise ValueError(f"class_names names labels 0, 1, ...; y has a negative label {y.min()}.")
        if y.max() >= len(class_names):
            raise ValueError(f"class_names has {len(class_names)} names, but y has labels up to {y.max()}; "
                             "give one name per label value 0, 1, ...")
    if max_per_class is not None:
        max_per_class = _check_positive_int(max_per_class, "max_per_class")
    # all classes in one random drawing order, so no class is hidden under the last one drawn
    shown = np.random.default_rng(seed).permutation(_subsample(y, max_per_class, seed))
    classes = np.unique(y)
    many = classes.size > MAX_LEGEND
    if many:
        palette, norm = colormaps["viridis"], Normalize(classes.min(), classes.max())
        colour_of = {c: palette(norm(c)) for c in classes}
    elif classes.size <= len(PETROFF10):
        colour_of = {c: to_rgba(colour) for c, colour in zip(classes, PETROFF10)}
    else:
        palette = colormaps["tab20"]
        # ten hues, each dark then light: the dark ten first, so classes 0 and 1 are not both blue
        colour_of = {c: palette(2 * i % palette.N + 2 * i // palette.N) for i, c in enumerate(classes)}
    colours = [colour_of[c] for c in y[shown]]
    size = float(np.clip(3000 / max(shown.size, 1), 4, 25))  # dots for thousands of codes, visible for a few
    names = [str(c) if class_names is None else str(class_names[c]) for c in classes]
    n_legend_cols = 1 if classes.size <= 12 else 2
    # the legend or colour bar gets width of its own: taken from the panels, long class names squeezed one to a strip
    key_w = 1.1 if many else n_legend_cols * (_text_width_inches(names, 10) + 0.6) + 0.2 if classes.size else 0.0
    fig = Figure(figsize=(4.6 * len(codes) + key_w, 4.6), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(codes), squeeze=False)[0]
    for ax, (label, Z) in zip(axes, codes):
        ax.scatter(Z[shown, 0], Z[shown, 1], s=size, alpha=0.7, c=colours, rasterized=True)
        # the central 99 % of the codes fill the panel: a few far-flung codes would squeeze the rest to a dot
        ax.set_xlim(*_limits(Z[shown, 0]))
        ax.set_ylim(*_limits(Z[shown, 1]))
        ax.set_title(label, fontsize=LABEL_FONTSIZE)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("code 1")
        ax.set_ylabel("code 2")
        n_bad = int((~np.isfinite(Z[shown]).all(axis=1)).sum())
        if n_bad:
            ax.text(0.02, 0.02, f"{n_bad} non-finite codes not shown", transform=ax.transAxes, color="tab:red",
                    fontsize=9, ha="left", va="bottom")
    if many:
        bar = fig.colorbar(ScalarMappable(norm, palette), ax=axes, shrink=0.8, label="class")
        bar.ax.yaxis.get_major_locator().set_params(integer=True)
    elif classes.size:
        handles = [Line2D([], [], marker="o", linestyle="", markersize=6, color=colour_of[c]) for c in classes]
        fig.legend(handles, names, loc="outside right center", frameon=False, title="class", ncols=n_legend_cols)
    if title:
        fig.suptitle(title, fontsize=TITLE_FONTSIZE)
    return _finish(fig, target)
