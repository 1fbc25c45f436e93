"""Datasets by name, and one entry point for names and user files alike."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._dataset import Dataset, streamable_memmap, warn_if_float32_loses
from ._digits import load_digits
from ._files import load_array, load_image_folder
from ._mnist import load_fashion_mnist, load_mnist
from ._olivetti import load_olivetti

__all__ = ["DATASETS", "load_dataset", "load_data"]

logger = logging.getLogger(__name__)

DATASETS = {
    "digits": load_digits,
    "fashion-mnist": load_fashion_mnist,
    "mnist": load_mnist,
    "olivetti": load_olivetti,
}


def load_dataset(name, data_dir=None, download=True):
    """Load a named dataset.

    Parameters
    ----------
    name : {'digits', 'fashion-mnist', 'mnist', 'olivetti'}
        A key of :data:`DATASETS`.
    data_dir : str or os.PathLike, optional
        Searched first for the files (for ``'olivetti'``, the .mat file or
        its directory); ignored by ``'digits'``, which is bundled.
    download : bool, default=True
        Allow downloading missing files; ignored by ``'digits'``.

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`DATASETS`.

    Examples
    --------
    >>> load_dataset("digits").X_train.shape
    (1437, 64)
    """
    if name not in DATASETS:
        choices = "{" + ", ".join(repr(k) for k in sorted(DATASETS)) + "}"
        raise ValueError(f"dataset must be one of {choices}; got {name!r}.")
    if name == "digits":
        return load_digits()
    if name == "olivetti":
        return load_olivetti(path=data_dir, download=download)
    return DATASETS[name](data_dir=data_dir, download=download)


def load_data(source, data_dir=None, download=True, mmap=False):
    """Load a named dataset, or the user's file or image directory.

    Parameters
    ----------
    source : str or os.PathLike
        A key of :data:`DATASETS` (see :func:`load_dataset`), else a path
        read by :func:`load_array`.
    data_dir : str or os.PathLike, optional
        Passed to :func:`load_dataset` for a named dataset; ignored for a path.
    download : bool, default=True
        Passed to :func:`load_dataset` for a named dataset; ignored for a path.
    mmap : bool, default=False
        Memory-map a ``.npy`` file; the map is kept (estimators read it a
        block of rows at a time, cast to float32) if it holds bool, integers,
        float32 or float64 in this machine's byte order, otherwise it is read
        into memory as float32.

    Returns
    -------
    dataset : Dataset
        For a path: every sample in ``X_train``, an empty ``X_test`` (0 rows,
        same columns), no labels, ``name`` the file name, and for an image
        directory ``sample_names`` (its files, in row order); split it
        yourself if you need held-out data.

    Raises
    ------
    FileNotFoundError
        If ``source`` is neither a dataset name nor an existing path.

    Examples
    --------
    >>> ds = load_data("digits")
    >>> ds.name, ds.image_shape
    ('digits', (8, 8))
    """
    if isinstance(source, str) and source in DATASETS:
        return load_dataset(source, data_dir=data_dir, download=download)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(
            f"{source!r} is neither a dataset name ({', '.join(DATASETS)}) "
            f"nor an existing file or directory."
        )
    # an image folder's rows are its files, named as they were read
    X, image_shape, names = load_image_folder(path) if path.is_dir() else (*load_array(path, mmap=mmap), None)
    if mmap and path.suffix.lower() == ".npy" and not streamable_memmap(X):
        # asked to stream, but Dataset reads it whole as float32: say so before memory runs out, not after
        if X.dtype == np.float16:
            why = "float16 is not among the dtypes streamed (bool, integers, float32, float64)"
        elif not X.dtype.isnative:
            why = "its numbers are stored in the other byte order than this machine's"
        else:  # flattening an image stack to rows copied it
            why = "its images are stored Fortran-ordered, so flattening them to rows copies them"
        logger.warning("%s holds %s, so it is read whole into memory (%.3g MB as float32), not memory-mapped: %s. "
                       "For data larger than memory, convert it to float32 once, a block of rows at a time "
                       "(numpy.lib.format.open_memmap)", path, X.dtype, X.size * 4 / 1e6, why)
    if image_shape is None and not isinstance(X, np.memmap):  # a float64 table: Dataset stores float32
        warn_if_float32_loses(X, path)
    description = f"user data from {path}: {X.shape[0]} samples, all in X_train (no test split)."
    return Dataset(X, X[:0], None, None, image_shape, path.name, description, sample_names=names)
