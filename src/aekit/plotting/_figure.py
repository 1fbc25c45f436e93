"""What every figure shares: sizes, argument checks and the atomic save."""

import io
import logging
import math
import numbers
import os
import pathlib
import secrets

import matplotlib.figure
import numpy as np
from matplotlib.backend_bases import FigureCanvasBase

logger = logging.getLogger(__name__)

DPI = 100
LABEL_FONTSIZE = 11
TITLE_FONTSIZE = 12


class Figure(matplotlib.figure.Figure):
    """A matplotlib Figure that Jupyter shows inline when it is a cell's result.

    A figure built without pyplot has no display hook: a notebook printed
    ``<Figure size 600x400 with 1 Axes>`` instead of the picture. IPython
    prefers a formatter registered for Figure (``%matplotlib inline``) over
    this method, so the picture is shown once either way.
    """

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


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
    path.parent.mkdir(parents=True, exist_ok=True)  # as aekit's other outputs (models, images) do
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
    """Return image_shape as a tuple (H, W) or (H, W, C) with C in {3, 4}; (H, W, 1) becomes (H, W)."""
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError:
        raise TypeError(
            f"image_shape must be a tuple (H, W) or (H, W, 3); got {image_shape!r}."
        ) from None
    if (
        len(shape) not in (2, 3)
        or min(shape) < 1
        or (len(shape) == 3 and shape[2] not in (1, 3, 4))
    ):
        raise ValueError(
            f"image_shape must be (H, W) for grey images, (H, W, 3) for RGB or (H, W, 4) for RGBA "
            f"images; got {image_shape!r}."
        )
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]
    return shape


def _as_images(X, image_shape, name, limit):
    """The first ``limit`` rows of (n, n_features) data as float64 images (RGBA without its alpha channel).

    An alpha channel is not drawn, as aekit drops it reading images (``load_array`` of a folder,
    ``read_image``); ``load_array`` of an (n, H, W, 4) array gives an RGBA ``image_shape``.
    """
    X = np.asarray(X)
    n_values = math.prod(image_shape)
    if X.ndim < 2 or math.prod(X.shape[1:]) != n_values:
        raise ValueError(
            f"{name} must have shape (n_samples, {n_values}) to be shown as "
            f"images of shape {image_shape}; got shape {X.shape}."
        )
    # Slice before converting: only the shown rows of a big test set are copied.
    images = X[:limit].astype(np.float64).reshape(-1, *image_shape)
    return images[..., :3] if len(image_shape) == 3 else images


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
