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
    tally = CodeTally(threshold)
    tally.add(H)
    return tally.statistics()


class CodeTally:
    """:func:`code_statistics` as a streaming reduction: codes added a block of samples at a time, never held whole.

    The statistics equal :func:`code_statistics` of the blocks stacked, bit for bit when each block but the last
    holds a multiple of ``_BLOCK_ROWS`` samples (the sums are then taken over the same runs of rows), else up to
    float rounding.

    Parameters
    ----------
    threshold : float
        A unit is active on a sample when ``|h| > threshold`` (checked by :func:`code_statistics`).
    """

    def __init__(self, threshold):
        self.threshold = threshold
        self._active = []  # each sample's fraction of active units, a float64 array per run of rows
        self._ever_active = None
        self._total_abs = self._total = 0.0
        self._size = 0

    def add(self, H) -> None:
        """Count the codes ``H`` of shape (n_samples, n_units) (the same units in every call)."""
        # a block of samples at a time in float64: whole-matrix temporaries held 4 times a float32 H (1 GiB for
        # 60k x 1000 overcomplete codes)
        if self._ever_active is None:
            self._ever_active = np.zeros(H.shape[1], dtype=bool)
        for start in range(0, H.shape[0], _BLOCK_ROWS):
            block = np.asarray(H[start:start + _BLOCK_ROWS], dtype=np.float64)
            magnitude = np.abs(block)
            active = magnitude > self.threshold  # (block, n_units)
            self._active.append(active.mean(axis=1))
            self._ever_active |= active.any(axis=0)
            self._total_abs += float(magnitude.sum())
            self._total += float(block.sum())
            self._size += block.size

    def statistics(self) -> dict:
        """The statistics of all codes added, as :func:`code_statistics` returns them (at least one added)."""
        dead_units = int((~self._ever_active).sum())
        return {
            "active_fraction": float(np.concatenate(self._active).mean()),
            "dead_units": dead_units,
            "dead_fraction": dead_units / self._ever_active.size,
            "mean_abs": self._total_abs / self._size,
            "mean_activation": self._total / self._size,
        }
