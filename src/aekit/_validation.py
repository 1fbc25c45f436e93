"""Input checks shared by the estimators: real dtypes, no iterable where an array is needed, loss ranges.

NumPy in, clear one-line errors out; nothing here trains.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .losses import LOSSES
from .streaming import ArraySource, Batches, host_rows, is_streamable

__all__ = ["SCALE_ADVICE", "FIT_SCALE_ADVICE", "check_input_range", "check_not_list_of_batches", "check_not_streamed",
           "check_numeric_columns", "check_real"]


#: What :func:`check_input_range`'s message ends with, unless told otherwise.
SCALE_ADVICE = ". Scale X (e.g. MinMaxScaler) or use loss='mse'."
#: What to do when an estimator that scales its input (``scaling``) is fitted on X outside the loss's range.
FIT_SCALE_ADVICE = ". Use scaling='minmax' (each column's minimum and range, fitted on X) or loss='mse'."


def check_input_range(X, loss: str, advice: str = SCALE_ADVICE) -> None:
    """Refuse X outside the range ``loss`` needs (bce: [0, 1]), reading a streamed source once or its first batch.

    ``advice`` ends the message (X already scaled by statistics a warm start keeps: scaling it would not help).
    """
    rng = LOSSES[loss].target_range
    if rng is None:
        return
    where = "X has"
    if isinstance(X, Batches):  # no second pass over an iterable: its first batch shows unscaled data
        batch = next(iter(X), None)
        first = host_rows(batch if batch is not None else [])
        lo, hi = (first.min(), first.max()) if first.size else (None, None)
        where = "the first batch of X has"
    elif isinstance(X, ArraySource):  # one streamed pass over the file
        lo = hi = None
        for xb, _ in X.chunks():
            if xb.size:
                lo = xb.min() if lo is None else min(lo, xb.min())
                hi = xb.max() if hi is None else max(hi, xb.max())
        X.release()
    else:
        lo, hi = (X.min(), X.max()) if X.size else (None, None)
    if lo is not None and (lo < rng[0] or hi > rng[1]):
        raise ValueError(
            f"loss={loss!r} needs X in [{rng[0]:g}, {rng[1]:g}]; {where} values in "
            f"[{lo:g}, {hi:g}]{advice}"
        )


def check_not_streamed(estimator, X, fitting: bool) -> None:
    """Refuse an iterable of batches (DataLoader, Batches) where an array is needed, naming it."""
    if is_streamable(X) and not isinstance(X, np.memmap):
        name = type(estimator).__name__
        if fitting:
            raise TypeError(f"{name} cannot train from {type(X).__name__}; pass an array or a memory-mapped .npy.")
        raise TypeError(f"{name}.transform takes an array (or a memory-mapped .npy), not {type(X).__name__}, "
                        "as do reconstruct and score; only Autoencoder.fit streams batches. Pass "
                        "np.concatenate of the batches, or call it on each batch.")


def check_real(A, name: str) -> None:
    """Refuse complex and date/time arrays in one line (sklearn would print the whole array)."""
    dtype = getattr(A, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {dtype}; aekit needs real numbers "
                         f"(pass {name}.real, or np.abs({name}) for magnitudes).")
    if kind in ("M", "m"):
        raise TypeError(f"{name} has dtype {dtype} (dates or durations); aekit needs numbers.")


def check_not_list_of_batches(X, streams: bool = True) -> None:
    """Refuse a list of 2-D arrays (batches, read as one 3-D array: sklearn says only "dim 3") and an iterator
    (a generator: numpy says only "float() argument must be ... not 'generator'") with what to do; ``streams``:
    whether the estimator trains from :class:`~aekit.streaming.Batches` (an imputer does not)."""
    if isinstance(X, Iterator) and not hasattr(X, "__array__"):
        advice = ("pass an array, or wrap a function that returns a fresh iterator in "
                  "aekit.streaming.Batches(lambda: ...)" if streams else "pass an array (np.vstack(list(X)))")
        raise TypeError(f"X is an iterator ({type(X).__name__}), which can be read only once, and training reads "
                        f"the data every epoch: {advice}.")
    if isinstance(X, (list, tuple)) and X and all(getattr(b, "ndim", None) == 2 for b in X):
        advice = ("wrap it in aekit.streaming.Batches(...) to train on them batch by batch, or pass "
                  "np.concatenate(X) as one array" if streams else "pass np.concatenate(X) as one array")
        raise TypeError(f"X is a {type(X).__name__} of {len(X)} 2-D arrays (batches?); {advice}.")


def check_numeric_columns(X) -> None:
    """Refuse a DataFrame's text, categorical or date columns by name (sklearn says only "could not convert")."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):  # not a DataFrame
        return
    bad = [str(name) for i, (name, dtype) in enumerate(dtypes.items())
           if getattr(dtype, "kind", "O") not in "biuf" and not _numbers(dtype, X.iloc[:, i])]
    if bad:
        shown = bad[:10] + (["..."] if len(bad) > 10 else [])
        raise ValueError(f"X has non-numeric columns {shown}; encode them as numbers first (categories with "
                         "OneHotEncoder in a ColumnTransformer, before the autoencoder in a Pipeline) or drop "
                         "them (IDs, free text).")


def _numbers(dtype, column) -> bool:
    """Whether an object column holds numbers (as pandas gives a column built from Python objects); scikit-learn's
    estimators take it."""
    if getattr(dtype, "kind", None) != "O":
        return False
    try:
        np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True
