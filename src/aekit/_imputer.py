"""What aekit's imputers share: NaN-aware input checks, the hidden-entry score and scikit-learn's tags.

:class:`ImputerMixin` goes first in the bases of
:class:`aekit.AutoencoderImputer` and :class:`aekit.ImputerEnsemble`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .metrics import hidden_entry_error

__all__ = ["ImputerMixin", "SCORE_HIDDEN"]

#: Fraction of the observed entries that an imputer's ``score`` hides and scores.
SCORE_HIDDEN = 0.2


class ImputerMixin(OneToOneFeatureMixin):
    """``_validate_X`` (float arrays, NaN allowed), ``score``, the allow-NaN tags of an imputer and its
    feature names (the input's: ``transform`` fills holes column by column)."""

    def _validate_X(self, X, reset: bool, keep_float64: bool = True, as_is: bool = False) -> np.ndarray:
        # float64 is kept always; ``as_is`` is ignored: X is converted to float, where NaN can mark a hole
        from ._validation import check_not_list_of_batches, check_not_streamed, check_numeric_columns

        check_not_streamed(self, X, fitting=reset)
        check_not_list_of_batches(X, streams=False)  # a generator, a list of batches: numpy's or sklearn's words
        check_numeric_columns(X)
        return validate_data(self, X, reset=reset, dtype=(np.float64, np.float32), ensure_all_finite="allow-nan")

    def score(self, X, y=None):
        """Negative imputation error on observed entries hidden for the purpose.

        A fixed random 20 % of the observed entries (seeded, the same on
        every call) are hidden and filled as ``transform`` would fill them;
        their squared errors are summed per sample and averaged over
        samples (:func:`aekit.metrics.hidden_entry_error`). Higher is
        better, 0 is perfect.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks missing entries.
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)  # the feature names are checked here, once
        with warnings.catch_warnings():  # transform sees the bare array
            warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
            return -hidden_entry_error(self.transform, X, SCORE_HIDDEN)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
