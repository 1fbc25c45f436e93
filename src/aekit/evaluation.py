"""How well a fitted model does on given data: the numbers and figure of ``aekit evaluate``.

:func:`evaluate` measures what the model is for:

- every autoencoder: the reconstruction error (per sample, as ``-score``;
  per entry; PSNR when the data lie in [0, 1]);
- a :class:`~aekit.SparseAutoencoder`: also the sparsity of its codes on
  this data;
- a :class:`~aekit.DenoisingAutoencoder`: the data corrupted by its own
  kind of noise at one level (seeded), and the error and PSNR of the noisy
  and the denoised data against the clean;
- an imputer (:class:`~aekit.AutoencoderImputer`,
  :class:`~aekit.ImputerEnsemble`): a fraction of the observed entries
  hidden (:func:`aekit.metrics.hide_entries`), filled, and scored.

:func:`evaluation_images` gives the matching rows of images for
:func:`aekit.plotting.image_rows`.
"""

from __future__ import annotations

import logging
import numbers
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import validate_data

from ._base import Autoencoder
from ._imputer import ImputerMixin
from ._memmap_io import row_blocks
from .corruption import make_corruption
from .denoising import DenoisingAutoencoder
from ._scaling import scaled_float32
from .streaming import ArraySource
from .metrics import code_statistics, hide_entries
from .metrics._codes import CodeTally
from .metrics._errors import _squared_error_rows

logger = logging.getLogger(__name__)

__all__ = ["evaluate", "evaluation_images", "extreme_samples"]


def _checked_array(estimator, X) -> np.ndarray:
    """X as an array, a DataFrame's column names checked first against the model's, as ``transform`` checks them; a
    memory map stays one (np.asarray made it a plain view, which the model read whole)."""
    if hasattr(X, "columns") and hasattr(estimator, "feature_names_in_"):
        validate_data(estimator, X, reset=False, skip_check_array=True)
    return X if isinstance(X, np.memmap) else np.asarray(X)


def _check_model(estimator, function: str, is_model) -> None:
    """Refuse what ``is_model`` rejects (a Pipeline, a scikit-learn model), saying what ``function`` takes.

    A Pipeline ending in an aekit model got an AttributeError naming a private method (``_scales``) or
    ``reconstruct``: its steps before the model change X's units, which the model's figures and numbers cannot undo.
    """
    if is_model(estimator):
        return
    hint = (": its steps before the model change X's units; give the model scaling='standard' in place of a "
            "StandardScaler step, or pass the model and the data it sees, pipe[-1] and pipe[:-1].transform(X)"
            if isinstance(estimator, Pipeline) else "")
    raise TypeError(f"{function} takes a fitted aekit model (an Autoencoder of any kind, an AutoencoderImputer or an "
                    f"ImputerEnsemble); got {type(estimator).__name__}{hint}.")


def _check_n_images(n_images) -> int:
    # 0 gave extreme_samples one sample of each group, -1 evaluation_images all but the last sample
    if isinstance(n_images, bool) or not isinstance(n_images, numbers.Integral) or n_images < 1:
        raise ValueError(f"n_images must be a positive integer; got {n_images!r}.")
    return int(n_images)


def _is_aekit_model(estimator) -> bool:
    return isinstance(estimator, (Autoencoder, ImputerMixin))


@contextmanager
def _bare_arrays():
    """The model sees arrays, without the warning that they lack the names it was fitted with (checked by
    :func:`_checked_array`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        yield


def _kind(estimator) -> str:
    if isinstance(estimator, ImputerMixin):
        return "imputer"
    if isinstance(estimator, DenoisingAutoencoder):
        return "denoiser"
    return "autoencoder"


def _in_unit_range(X) -> bool:
    """Whether X's finite values (at least one) lie in [0, 1]; a block of rows at a time (a memory map is never
    read whole, nor a mask of all of X made)."""
    return _scan(X if X.ndim == 2 else np.reshape(X, (1, -1)), look_for_nan=False)[1]


def _scan(X, look_for_nan: bool = True) -> tuple[bool, bool]:
    """``(whether X holds a NaN, whether its finite values, at least one, lie in [0, 1])`` from one pass over X, a
    block of rows at a time, ended once both are known (a memory map larger than memory is read once, not twice)."""
    nan, inside, any_finite = False, True, False
    look_for_nan = look_for_nan and X.dtype.kind in "fc"
    for block in row_blocks(X):
        if look_for_nan and np.isnan(block).any():
            nan, look_for_nan = True, False
        if inside:
            block_inside = _block_in_unit_range(block)
            inside, any_finite = block_inside is not False, any_finite or block_inside is True
        if not (look_for_nan or inside):
            break
    return nan, inside and any_finite


def _block_in_unit_range(X):
    """True or False for a block with finite values, whether they lie in [0, 1]; None for one without."""
    if X.dtype.kind != "f":  # integers, booleans: all finite
        return bool(X.min() >= 0 and X.max() <= 1) if X.size else None
    finite = np.isfinite(X)  # a mask, not a copy of the finite values
    if not finite.any():
        return None
    return bool(np.min(X, where=finite, initial=np.inf) >= 0.0 and np.max(X, where=finite, initial=-np.inf) <= 1.0)


def _errors(X, X_hat, prefix: str, unit_range: bool) -> dict:
    return _errors_of_rows(_squared_error_rows(X, X_hat), X.shape[1], prefix, unit_range)


def _errors_of_rows(rows: np.ndarray, n_features: int, prefix: str, unit_range: bool) -> dict:
    """The error figures from each sample's squared errors summed over its features (as the metrics compute them:
    :func:`~aekit.metrics.squared_error_per_sample`, :func:`~aekit.metrics.mean_squared_error`,
    :func:`~aekit.metrics.psnr` with data_range 1)."""
    out = {f"{prefix}error_per_sample": float(rows.mean()),
           f"{prefix}mse": float(rows.sum() / (rows.size * n_features))}
    if unit_range:
        with np.errstate(divide="ignore"):
            out[f"{prefix}psnr_db"] = float(np.mean(10.0 * np.log10(1.0 / (rows / n_features))))
    return out


def _errors_and_code_statistics(estimator, X):
    """``(-score_samples(X), code_statistics(transform(X)))`` from one pass of the network (the two ran the encoder
    twice over X), the codes counted a block at a time (not held: 200,000 x 1,000 float32 codes are 800 MB): the
    same values, bit for bit; the errors in the units the network learnt in, as the score's."""
    from ._inference import coded

    errors, tally, start = np.empty(len(X)), CodeTally(estimator.activity_threshold_), 0
    for x, out in estimator._batches_out(coded(estimator.net_), estimator._network_input(estimator._inference_X(X))):
        width = x.shape[1]
        tally.add(out[:, :-width])  # (block, code size)
        errors[start:start + len(x)] = _squared_error_rows(x, out[:, -width:])
        start += len(x)
    if not start:  # no rows: code_statistics' own answer (its error) on transform's
        return errors, code_statistics(estimator.transform(X), threshold=estimator.activity_threshold_)
    return errors, tally.statistics()


def _corrupted(estimator, X, noise_level, random_state):
    """``(X_seen, level, noisy)``: X as the network sees it (scaled, for a model with ``scaling``) and that with
    the denoiser's corruption at ``noise_level`` (default: its corruption_level), seeded.

    Salt and pepper takes the values the model trained with (``data_min_``/``data_max_``, each column's under
    ``scaling``), or X_seen's own extremes for a model saved without them.
    """
    # X scaled in float64 a block at a time: X's units in float32 would round a column far from 0
    X_seen = scaled_float32(X, estimator.center_, estimator.scale_) if estimator._scales() else X
    level = estimator.corruption_level if noise_level is None else noise_level
    options = {}
    if estimator.corruption == "salt_and_pepper":
        trained = {"data_min_", "data_max_"} <= vars(estimator).keys()
        options = ({"low": estimator.data_min_, "high": estimator.data_max_} if trained
                   else {"low": float(X_seen.min()), "high": float(X_seen.max())})
    corrupt = make_corruption(estimator.corruption, level, **options)
    generator = torch.Generator()
    if random_state is None:
        generator.seed()
    else:
        generator.manual_seed(int(random_state))
    return X_seen, level, corrupt(torch.from_numpy(np.ascontiguousarray(X_seen, dtype=np.float32)), generator).numpy()


def evaluate(estimator, X, noise_level=None, hide=0.2, random_state=0) -> dict:
    """Measure a fitted model on X.

    Parameters
    ----------
    estimator : fitted aekit estimator
        An :class:`~aekit.Autoencoder` (any kind), an
        :class:`~aekit.AutoencoderImputer` or an
        :class:`~aekit.ImputerEnsemble`.
    X : ndarray of shape (n_samples, n_features)
        Clean data; for an imputer, NaN marks entries missing already (they
        are neither hidden nor scored). A ``np.memmap`` (a .npy opened with
        ``mmap_mode="r"``) is read a block of rows at a time, never whole, for
        an autoencoder of any kind but a denoiser or an imputer (their noise
        and hidden entries are drawn over all of X at once: X is read whole).
    noise_level : float, optional
        A denoiser's noise level (standard deviation for ``"gaussian"``,
        fraction of entries otherwise); default its ``corruption_level``.
    hide : float, default=0.2
        An imputer's fraction of observed entries hidden and scored.
    random_state : int or None, default=0
        Seed of the noise or of the hidden entries (None: fresh ones).

    Returns
    -------
    dict
        ``kind`` ("autoencoder", "denoiser" or "imputer"), ``n_samples``,
        ``n_features``, and by kind: ``error_per_sample`` (squared errors
        summed over features, averaged over samples), ``mse`` (per entry),
        ``psnr_db`` (data in [0, 1] only); sparsity statistics of the codes
        (``active_fraction``, ``dead_units``, ...) for a sparse model;
        ``negative_elbo_per_sample`` and ``kl_per_sample`` (nats, 10 draws
        of z seeded by ``random_state``) for a variational model (no ELBO,
        with a warning, under ``loss="bce"`` for values outside [0, 1]);
        ``noise``, ``noise_level`` and ``noisy_`` / ``denoised_`` errors for
        a denoiser; ``hidden_fraction``, ``n_hidden``, ``n_missing``,
        ``hidden_error_per_sample`` (``-score`` at this fraction),
        ``hidden_rmse`` and ``mean_fill_rmse`` (filling with each column's
        observed mean, for scale; None when no observed entry is left to
        take a mean from, as with ``hide=1``) for an imputer. A model with
        ``scaling`` is measured in its scaled units, as its ``score`` is
        (``scaling`` names them; no PSNR, and a denoiser's noise level is in
        those units too).

    Raises
    ------
    ValueError
        If X is not 2-D, has NaN for a model that is not an imputer, has
        other columns than the model was fitted on, ``hide`` is not in
        [0, 1], or ``random_state`` is negative or 2**64 or more.
    TypeError
        If ``estimator`` is not an aekit model (a Pipeline: pass its last
        step and the data that step sees), or ``random_state`` is not an
        int or None.

    Examples
    --------
    >>> from aekit import Autoencoder
    >>> X = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    >>> ae = Autoencoder(2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
    >>> result = evaluate(ae, X)
    >>> result["kind"], result["n_samples"], result["error_per_sample"] > 0
    ('autoencoder', 64, True)
    """
    if random_state is not None and (isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral)):
        raise TypeError(f"random_state must be an int or None; got {random_state!r}.")
    if random_state is not None and not 0 <= random_state < 2**64:  # what numpy and torch both take
        raise ValueError(f"random_state must be >= 0 and < 2**64; got {random_state!r}.")
    if isinstance(hide, bool) or not isinstance(hide, numbers.Real) or not 0 <= hide <= 1:
        raise ValueError(f"hide must be a fraction in [0, 1]; got {hide!r}.")
    _check_model(estimator, "evaluate", _is_aekit_model)
    X = _checked_array(estimator, X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}.")
    with _bare_arrays():
        return _evaluate(estimator, X, noise_level, hide, random_state)


def _evaluate(estimator, X, noise_level, hide, random_state) -> dict:
    kind = _kind(estimator)
    if kind != "autoencoder":  # the noise or the hidden entries are drawn over the whole of X at once
        X = np.asarray(X)
    result = {"kind": kind, "model": type(estimator).__name__, "n_samples": int(X.shape[0]),
              "n_features": int(X.shape[1])}
    if kind == "imputer":
        X_hidden, mask = hide_entries(X, hide, random_state)
        filled = np.asarray(estimator.transform(X_hidden), dtype=np.float64)
        kept = np.where(mask, np.nan, X)
        n_kept = (~np.isnan(kept)).sum(axis=0)
        # the columns' means over what stays observed; a column with nothing left (hide=1) has none
        means = np.where(n_kept > 0, np.nansum(kept, axis=0) / np.maximum(n_kept, 1), np.nan)
        diff, mean_diff = (filled - X)[mask], (np.broadcast_to(means, X.shape) - X)[mask]
        mean_diff = mean_diff[~np.isnan(mean_diff)]
        result.update(hidden_fraction=hide, n_hidden=int(mask.sum()), n_missing=int(np.isnan(X).sum()),
                      hidden_error_per_sample=float(np.where(mask, (filled - X) ** 2, 0.0).sum(axis=1).mean()),
                      hidden_rmse=float(np.sqrt(np.mean(diff**2))) if diff.size else 0.0,
                      mean_fill_rmse=(float(np.sqrt(np.mean(mean_diff**2))) if mean_diff.size
                                      else None if diff.size else 0.0))
        return result
    has_nan, in_unit_range = _scan(X)  # one pass over X for both
    if has_nan:
        raise ValueError(f"X has missing values (NaN); {type(estimator).__name__} needs complete data "
                         "(an AutoencoderImputer fills them).")
    scaled = estimator._scales()
    if scaled:
        result["scaling"] = getattr(estimator, "scaling_", estimator.scaling)  # the fitted one, not set_params's
    unit_range = not scaled and in_unit_range
    # the score's errors, a block at a time (no reconstruction of the whole of X is held); a model with ``scaling``
    # is measured in the units its network learnt in
    if hasattr(estimator, "activity_threshold_"):  # a sparse model: how sparse are its codes here?
        errors, statistics = _errors_and_code_statistics(estimator, X)
        result.update(_errors_of_rows(errors, X.shape[1], "", unit_range))
        result.update(statistics)
    else:
        result.update(_errors_of_rows(-estimator.score_samples(X), X.shape[1], "", unit_range))
    if hasattr(estimator, "elbo_samples"):  # a variational model: its likelihood bound, in nats
        # one pass gives both terms (elbo_samples then kl_samples would encode X twice)
        A = estimator._network_input(estimator._inference_X(X))
        nll, kl = estimator._elbo_terms(A, 10, 0 if random_state is None else random_state % 2**32)
        try:  # a Bernoulli likelihood (loss="bce") of values outside [0, 1] means nothing; the KL still does
            # a memory map read once, a block at a time (its min and max read it all through the mapping)
            estimator._check_input_range(ArraySource(A) if isinstance(A, np.memmap) else A, "")
            result["negative_elbo_per_sample"] = float((nll + kl).mean())
        except ValueError as err:
            logger.warning("no negative ELBO: %s; the Bernoulli likelihood is defined only there", err)
        result["kl_per_sample"] = float(kl.mean())
    if kind == "denoiser":
        # the noise at the level the model trained with: in scaled units for a scaled model
        X_seen, level, noisy_seen = _corrupted(estimator, estimator._inference_X(X) if scaled else X, noise_level,
                                               random_state)
        result.update(noise=estimator.corruption, noise_level=float(level))
        result.update(_errors(X_seen, noisy_seen, "noisy_", unit_range))
        denoised = (estimator._apply(estimator.net_, noisy_seen) if scaled else estimator.denoise(noisy_seen))
        result.update(_errors(X_seen, denoised, "denoised_", unit_range))
    return result


def evaluation_images(estimator, X, noise_level=None, hide=0.2, random_state=0, n_images=10) -> list:
    """The rows of the evaluation figure, for :func:`aekit.plotting.image_rows`.

    Parameters
    ----------
    estimator : fitted aekit estimator
        As for :func:`evaluate`.
    X : array-like of shape (n_samples, n_features)
        As for :func:`evaluate`.
    noise_level : float, optional
        As for :func:`evaluate` (a denoiser only).
    hide : float, default=0.2
        As for :func:`evaluate` (an imputer only).
    random_state : int or None, default=0
        As for :func:`evaluate`.
    n_images : int, default=10
        The first ``n_images`` samples of X.

    Returns
    -------
    list of (str, ndarray of shape (n_images, n_features))
        An autoencoder: original, reconstruction. A denoiser: clean, noisy,
        denoised. An imputer: with holes (NaN, which image_rows draws in
        red), filled, true (entries missing from X itself are NaN too).

    Raises
    ------
    TypeError
        If ``estimator`` is not an aekit model (a Pipeline: pass its last
        step and the data that step sees).
    ValueError
        If X is not 2-D, or ``n_images`` is not a positive integer.
    """
    _check_model(estimator, "evaluation_images", _is_aekit_model)
    n_images = _check_n_images(n_images)
    X = _checked_array(estimator, X)
    if X.ndim != 2:  # sliced below, one sample's features were taken for samples
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}.")
    X = X[:n_images]
    kind = _kind(estimator)
    with _bare_arrays():
        if kind == "imputer":
            # holes stay NaN: drawn at mid-grey they looked like pixels, and the row like noise
            X_hidden, mask = hide_entries(X, hide, random_state)
            filled = np.asarray(estimator.transform(X_hidden))  # not a DataFrame under a pandas transform_output
            return [(f"{hide:.0%} hidden", X_hidden), ("filled", filled), ("true", X)]
        if kind == "denoiser":
            # the noise the network meets, as evaluate adds it (in the scaled units of a scaled model), drawn in X's
            _, level, noisy = _corrupted(estimator, X, noise_level, random_state)
            noisy = estimator._unscaled(noisy)
            return [("clean", X), (f"{estimator.corruption} {level:g}", noisy),
                    ("denoised", estimator.denoise(noisy))]
        return [("original", X), ("reconstruction", estimator.reconstruct(X))]


def extreme_samples(estimator, X, n_images=10, errors=None) -> list:
    """The rows of the anomaly figure: the samples reconstructed worst and best, with their reconstructions.

    Parameters
    ----------
    estimator : fitted estimator with ``score_samples`` and ``reconstruct``
        The model whose reconstruction error ranks the samples.
    X : array-like of shape (n_samples, n_features)
        The samples to rank.
    n_images : int, default=10
        Samples in each of the two groups (fewer if X has fewer than twice as many).
    errors : ndarray of shape (n_samples,), optional
        ``-estimator.score_samples(X)`` if already computed: one error per
        sample of X, in X's order.

    Returns
    -------
    list of (str, ndarray of shape (k, n_features))
        The ``k`` largest errors (most unusual first), their reconstructions,
        the ``k`` smallest (most typical first), theirs; each label gives
        its group's range of errors.

    Raises
    ------
    TypeError
        If ``estimator`` has no ``reconstruct`` (a Pipeline: pass its last
        step and the data that step sees).
    ValueError
        If ``errors`` does not hold one error per sample of X, or
        ``n_images`` is not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import Autoencoder
    >>> X = np.random.default_rng(0).random((50, 4))
    >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
    >>> [label.split(" (")[0] for label, _ in extreme_samples(ae, X, n_images=3)]
    ['largest errors', 'reconstructions', 'smallest errors', 'reconstructions']
    """
    # duck-typed, as documented: any model with score_samples and reconstruct (an imputer's score_samples says why it
    # has none)
    _check_model(estimator, "extreme_samples", lambda model: hasattr(model, "reconstruct"))
    n_images = _check_n_images(n_images)
    errors = -estimator.score_samples(X) if errors is None else np.asarray(errors)
    X = _checked_array(estimator, X)
    if errors.shape != (len(X),):  # another set's errors picked X's rows by the wrong samples' errors
        raise ValueError(f"errors must hold one error per sample of X, shape ({len(X)},); got shape {errors.shape}.")
    k = max(1, min(n_images, errors.size // 2))
    order = np.argsort(errors, kind="stable")
    worst, best = order[::-1][:k], order[:k]
    rows = []
    with _bare_arrays():
        for name, idx in (("largest errors", worst), ("smallest errors", best)):
            rows.append((f"{name} ({errors[idx[0]]:.3g} to {errors[idx[-1]]:.3g})", X[idx]))
            rows.append(("reconstructions", estimator.reconstruct(X[idx])))
    return rows
