"""What the :class:`~aekit.Autoencoder` checks before it trains: its parameters and its input.

:class:`InputChecksMixin` validates the parameters, X (in memory, or a streamed source on its first rows) and
X's range for the loss, and, when a fit continues the fitted network (``warm_start``, ``partial_fit``), that the
parameters still describe that network. Inference validates X with the same ``_validate_X``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import validate_data

from ._params import int_tuple, validate_params
from ._scaling import fit_scaling
from ._validation import (FIT_SCALE_ADVICE, SCALE_ADVICE, check_input_range, check_not_list_of_batches,
                          check_numeric_columns, check_real)
from .streaming import ArraySource, BatchSource, as_source, host_rows, is_streamable


class InputChecksMixin:
    """``_check_params``, ``_validate_X`` and the other checks ``fit``, ``partial_fit`` and inference run first.

    Works on the estimator's parameters, its hooks (``_resolved_output_activation``, ``_build_net``,
    ``_streams``) and, when continuing, the fitted ``net_`` and ``n_features_in_``.
    """

    def _check_params(self) -> None:
        """Validate parameters; subclasses extend with cross-parameter checks."""
        validate_params(self)
        if self.architecture != "mlp":
            if self.image_shape is None:
                raise ValueError(
                    f"architecture={self.architecture!r} needs image_shape=(height, width) or "
                    "(height, width, channels); got None."
                )
            if len(int_tuple(self.hidden_layer_sizes)) == 0:
                raise ValueError(
                    f"architecture={self.architecture!r} needs at least one convolutional stage: "
                    "hidden_layer_sizes holds the channels of each, e.g. (32, 64); got ()."
                )
        if self.loss == "bce" and self.scaling == "standard" and self._scales_inputs:
            raise ValueError("loss='bce' needs values in [0, 1]: use scaling='minmax' (or 'none' for data already "
                             "in [0, 1]); got scaling='standard'.")
        if self.loss == "bce" and self._resolved_output_activation() != "sigmoid":
            raise ValueError(
                "loss='bce' needs output_activation='sigmoid' (or 'auto'); "
                f"got output_activation={self.output_activation!r}."
            )
        if self.pretraining != "none" and self.architecture != "mlp":
            raise ValueError(
                f"pretraining={self.pretraining!r} needs architecture='mlp' (it stacks fully connected layers); "
                f"got architecture={self.architecture!r}."
            )
        if self.pretraining == "rbm" and self.activation != "sigmoid":
            raise ValueError(
                f"pretraining='rbm' needs activation='sigmoid' (RBM hidden units are logistic); got "
                f"activation={self.activation!r}. Use pretraining='denoising' for other activations."
            )

    def _check_input_range(self, X, advice: str | None = None) -> None:
        """Refuse X outside the loss's range; ``advice`` ends the message instead of "Scale X ..." (X scaled by
        statistics a warm start keeps: scaling it again would not help)."""
        check_input_range(X, self.loss, SCALE_ADVICE if advice is None else advice)

    def _validate_X(self, X, reset: bool, keep_float64: bool = False, as_is: bool = False) -> np.ndarray:
        check_real(X, "X")
        check_not_list_of_batches(X)
        check_numeric_columns(X)
        # ``keep_float64``: a scaled model scales float64 X before the float32 cast (a column of 1e8 + N(0, 1)
        # is one value in float32); ``as_is``: an array of numbers is checked in its own dtype and order (inference
        # casts it a block at a time)
        dtype = None if as_is else (np.float32, np.float64) if keep_float64 else np.float32
        try:
            return validate_data(self, X, reset=reset, dtype=dtype, order=None if as_is else "C")
        except ValueError as err:
            if not str(err).startswith("Input X contains NaN"):
                raise
            # sklearn's message points to its own estimators; aekit fills missing values itself
            raise ValueError(f"X contains NaN (missing values); {type(self).__name__} needs complete data. "
                             "An AutoencoderImputer fills them (aekit train --model imputer, then aekit "
                             "impute).") from None

    def _validate_source(self, X, reset: bool = True) -> BatchSource:
        """Check a streamed input on its first rows (reading it all would defeat streaming)."""
        source = as_source(X)
        if isinstance(source, ArraySource):
            head = np.asarray(source.X[:2] if source.indices is None else source.X[source.indices[:2]])
        else:
            head = host_rows(next(iter(source)))
        self._validate_X(head, reset=reset)
        return source

    def _warm(self) -> bool:
        """Whether ``fit`` continues from the fitted network (``warm_start``)."""
        return bool(self.warm_start) and hasattr(self, "net_")

    def _continues(self, partial: bool) -> bool:
        """Whether this fit (``partial``: partial_fit) trains the fitted ``net_`` further; checks that it can."""
        going_on = hasattr(self, "net_") and (partial or self._warm())
        if going_on:
            self._check_net_matches_params(
                "warm_start and partial_fit train that network further. Set them back, or fit with "
                "warm_start=False to start over.")
        return going_on

    def _checked_training_input(self, X, partial: bool):
        """Validate parameters and X for training; when continuing, X must have ``n_features_in_`` features."""
        self._check_params()
        warm = self._continues(partial)
        if is_streamable(X) and self._streams():
            X = self._validate_source(X, reset=not warm)
        elif is_streamable(X) and not isinstance(X, np.memmap):
            raise TypeError(f"{type(self).__name__} cannot train from {type(X).__name__}; pass an array or a "
                            "memory-mapped .npy.")
        else:
            X = self._validate_X(X, reset=not warm, keep_float64=self._scales_inputs and self.scaling != "none")
        X = fit_scaling(self, X, keep=warm)
        kept = warm and self._scales_inputs and self.scaling != "none"  # the range is the kept statistics', not X's
        if kept:
            advice = (" under the scaling statistics fitted on the first data (warm_start and partial_fit keep center_ "
                      "and scale_): start with data that spans the whole range, or use loss='mse'.")
        else:  # the estimator can scale X itself (on the command line: --scaling minmax)
            advice = FIT_SCALE_ADVICE if self._scales_inputs else None
        self._check_input_range(X, advice)
        return X

    def _check_net_matches_params(self, consequence: str) -> None:
        """Refuse parameters changed by ``set_params`` since fit: they describe another network than ``net_``."""
        try:
            with torch.device("meta"):  # costs nothing, whatever the size
                described = repr(self._build_net(self.n_features_in_))
        except Exception:  # a network that cannot be built on "meta": its weights are checked where loaded
            return
        if described != repr(self.net_):
            raise ValueError(
                f"{type(self).__name__}'s parameters no longer describe its fitted network (set_params after "
                f"fit?); {consequence}"
            )
