"""A command's output computed and written a block of rows at a time: memory holds a block of it, not the whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["OUTPUT_BLOCK_BYTES", "output_block_rows", "save_rows"]

#: About this many bytes of output (float32 rows as wide as the model's input) per block.
OUTPUT_BLOCK_BYTES = 16 * 2**20


def output_block_rows(estimator) -> int:
    """Rows per output block: a whole number of the estimator's own inference blocks.

    Each row then meets the network in a block of the same rows as in one call on all of them, so the output is
    the one call's, bit for bit (a matrix product's rounding may depend on how many rows it multiplies).
    """
    from .._inference import INFERENCE_BATCH

    inner = estimator._block_rows() if hasattr(estimator, "_block_rows") else INFERENCE_BATCH
    row_bytes = 4 * max(1, int(getattr(estimator, "n_features_in_", 1)))
    return inner * max(1, OUTPUT_BLOCK_BYTES // (inner * row_bytes))


def save_rows(path: Path, method: Callable[[np.ndarray], np.ndarray], X, rows: int, replace: bool) -> tuple:
    """Save ``method(X)`` to ``path`` (``.npy``), ``method`` applied to ``rows`` rows of ``X`` at a time.

    ``method`` must treat each row on its own (an estimator's ``transform``, ``reconstruct``,
    ``inverse_transform``). ``X`` of at most ``rows`` rows is passed whole. The file is written atomically, and
    not at all if ``method`` fails on any block or the run is interrupted (:func:`aekit._atomic.save_npy_blocks`).

    Returns
    -------
    tuple of int
        The shape of the array written.
    """
    from .._atomic import save_npy, save_npy_blocks

    n = X.shape[0]
    if n <= rows:
        result = method(X)
        save_npy(path, result, replace=replace)
        return result.shape
    row_shape = []

    def blocks():
        for start in range(0, n, rows):
            out = method(X[start:start + rows])
            row_shape[:] = out.shape[1:]
            yield out

    save_npy_blocks(path, blocks(), n, replace=replace)
    return (n, *row_shape)
