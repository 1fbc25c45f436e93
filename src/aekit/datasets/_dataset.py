"""The :class:`Dataset` container returned by every loader."""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "streamable_memmap"]

logger = logging.getLogger(__name__)

#: Rows a float64 table is checked on for what float32 would lose (evenly spaced; the check's cost stays small).
_PRECISION_ROWS = 10_000


def warn_if_float32_loses(X, where, names=None, loss=0.01) -> None:
    """Warn when casting float64 ``X`` to float32 loses more than ``loss`` of a column's spread.

    float32 keeps about 7 significant digits: a column whose values vary little around a large level (Unix
    times, 1e8 + N(0, 1), IDs) collapses to a few values, silently, in every loader that stores float32.
    ``where`` (a file) and ``names`` (its columns, optional) name it in the one warning.
    """
    X = np.asarray(X)
    if X.dtype != np.float64 or X.ndim != 2 or not X.size:
        return
    X = X[:: max(1, X.shape[0] // _PRECISION_ROWS)]
    with np.errstate(over="ignore", invalid="ignore"):  # entries beyond float32 are left out below
        rounded = X.astype(np.float32).astype(np.float64)
        kept = np.isfinite(rounded)  # NaN (missing) and values beyond float32 (named by the CSV reader) left out
        counts = np.maximum(kept.sum(axis=0), 1)
        mean = np.where(kept, X, 0.0).sum(axis=0) / counts
        spread = np.sqrt(np.where(kept, (X - mean) ** 2, 0.0).sum(axis=0) / counts)
        lost = np.sqrt(np.where(kept, (rounded - X) ** 2, 0.0).sum(axis=0) / counts)
    # a constant column (0.1 in every row: float32 rounds it, but it has no spread to lose; its computed spread is
    # float64 rounding, ~1e-16 of its size) or an empty one is never flagged
    bad = np.flatnonzero((spread > 1e-12 * np.abs(mean)) & (lost > loss * spread))
    if not bad.size:
        return
    j = bad[0]
    named = f" ({names[j]!r})" if names is not None and j < len(names) else ""
    more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
    logger.warning("%s: column %d%s%s varies little for its size (around %.6g, spread %.3g): aekit computes in "
                   "float32 (about 7 significant digits), which loses %.0f%% of that spread; subtract a constant "
                   "near its values (or its mean) from it first.", where, j + 1, named, more,
                   float(mean[j]), spread[j], min(100.0, 100 * lost[j] / spread[j]))


def streamable_memmap(X) -> bool:
    """Whether ``X`` is a 2-D memory map that estimators read a block of rows at a time, cast to float32 as read.

    Its dtype is bool, integers (uint8 pixels), float32 or float64 in this machine's byte order, each block cast
    as a cast of the whole would cast it, and its rows or its columns are contiguous in the file (C or Fortran
    order). Other memory maps (float16, byte-swapped) are copied whole as float32 by :class:`Dataset`.
    """
    if not (isinstance(X, np.memmap) and X.ndim == 2 and X._mmap is not None):  # (a memmap's copy is not mapped)
        return False
    exact = X.dtype.kind in "biu" or X.dtype in (np.float32, np.float64)
    return exact and (X.flags.c_contiguous or X.flags.f_contiguous)


def _as_features(X, field):
    """Return ``X`` as a C-contiguous float32 matrix; views are kept when possible.

    A memory map that :func:`streamable_memmap` accepts is returned as it is,
    in its own dtype and order: estimators stream memory maps instead of
    loading them, casting a block of rows at a time (``np.ascontiguousarray``
    would read it all, or return a plain ndarray view and lose that).
    """
    if not streamable_memmap(X):
        X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(
            f"{field} must be 2-D of shape (n_samples, n_features); got shape {X.shape}."
        )
    return X


def _as_labels(y, n, field):
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{field} must be None or an integer array of shape ({n},); "
            f"got dtype {y.dtype} and shape {y.shape}."
        )
    return y.astype(np.int64, copy=False)


@dataclass
class Dataset:
    """A train/test pair of feature matrices with optional labels.

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
        Training samples; stored as C-contiguous float32 (no copy when the
        input already is). A memory map of bool, integers, float32 or
        float64 stays a memory map in its own dtype and order (estimators
        cast it a block of rows at a time).
    X_test : array-like of shape (n_test, n_features)
        Test samples; ``n_test`` may be 0.
    y_train : ndarray of shape (n_train,) or None
        Integer labels (stored as int64), or None when unlabelled.
    y_test : ndarray of shape (n_test,) or None
        Integer labels (stored as int64), or None when unlabelled.
    image_shape : tuple of int or None
        Shape of one sample as an image, ``(H, W)`` or ``(H, W, C)``; its
        product equals ``n_features``. None for tabular data.
    name : str
        Short name, e.g. ``"fashion-mnist"``.
    description : str
        One line saying where the data came from and how it was split.
    class_names : tuple of str, optional
        The name of each label value (``class_names[y]``), for legends;
        None when the labels are their own names (digits) or absent.
    sample_names : tuple of str, optional
        A name for each row of ``X_train`` (an image folder's file names),
        for messages such as ``aekit errors``' largest errors; None when rows
        are known by their position only.

    Examples
    --------
    >>> import numpy as np
    >>> ds = Dataset(np.zeros((4, 6)), np.zeros((2, 6)), None, None, (2, 3), "toy", "zeros")
    >>> ds.X_train.dtype, ds.X_train.shape, ds.n_features
    (dtype('float32'), (4, 6), 6)
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray | None
    y_test: np.ndarray | None
    image_shape: tuple | None
    name: str
    description: str
    class_names: tuple | None = None
    sample_names: tuple | None = None

    def __post_init__(self):
        self.X_train = _as_features(self.X_train, "X_train")
        self.X_test = _as_features(self.X_test, "X_test")
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise ValueError(
                f"X_train has {self.X_train.shape[1]} features but X_test has "
                f"{self.X_test.shape[1]}; both must have the same number of columns."
            )
        if self.class_names is not None:
            self.class_names = tuple(str(c) for c in self.class_names)
        if self.sample_names is not None:
            self.sample_names = tuple(str(c) for c in self.sample_names)
            if len(self.sample_names) != len(self.X_train):
                raise ValueError(f"sample_names has {len(self.sample_names)} names for {len(self.X_train)} rows of "
                                 "X_train.")
        self.y_train = _as_labels(self.y_train, len(self.X_train), "y_train")
        self.y_test = _as_labels(self.y_test, len(self.X_test), "y_test")
        if self.image_shape is not None:
            self.image_shape = tuple(int(d) for d in self.image_shape)
            if int(np.prod(self.image_shape)) != self.n_features:
                raise ValueError(
                    f"image_shape {self.image_shape} has {int(np.prod(self.image_shape))} "
                    f"pixels but the data have {self.n_features} features."
                )

    @property
    def n_features(self):
        """int : Number of columns of ``X_train`` and ``X_test``."""
        return self.X_train.shape[1]

    def __repr__(self):
        return (
            f"Dataset(name={self.name!r}, X_train={self.X_train.shape}, "
            f"X_test={self.X_test.shape}, image_shape={self.image_shape}, "
            f"labelled={self.y_train is not None})"
        )

    def held_out(self, test_fraction=0.2, seed=0):
        """The same data with a random ``test_fraction`` of ``X_train`` held out as ``X_test``.

        For data that come without a test split (the user's own file): the
        rows are drawn with ``seed`` and keep their order on each side;
        labels and ``sample_names`` follow their rows (the held-out rows'
        names are dropped). The current ``X_test`` is replaced.

        Parameters
        ----------
        test_fraction : float, default=0.2
            In (0, 1); at least one sample must end on each side.
        seed : int, default=0

        Returns
        -------
        Dataset

        Raises
        ------
        ValueError
            If ``test_fraction`` is outside (0, 1) or leaves a side empty.

        Examples
        --------
        >>> ds = Dataset(np.arange(20.0).reshape(10, 2), np.zeros((0, 2)), None, None, None, "toy", "ten rows")
        >>> split = ds.held_out(0.3)
        >>> split.X_train.shape, split.X_test.shape
        ((7, 2), (3, 2))
        """
        n = len(self.X_train)
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
            raise TypeError(f"test_fraction must be a number in (0, 1); got {test_fraction!r}.")
        n_test = round(test_fraction * n) if 0.0 < test_fraction < 1.0 else 0
        if not 1 <= n_test < n:
            raise ValueError(f"test_fraction must be in (0, 1) and leave at least one of the {n} samples on each "
                             f"side; got {test_fraction}.")
        order = np.random.default_rng(seed).permutation(n)
        test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
        y = self.y_train
        return Dataset(self.X_train[train], self.X_train[test], None if y is None else y[train],
                       None if y is None else y[test], self.image_shape, self.name,
                       f"{self.name}: {n - n_test} training and {n_test} test samples (of {n}, held out at "
                       f"random with seed {seed})", self.class_names,
                       None if self.sample_names is None else tuple(self.sample_names[i] for i in train))
