"""Missing-data completion with a denoising autoencoder.

:class:`AutoencoderImputer` is a scikit-learn imputer: ``fit`` learns from
incomplete data itself (NaN marks a missing entry; the loss counts observed
entries only, missing ones are zeroed at the input, and a corruption hides
further observed ones so the network learns to predict entries it cannot
see: random ones, or with :func:`pattern_corruption` those missing in other
samples), ``transform`` fills the NaNs and returns the observed entries
unchanged. With ``mask_input=True`` the network is also told which entries
it sees (:class:`ObservedInputNet`) and passes them through, so the loss
counts only the entries it had to predict. :func:`impute_with` fills NaNs with any fitted
aekit autoencoder (for instance a denoising one trained with masking noise).
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import torch
from torch import nn
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import Autoencoder
from ._builders import conv_net, mlp_net
from ._imputer import ImputerMixin
from ._inference import INFERENCE_BATCH
from ._params import Param, int_tuple
from ._scaling import column_scaling
from .corruption import CORRUPTIONS, make_corruption
from .denoising import DenoisingAutoencoder
from .observed import ObservedInputNet, pattern_corruption
from .unet import UNet

__all__ = ["AutoencoderImputer", "ObservedInputNet", "impute_with", "pattern_corruption"]

#: How features are put on a common scale before training; missing entries become 0 afterwards.


#: Re-corrupted reconstructions averaged in each refinement pass.
REFINE_DRAWS = 8


def _fill(apply, Xs: np.ndarray, missing: np.ndarray, max_iter: int = 0, recorrupt=None, seed=0):
    """Reconstruct with the holes zeroed, as in training; then ``max_iter`` refinement passes.

    A refinement pass puts the current estimate into the holes, corrupts the
    input the way training did (fresh noise, ``REFINE_DRAWS`` times) and
    averages the reconstructions. Feeding the estimate back without the
    corruption would show the network inputs it never saw in training; on
    breast-cancer data that made every pass worse. ``seed`` is an int or a
    :class:`torch.Generator` to draw from (rows filled a block at a time go on
    drawing from one).
    """
    X0 = np.where(missing, 0.0, Xs).astype(np.float32)
    filled = np.where(missing, apply(X0), X0).astype(np.float32)
    generator = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    for _ in range(int(max_iter)):
        total = np.zeros_like(filled)
        for _ in range(REFINE_DRAWS):
            total += apply(recorrupt(torch.from_numpy(filled), generator).numpy())
        filled = np.where(missing, total / REFINE_DRAWS, X0).astype(np.float32)
    return filled


def impute_with(estimator, X) -> np.ndarray:
    """Fill the NaNs of X with a fitted aekit autoencoder's reconstructions.

    Missing entries are set to 0 and X is reconstructed (an
    :class:`AutoencoderImputer` applies its own scaling and refinement, as
    in its ``transform``; a model with ``scaling`` zeroes them in its scaled
    units). Observed entries are returned unchanged. X must be on the scale
    the model was trained on.

    Parameters
    ----------
    estimator : Autoencoder or ImputerEnsemble
        Fitted, for instance a denoising autoencoder trained with masking
        noise (an imputer or an ensemble of them fills through its
        ``transform``).
    X : array-like of shape (n_samples, n_features)
        NaN marks missing entries.

    Returns
    -------
    X_filled : ndarray of shape (n_samples, n_features), X's float dtype

    Raises
    ------
    ValueError
        If X has no NaN (nothing to fill) or the wrong number of features.
    """
    from .ensemble import ImputerEnsemble  # it imports this module

    # check_array reads a DataFrame's pd.NA as NaN; X itself goes on, so that its column names are checked
    as_array = functools.partial(check_array, dtype=(np.float64, np.float32), ensure_all_finite="allow-nan",
                                 ensure_2d=False)
    if isinstance(estimator, (AutoencoderImputer, ImputerEnsemble)):
        if not np.isnan(as_array(X)).any():
            raise ValueError("X has no missing entry (NaN) to fill.")
        # an ndarray as documented, under sklearn.set_config(transform_output="pandas") too (inpaint_image reshapes it)
        return np.asarray(estimator.transform(X))
    check_is_fitted(estimator, "net_")
    X, columns = as_array(X, copy=True), X
    if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has shape {X.shape}, but {type(estimator).__name__} is expecting "
            f"(n_samples, {estimator.n_features_in_})."
        )
    validate_data(estimator, columns, reset=False, skip_check_array=True)  # the names of a DataFrame's columns
    missing = np.isnan(X)
    if not missing.any():
        raise ValueError("X has no missing entry (NaN) to fill.")
    rows = missing.any(axis=1)
    # a model with ``scaling`` is filled in its scaled units: the holes are zeroed there, as masking noise did
    center, scale = (estimator.center_, estimator.scale_) if estimator._scales() else (0.0, 1.0)
    filled = _fill(lambda A: estimator._apply(estimator.net_, A), (X[rows] - center) / scale, missing[rows])
    X[rows] = np.where(missing[rows], filled * scale + center, X[rows])
    return X


def _made_anew(validated: np.ndarray, given) -> bool:
    """Whether ``validated`` is an array that validation made from ``given`` (no memory of the caller's in it).

    Only where that is sure: a list or tuple, an ndarray ``validated`` shares no memory with, a DataFrame of
    several dtypes (no one block holds them all: pandas or scikit-learn makes new memory). A DataFrame of one
    dtype may hand out its own block, another array-like its own array.
    """
    if not validated.flags.writeable:
        return False
    if isinstance(given, (list, tuple)):
        return True
    if isinstance(given, np.ndarray):
        return not np.may_share_memory(validated, given)
    dtypes = getattr(given, "dtypes", None)
    return hasattr(dtypes, "nunique") and hasattr(given, "iloc") and dtypes.nunique() > 1


class AutoencoderImputer(ImputerMixin, DenoisingAutoencoder):
    """Fill missing values (NaN) with a denoising autoencoder trained on the incomplete data.

    A scikit-learn imputer: ``fit(X)`` on data with NaNs, ``transform(X)``
    returns X with its NaNs replaced and every observed entry unchanged
    (same dtype). Features are scaled internally (``scaling``), missing
    entries are zeroed at the network's input and left out of the loss, and
    the corruption hides some observed entries in each batch, which is what
    teaches the network to predict an entry from the others: "masking" hides
    a random ``corruption_level`` of them, "pattern" (the better choice for
    structured holes such as image blocks) hides, in a fraction
    ``corruption_level`` of the samples, the entries missing in another
    random training sample, so holes seen in training are shaped like the
    real ones (with complete training data it hides nothing), and with
    ``fit(X, patterns=...)`` half of the time one of the holes you will fill
    (their positions only), when those differ from the training data's.

    Takes every parameter of :class:`~aekit.DenoisingAutoencoder` plus
    ``max_iter`` and ``mask_input``; those listed below have other
    defaults or meanings here, and it has the fitted attributes of
    :class:`~aekit.Autoencoder`. For images use ``architecture="fully_conv"``,
    ``"conv"`` or ``"unet"`` (:class:`aekit.unet.UNet`: skip connections and
    a coarsest stage that sees the whole image; needs ``mask_input``) with
    ``image_shape``; for pixels in [0, 1], ``mask_input=True`` with
    ``scaling="none"`` measured best (``benchmarks/complete.py``).

    Parameters
    ----------
    corruption : {"masking", "pattern", "gaussian", "salt_and_pepper"}, default="masking"
        How observed entries are hidden in training (see above); "pattern"
        is only here.
    corruption_level : float, default=0.25
        Fraction of the entries ("masking") or of the samples ("pattern")
        hidden in each batch; the standard deviation for "gaussian".
    learning_rate : float, default=1e-3
        Step size (2e-3 in :class:`~aekit.Autoencoder`).
    lr_schedule : {"constant", "cosine", "onecycle", "plateau", "warmup_plateau"}, default="constant"
        Learning-rate schedule ("warmup_plateau" in :class:`~aekit.Autoencoder`).
    batch_size : int, default=256
        Minibatch size (128 in :class:`~aekit.Autoencoder`).
    scaling : {"standard", "minmax", "none"}, default="standard"
        Per-feature scaling from the observed entries: zero mean and unit
        variance (then a missing entry enters the network as the feature's
        mean), [0, 1], or none. The loss is a mean squared error on the
        scaled values, so "standard" weighs features of small variance up
        (the near-constant border pixels of an image), while "none" on
        pixels in [0, 1] scores every pixel alike, as an RMSE on the pixels
        does: on Fashion-MNIST with 75 % missing (held-out training images)
        "none" lowered the error by about 3 %. Without ``mask_input`` a hole
        under "minmax" or "none" enters as the feature's minimum or as 0,
        which the network cannot tell from an observed value (a black
        pixel): there "none" was worse than mean imputation for a 12x12
        block.
    max_iter : int, default=0
        Refinement passes at transform time: the imputation is put into the
        holes, the input is corrupted as in training (fresh noise, 8 draws;
        with ``random_level``, at the full ``corruption_level``, which did
        better on breast-cancer data than training's random levels) and the
        reconstructions are averaged, ``max_iter`` times. Needs
        ``corruption`` "masking" or "pattern"; the result depends on the
        noise drawn (seeded by ``random_state``). Measured on breast-cancer
        data with 20 % missing (three masks): one pass lowered the error by
        about 2 %, three or ten passes raised it by 1-3 %; feeding the
        imputation back without the corruption made every pass worse
        (0.48 -> 0.57 -> 0.73 after one and three passes).
    mask_input : bool, default=False
        Give the network, next to each entry, whether it is observed (a
        second input channel for images), and pass the observed entries
        through (:class:`ObservedInputNet`): the loss then counts only the
        entries the corruption hid, the denoising objective on what must be
        predicted. Without it a hole enters as the feature's mean and looks
        like an observed average value, and the network also learns to copy
        what it sees. Needs ``corruption`` "masking" or "pattern" and
        ``pretraining="none"``; ``architecture="unet"`` needs it. Measured
        on Fashion-MNIST (10000 training images, 500 held-out ones, 4
        epochs, central 12x12 block): RMSE 0.206 without, 0.193 with the
        flag channel only, 0.187 with the pass-through as well; it also
        makes ``scaling="none"`` usable on pixels. Off by default: on small
        tables the loss seeing only the hidden quarter of the entries is
        too little signal (breast-cancer data, 20 % missing, MLP 64-8:
        RMSE 0.586 with it against 0.512 without).

    Attributes
    ----------
    center_ : ndarray of shape (n_features,)
        Subtracted from each feature before training (``warm_start``
        keeps it).
    scale_ : ndarray of shape (n_features,)
        Divides each feature after centring (``warm_start`` keeps it).

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import AutoencoderImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((300, 2)) @ rng.random((2, 8))
    >>> X[rng.random(X.shape) < 0.2] = np.nan
    >>> imp = AutoencoderImputer(n_components=2, hidden_layer_sizes=(16,), max_epochs=5, random_state=0)
    >>> X_filled = imp.fit_transform(X)
    >>> bool(np.isnan(X_filled).any()), bool((X_filled[~np.isnan(X)] == X[~np.isnan(X)]).all())
    (False, True)
    """

    _cli_name = "imputer"

    _scales_inputs = False  # its own scaling: NaN-aware statistics, filled values unscaled by transform

    _param_specs = {
        **DenoisingAutoencoder._param_specs,
        "corruption": Param("str", "input corruption during training (pattern: other samples' missingness)",
                            choices=(*CORRUPTIONS, "pattern")),
        "scaling": Param("str", "per-feature scaling before training", choices=("standard", "minmax", "none")),
        "max_iter": Param("int", "refinement passes at transform time", low=0),
        "architecture": Param("str", "network family (unet: images, needs mask_input)",
                              choices=DenoisingAutoencoder._param_specs["architecture"].choices),
        "mask_input": Param("bool", "tell the network which entries it sees and pass them through (loss on the "
                                    "hidden entries only)"),
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        output_activation="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        momentum=0.9,
        lr_schedule="constant",
        batch_size=256,
        max_epochs=200,
        max_time=None,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        architecture="mlp",
        image_shape=None,
        pretraining="none",
        precision="float32",
        device="auto",
        random_state=None,
        verbose=False,
        warm_start=False,
        corruption="masking",
        corruption_level=0.25,
        random_level=False,
        level_power=1.0,
        scaling="standard",
        max_iter=0,
        mask_input=False,
    ):
        super().__init__(
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            output_activation=output_activation,
            loss=loss,
            optimizer=optimizer,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            momentum=momentum,
            lr_schedule=lr_schedule,
            batch_size=batch_size,
            max_epochs=max_epochs,
            max_time=max_time,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            architecture=architecture,
            image_shape=image_shape,
            pretraining=pretraining,
            precision=precision,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            corruption=corruption,
            corruption_level=corruption_level,
            random_level=random_level,
            level_power=level_power,
        )
        self.scaling = scaling
        self.max_iter = max_iter
        self.mask_input = mask_input

    def _check_params(self) -> None:
        Autoencoder._check_params(self)
        if self.corruption == "pattern":
            if not 0.0 <= self.corruption_level <= 1.0:
                raise ValueError(f"corruption_level for 'pattern' must be in [0, 1]; got {self.corruption_level!r}.")
            if self.random_level:
                raise ValueError("random_level=True draws a noise level per sample, but 'pattern' hides a whole "
                                 "borrowed hole (corruption_level is the fraction of samples given one); set "
                                 "random_level=False.")
        else:
            make_corruption(self.corruption, self.corruption_level)
        if self.max_iter and self.corruption not in ("masking", "pattern"):
            raise ValueError(
                "max_iter > 0 re-corrupts inputs as training did, which needs corruption='masking' or 'pattern'; "
                f"got corruption={self.corruption!r}."
            )
        if self.mask_input and self.corruption not in ("masking", "pattern"):
            raise ValueError(
                "mask_input=True learns from entries the corruption hides, which needs corruption='masking' or "
                f"'pattern'; got corruption={self.corruption!r} (or set mask_input=False)."
            )
        if self.architecture == "unet" and not self.mask_input:
            raise ValueError("architecture='unet' needs mask_input=True (a U-Net has no code to reconstruct "
                             "through: it predicts the hidden entries); got mask_input=False.")
        if self.mask_input and self.pretraining != "none":
            raise ValueError(f"mask_input=True needs pretraining='none'; got pretraining={self.pretraining!r} "
                             "(or set mask_input=False).")
        if self.loss == "bce" and self.scaling == "standard":
            raise ValueError(
                "loss='bce' needs values in [0, 1]: use scaling='minmax' (or 'none' for data already "
                "in [0, 1]); got scaling='standard'."
            )

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        Xs = ((X - self.center_) / self.scale_).astype(np.float32)
        if self.mask_input:  # 0 means "unseen" to the network: move observed zeros off it, negligibly
            Xs[Xs == 0] = np.finfo(np.float32).tiny
        return Xs

    def _build_net(self, n_features: int) -> nn.Module:
        if not self.mask_input:
            return super()._build_net(n_features)
        # the inner net's output stays linear: ObservedInputNet applies the output activation
        if self.architecture == "mlp":
            inner = mlp_net(self, 2 * n_features, output_activation="identity")
        else:
            shape = self._image_shape_for(n_features)
            shape = (*shape[:2], 2 * (shape[2] if len(shape) == 3 else 1))  # a "seen" flag per channel
            if self.architecture == "unet":
                inner = UNet(shape, int_tuple(self.hidden_layer_sizes), activation=self.activation)
            else:
                inner = conv_net(self, 2 * n_features, fully_convolutional=self.architecture == "fully_conv",
                                 image_shape=shape, output_activation="identity")
        return ObservedInputNet(inner, n_features, self._resolved_output_activation())

    def fit(self, X, y=None, patterns=None):
        """Train on incomplete X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks missing entries; every column needs an observed value.
        y : None
            Ignored.
        patterns : array-like of bool of shape (n_patterns, n_features) or (n_features,), default=None
            Holes for ``corruption="pattern"`` to practise on (True:
            missing): half of the corrupted samples take one of these, the
            other half one of X's own holes as without it (all of them take
            one of these when X has no missing entry). Pass the holes you
            will fill when they differ from the training data's, for
            instance ``np.isnan(X_new)`` or a fixed region to inpaint. Only
            their positions are used. Measured on Fashion-MNIST (training
            images missing a 12x12 block at a random place each, held-out
            images missing the central one, U-Net, 28 epochs;
            ``benchmarks/checks/block_heldout.py``): RMSE 0.1498 practising
            on X's holes only, 0.1472 on the central block only (it overfits:
            0.1460 at 14 epochs), 0.1447 with half of each; half of each with
            AdamW weight decay 0.1 for 56 epochs 0.1401 (KNNImputer 0.1753).

        Returns
        -------
        self : AutoencoderImputer

        Raises
        ------
        ValueError
            If a column has no observed value, X holds infinities,
            ``corruption="pattern"`` has no holes to practise on (X complete
            and no ``patterns``), or ``patterns`` is given without
            ``corruption="pattern"``, is not boolean, has the wrong number of
            features or hides nothing.
        """
        self._check_params()
        warm = self._continues(partial=False)
        X = self._validate_X(X, reset=not warm)
        practice = None if patterns is None else self._check_patterns(patterns, X.shape[1])
        missing = np.isnan(X)
        if self.corruption == "pattern" and practice is None and not missing.any():
            # "pattern" hides other samples' holes: on complete X it hid nothing and trained on uncorrupted rows
            raise ValueError("corruption='pattern' hides the holes (NaN) of other samples while training, and X has "
                             "none: pass the holes to practise on (fit(X, patterns=...)), or use "
                             "corruption='masking' (random entries).")
        empty = np.flatnonzero(missing.all(axis=0))
        if empty.size:
            shown = ", ".join(map(str, empty[:10])) + (", ..." if empty.size > 10 else "")
            names = getattr(self, "feature_names_in_", None)
            named = "" if names is None else ", ".join(repr(str(n)) for n in names[empty[:10]]) + "; "
            raise ValueError(
                f"X has no observed value in column(s) {shown} ({empty.size} of {X.shape[1]}); "
                f"AutoencoderImputer cannot learn what it never sees. Drop those columns first ({named}"
                "numbers count from 0)."
            )
        if warm and "scale_" in self.__dict__:
            # the network learnt in the fitted scaling's units: warm_start keeps them, as Autoencoder's does (refitted
            # on the new X, they moved every input under the trained weights; another kind made them other units)
            fitted = self.__dict__.get("scaling_", self.scaling)  # a model saved before scaling_ was kept
            if fitted != self.scaling:
                raise ValueError(f"scaling={self.scaling!r}, but the network was trained with scaling={fitted!r}; "
                                 "warm_start continues it, so set it back, or fit with warm_start=False to start "
                                 "over.")
        else:
            self.center_, self.scale_ = column_scaling(np.where(missing, np.nan, X), self.scaling)
        self.scaling_ = self.scaling
        Xs = np.where(missing, 0.0, self._scaled(X)).astype(np.float32)
        # warm: the range is the kept statistics', not X's own
        self._check_input_range(Xs[~missing], f" under the scaling={self.scaling!r} statistics fitted on the first "
                                              "data (warm_start keeps center_ and scale_): start with data that spans "
                                              "the whole range, or use loss='mse'." if warm else None)
        observed = (~missing).astype(np.float32)
        # the "pattern" corruption's holes, during fit only: X's own, and half of the time the ones given
        self._observed, self._practice = observed, None if practice is None else (~practice).astype(np.float32)
        if self._practice is not None and not missing.any():  # complete X has no holes of its own
            self._observed, self._practice = self._practice, None
        try:
            return self._fit(Xs, observed)
        finally:
            del self._observed, self._practice

    def _scales_columns(self) -> bool:
        return self.scaling != "none"  # its own scaling, not Autoencoder's (_scales is False here)

    def _check_patterns(self, patterns, n_features: int) -> np.ndarray:
        """``patterns`` as a 2-D bool array, or a clear error."""
        if self.corruption != "pattern":
            raise ValueError(f"patterns are the holes corruption='pattern' practises on; got "
                             f"corruption={self.corruption!r} (set corruption='pattern').")
        P = np.asarray(patterns)
        if P.dtype != bool and not (np.issubdtype(P.dtype, np.integer) and np.isin(P, (0, 1)).all()):
            raise ValueError(f"patterns must be boolean (True: missing), e.g. np.isnan(X_new); got dtype {P.dtype}.")
        P = np.atleast_2d(P).astype(bool)
        if P.ndim != 2 or P.shape[1] != n_features or not len(P):
            raise ValueError(f"patterns must have shape (n_patterns, {n_features}) like X; got {np.shape(patterns)}.")
        if not P.any():
            raise ValueError("patterns hide no entry: the network would have nothing to practise on.")
        return P

    def _make_corruption(self):
        if self.corruption == "pattern":
            return pattern_corruption(self._observed, self.corruption_level, self._practice)
        return super()._make_corruption()

    def _recorruption(self, missing: np.ndarray):
        if self.corruption == "pattern":  # the missingness of the rows being imputed
            return pattern_corruption(~missing, self.corruption_level)
        # the full level, also under random_level: on breast-cancer data one pass did better than with training's
        # random levels on 6 of 6 masks (0.821 against 0.824 ... 0.856 against 0.884, tests/test_impute.py)
        return make_corruption("masking", self.corruption_level)

    def transform(self, X):
        """Fill the missing entries of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks missing entries.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
            Float64 unless X is float32; observed entries are X's, unchanged.
        """
        check_is_fitted(self, "net_")
        given, X = X, self._validate_X(X, reset=False)
        # the copy validation made (of a list, an integer array, a DataFrame of several dtypes) is filled in place:
        # copying it again held two of X's size; the caller's own memory is never written
        out = X if _made_anew(X, given) else X.copy()
        missing = np.isnan(X)
        rows = np.flatnonzero(missing.any(axis=1))
        if not rows.size:
            return out
        # np.int64 too (seeds from np.arange); a RandomState or None: a fixed 0
        seed = int(self.random_state) if isinstance(self.random_state, numbers.Integral) else 0
        # a block of rows at a time (the network's own inference blocks: without refinement, the same values as all
        # rows at once), not several float copies of all of X. Refinement draws its noise from one generator, block
        # after block: rows that fit in one block get the draws they got when all rows went at once; the patterns
        # it hides come from every row being filled
        generator = torch.Generator().manual_seed(seed)
        recorrupt = self._recorruption(missing[rows]) if self.max_iter else None
        per_block = self._block_rows()
        step = per_block * max(1, INFERENCE_BATCH // per_block)
        for start in range(0, rows.size, step):
            r = rows[start:start + step]
            filled = _fill(lambda A: self._apply(self.net_, A), self._scaled(X[r]), missing[r], self.max_iter,
                           recorrupt, generator)
            out[r] = np.where(missing[r], filled * self.scale_ + self.center_, X[r])
        return out

    def reconstruct(self, X):
        """Reconstruct every entry of X (observed ones too) from its observed entries.

        With ``mask_input=True`` the network passes the observed entries
        through, so they come back as given (up to float32 rounding) and only
        the missing ones are predicted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks missing entries.

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features), X's float dtype
        """
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        Xs = np.where(np.isnan(X), 0.0, self._scaled(X)).astype(np.float32)
        return (self._apply(self.net_, Xs) * self.scale_ + self.center_).astype(X.dtype)

    # properties, not available_if: hasattr is False, and the AttributeError says why (available_if's says
    # only "has no attribute")
    @property
    def score_samples(self):
        """Not available: an imputer is scored on hidden entries (``score``), not on reconstructing rows."""
        raise AttributeError(f"{type(self).__name__} has no score_samples: an imputer is scored on hidden entries "
                             "(score), not on reconstructing rows.")

    @property
    def inverse_transform(self):
        """Not available: an imputer's ``transform`` fills values, it does not encode."""
        raise AttributeError(f"{type(self).__name__} has no inverse_transform: its transform fills values, it does "
                             "not encode.")
