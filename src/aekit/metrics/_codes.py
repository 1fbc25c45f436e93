"""Sparsity and usage statistics of a code matrix."""

import math
import numbers

import numpy as np


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
    H = np.asarray(H, dtype=np.float64)
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
    active = np.abs(H) > threshold  # (n_samples, n_units)
    dead_units = int((~active.any(axis=0)).sum())
    return {
        "active_fraction": float(active.mean(axis=1).mean()),
        "dead_units": dead_units,
        "dead_fraction": dead_units / H.shape[1],
        "mean_abs": float(np.abs(H).mean()),
        "mean_activation": float(H.mean()),
    }
