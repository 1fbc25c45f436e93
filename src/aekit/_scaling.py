"""Per-feature scaling of an estimator's inputs: the column statistics, and the maps to and from them.

``AutoencoderImputer`` (NaN-aware statistics of the observed entries) and
the other estimators' ``scaling`` parameter share these; NumPy and torch
only, nothing of the estimators.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["SCALINGS", "column_scaling", "streamed_column_scaling", "ScaledNet"]

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
    X = np.asarray(X, dtype=np.float64)
    if kind == "standard":
        center, scale = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    elif kind == "minmax":
        center = np.nanmin(X, axis=0)
        scale = np.nanmax(X, axis=0) - center
    else:
        center, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
    scale[~(scale > 1e-12)] = 1.0  # constant columns stay as they are
    return center, scale


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


class ScaledNet:
    """A trained network seen from X's own units: inputs scaled on the way in, outputs unscaled on the way out.

    Not a module and never trained: inference only (``transform``,
    ``reconstruct``, ``inverse_transform`` of an estimator whose network was
    trained on scaled X).
    """

    def __init__(self, net, center: np.ndarray, scale: np.ndarray):
        self.net = net
        self.center, self.scale = np.asarray(center, np.float32), np.asarray(scale, np.float32)

    def _stats(self, t: torch.Tensor):
        return (torch.as_tensor(self.center, device=t.device), torch.as_tensor(self.scale, device=t.device))

    def scale_in(self, x: torch.Tensor) -> torch.Tensor:
        center, scale = self._stats(x)
        return (x - center) / scale

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.encode(self.scale_in(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net.decode(z)
        center, scale = self._stats(out)
        return out * scale + center

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(self.scale_in(x))
        center, scale = self._stats(out)
        return out * scale + center
