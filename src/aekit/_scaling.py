"""Per-feature scaling of an estimator's inputs: the column statistics, fitted in memory or streamed.

``AutoencoderImputer`` (NaN-aware statistics of the observed entries) and
the other estimators' ``scaling`` parameter share these. :func:`fit_scaling`
fits and applies an estimator's scaling to its training data (it reads and
sets the estimator's attributes, but imports no estimator: only
:mod:`aekit.streaming`, for memory-mapped files).
"""

from __future__ import annotations

import logging

import numpy as np

from .streaming import ArraySource, Batches, host_rows, is_streamable

__all__ = ["SCALINGS", "column_scaling", "fit_scaling", "scaled_float32", "streamed_column_scaling"]

logger = logging.getLogger(__name__)

#: Rows scaled at a time (in float64) when an in-memory X is scaled (for training, evaluate, compare --standardize).
_BLOCK_ROWS = 4096

#: Columns whose statistics are computed together (in float64) by :func:`column_scaling`.
_BLOCK_COLUMNS = 64

#: ``scaling`` values: standardise, map each column's range to [0, 1], or leave X as it is.
SCALINGS = ("none", "standard", "minmax")


def column_scaling(X, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``(center, scale)`` of each column of X (NaN ignored), float64; the network sees ``(X - center) / scale``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    kind : {"standard", "minmax", "none"}
        Mean and standard deviation, minimum and range, or 0 and 1. A
        constant column (scale 0) keeps scale 1.

    Examples
    --------
    >>> center, scale = column_scaling(np.array([[0.0, 5.0], [2.0, 5.0]]), "standard")
    >>> center.tolist(), scale.tolist()
    ([1.0, 5.0], [1.0, 1.0])
    """
    X = np.asarray(X)
    if kind == "standard":
        # a block of columns at a time in float64: nanstd of the whole of X held 4.5 times X in float64
        stats = [(np.nanmean(B, axis=0), np.nanstd(B, axis=0)) for B in _float64_column_blocks(X)]
        center, scale = np.concatenate([m for m, _ in stats]), np.concatenate([s for _, s in stats])
    elif kind == "minmax":
        # min and max pick values, so they are taken before the float64 cast (no copy of X)
        center = np.asarray(np.nanmin(X, axis=0), dtype=np.float64)
        scale = np.asarray(np.nanmax(X, axis=0), dtype=np.float64) - center
    else:
        center, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
    scale[~(scale > 1e-12)] = 1.0  # constant columns stay as they are
    return center, scale


def _float64_column_blocks(X):
    """X's columns as float64 arrays, :data:`_BLOCK_COLUMNS` at a time (a last lone column joins the block before:
    numpy sums a single column pairwise, a wider block row by row as the whole array, so the sums stay the same)."""
    d = X.shape[1]
    starts = list(range(0, d, _BLOCK_COLUMNS)) or [0]
    if len(starts) > 1 and d - starts[-1] == 1:
        starts.pop()
    for a, b in zip(starts, starts[1:] + [d]):
        yield np.asarray(X[:, a:b], dtype=np.float64)


def streamed_column_scaling(chunks, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`column_scaling` from an iterable of row blocks (a memory-mapped file, read once).

    Examples
    --------
    >>> X = np.random.default_rng(0).random((50, 3))
    >>> streamed = streamed_column_scaling([X[:20], X[20:]], "standard")
    >>> all(np.allclose(a, b) for a, b in zip(streamed, column_scaling(X, "standard")))
    True
    """
    n, shift, total, squares, low, high = 0, None, 0.0, 0.0, None, None
    for block in chunks:
        block = np.asarray(block, dtype=np.float64)
        if not block.size:
            continue
        if shift is None:  # sums about the first block's mean: no cancellation for data far from 0
            shift = block.mean(axis=0)
        centred = block - shift
        n, total, squares = n + block.shape[0], total + centred.sum(axis=0), squares + np.square(centred).sum(axis=0)
        low = block.min(axis=0) if low is None else np.minimum(low, block.min(axis=0))
        high = block.max(axis=0) if high is None else np.maximum(high, block.max(axis=0))
    if n == 0:
        raise ValueError("no rows to fit the scaling on.")
    if kind == "standard":
        mean = total / n
        center, scale = shift + mean, np.sqrt(np.maximum(squares / n - np.square(mean), 0.0))
    elif kind == "minmax":
        center, scale = low, high - low
    else:
        center, scale = np.zeros_like(low), np.ones_like(low)
    scale[~(scale > 1e-12)] = 1.0
    return center, scale


def fit_scaling(est, X, keep: bool):
    """X as ``est``'s network sees it: scaled by its ``center_``/``scale_``, fitted here unless ``keep`` (continuing).

    Sets ``est.center_``, ``est.scale_`` and ``est.scaling_`` (or removes them for ``scaling="none"``); a
    memory-mapped :class:`~aekit.streaming.ArraySource` or an iterable of
    :class:`~aekit.streaming.Batches` is scaled as it streams, its statistics
    fitted in one pass over it.
    """
    if keep and est.__dict__.get("scaling_", "none") != est.scaling:
        raise ValueError(f"scaling={est.scaling!r}, but the network was trained with scaling="
                         f"{est.__dict__.get('scaling_', 'none')!r}; warm_start and partial_fit continue it, so "
                         "set it back, or fit with warm_start=False to start over.")
    if est.scaling == "none":
        for name in ("center_", "scale_", "scaling_"):  # a fit without scaling leaves no stale statistics
            est.__dict__.pop(name, None)
        return X
    fitted = keep
    est.scaling_ = est.scaling
    if isinstance(X, ArraySource):  # a memory-mapped file: one streamed pass for the statistics
        if not fitted:
            est.center_, est.scale_ = streamed_column_scaling((x for x, _ in X.chunks(dtype=np.float64)), est.scaling)
            X.release()
        return X.scaled(est.center_, est.scale_)
    if isinstance(X, Batches):  # an iterable of batches: one pass over it for the statistics, then scaled as read
        if not fitted:
            est.center_, est.scale_ = streamed_column_scaling((host_rows(b, np.float64) for b in X), est.scaling)
        return X.scaled(est.center_, est.scale_)
    if is_streamable(X) and not isinstance(X, np.ndarray):
        raise ValueError(f"scaling={est.scaling!r} needs array data (an array or a memory-mapped .npy) to fit "
                         f"its column statistics, not {type(X).__name__}; scale the batches yourself, or use "
                         "scaling='none'.")
    X = np.asarray(X)
    if not fitted:
        est.center_, est.scale_ = column_scaling(X, est.scaling)
    seen = scaled_float32(X, est.center_, est.scale_)
    if fitted and seen.shape[0] >= 10:  # a handful of rows (partial_fit's small chunks) says little
        _warn_if_shifted(seen, est.scaling)
    return seen


def scaled_float32(X: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(X - center) / scale`` in float32, computed in float64 a block of rows at a time (not two float64 copies
    of the whole of X, then a float32 one), the division in place: one float64 temporary of a block."""
    seen = np.empty(X.shape, dtype=np.float32)
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        block = X[start:start + _BLOCK_ROWS] - center
        block /= scale
        seen[start:start + _BLOCK_ROWS] = block
    return seen


def _warn_if_shifted(seen: np.ndarray, scaling: str) -> None:
    """Warn when data met while continuing lies far from the data the kept scaling was fitted on."""
    if scaling == "standard":
        means = np.abs(seen.mean(axis=0, dtype=np.float64))
        far, how = int(np.argmax(means)), f"{float(means.max()):.3g} standard deviations"
        shifted = means.max() > 3.0
    else:  # minmax: the fitted range is [0, 1]
        low, high = float(seen.min()), float(seen.max())
        far, how = int(np.argmax(np.abs(seen - 0.5).max(axis=0))), f"[{low:.3g}, {high:.3g}] where [0, 1] was fitted"
        shifted = low < -1.0 or high > 2.0
    if shifted:
        logger.warning("X lies far from the data the kept scaling was fitted on (column %d: %s); warm_start and "
                       "partial_fit keep center_ and scale_, so the network meets inputs unlike its training's",
                       far, how)
