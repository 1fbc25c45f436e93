"""Rows of a memory-mapped array read without keeping its pages: positioned reads, and pages handed back."""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator

import numpy as np

__all__ = ["read_rows", "release_pages", "row_blocks"]

#: About this many bytes of a file per block of :func:`row_blocks`.
BLOCK_BYTES = 8 * 2**20


def _mapping(a: np.ndarray) -> mmap.mmap | None:
    """The ``mmap`` behind a ``np.memmap`` (or a view of one), if it may be released."""
    while a is not None:
        mm = getattr(a, "_mmap", None)
        if isinstance(mm, mmap.mmap):
            # a private ("c") mapping would lose its modifications
            return mm if getattr(a, "mode", "r") in ("r", "r+", "w+", "readonly", "readwrite", "write") else None
        a = a.base if isinstance(a, np.ndarray) else None
    return None


def release_pages(a: np.ndarray) -> bool:
    """Unmap the resident pages of a memory-mapped array from this process.

    The data stay in the operating system's page cache (and on disk); the
    next access maps them again.

    Parameters
    ----------
    a : ndarray
        A ``np.memmap`` opened read-only or read-write (or a view of one);
        other arrays are left alone.

    Returns
    -------
    bool
        Whether anything could be released (False for in-memory arrays,
        copy-on-write mappings and on systems without ``madvise``).
    """
    mm = _mapping(a)
    if mm is None or not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return False
    mm.madvise(mmap.MADV_DONTNEED)
    return True


def _file_rows(a: np.ndarray) -> tuple[str, int, int] | None:
    """``(path, file offset of a[0, 0], row stride)`` when rows of memmap ``a`` can be read with ``pread``."""
    mm = getattr(a, "_mmap", None)
    path = getattr(a, "filename", None)
    if not (isinstance(mm, mmap.mmap) and path and hasattr(os, "preadv")) or a.size == 0:
        return None
    if getattr(a, "mode", None) == "c":
        return None  # copy-on-write (mmap_mode="c"): what was assigned is in memory, the file has the old values
    if not os.path.isfile(path):
        return None  # unlinked since it was mapped (a temporary file): the mapping still holds it, the path not
    if a.strides[1] != a.itemsize or a.strides[0] < a.shape[1] * a.itemsize:
        return None  # rows are not contiguous runs of bytes in the file
    base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    start = a.offset - a.offset % mmap.ALLOCATIONGRANULARITY  # where numpy's mapping begins in the file
    return path, a.ctypes.data - base + start, a.strides[0]


def _pread_into(fd: int, buf: memoryview, offset: int, path: str) -> None:
    while buf.nbytes:
        n = os.preadv(fd, [buf], offset)
        if n <= 0:
            raise ValueError(f"{path}: file ended early; it is shorter than its .npy header says.")
        buf, offset = buf[n:], offset + n


def read_rows(a: np.ndarray, rows: np.ndarray, path: str, start: int, stride: int) -> np.ndarray:
    """Rows (ascending) of memmap ``a``, in its dtype, read with positioned reads: the page cache never enters our RSS.

    ``(path, start, stride)`` is :func:`_file_rows`'s layout of ``a``. Reading through the mapping instead would
    map whole page-cache folios (about 1 MiB per random row measured on Linux 6.x), so the resident set would grow
    like the file.
    """
    row_bytes = a.shape[1] * a.itemsize
    buf = np.empty((rows.shape[0], a.shape[1]), dtype=a.dtype)
    raw = memoryview(buf.reshape(-1).view(np.uint8))
    # runs of consecutive rows are one read each when rows are back to back in the file
    if stride == row_bytes and rows.shape[0]:
        cuts = np.flatnonzero(np.diff(rows) != 1) + 1
        runs = zip(np.r_[0, cuts].tolist(), np.r_[cuts, rows.shape[0]].tolist())
    else:
        runs = ((i, i + 1) for i in range(rows.shape[0]))
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()
        for lo, hi in runs:
            _pread_into(fd, raw[lo * row_bytes:hi * row_bytes], start + int(rows[lo]) * stride, path)
    return buf


def row_blocks(a: np.ndarray, rows: int | None = None) -> Iterator[np.ndarray]:
    """Blocks of ``rows`` rows of 2-D ``a``, in its own dtype, for a reduction over all of it (a range, a NaN check).

    A memory map is read with positioned reads (its pages never enter the resident set) or, where its rows are not
    runs of bytes in the file (Fortran order), copied a block at a time with its pages handed back after each: the
    resident set holds one block, not the file. Any other array is sliced (views).

    Parameters
    ----------
    a : ndarray of shape (n_rows, n_features)
        Any dtype; a ``np.memmap`` or an array in memory.
    rows : int, optional
        Rows per block; default about :data:`BLOCK_BYTES` of ``a``.

    Yields
    ------
    ndarray of shape (rows, n_features)
        The next rows (the last block may be shorter), ``a.dtype``.
    """
    if rows is None:
        rows = max(1, BLOCK_BYTES // max(1, a.itemsize * a.shape[1]))
    layout = _file_rows(a) if isinstance(a, np.memmap) else None
    if layout is None:
        mapped = isinstance(a, np.memmap)
        for start in range(0, a.shape[0], rows):
            block = a[start:start + rows]
            if mapped:
                block = np.array(block)  # a copy: the pages it was read from are handed back
                release_pages(a)
            yield block
        return
    for start in range(0, a.shape[0], rows):
        yield read_rows(a, np.arange(start, min(start + rows, a.shape[0])), *layout)
