"""Overlapping patches of an image: cut out, averaged back with sine-tapered weights, and drawn at random."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["patch_positions", "extract_patches", "average_patches", "sample_patches"]

_CHUNK = 4096  # patches per model call: bounds memory on large images


def patch_positions(length: int, size: int, stride: int) -> np.ndarray:
    """Start offsets of patches of ``size`` every ``stride`` pixels, the last one flush with the end.

    Parameters
    ----------
    length : int
        Image side in pixels.
    size : int
        Patch side in pixels, at most ``length``.
    stride : int
        Step between starts, >= 1.

    Returns
    -------
    ndarray of int
        Ascending start offsets; together the patches cover every pixel.

    Raises
    ------
    ValueError
        If ``size > length``.

    Examples
    --------
    >>> patch_positions(10, 4, 3).tolist()
    [0, 3, 6]
    >>> patch_positions(11, 4, 3).tolist()
    [0, 3, 6, 7]
    """
    if size > length:
        raise ValueError(f"patch size {size} is larger than the image side {length}.")
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return np.asarray(starts)


def _as_hwc(image: np.ndarray) -> np.ndarray:
    return image[:, :, None] if image.ndim == 2 else image


def _patch_hw(patch_shape, channels: int) -> tuple[int, int]:
    """``(ph, pw)`` of ``patch_shape``: ``(ph, pw)``, or a model's ``image_shape`` ``(ph, pw, C)`` with the
    images' C."""
    try:
        shape = tuple(int(s) for s in patch_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) == 3 and shape[2] == channels:
        shape = shape[:2]
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"patch_shape must be (ph, pw) with sides >= 1, or (ph, pw, {channels}) for "
                         f"{channels}-channel images; got {patch_shape!r}.")
    return shape


def _check_stride(stride) -> int:
    """``stride`` as a positive int (0 or -2 failed inside range(), 2.5 with a TypeError)."""
    if isinstance(stride, bool) or not isinstance(stride, numbers.Integral) or stride < 1:
        raise ValueError(f"stride must be an int >= 1; got {stride!r}.")
    return int(stride)


def extract_patches(image, patch_shape, stride: int):
    """All overlapping patches of ``image``, flattened channels last.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        The image; any dtype (kept).
    patch_shape : tuple of int
        ``(ph, pw)``, at most the image's size, or a model's ``image_shape``
        ``(ph, pw, C)`` with the image's ``C``.
    stride : int
        Step between patches in pixels; the last row and column of patches are flush
        with the image border, so every pixel is covered.

    Returns
    -------
    patches : ndarray of shape (n_patches, ph * pw * C)
        Each patch flattened row by row, channels last (``C = 1`` for a
        2-D image), the layout aekit's models take with ``image_shape=(ph,
        pw)`` or ``(ph, pw, C)``.
    positions : ndarray of shape (n_patches, 2)
        Top-left corner (row, column) of each patch.

    Raises
    ------
    ValueError
        If ``patch_shape`` is not 2 positive sides (and the image's
        channels), is larger than the image, or ``stride`` is not an int >= 1.
    """
    windows, rows, cols = _patch_grid(image, patch_shape, stride)
    return _gather(windows, rows, cols)


def _patch_grid(image, patch_shape, stride):
    """``(windows, rows, cols)``: every patch of ``image`` as a view (H-ph+1, W-pw+1, C, ph, pw), and the starts."""
    image = _as_hwc(np.asarray(image))
    ph, pw = _patch_hw(patch_shape, image.shape[2])
    stride = _check_stride(stride)
    rows = patch_positions(image.shape[0], ph, stride)
    cols = patch_positions(image.shape[1], pw, stride)
    return sliding_window_view(image, (ph, pw), axis=(0, 1)), rows, cols


def _gather(windows, rows, cols):
    """The patches at ``rows`` x ``cols`` of ``windows`` and their positions, as :func:`extract_patches` gives them."""
    sel = windows[rows[:, None], cols]  # (n_rows, n_cols, C, ph, pw); one gather, not a copy per axis
    patches = sel.transpose(0, 1, 3, 4, 2).reshape(len(rows) * len(cols), -1)
    positions = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    return np.ascontiguousarray(patches), positions


def _patch_chunks(image, patch_shape, stride: int, keep=None):
    """:func:`extract_patches`'s ``(patches, positions)`` in consecutive chunks of ``_CHUNK`` (the last shorter),
    gathered a band of patch rows at a time: a large image's patches (16 times its pixels at the default stride)
    are never all in memory. ``keep(patches) -> bool array`` drops patches before they are chunked."""
    windows, rows, cols = _patch_grid(image, patch_shape, stride)
    band = max(1, _CHUNK // len(cols))  # patch rows per gather
    buf_p, buf_q = None, None
    for start in range(0, len(rows), band):
        patches, positions = _gather(windows, rows[start:start + band], cols)
        if keep is not None:
            sel = keep(patches)
            patches, positions = patches[sel], positions[sel]
        buf_p = patches if buf_p is None else np.concatenate([buf_p, patches])
        buf_q = positions if buf_q is None else np.concatenate([buf_q, positions])
        while len(buf_p) >= _CHUNK:
            yield buf_p[:_CHUNK], buf_q[:_CHUNK]
            buf_p, buf_q = buf_p[_CHUNK:], buf_q[_CHUNK:]
    if buf_p is not None and len(buf_p):
        yield buf_p, buf_q


def _window(ph: int, pw: int) -> np.ndarray:
    # Sine taper: a patch's border pixels, where a convolutional net sees
    # padding instead of context, weigh less than its centre; never zero, so
    # the image border (covered by border pixels only) stays defined.
    wr = np.sin(np.pi * (np.arange(ph) + 0.5) / ph)
    wc = np.sin(np.pi * (np.arange(pw) + 0.5) / pw)
    return np.outer(wr, wc)


class _Accumulator:
    """Weighted sum of patches placed back into an image, and the sum of weights."""

    def __init__(self, image_shape, patch_shape):
        self.total = np.zeros(_as_hwc(np.empty(image_shape, dtype=np.uint8)).shape, dtype=np.float64)
        self.weight = np.zeros(self.total.shape[:2], dtype=np.float64)
        self.ph, self.pw = patch_shape
        self.w = _window(self.ph, self.pw)

    def add(self, patches: np.ndarray, positions: np.ndarray) -> None:
        # per block of patches, one bincount over the pixels the block covers (a Python loop over the patches
        # took 29 s for the million 8x8 patches of a 2048x2048 image)
        patches = patches.reshape(-1, self.ph, self.pw, self.total.shape[2])
        positions = np.asarray(positions, dtype=np.int64).reshape(-1, 2)
        H, W = self.weight.shape
        outside = (positions < 0).any(axis=1) | (positions[:, 0] + self.ph > H) | (positions[:, 1] + self.pw > W)
        if outside.any():  # a flat pixel index would wrap into the next row
            r, k = positions[np.argmax(outside)]
            raise ValueError(f"a {self.ph}x{self.pw} patch at ({r}, {k}) reaches outside the {H}x{W} image; "
                             "positions are top-left corners of patches inside it.")
        step = max(1, min(_CHUNK, (1 << 18) // (self.ph * self.pw)))  # temporaries of 2**18 pixels per channel
        for start in range(0, len(positions), step):
            self._add_block(patches[start:start + step], positions[start:start + step])

    def _add_block(self, patches: np.ndarray, positions: np.ndarray) -> None:
        if not len(positions):
            return
        H, W, c = self.total.shape
        # flat pixel index of each patch pixel: (n, ph, pw)
        idx = (positions[:, 0] * W + positions[:, 1])[:, None, None] + (np.arange(self.ph)[:, None] * W
                                                                        + np.arange(self.pw))
        lo = int(idx.min())
        size = int(idx.max()) + 1 - lo  # grid-ordered patches span a few patch rows of the image
        idx = (idx - lo).ravel()
        weighted = patches * self.w[:, :, None]  # (n, ph, pw, c), float64
        total = self.total.reshape(H * W, c)
        for ch in range(c):
            total[lo:lo + size, ch] += np.bincount(idx, weights=weighted[..., ch].ravel(), minlength=size)
        weights = np.broadcast_to(self.w, (len(positions), self.ph, self.pw)).ravel()
        self.weight.reshape(-1)[lo:lo + size] += np.bincount(idx, weights=weights, minlength=size)

    def result(self) -> np.ndarray:
        return self.total / np.maximum(self.weight, 1e-12)[:, :, None]


def average_patches(patches, positions, image_shape, patch_shape) -> np.ndarray:
    """Put patches back where they came from, averaging overlaps (sine-tapered weights).

    Inverse of :func:`extract_patches`: averaging unchanged patches gives
    the image back. Each patch's pixels are weighted by a sine taper (its
    border counts less than its centre).

    Parameters
    ----------
    patches : array-like of shape (n_patches, ph * pw * C)
        Flattened patches, as :func:`extract_patches` gives them.
    positions : array-like of shape (n_patches, 2)
        Top-left corner (row, column) of each patch.
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)`` of the image to rebuild; pixels no patch
        covers come out as 0.
    patch_shape : tuple of int
        ``(ph, pw)``, or ``(ph, pw, C)`` with ``image_shape``'s ``C``.

    Returns
    -------
    image : ndarray of ``image_shape``, float64

    Examples
    --------
    >>> image = np.arange(30.0).reshape(5, 6)
    >>> patches, positions = extract_patches(image, (3, 3), stride=2)
    >>> np.allclose(average_patches(patches, positions, image.shape, (3, 3)), image)
    True
    """
    image_shape = tuple(image_shape)
    channels = image_shape[2] if len(image_shape) == 3 else 1
    ph, pw = _patch_hw(patch_shape, channels)
    patches = np.asarray(patches)
    if patches.ndim != 2 or patches.shape[1] != ph * pw * channels:  # reshaped, it said "cannot reshape array"
        raise ValueError(f"patches must have shape (n_patches, {ph * pw * channels}): {ph}x{pw} patches of the "
                         f"{channels} channel(s) of image_shape {image_shape}; got {patches.shape}.")
    acc = _Accumulator(image_shape, (ph, pw))
    acc.add(patches, np.asarray(positions))  # weighted in float64 block by block
    out = acc.result()
    return out[:, :, 0] if len(image_shape) == 2 else out


def sample_patches(images, patch_shape, n_patches: int, seed: int = 0) -> np.ndarray:
    """Random patches from a list of images, spread over the images by their area.

    Parameters
    ----------
    images : sequence of ndarray of shape (H, W) or (H, W, C)
        Images of any sizes, all grey or all with ``C`` channels; those
        smaller than a patch are skipped.
    patch_shape : tuple of int
        ``(ph, pw)``, or ``(ph, pw, C)`` with the images' ``C``.
    n_patches : int
        Patches to draw (with replacement). An image's share is proportional
        to its number of patch positions.
    seed : int, default=0
        Seeds which images and positions are drawn.

    Returns
    -------
    patches : ndarray of shape (n_patches, ph * pw * C), float32
        Flattened channels last, as :func:`extract_patches` gives them.

    Raises
    ------
    ValueError
        If no image is at least one patch in size, or the images mix
        numbers of channels.

    Examples
    --------
    >>> sample_patches([np.zeros((8, 8, 3)), np.ones((4, 5, 3))], (4, 4), 6).shape
    (6, 48)
    """
    images = [_as_hwc(np.asarray(im, dtype=np.float32)) for im in images]
    ph, pw = _patch_hw(patch_shape, images[0].shape[2] if images else 1)
    usable = [im for im in images if im.shape[0] >= ph and im.shape[1] >= pw]
    if not usable:
        raise ValueError(f"no image is at least {ph}x{pw} pixels; use a smaller patch size.")
    channels = {im.shape[2] for im in usable}
    if len(channels) > 1:
        raise ValueError("the images mix grey and colour; read them with one mode (grey or rgb).")
    rng = np.random.default_rng(seed)
    areas = np.array([(im.shape[0] - ph + 1) * (im.shape[1] - pw + 1) for im in usable], dtype=np.float64)
    which = rng.choice(len(usable), size=int(n_patches), p=areas / areas.sum())
    out = np.empty((int(n_patches), ph * pw * usable[0].shape[2]), dtype=np.float32)
    for i, j in enumerate(which):
        im = usable[j]
        r = rng.integers(0, im.shape[0] - ph + 1)
        k = rng.integers(0, im.shape[1] - pw + 1)
        out[i] = im[r:r + ph, k:k + pw].reshape(-1)
    return out
