"""Random patches of natural photographs bundled with scikit-image."""

from __future__ import annotations

import logging

import numpy as np
import skimage.color
import skimage.data
import skimage.util

logger = logging.getLogger(__name__)

__all__ = ["image_patches", "list_photos"]

# Photographs shipped inside the scikit-image wheel (no pooch download needed).
PHOTOS = {
    name: getattr(skimage.data, name)
    for name in (
        "astronaut", "brick", "camera", "chelsea", "coffee",
        "coins", "grass", "gravel", "moon", "rocket",
    )
}


def list_photos():
    """Return the names of the photographs :func:`image_patches` uses by default.

    Returns
    -------
    names : tuple of str
        Names of ``skimage.data`` functions, all bundled with scikit-image.

    Examples
    --------
    >>> list_photos()[:3]
    ('astronaut', 'brick', 'camera')
    """
    return tuple(PHOTOS)


def _as_float_image(image, grey, label):
    """Return ``image`` as float64 in [0, 1], (H, W) if grey else (H, W, 3)."""
    image = np.asarray(image)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image {label} must have shape (H, W) or (H, W, 3); got {image.shape}.")
    if np.issubdtype(image.dtype, np.floating) and not (
        np.all(np.isfinite(image)) and image.min() >= 0 and image.max() <= 1
    ):
        raise ValueError(f"image {label} is floating point but not within [0, 1].")
    image = skimage.util.img_as_float(image)
    if grey and image.ndim == 3:
        return skimage.color.rgb2gray(image)
    if not grey and image.ndim == 2:
        return skimage.color.gray2rgb(image)
    return image


def _load_images(images, grey):
    """Return the photographs or arrays in ``images`` as float images (see _as_float_image)."""
    if isinstance(images, (str, np.ndarray)):
        images = [images]
    loaded = []
    for i, image in enumerate(images):
        if not isinstance(image, str):
            loaded.append(_as_float_image(image, grey, f"#{i}"))
        elif image in PHOTOS:
            loaded.append(_as_float_image(PHOTOS[image](), grey, repr(image)))
        else:
            raise ValueError(
                f"images must be names from list_photos() {list_photos()} or arrays; got {image!r}."
            )
    if not loaded:
        raise ValueError("images must hold at least one name or array; got an empty sequence.")
    return loaded


def _zca(X, epsilon):
    """Return the ZCA-whitened rows of X (n, d); epsilon is relative to the mean eigenvalue."""
    X = X - X.mean(axis=0)
    eigvals, eigvecs = np.linalg.eigh(X.T @ X / len(X))  # (d,), (d, d)
    eigvals = np.clip(eigvals, 0, None)
    scale = 1.0 / np.sqrt(eigvals + epsilon * eigvals.mean())
    return X @ (eigvecs * scale) @ eigvecs.T


def image_patches(images=None, patch_size=8, n_patches=10000, whiten=False, seed=0, grey=True,
                  epsilon=0.01):
    """Draw random square patches from photographs.

    Every location in the collection is equally likely: an image is chosen
    with probability proportional to its number of patch positions, then a
    position uniformly.

    Parameters
    ----------
    images : sequence of str or array-like, optional
        Names from :func:`list_photos` (the default: all of them) or images
        of shape (H, W) or (H, W, 3), integer or float in [0, 1].
    patch_size : int, default=8
        Side of the square patches.
    n_patches : int, default=10000
        Number of patches.
    whiten : bool, default=False
        If True, remove each patch's mean (its DC component), then apply
        ZCA whitening fitted on these patches: ``(X - mean) @ U diag(1 /
        sqrt(lambda + eps)) U.T`` with ``eps = epsilon * mean(lambda)``.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.
    grey : bool, default=True
        Convert colour photographs to grey (``skimage.color.rgb2gray``);
        if False grey photographs are repeated over 3 channels.
    epsilon : float, default=0.01
        ZCA regulariser as a fraction of the mean covariance eigenvalue;
        it keeps the noisiest directions from being amplified.

    Returns
    -------
    patches : ndarray of shape (n_patches, patch_size ** 2)
        Or (n_patches, 3 * patch_size ** 2) when not ``grey``.
        float32, shuffled; pixels in [0, 1] unless ``whiten``; rows are
        row-major patches (channels last).

    Examples
    --------
    >>> image_patches(patch_size=8, n_patches=5).shape
    (5, 64)
    """
    for name, value in (("patch_size", patch_size), ("n_patches", n_patches)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if whiten and n_patches < 2:
        raise ValueError(f"n_patches must be at least 2 to fit whitening; got {n_patches}.")
    if not epsilon >= 0:
        raise ValueError(f"epsilon must be >= 0; got {epsilon!r}.")
    loaded = _load_images(list_photos() if images is None else images, grey)
    # Number of patch positions in each image.
    positions = np.array([max(im.shape[0] - patch_size + 1, 0) for im in loaded])
    positions *= np.array([max(im.shape[1] - patch_size + 1, 0) for im in loaded])
    if positions.sum() == 0:
        raise ValueError(
            f"no image is at least {patch_size}x{patch_size} pixels; got {len(loaded)} images."
        )
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_patches, positions / positions.sum())
    blocks = []
    for image, count in zip(loaded, counts):
        if count == 0:
            continue
        window = (patch_size, patch_size) if grey else (patch_size, patch_size, 3)
        views = np.lib.stride_tricks.sliding_window_view(image, window)  # (H', W', [1,] p, p[, 3])
        r = rng.integers(0, image.shape[0] - patch_size + 1, size=count)
        c = rng.integers(0, image.shape[1] - patch_size + 1, size=count)
        blocks.append(views[r, c].reshape(count, -1))
    X = np.concatenate(blocks)[rng.permutation(n_patches)]
    if whiten:
        X = _zca(X - X.mean(axis=1, keepdims=True), epsilon)
    return X.astype(np.float32)
