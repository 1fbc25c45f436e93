"""Errors on chosen entries: RMSE on a mask, and hiding observed entries to score an imputer."""

import numpy as np

from ._errors import _as_pair


def rmse_on_mask(X_true, X_hat, mask):
    """Root mean squared error over the entries where ``mask`` is True.

    Use it to score imputation: ``mask`` marks the entries that were missing
    (or corrupted) in the input, so only those count.

    Parameters
    ----------
    X_true : array-like of shape (n_samples, n_features)
        Complete data.
    X_hat : array-like of the same shape
        Reconstruction or imputation.
    mask : array-like of bool, same shape
        True where an entry is scored.

    Returns
    -------
    rmse : float

    Raises
    ------
    ValueError
        If the shapes differ, or mask selects no entry.
    TypeError
        If mask is not boolean.

    Examples
    --------
    >>> X = [[1.0, 2.0], [3.0, 4.0]]
    >>> X_hat = [[1.0, 0.0], [3.0, 4.0]]
    >>> rmse_on_mask(X, X_hat, [[False, True], [False, False]])
    2.0
    """
    X_true, X_hat = _as_pair(X_true, X_hat, "X_true", "X_hat")
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(
            f"mask must be a boolean array (True = scored entry); got dtype "
            f"{mask.dtype}. Convert it with mask.astype(bool) if that is meant."
        )
    if mask.ndim == 1:
        mask = mask[np.newaxis]  # batched like a 1-D X_true
    if mask.shape != X_true.shape:
        raise ValueError(
            f"mask must have the same shape as X_true; got mask.shape="
            f"{mask.shape} and X_true.shape={X_true.shape}."
        )
    n_selected = int(mask.sum())
    if n_selected == 0:
        raise ValueError(
            "mask selects no entry (it is all False), so there is nothing to "
            "score."
        )
    diff = X_true[mask] - X_hat[mask]
    return float(np.sqrt(np.mean(diff**2)))


def hide_observed(X, fraction=0.2, seed=0):
    """A fixed random ``fraction`` of X's observed (non-NaN) entries, as a mask.

    ``round(fraction * n_observed)`` entries are drawn among the observed
    ones with ``seed`` (the same on every call), so a missingness pattern
    made with the same generator and seed (say
    ``default_rng(0).random(X.shape) < 0.2``) cannot make them coincide
    with the entries already missing.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        NaN marks missing entries, which are never chosen.
    fraction : float, default=0.2
        In [0, 1].
    seed : int, default=0
        Seeds the choice (numpy's ``default_rng``): the same seed hides the
        same entries on every call.

    Returns
    -------
    hide : ndarray of bool, of X's shape

    Examples
    --------
    >>> int(hide_observed(np.array([[1.0, np.nan], [3.0, 4.0]]), fraction=2 / 3).sum())
    2
    """
    X = np.asarray(X)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1]; got {fraction!r}.")
    observed = np.flatnonzero(~np.isnan(X))
    chosen = np.random.default_rng(seed).permutation(observed.size)[:round(fraction * observed.size)]
    hide = np.zeros(X.shape, dtype=bool)
    hide.flat[observed[chosen]] = True
    return hide


def hide_entries(X, fraction=0.2, seed=0):
    """X with the entries of :func:`hide_observed` set to NaN, and their mask.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        NaN marks missing entries; any real dtype (integers give a float copy).
    fraction : float, default=0.2
        Fraction of the observed entries to hide, in [0, 1].
    seed : int, default=0
        Seeds the choice, as for :func:`hide_observed`.

    Returns
    -------
    X_hidden : ndarray of X's shape
        A float copy of X (float32 stays float32) with the hidden entries NaN.
    hide : ndarray of bool of X's shape
        The hidden entries.

    Examples
    --------
    >>> X_hidden, hide = hide_entries(np.array([[1.0, 2.0], [3.0, 4.0]]), fraction=0.5)
    >>> int(np.isnan(X_hidden).sum()), int(hide.sum())
    (2, 2)
    """
    X = np.asarray(X)
    hide = hide_observed(X, fraction, seed)
    X_hidden = X.astype(np.result_type(X.dtype, np.float32))  # a copy that can hold NaN
    X_hidden[hide] = np.nan
    return X_hidden, hide


def hidden_entry_error(fill, X, fraction=0.2, seed=0):
    """Squared error of ``fill`` on observed entries of X hidden for the purpose, per sample.

    The entries of :func:`hide_observed` (``fraction`` of the observed ones,
    fixed by ``seed``) are set to NaN and ``fill`` is asked to fill them;
    their squared errors are summed per sample and averaged over samples.
    An imputer's ``score`` is the negative of this.

    Parameters
    ----------
    fill : callable
        ``fill(X_with_nan) -> X_filled``, e.g. a fitted imputer's ``transform``.
    X : ndarray of shape (n_samples, n_features)
        NaN marks missing entries; these are neither hidden nor scored.
    fraction : float, default=0.2
        Fraction of the observed entries to hide and score, in [0, 1].
    seed : int, default=0
        Seeds the choice, as for :func:`hide_observed`.

    Returns
    -------
    error : float

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> hidden_entry_error(lambda A: np.where(np.isnan(A), 0.0, A), X, fraction=1.0)  # (1 + 4 + 9 + 16) / 2
    15.0
    """
    X = np.asarray(X)
    X_hidden, hide = hide_entries(X, fraction, seed)
    err = np.where(hide, (np.asarray(fill(X_hidden), dtype=np.float64) - X) ** 2, 0.0)
    return float(err.sum(axis=1).mean())
