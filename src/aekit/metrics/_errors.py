"""Reconstruction errors: squared error per sample, MSE, PSNR, SSIM (and the argument checks they share)."""

import logging
import math
import numbers

import numpy as np
from skimage.metrics import structural_similarity

logger = logging.getLogger(__name__)


#: Samples whose squared errors are summed in one float64 buffer at a time (scoring 8,192 rows of 784 features
#: whole held three float64 arrays of the block, 150 MiB).
_BLOCK_ROWS = 1024


def _as_pair(a, b, name_a, name_b, convert=True):
    """Return two float64 arrays of equal, non-empty shape, batched on axis 0.

    ``convert=False`` leaves numpy arrays in their dtype (for :func:`_squared_error_rows`, which converts a block of
    samples at a time).
    """
    a = np.asarray(a) if not convert and isinstance(a, np.ndarray) else np.asarray(a, dtype=np.float64)
    b = np.asarray(b) if not convert and isinstance(b, np.ndarray) else np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape; "
            f"got {name_a}.shape={a.shape} and {name_b}.shape={b.shape}."
        )
    if a.ndim == 0:
        raise ValueError(
            f"{name_a} and {name_b} must be arrays with at least one dimension; "
            "got scalars."
        )
    if a.ndim == 1:
        # One sample given as a flat vector.
        a, b = a[np.newaxis], b[np.newaxis]
    if a.size == 0:
        raise ValueError(
            f"{name_a} and {name_b} must contain at least one sample and one "
            f"feature; got shape {a.shape}."
        )
    return a, b


def _squared_error_rows(a, b, rows: int = _BLOCK_ROWS):
    """Each sample's squared errors summed over its features, in float64, ``rows`` samples at a time in one float64
    buffer: whole float64 copies of both arrays and their difference held six times a float32 X (3.6 GiB for
    200k x 784). The same values whatever ``rows``: a sample's sum is its own. Also what ``score_samples``,
    ``evaluate`` and ``compare`` score with."""
    out = np.empty(len(a))
    for start in range(0, len(a), rows):
        block = slice(start, start + rows)
        d = np.array(a[block], dtype=np.float64)  # a copy of its own: the difference is taken in place
        d -= np.asarray(b[block])
        out[block] = np.square(d, out=d).reshape(len(d), -1).sum(axis=1)
    return out


def _check_data_range(data_range):
    if (
        isinstance(data_range, bool)
        or not isinstance(data_range, numbers.Real)
        or not math.isfinite(data_range)
        or data_range <= 0
    ):
        raise ValueError(
            f"data_range must be a finite number > 0 (the maximum minus the "
            f"minimum possible value, e.g. 1.0 for images in [0, 1]); "
            f"got {data_range!r}."
        )
    return float(data_range)


def _check_image_shape(image_shape):
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError:
        raise TypeError(
            f"image_shape must be a tuple (H, W) or (H, W, C); got {image_shape!r}."
        ) from None
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(
            f"image_shape must be (H, W) or (H, W, C) with positive sides; "
            f"got {image_shape!r}."
        )
    return shape


def squared_error_per_sample(X, X_hat):
    """Squared error summed over features and averaged over samples.

    This is the "average squared error per image" of Hinton & Salakhutdinov
    (2006): ``mean_i sum_j (X[i, j] - X_hat[i, j]) ** 2``. It grows with the
    number of features, so compare it only between models on the same data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Original data. Extra trailing axes, e.g. (n_samples, H, W), are summed
        over like features; a 1-D array is one sample.
    X_hat : array-like of the same shape as X
        Reconstruction.

    Returns
    -------
    error : float

    Raises
    ------
    ValueError
        If the shapes differ or the arrays are empty.

    Examples
    --------
    >>> squared_error_per_sample([[0, 0], [1, 1]], [[0, 0], [0, 0]])
    1.0
    """
    X, X_hat = _as_pair(X, X_hat, "X", "X_hat", convert=False)
    return float(_squared_error_rows(X, X_hat).mean())


def mean_squared_error(X, X_hat):
    """Mean of the squared error over all entries.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Original data (any shape; a 1-D array is one sample).
    X_hat : array-like of the same shape as X
        Reconstruction.

    Returns
    -------
    mse : float

    Raises
    ------
    ValueError
        If the shapes differ or the arrays are empty.

    Examples
    --------
    >>> mean_squared_error([[0, 0], [1, 1]], [[0, 0], [0, 0]])
    0.5
    """
    X, X_hat = _as_pair(X, X_hat, "X", "X_hat", convert=False)
    return float(_squared_error_rows(X, X_hat).sum() / X.size)


def psnr(clean, estimate, data_range=1.0):
    """Peak signal-to-noise ratio in dB, averaged over images.

    Each image gets ``10 * log10(data_range ** 2 / mse_i)``; the result is the
    mean over images of these values (not the PSNR of the pooled MSE).

    Parameters
    ----------
    clean : array-like of shape (n_images, n_features) or (n_images, H, W[, C])
        Reference images. The first axis always indexes images, so pass a
        single image flattened (1-D) or with a leading axis of length 1; a
        2-D array is read as (n_images, n_features), never as one (H, W)
        image.
    estimate : array-like of the same shape as clean
        Denoised or reconstructed images.
    data_range : float, default=1.0
        Maximum minus minimum possible value, e.g. 1.0 for [0, 1] images and
        255.0 for 8-bit images. Must be > 0.

    Returns
    -------
    psnr : float
        Mean PSNR in dB. An image reconstructed exactly has an MSE of zero and
        a PSNR of ``inf``, so the mean is ``inf`` if any image is exact.

    Raises
    ------
    ValueError
        If the shapes differ, the arrays are empty, or data_range <= 0.

    Examples
    --------
    >>> clean = [[0.0, 0.0, 0.0, 0.0]]
    >>> round(psnr(clean, [[0.1, -0.1, 0.1, -0.1]]), 6)  # mse 0.01
    20.0
    """
    data_range = _check_data_range(data_range)
    clean, estimate = _as_pair(clean, estimate, "clean", "estimate", convert=False)
    mse = _squared_error_rows(clean, estimate) / clean[0].size
    with np.errstate(divide="ignore"):
        per_image = 10.0 * np.log10(data_range**2 / mse)
    return float(per_image.mean())


def ssim(clean, estimate, image_shape, data_range=1.0):
    """Structural similarity (SSIM), averaged over images.

    Uses :func:`skimage.metrics.structural_similarity` with a uniform window
    of side ``min(7, s)``, where ``s`` is the largest odd number not above the
    smallest image side, so small images such as 8x8 digits work.

    Parameters
    ----------
    clean : array-like of shape (n_images, n_features) or (n_images, *image_shape)
        Reference images; a 1-D array is one flattened image.
    estimate : array-like of the same shape as clean
        Denoised or reconstructed images.
    image_shape : tuple of int
        ``(H, W)`` for grey images or ``(H, W, C)`` for colour images, whose
        channel axis is last. The smallest of H and W must be at least 3.
    data_range : float, default=1.0
        Maximum minus minimum possible value. Must be > 0.

    Returns
    -------
    ssim : float
        Mean SSIM, 1.0 for identical images.

    Raises
    ------
    ValueError
        If the shapes differ, the arrays are empty, data_range <= 0, or the
        images do not have ``prod(image_shape)`` values each or are smaller
        than 3x3.
    TypeError
        If image_shape is not a sequence of ints.

    Examples
    --------
    >>> X = np.linspace(0, 1, 2 * 64).reshape(2, 64)
    >>> ssim(X, X, image_shape=(8, 8))
    1.0
    """
    data_range = _check_data_range(data_range)
    shape = _check_image_shape(image_shape)
    clean, estimate = _as_pair(clean, estimate, "clean", "estimate")
    n_values = math.prod(shape)
    if clean[0].size != n_values:
        raise ValueError(
            f"image_shape {shape} needs {n_values} values per image, but clean "
            f"has {clean[0].size} (shape {clean.shape})."
        )
    smallest_side = min(shape[:2])
    if smallest_side < 3:
        raise ValueError(
            f"ssim needs images of at least 3x3 pixels; got image_shape {shape}."
        )
    win_size = min(7, smallest_side if smallest_side % 2 else smallest_side - 1)
    channel_axis = -1 if len(shape) == 3 else None

    clean = clean.reshape(-1, *shape)
    estimate = estimate.reshape(-1, *shape)
    values = [
        structural_similarity(
            c, e, win_size=win_size, data_range=data_range, channel_axis=channel_axis
        )
        for c, e in zip(clean, estimate)
    ]
    return float(np.mean(values))
