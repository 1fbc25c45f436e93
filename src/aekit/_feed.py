"""Feeding minibatches to the training device: in memory, streamed from a file, or from an iterable.

A feed turns one epoch's permutation into device tensors. The three kinds:

* :class:`Resident`: the whole array is copied to the device once; batches
  are ``index_select`` gathers there (no per-sample Python work, no host
  transfer or sync per step).
* :class:`Streamed`: an :class:`~aekit.streaming.ArraySource` (memory-mapped
  file); each batch is read on the host in a background thread, pinned when
  the device is a GPU, and copied with ``non_blocking=True``.
* :class:`Sequential`: a :class:`~aekit.streaming.Batches` iterable, used in
  its own order.

Under data parallelism every feed yields, per global batch, either the
whole batch (when corruption or masks need it, so the noise is the one a
single process would draw) or only this rank's rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .distributed import same_on_all_ranks, shard_bounds
from .streaming import ArraySource, Batches, BatchSource, prefetch

__all__ = ["Feed", "Resident", "Streamed", "Sequential", "RowsRead", "check_same_rows", "make_feed"]


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host tensor to ``device``; pinned + asynchronous for CUDA so the copy overlaps compute."""
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def _check_finite(x, m=None, source: str = "the memory-mapped array") -> None:
    """Refuse a streamed batch with NaN/inf in its observed entries (``m``: 1 where observed).

    Streamed data are checked batch by batch as read (in memory, fit checks X up front); without this a NaN
    surfaced as a diverged loss, with advice to lower the learning rate. A tensor on a GPU is not checked:
    it would cost a host sync a step.
    """
    if isinstance(x, torch.Tensor):
        finite = x.device.type != "cpu" or bool(torch.isfinite(x).all())
    else:
        finite = bool(np.isfinite(x if m is None else np.where(m > 0, x, 0)).all())
    if not finite:
        raise ValueError(f"the training data contain NaN or infinity (in a batch read from {source}); aekit "
                         "needs complete data: clean them, or fill missing values with an AutoencoderImputer.")


def _float_tensor(a) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a if a.dtype == torch.float32 else a.float()
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


class Feed:
    """One epoch of batches at a time; see the module docstring.

    Attributes
    ----------
    n : int or None
        Samples per epoch (None when unknown before reading).
    shuffled : bool
        Whether batches follow the trainer's permutation.
    """

    n: int | None = None
    shuffled: bool = True

    def epoch(self, perm, batch_size, share):
        """Yield ``(x, mask or None, global_n, full)`` per global batch.

        ``perm`` is a CPU permutation of ``range(n)`` (ignored when not
        ``shuffled``); ``share`` is None or ``(rank, world, need_full)``;
        ``full`` says whether ``x`` holds the whole global batch.
        """
        raise NotImplementedError

    def chunks(self, size):
        """Yield ``(x, mask or None)`` covering the data in order (for evaluation)."""
        raise NotImplementedError

    def n_batches(self, batch_size: int) -> int:
        return -(-self.n // batch_size)


class Resident(Feed):
    """Rows held whole on the device (``indices`` selects a subset without copying it)."""

    def __init__(self, X: torch.Tensor, mask: torch.Tensor | None, indices: torch.Tensor | None):
        self.X, self.mask, self.indices = X, mask, indices
        self.n = X.shape[0] if indices is None else indices.shape[0]

    def _rows(self, idx: torch.Tensor):
        rows = idx if self.indices is None else self.indices.index_select(0, idx)
        return self.X.index_select(0, rows), None if self.mask is None else self.mask.index_select(0, rows)

    def epoch(self, perm, batch_size, share):
        perm = perm.to(self.X.device)  # one transfer per epoch, not per step
        for idx in torch.split(perm, batch_size):
            # a gather of the whole global batch is cheap next to the forward pass
            yield (*self._rows(idx), idx.shape[0], True)

    def chunks(self, size):
        if self.indices is None:
            for start in range(0, self.n, size):
                yield self.X[start:start + size], None if self.mask is None else self.mask[start:start + size]
        else:
            for idx in torch.split(torch.arange(self.n, device=self.X.device), size):
                yield self._rows(idx)


class Streamed(Feed):
    """Rows read from a (memory-mapped) :class:`~aekit.streaming.ArraySource` batch by batch."""

    def __init__(self, source: ArraySource, device: torch.device, prefetch_depth: int = 1):
        self.source, self.device, self.depth = source, device, int(prefetch_depth)
        self.n = source.n_samples

    def _host_batches(self, perm: np.ndarray, batch_size: int, share):
        for start in range(0, perm.shape[0], batch_size):
            idx = perm[start:start + batch_size]
            full = share is None or share[2]
            if not full:
                lo, hi = shard_bounds(idx.shape[0], share[0], share[1])
                idx = idx[lo:hi]
            x, m = self.source.take(idx)
            _check_finite(x, m)
            yield x, m, min(batch_size, perm.shape[0] - start), full

    def epoch(self, perm, batch_size, share):
        try:
            for x, m, global_n, full in prefetch(self._host_batches(perm.numpy(), batch_size, share), self.depth):
                yield (_to_device(torch.from_numpy(x), self.device),
                       None if m is None else _to_device(torch.from_numpy(m), self.device), global_n, full)
        finally:
            self.source.release()

    def chunks(self, size):
        try:
            for x, m in prefetch(self.source.chunks(size), self.depth):
                _check_finite(x, m)
                yield (_to_device(torch.from_numpy(x), self.device),
                       None if m is None else _to_device(torch.from_numpy(m), self.device))
        finally:
            self.source.release()


class Sequential(Feed):
    """Batches of a :class:`~aekit.streaming.Batches` iterable, in the order it gives them."""

    shuffled = False

    def __init__(self, source: Batches, device: torch.device):
        self.source, self.device = source, device
        try:  # a list is counted as iterated (its empty batches skipped); a DataLoader by its len()
            self._len = None if isinstance(source._batches, (list, tuple)) else len(source._batches)
        except TypeError:
            self._len = None

    def n_batches(self, batch_size: int) -> int:
        if self._len is None:  # read once to count; only schedules that need the total ask
            self._len = sum(1 for _ in self.source)
        return self._len

    def epoch(self, perm, batch_size, share):
        i = -1
        for i, batch in enumerate(self.source):
            x = _float_tensor(batch)
            _check_finite(x, source="the iterable of batches")
            global_n = x.shape[0]
            if share is not None:
                _check_same_batches(x, i, self.device)
            full = share is None or share[2]
            if not full:
                lo, hi = shard_bounds(global_n, share[0], share[1])
                x = x[lo:hi]
            yield _to_device(x, self.device), None, global_n, full
        if share is not None:  # a rank whose iterable goes on finds here that this one ended
            _check_same_batches(None, i + 1, self.device)

    def chunks(self, size):
        for batch, _ in self.source.chunks(size):
            x = _float_tensor(batch)
            _check_finite(x, source="the iterable of batches")
            yield _to_device(x, self.device), None


def _fingerprint(x: torch.Tensor, n, rows_before=0) -> torch.Tensor:
    """``n`` and two sums of the rows ``x`` (the second weighted by row number, counting on from ``rows_before``):
    equal on ranks given equal data."""
    x64 = x.detach().double()
    weights = rows_before + torch.arange(1, x.shape[0] + 1, dtype=torch.float64, device=x.device)[:, None]
    return torch.stack([torch.tensor(float(n), dtype=torch.float64, device=x.device), x64.sum(), (x64 * weights).sum()])


def _check_same_batches(x: torch.Tensor | None, i: int, device: torch.device) -> None:
    """Refuse ranks whose iterables differ (each rank's own part): aekit shards every batch over the ranks itself.

    A collective for every batch ``i`` (``x=None``: this rank's iterable ended), so that ranks whose iterables
    differ in length stop together with this error: each would otherwise take its own number of steps and the
    next collectives would not match (gloo aborts the process). ``device``: where the collective runs (nccl
    needs the rank's GPU).
    """
    fingerprint = (_fingerprint(x, x.shape[0]) if x is not None else  # (3,)
                   torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64))
    if not same_on_all_ranks(fingerprint.to(device)):
        raise ValueError(f"under torchrun every rank must iterate the same batches (aekit gives each rank its share "
                         f"of every batch), but batch {i + 1} of this epoch differs between ranks (or ends the "
                         f"iterable on some); pass every rank the whole data, without a DistributedSampler or a "
                         f"per-rank reader.")


class RowsRead:
    """Running fingerprint of the rows read chunk by chunk (their number, sum and row-weighted sum): equal on
    ranks that read equal data. For a validation iterable, which :func:`check_same_rows` cannot compare without
    reading it whole: each rank evaluates all of it, on its own."""

    def __init__(self, device: torch.device):
        self.value = torch.zeros(3, dtype=torch.float64, device=device)  # (n, sum, weighted sum)

    def add(self, x: torch.Tensor) -> None:
        self.value += _fingerprint(x, x.shape[0], rows_before=self.value[0]).to(self.value.device)

    def check_same_on_all_ranks(self, what: str) -> None:
        """Refuse ranks that read different rows; a collective."""
        if not same_on_all_ranks(self.value):
            raise ValueError(f"under torchrun every rank must be given the same {what} (aekit gives each rank its "
                             f"share of every batch), but the batches differ between ranks (in their rows or their "
                             f"number); pass every rank the whole data, not its own part.")


def check_same_rows(feed: Feed, what: str) -> None:
    """Refuse ranks given different arrays (each its own part, as a DistributedSampler gives); a collective.

    aekit shares every global batch out itself, so each rank trained on its share of its own part, half the
    data unseen and no error; parts of different lengths made the ranks take different numbers of steps and
    fail inside gloo. The number of rows and the first rows are compared (a memory-mapped file is not read
    whole); an iterable of batches is compared batch by batch as it is read (:func:`_check_same_batches`), a
    validation one as it is evaluated (:class:`RowsRead`).
    """
    if isinstance(feed, Sequential):
        return
    chunks = feed.chunks(256)
    try:
        x, _ = next(chunks)
    finally:
        chunks.close()  # a streamed feed releases its file
    if not same_on_all_ranks(_fingerprint(x, feed.n)):
        raise ValueError(f"under torchrun every rank must be given the same {what} (aekit gives each rank its share "
                         f"of every batch), but the number of rows or the first rows differ between ranks; pass "
                         f"every rank the whole data, not its own part.")


def make_feed(X, mask, device: torch.device, cache: dict, prefetch_depth: int = 1) -> Feed | None:
    """The feed for training input ``X`` (array, tensor, memmap or :class:`~aekit.streaming.BatchSource`).

    ``cache`` maps ``id(array)`` to its device copy, so a training and a
    validation subset of one in-memory array share a single copy.
    """
    if X is None:
        return None
    if isinstance(X, np.memmap):
        X = ArraySource(X, mask)
        mask = None
    if isinstance(X, torch.utils.data.DataLoader):
        X = Batches(X)
    if isinstance(X, Batches):
        if mask is not None:
            raise ValueError("mask is not supported with an iterable of batches.")
        return Sequential(X, device)
    if isinstance(X, ArraySource):
        if isinstance(X.X, np.memmap) or (X.mask is not None and isinstance(X.mask, np.memmap)):
            return Streamed(X, device, prefetch_depth)
        data = _resident(X.X, device, cache)
        m = None if X.mask is None else _resident(X.mask, device, cache)
        idx = None if X.indices is None else torch.from_numpy(X.indices).to(device)
        return Resident(data, m, idx)
    if isinstance(X, BatchSource):
        raise TypeError(f"unsupported batch source {type(X).__name__}.")
    return Resident(_resident(X, device, cache), None if mask is None else _resident(mask, device, cache), None)


def _resident(a, device: torch.device, cache: dict) -> torch.Tensor:
    key = id(a)
    if key not in cache:
        if isinstance(a, torch.Tensor):
            t = a
        else:
            with warnings.catch_warnings():  # read-only inputs (memmaps) are only ever read
                warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                t = torch.from_numpy(np.ascontiguousarray(a))
        # keep the caller's array alive with the cache entry, so id() stays unique
        cache[key] = (a, t.to(device=device, dtype=torch.float32))
    return cache[key][1]
