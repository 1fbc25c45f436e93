"""Streamed inference: a network applied to row blocks of an array, without autograd.

Pure helpers of :class:`aekit.Autoencoder`'s ``transform``, ``reconstruct``,
``inverse_transform`` and ``score``: the input is cut into blocks of
:data:`INFERENCE_BATCH` rows, fewer for a convolutional network
(:func:`block_rows`); a memory-mapped array is read with positioned reads and
checked block by block, so it never comes into memory whole; a float64 or
scaled in-memory array is cast and scaled a block at a time. Each block goes
through the network on its device, and float32 results come back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from .streaming import ArraySource

__all__ = ["INFERENCE_BATCH", "apply", "batches_out", "block_rows", "coded", "input_chunks"]

#: Rows per inference block (fewer for a convolutional network: :func:`block_rows`).
INFERENCE_BATCH = 8192

#: Activations (float32 elements) one layer of a convolutional network may hold per inference block.
INFERENCE_ELEMENTS = 1 << 24


def block_rows(net: torch.nn.Module, n_features: int) -> int:
    """Rows per inference block for ``net``: :data:`INFERENCE_BATCH`, or fewer for a convolutional network.

    A convolution's output holds its channels times the image's pixels per row: 8192 28x28 images through a
    32-channel U-Net held 9 GiB, where a dense layer of 2000 units holds 64 MiB.
    """
    widest = max((m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv2d)), default=0)
    if not widest:
        return INFERENCE_BATCH
    return max(1, min(INFERENCE_BATCH, INFERENCE_ELEMENTS // (max(1, n_features) * widest)))


def coded(net: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``net``'s forward, ``decode(encode(x))``, that returns the code with it: ``(rows, code size + features)``, the
    code first. For one pass where ``transform`` then ``reconstruct`` (or ``score_samples``) ran the encoder twice;
    the reconstruction is the forward's, bit for bit (decode is given the very tensor encode returned)."""
    def forward_with_code(x: torch.Tensor) -> torch.Tensor:
        z = net.encode(x)
        return torch.cat((z, net.decode(z)), dim=1)

    return forward_with_code


def input_chunks(A, rows: int = INFERENCE_BATCH) -> Iterator[np.ndarray]:
    """Float32 blocks of ``rows`` rows of ``A``; a memory map (or an :class:`ArraySource` over one, e.g. scaled as
    it is read) is read with positioned reads and checked block by block."""
    if not isinstance(A, (np.memmap, ArraySource)):
        for start in range(0, A.shape[0], rows):
            yield A[start:start + rows]
        return
    if isinstance(A, ArraySource) and not isinstance(A.X, np.memmap) and A.indices is None:
        # in memory and validated (any dtype or order, or scaled): sliced, then scaled and cast as ArraySource.take
        # does
        for start in range(0, A.n_samples, rows):
            x = A.X[start:start + rows]
            if A.scale is not None:
                x = x - A.center
                x /= A.scale  # in place: one float64 temporary of the block, not two
            yield x.astype(np.float32, order="C", copy=False)  # the network wants rows; X may be Fortran-ordered
        return
    source = A if isinstance(A, ArraySource) else ArraySource(A)
    try:
        for chunk, _ in source.chunks(rows):
            if not np.isfinite(chunk).all():
                raise ValueError("Input X contains NaN or infinity.")
            yield chunk
    finally:
        source.release()


def batches_out(fn: Callable[[torch.Tensor], torch.Tensor], A, device: torch.device, rows: int = INFERENCE_BATCH):
    """Yield ``(input block, fn(block))`` as float32 arrays, ``fn`` run on ``device`` without autograd."""
    for chunk in input_chunks(A, rows):
        if not chunk.flags.writeable:  # a read-only view; torch wants writable memory
            chunk = chunk.copy()
        t = torch.from_numpy(chunk)
        if device.type == "cuda":
            t = t.pin_memory()
        with torch.inference_mode():
            out = fn(t.to(device, non_blocking=True)).float().cpu().numpy()
        yield chunk, out


def apply(fn: Callable[[torch.Tensor], torch.Tensor], A, device: torch.device,
          rows: int = INFERENCE_BATCH) -> np.ndarray:
    """``fn`` over all rows of ``A``, ``rows`` at a time, stacked (an empty (0, 0) array for no rows)."""
    result, start = None, 0
    for _, out in batches_out(fn, A, device, rows):
        if result is None:  # filled in place: the blocks and their concatenation were two copies of the output
            n_rows = A.n_samples if isinstance(A, ArraySource) else A.shape[0]
            result = np.empty((n_rows,) + out.shape[1:], dtype=out.dtype)
        result[start:start + out.shape[0]] = out
        start += out.shape[0]
    if result is None:
        return np.empty((0, 0), dtype=np.float32)
    return result
