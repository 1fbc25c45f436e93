"""The :class:`~aekit.Autoencoder`'s inference methods: encode, decode, reconstruct and score fitted data.

:class:`InferenceMixin` validates X as the fitted estimator expects it, scales it as the network was trained
(``scaling``), and runs the network over it a block at a time through :mod:`aekit._inference`, so a large or
memory-mapped X never comes into memory whole; outputs come back in X's units.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._inference import INFERENCE_BATCH, apply, batches_out, block_rows
from ._validation import check_not_streamed, check_real
from .metrics._errors import _squared_error_rows  # numpy only (scikit-image loads lazily): ~5 ms
from .streaming import ArraySource


class InferenceMixin(TransformerMixin):
    """``transform``, ``inverse_transform``, ``reconstruct``, ``predict``, ``score`` and ``score_samples``.

    A :class:`~sklearn.base.TransformerMixin`, so that scikit-learn's ``set_output`` wraps the ``transform``
    defined here. Works on the fitted ``net_``, ``n_features_in_``, ``n_components``, the scaling statistics
    (``center_``, ``scale_``) and the host's ``_validate_X``.
    """

    def _scales(self) -> bool:
        """Whether the fitted network was trained on scaled X (``center_``/``scale_``, its ``scaling``)."""
        return self._scales_inputs and "scale_" in self.__dict__

    def _inference_X(self, X):
        """``_validate_X`` for inference; a memory map is checked on its first rows and stays on disk."""
        check_not_streamed(self, X, fitting=False)
        if isinstance(X, np.memmap) and X.ndim == 2 and X.shape[0] > 0:
            head = np.asarray(X[:2])
            self._validate_X(head, reset=False)  # dtype, feature count: the clear errors, without reading it all
            return X
        # an array of numbers in another dtype or order than C-ordered float32 (float64, uint8 pixels, integers, a
        # Fortran-ordered array) is checked as it is (sklearn's finiteness check sums it: no copy) and cast by
        # _network_input a block at a time, where a float32 copy of it all was made; a DataFrame, a list, float16
        # are converted whole
        as_is = isinstance(X, np.ndarray) and (X.dtype.kind in "biu" or X.dtype in (np.float32, np.float64))
        return self._validate_X(X, reset=False, keep_float64=self._scales(), as_is=as_is)

    def _network_input(self, X):
        """Validated X as the network takes it: scaled for a model with ``scaling`` (in-memory X in float64 before
        the float32 cast; a memory map block by block as it is read), else X itself (X in another dtype or order
        than C-ordered float32 cast a block at a time, not copied whole)."""
        if not self._scales():
            if isinstance(X, np.memmap) or (X.dtype == np.float32 and X.flags.c_contiguous):
                return X
            return ArraySource(X)
        # in memory too: scaled block by block as it is read, not as float64 copies of the whole of X
        return ArraySource(X).scaled(self.center_, self.scale_)

    def _unscaled(self, out: np.ndarray) -> np.ndarray:
        """The network's outputs in X's units."""
        if self._scales():
            for start in range(0, out.shape[0], INFERENCE_BATCH):  # in place: no float64 copy of the whole output
                block = out[start:start + INFERENCE_BATCH]
                block[...] = block * self.scale_ + self.center_
        return out

    def _batches_out(self, fn, A: np.ndarray):
        """Yield ``(input chunk, fn(chunk))`` as float32 arrays (:func:`aekit._inference.batches_out`)."""
        return batches_out(fn, A, next(self.net_.parameters()).device, self._block_rows())

    def _apply(self, fn, A: np.ndarray) -> np.ndarray:
        return apply(fn, A, next(self.net_.parameters()).device, self._block_rows())

    def _block_rows(self) -> int:
        """Rows per inference block (:func:`aekit._inference.block_rows`: fewer for a convolutional network)."""
        return block_rows(self.net_, self.n_features_in_)

    def transform(self, X):
        """Encode X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), float32
        """
        check_is_fitted(self, "net_")
        return self._apply(self.net_.encode, self._network_input(self._inference_X(X)))

    def inverse_transform(self, Z):
        """Decode codes Z.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features), float32
        """
        check_is_fitted(self, "net_")
        from sklearn.utils import check_array

        check_real(Z, "Z")
        Z = check_array(Z, dtype=np.float32, order="C")
        code_size = getattr(self.net_, "code_size", self.n_components)
        if Z.shape[1] != code_size:
            raise ValueError(
                f"Z has {Z.shape[1]} features, but {type(self).__name__} is expecting "
                f"{code_size} features ({'n_components' if code_size == self.n_components else 'the code size'})"
                " as input."
            )
        return self._unscaled(self._apply(self.net_.decode, Z))

    def reconstruct(self, X):
        """Reconstruct X through the code: ``decode(encode(X))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features), float32
        """
        check_is_fitted(self, "net_")
        return self._unscaled(self._apply(self.net_, self._network_input(self._inference_X(X))))

    def predict(self, X):
        """Alias of :meth:`reconstruct`, so the estimator works where predictors do.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data, as for :meth:`reconstruct`.

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features)
            Reconstructions, in ``X``'s units.
        """
        return self.reconstruct(X)

    def score(self, X, y=None):
        """Negative mean reconstruction error: squared errors summed over features, averaged over samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
            Higher is better; 0 is a perfect reconstruction.
        """
        return float(self.score_samples(X).mean())

    def score_samples(self, X):
        """Negative reconstruction error of each sample: its squared errors summed over features.

        The lower, the less the sample looks like the training data: train
        on normal data and the lowest scores flag anomalies (as with
        scikit-learn's outlier detectors, whose ``score_samples`` has the
        same sign). ``score(X)`` is their mean.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,), float64

        Examples
        --------
        >>> import numpy as np
        >>> from aekit import Autoencoder
        >>> X = np.random.default_rng(0).random((200, 10))
        >>> ae = Autoencoder(n_components=3, hidden_layer_sizes=(16,), max_epochs=5, random_state=0).fit(X)
        >>> scores = ae.score_samples(np.vstack([X[:3], X[:1] + 5.0]))  # the last row is far off
        >>> int(np.argmin(scores))
        3
        """
        check_is_fitted(self, "net_")
        # chunk by chunk: a large (memory-mapped) X never has its reconstruction in memory at once; with scaling,
        # the errors are in the units the network learnt in
        parts = [-_squared_error_rows(x, out)
                 for x, out in self._batches_out(self.net_, self._network_input(self._inference_X(X)))]
        return np.concatenate(parts) if parts else np.zeros(0)

    @property
    def _n_features_out(self) -> int:
        """Columns of ``transform``'s output (``get_feature_names_out`` names them autoencoder0, ...)."""
        return int(getattr(self.net_, "code_size", self.n_components))
