"""Sparsity and usage statistics of a code matrix."""

import math
import numbers

import numpy as np


#: Samples converted to float64 at a time.
_BLOCK_ROWS = 4096


def code_statistics(H, threshold=1e-6):
    """Sparsity and usage statistics of a code (hidden activation) matrix.

    Parameters
    ----------
    H : array-like of shape (n_samples, n_units)
        Codes, one row per sample.
    threshold : float, default=1e-6
        A unit is active on a sample when ``|h| > threshold``. Must be >= 0.

    Returns
    -------
    stats : dict
        ``active_fraction`` (float): mean over samples of the fraction of
        active units. ``dead_units`` (int): units active on no sample.
        ``dead_fraction`` (float): ``dead_units / n_units``. ``mean_abs``
        (float): mean of ``|h|`` over all entries. ``mean_activation``
        (float): mean of ``h`` over all entries.

    Raises
    ------
    ValueError
        If H is not 2-D or is empty, or threshold is negative or not finite.

    Examples
    --------
    >>> H = [[0.0, 1.0, 0.0], [0.0, 0.5, -0.5]]
    >>> stats = code_statistics(H)
    >>> stats["dead_units"], stats["active_fraction"], stats["mean_abs"]
    (1, 0.5, 0.3333333333333333)
    """
    H = np.asarray(H) if isinstance(H, np.ndarray) else np.asarray(H, dtype=np.float64)
    if H.ndim != 2 or H.size == 0:
        raise ValueError(
            f"H must be a non-empty 2-D array of shape (n_samples, n_units); "
            f"got shape {H.shape}."
        )
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not math.isfinite(threshold)
        or threshold < 0
    ):
        raise ValueError(f"threshold must be a finite number >= 0; got {threshold!r}.")
    # a block of samples at a time in float64: whole-matrix temporaries held 4 times a float32 H (1 GiB for
    # 60k x 1000 overcomplete codes)
    active_per_sample = np.empty(H.shape[0])
    ever_active = np.zeros(H.shape[1], dtype=bool)
    total_abs = total = 0.0
    for start in range(0, H.shape[0], _BLOCK_ROWS):
        block = np.asarray(H[start:start + _BLOCK_ROWS], dtype=np.float64)
        magnitude = np.abs(block)
        active = magnitude > threshold  # (block, n_units)
        active_per_sample[start:start + _BLOCK_ROWS] = active.mean(axis=1)
        ever_active |= active.any(axis=0)
        total_abs += float(magnitude.sum())
        total += float(block.sum())
    dead_units = int((~ever_active).sum())
    return {
        "active_fraction": float(active_per_sample.mean()),
        "dead_units": dead_units,
        "dead_fraction": dead_units / H.shape[1],
        "mean_abs": total_abs / H.size,
        "mean_activation": total / H.size,
    }
