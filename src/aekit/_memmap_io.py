"""Rows of a memory-mapped array read without keeping its pages: positioned reads, and pages handed back."""

from __future__ import annotations

import mmap
import os

import numpy as np

__all__ = ["release_pages"]


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
