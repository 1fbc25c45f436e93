"""Training data larger than memory: memory-mapped arrays and iterables of batches.

:class:`aekit.training.Trainer` (and so every estimator's ``fit``) accepts,
besides in-memory arrays,

* a memory-mapped array (``np.load(path, mmap_mode="r", allow_pickle=False)`` or
  ``np.memmap``), wrapped in :class:`ArraySource`: each minibatch's rows are
  read from the file when needed and the pages are handed back to the
  operating system afterwards, so the process's resident memory stays
  bounded by a few batches, not by the file. The shuffling is the
  in-memory one (same permutation, same batches), so a streamed fit equals
  an in-memory fit of the same data;
* an iterable of batches (a list of arrays, a ``DataLoader``, or a function
  returning a fresh iterator each epoch), wrapped in :class:`Batches`: the
  batches are used in the order given.

Nothing here imports the rest of aekit (nor do :mod:`aekit._memmap_io` and
:mod:`aekit._prefetch`, which it draws on).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch

from ._memmap_io import _file_rows, read_rows, release_pages
from ._prefetch import prefetch

__all__ = ["BatchSource", "ArraySource", "Batches", "is_streamable", "as_source", "release_pages", "prefetch"]

#: Bytes of a mapped file that may be resident in this process before its pages are handed back
#: (only for arrays that cannot be read with positioned file reads, see :class:`ArraySource`).
RELEASE_BYTES = 16 * 2**20

#: Rows of a sequential scan are read this many bytes at a time.
CHUNK_BYTES = 8 * 2**20


class BatchSource:
    """Training data that the trainer reads batch by batch instead of holding whole.

    Attributes
    ----------
    n_features : int
        Width of each sample.
    n_samples : int or None
        Number of samples, or None when unknown (a plain iterable).
    """

    n_features: int
    n_samples: int | None = None


def _read_dtype(a: np.ndarray):
    """float64 for a float64 file (kept until scaled), else float32."""
    return np.float64 if a.dtype == np.float64 else np.float32


class ArraySource(BatchSource):
    """Random access to the rows of a (memory-mapped) 2-D array.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Typically ``np.load(path, mmap_mode="r", allow_pickle=False)``; any real dtype, read as
        float32 one batch at a time.
    mask : ndarray of shape (n_rows, n_features), default=None
        Observed entries (1) of ``X``, same access pattern, read as float32.
        None: every entry is observed.
    indices : array-like of int of shape (n_samples,), default=None
        Rows of ``X`` that make up this source, in this order, e.g. the
        training part of a train/validation split. None: all rows.
    center : array-like of shape (n_features,), default=None
        Subtracted from each row as it is read (an estimator's
        ``scaling``); used only together with ``scale``.
    scale : array-like of shape (n_features,), default=None
        Rows are read as ``(row - center) / scale``, in float64 for a
        float64 file, one batch at a time like everything else. None reads
        rows unscaled.

    Raises
    ------
    ValueError
        If ``X`` is not a 2-D ndarray or ``mask`` has another shape.

    Examples
    --------
    >>> src = ArraySource(np.arange(12.0).reshape(6, 2), indices=[4, 1, 5])
    >>> src.n_samples, src.n_features
    (3, 2)
    >>> src.take(np.array([2, 0]))[0]
    array([[10., 11.],
           [ 8.,  9.]], dtype=float32)
    """

    def __init__(self, X, mask=None, indices=None, center=None, scale=None):
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError(f"X must be a 2-D array (n_samples, n_features); got {type(X).__name__} "
                             f"with shape {getattr(X, 'shape', None)}.")
        if mask is not None and getattr(mask, "shape", None) != X.shape:
            raise ValueError(f"mask must have the shape of X {X.shape}; got {getattr(mask, 'shape', None)}.")
        self.X = X
        self.mask = mask
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)
        self.n_samples = X.shape[0] if self.indices is None else self.indices.shape[0]
        self.n_features = X.shape[1]
        self.center = None if center is None else np.asarray(center, dtype=np.float64)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        self._row_bytes = max(X.itemsize * X.shape[1], 1)
        self._layout = {id(a): _file_rows(a) for a in (X, mask) if a is not None}
        self._touched = 0

    def subset(self, indices) -> "ArraySource":
        """The source restricted to ``indices`` (positions in this source).

        Parameters
        ----------
        indices : array-like of int
            Positions in this source (not rows of the underlying file), in
            the order the new source lists them.

        Returns
        -------
        ArraySource
            A new source over the same file, mask and scaling; nothing is
            read.
        """
        indices = np.asarray(indices, dtype=np.int64)
        rows = indices if self.indices is None else self.indices[indices]
        return ArraySource(self.X, self.mask, rows, self.center, self.scale)

    def scaled(self, center, scale) -> "ArraySource":
        """The same rows, read as ``(row - center) / scale``.

        Parameters
        ----------
        center : array-like of shape (n_features,)
            Subtracted from each row.
        scale : array-like of shape (n_features,)
            Divides each centred row.

        Returns
        -------
        ArraySource
            A new source over the same rows (any earlier scaling is
            replaced, not composed).
        """
        return ArraySource(self.X, self.mask, self.indices, center, scale)

    def _read(self, a: np.ndarray, rows: np.ndarray) -> np.ndarray:
        # read in file order, hand back in the requested order
        order = np.argsort(rows, kind="stable")
        layout = self._layout[id(a)]
        if layout is None:
            block = np.asarray(a[rows[order]], dtype=_read_dtype(a))
            # a read through a mapping maps whole folios / fault-around windows, not just the row
            self._touched += rows.shape[0] * max(self._row_bytes, 65536)
        else:
            block = self._pread(a, rows[order], *layout)
        out = np.empty_like(block)
        out[order] = block
        return out

    @staticmethod
    def _pread(a: np.ndarray, rows: np.ndarray, path: str, start: int, stride: int) -> np.ndarray:
        """Rows (ascending) of memmap ``a`` read with positioned reads (:func:`aekit._memmap_io.read_rows`)."""
        return read_rows(a, rows, path, start, stride).astype(_read_dtype(a), copy=False)

    def take(self, idx, dtype=np.float32) -> tuple[np.ndarray, np.ndarray | None]:
        """Rows ``idx`` (positions in this source) as arrays ``(x, mask or None)``.

        A float64 file is scaled in float64 before the cast, as an in-memory
        float64 array is: cast first, a column 1e8 + N(0, 1) would be steps of 8.

        Parameters
        ----------
        idx : array-like of int of shape (n_rows,)
            Positions in this source, in the order wanted (any order; the
            file is read in ascending order).
        dtype : numpy dtype, optional
            dtype of the returned ``x``; ``np.float32`` by default.

        Returns
        -------
        x : ndarray of shape (n_rows, n_features)
            The rows, scaled if the source is.
        mask : ndarray of shape (n_rows, n_features) or None
            The rows of the mask as float32, or None without a mask.
        """
        idx = np.asarray(idx, dtype=np.int64)
        rows = idx if self.indices is None else self.indices[idx]
        x = self._read(self.X, rows)
        if self.scale is not None:
            x = (x - self.center) / self.scale
        x = x.astype(dtype, copy=False)
        m = None if self.mask is None else self._read(self.mask, rows).astype(np.float32, copy=False)
        if self._touched >= RELEASE_BYTES:
            self.release()
        return x, m

    def chunks(self, size: int | None = None, dtype=np.float32) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """All rows in order, ``size`` at a time.

        Parameters
        ----------
        size : int, default=None
            Rows per chunk (the last may be shorter). None: about
            :data:`CHUNK_BYTES` (8 MiB) of the file per chunk.
        dtype : numpy dtype, optional
            dtype of each chunk's ``x``; ``np.float32`` by default.

        Yields
        ------
        x : ndarray of shape (size, n_features)
            The next rows; see :meth:`take`.
        mask : ndarray of shape (size, n_features) or None
            Their mask, or None without one.
        """
        if size is None:
            size = max(1, CHUNK_BYTES // self._row_bytes)
        for start in range(0, self.n_samples, size):
            yield self.take(np.arange(start, min(start + size, self.n_samples)), dtype)

    def release(self) -> None:
        """Hand the mapped pages read so far back to the operating system."""
        release_pages(self.X)
        if self.mask is not None:
            release_pages(self.mask)
        self._touched = 0


class Batches(BatchSource):
    """An iterable of minibatches, used in the order given, every epoch.

    Parameters
    ----------
    batches : iterable or callable
        Something that can be iterated once per epoch (a list of arrays, a
        ``torch.utils.data.DataLoader``), or a function of no arguments
        returning a fresh iterator each epoch (e.g. one that reads a file in
        chunks). Each batch is an array or tensor of shape
        (batch_size, n_features), or a tuple/list whose first item is (as a
        ``DataLoader`` over a ``TensorDataset`` yields).
    validation : array-like or iterable, default=None
        Held-out data for early stopping and best-weights restore: an array
        of shape (n, n_features) or another iterable of batches. Without
        it, training stops on the training loss.

    Raises
    ------
    TypeError
        If ``batches`` is a one-shot iterator (it could feed only one
        epoch), or neither iterable nor callable.
    ValueError
        If ``batches`` yields nothing or only empty batches, a batch is not
        2-D, or ``validation`` is not complete 2-D data with rows and the
        batches' width. Batches after the first are checked as they are read;
        empty ones are skipped.

    Examples
    --------
    >>> data = np.random.default_rng(0).random((10, 3), dtype=np.float32)
    >>> src = Batches([data[:4], data[4:]])
    >>> src.n_features, [b.shape[0] for b in src]
    (3, [4, 6])
    """

    #: Per-feature centre and scale the batches are read with (:meth:`scaled`), or None.
    _center: np.ndarray | None = None
    _scale: np.ndarray | None = None

    def __init__(self, batches: Iterable | Callable[[], Iterator], validation=None):
        if isinstance(batches, Iterator):
            raise TypeError("batches is an iterator, which can be read only once; pass a list, a DataLoader, "
                            "or a function returning a fresh iterator each epoch.")
        if not (callable(batches) or isinstance(batches, Iterable)):
            raise TypeError(f"batches must be an iterable or a callable; got {type(batches).__name__}.")
        self._batches = batches
        first = next(iter(self), None)
        if first is None:
            raise ValueError("batches is empty: it yielded no batch with rows.")
        self.n_features = int(first.shape[1])
        if validation is not None and not isinstance(validation, (BatchSource, np.ndarray, torch.Tensor)):
            try:
                validation = Batches(validation) if not _looks_like_array(validation) else _rows_array(validation)
            except ValueError as err:  # "batches is empty" would not say which
                raise ValueError(f"validation: {err}") from None
        if validation is not None:
            _check_validation(validation, self.n_features)
        self.validation = self._raw_validation = validation

    def __iter__(self) -> Iterator[np.ndarray | torch.Tensor]:
        it = self._batches() if callable(self._batches) and not isinstance(self._batches, Iterable) \
            else iter(self._batches)
        for i, batch in enumerate(it):
            if isinstance(batch, (tuple, list)) and batch and hasattr(batch[0], "shape"):
                batch = batch[0]
            if not hasattr(batch, "shape"):
                batch = np.asarray(batch, dtype=np.float32)
            if batch.ndim != 2:
                raise ValueError(f"batch {i} must be 2-D (batch_size, n_features); got shape {tuple(batch.shape)}.")
            if hasattr(self, "n_features") and batch.shape[1] != self.n_features:
                raise ValueError(f"batch {i} has {batch.shape[1]} features; the first batch had {self.n_features}.")
            if batch.shape[0]:  # an empty one was an optimiser step on nothing (Adam moves on its moments)
                yield batch if self._center is None else _scaled_rows(batch, self._center, self._scale)

    def scaled(self, center, scale) -> "Batches":
        """The same batches (and validation data), read as ``(row - center) / scale`` in float32.

        Parameters
        ----------
        center : array-like of shape (n_features,)
            Subtracted from each row.
        scale : array-like of shape (n_features,)
            Divides each centred row.

        Returns
        -------
        Batches
            A new iterable over the same batches (any earlier scaling is
            replaced, not composed). A float64 batch is scaled in float64
            before the cast; a tensor stays on its device.

        Examples
        --------
        >>> src = Batches([np.array([[1.0, 4.0], [3.0, 8.0]])]).scaled([2.0, 6.0], [1.0, 2.0])
        >>> next(iter(src)).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        """
        out = copy.copy(self)
        out._center, out._scale = np.asarray(center, dtype=np.float64), np.asarray(scale, dtype=np.float64)
        out._raw_validation = raw = self._raw_validation
        out.validation = None if raw is None else (
            raw.scaled(center, scale) if isinstance(raw, BatchSource) else _scaled_rows(raw, out._center, out._scale))
        return out

    def chunks(self, size: int) -> Iterator[tuple[np.ndarray | torch.Tensor, None]]:
        """The batches as they come, without masks.

        Parameters
        ----------
        size : int
            Ignored: the batches keep the sizes they were given (the method
            has :meth:`ArraySource.chunks`' signature).

        Yields
        ------
        x : ndarray or tensor of shape (batch_size, n_features)
            The next batch.
        mask : None
            Always None.
        """
        for batch in self:
            yield batch, None


def _scaled_rows(rows, center: np.ndarray, scale: np.ndarray):
    """``(rows - center) / scale`` in float32: an array computed in float64, a tensor on its own device (in float64
    for a float64 tensor)."""
    if isinstance(rows, torch.Tensor):
        dtype = torch.float64 if rows.dtype == torch.float64 else torch.float32
        c, s = (torch.as_tensor(v, dtype=dtype, device=rows.device) for v in (center, scale))
        return ((rows.to(dtype) - c) / s).to(torch.float32)
    return ((np.asarray(rows, dtype=np.float64) - center) / scale).astype(np.float32)


def host_rows(batch, dtype=np.float32) -> np.ndarray:
    """A batch (array, tensor on any device in any float dtype, bfloat16 included) as a NumPy array of ``dtype``."""
    if isinstance(batch, torch.Tensor):  # NumPy has no bfloat16: np.asarray of such a tensor raises
        return batch.detach().to("cpu", torch.float64 if dtype == np.float64 else torch.float32).numpy()
    return np.asarray(batch, dtype=dtype)


def _check_validation(validation, n_features: int) -> None:
    """A clear error for held-out data that the network could not take, before any training."""
    if isinstance(validation, BatchSource):
        width = validation.n_features
    elif validation.ndim != 2:
        raise ValueError(f"validation must be 2-D (n_samples, n_features); got shape {tuple(validation.shape)}.")
    elif validation.shape[0] == 0:  # training would go on silently without it, stopping on the training loss
        raise ValueError("validation has no rows; pass held-out samples, or validation=None to stop on the "
                         "training loss.")
    else:
        width = validation.shape[1]
        finite = np.isfinite(validation).all() if isinstance(validation, np.ndarray) else (
            validation.device.type != "cpu" or bool(torch.isfinite(validation).all()))
        if not finite:
            raise ValueError("validation contains NaN or infinity; aekit needs complete data.")
    if width != n_features:
        raise ValueError(f"validation has {width} features, but the batches have {n_features}.")


def _rows_array(obj) -> np.ndarray:
    """Array-like ``obj`` as float32; a list of 1-D arrays or tensors stacked row by row (numpy < 2 warns on a list
    of tensors)."""
    if isinstance(obj, (list, tuple)) and obj and hasattr(obj[0], "ndim"):
        return np.stack([np.asarray(row, dtype=np.float32) for row in obj])
    return np.asarray(obj, dtype=np.float32)


def _looks_like_array(obj) -> bool:
    if hasattr(obj, "__array__") or hasattr(obj, "shape"):
        return True
    if isinstance(obj, (list, tuple)) and obj and getattr(obj[0], "ndim", 1) < 2:
        return True  # rows: nested lists of numbers, or 1-D arrays (list(X)); a list of 2-D arrays is batches
    return False


def is_streamable(X) -> bool:
    """Whether ``fit`` should stream ``X`` instead of loading it: a memmap, a :class:`BatchSource` or a DataLoader.

    Parameters
    ----------
    X : object
        Training data as given to ``fit``.

    Returns
    -------
    bool
        True for a ``np.memmap``, a :class:`BatchSource` or a
        ``torch.utils.data.DataLoader``.

    Examples
    --------
    >>> is_streamable(np.zeros((2, 3))), is_streamable(Batches([np.zeros((2, 3))]))
    (False, True)
    """
    if isinstance(X, (BatchSource, np.memmap)):
        return True
    return isinstance(X, torch.utils.data.DataLoader)


def as_source(X, mask=None) -> BatchSource:
    """Wrap a streamable input (see :func:`is_streamable`) in a :class:`BatchSource`.

    Parameters
    ----------
    X : np.memmap, BatchSource or torch.utils.data.DataLoader
        The data; a :class:`BatchSource` is returned as it is.
    mask : ndarray of shape (n_samples, n_features), default=None
        Observed entries (1) of a memmap ``X``; ignored for the other kinds.

    Returns
    -------
    BatchSource
        An :class:`ArraySource` for a memmap, :class:`Batches` for a
        DataLoader.

    Raises
    ------
    TypeError
        If ``X`` is none of these.
    """
    if isinstance(X, BatchSource):
        return X
    if isinstance(X, np.memmap):
        return ArraySource(X, mask)
    if isinstance(X, torch.utils.data.DataLoader):
        return Batches(X)
    raise TypeError(f"cannot stream {type(X).__name__}; pass a memory-mapped array, a DataLoader "
                    "or aekit.streaming.Batches(...).")
