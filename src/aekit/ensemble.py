"""Averaging the fills of several imputers trained from different random seeds.

:class:`ImputerEnsemble` fits copies of one imputer (an
:class:`~aekit.AutoencoderImputer` by default) that differ only in
``random_state``, so in their initial weights, batch order and corruption
noise, and fills each missing entry with the mean of their fills: the
members' errors partly cancel, and the mean of the fills is closer to the
conditional mean a squared error rewards. Members can train in parallel
processes (``n_jobs``), which share the cores (joblib gives each ``cpu_count // n_jobs`` threads).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
# scikit-learn's joblib wrapper (it carries sklearn's config to the workers): members go to worker processes
# and come back pickled in memory, between this program's own processes; no file is ever unpickled
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._imputer import ImputerMixin
from .impute import AutoencoderImputer

__all__ = ["ImputerEnsemble"]


def _fit_member(estimator, X, fit_params):
    return estimator.fit(X, **fit_params)


class ImputerEnsemble(ImputerMixin, TransformerMixin, BaseEstimator):
    """Mean of the fills of ``n_members`` imputers that differ only in their random seed.

    Parameters
    ----------
    estimator : estimator, default=None
        The imputer to copy (``fit``/``transform`` on arrays with NaN, a
        ``random_state`` parameter). None: ``AutoencoderImputer()``.
    n_members : int, default=2
        Copies fitted, each with its own seed.
    n_jobs : int, default=None
        Members fitted at once, in separate processes (joblib; each then
        uses ``cpu_count // n_jobs`` threads). None: one after the other.
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    seeds_ : list of int
        Their ``random_state``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.

    Notes
    -----
    Measured on Fashion-MNIST (training images missing a 12x12 block at a
    random place each, held-out ones missing the central block, U-Net
    imputers; ``benchmarks/checks/block_heldout.py``): two imputers of RMSE
    0.1401 and 0.1393 gave 0.1375 averaged, where training one for twice as
    many epochs gained nothing. In ``benchmarks/complete.py`` four of them
    fill the test images' central block with RMSE 0.1388 against
    KNNImputer's 0.1746; one alone had scored 0.1420. The cost is
    ``n_members`` trainings.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import AutoencoderImputer, ImputerEnsemble
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((200, 2)) @ rng.random((2, 6))
    >>> X[rng.random(X.shape) < 0.2] = np.nan
    >>> ens = ImputerEnsemble(AutoencoderImputer(2, hidden_layer_sizes=(8,), max_epochs=3), n_members=2,
    ...                       random_state=0).fit(X)
    >>> X_filled = ens.transform(X)
    >>> len(ens.estimators_), bool(np.isnan(X_filled).any())
    (2, False)
    """

    def __init__(self, estimator=None, n_members=2, n_jobs=None, random_state=None):
        self.estimator = estimator
        self.n_members = n_members
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _check_params(self) -> None:
        if isinstance(self.n_members, bool) or not isinstance(self.n_members, (int, np.integer)) \
                or self.n_members < 1:
            raise ValueError(f"n_members must be an int >= 1; got {self.n_members!r}.")
        AutoencoderImputer._param_specs["random_state"].check("random_state", self.random_state)  # numpy's bounds
        base = self._base()
        for method in ("fit", "transform"):
            if not callable(getattr(base, method, None)):
                raise TypeError(f"estimator must be an imputer with fit and transform; "
                                f"{type(base).__name__} has no {method}.")
        if not callable(getattr(base, "get_params", None)) or "random_state" not in base.get_params(deep=False):
            raise ValueError(f"estimator must have a random_state parameter for its members to differ; "
                             f"{type(base).__name__} has none.")

    def _base(self):
        return AutoencoderImputer() if self.estimator is None else self.estimator

    def fit(self, X, y=None, **fit_params):
        """Fit ``n_members`` copies of the estimator on X, each with its own seed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks missing entries.
        y : None
            Ignored.
        **fit_params : dict
            Passed to each member's ``fit`` (for instance ``patterns``).

        Returns
        -------
        self : ImputerEnsemble
        """
        self._check_params()
        X = self._validate_X(X, reset=True)
        rng = check_random_state(self.random_state)
        seeds = [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=int(self.n_members))]
        members = [clone(self._base()).set_params(random_state=seed) for seed in seeds]
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(delayed(_fit_member)(m, X, fit_params) for m in members)
        self.seeds_ = seeds
        return self

    def transform(self, X):
        """Fill the missing entries of X with the mean of the members' fills.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks missing entries.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
            X's float dtype; observed entries are X's, unchanged.
        """
        check_is_fitted(self, "estimators_")
        X = self._validate_X(X, reset=False)
        missing = np.isnan(X)
        if not missing.any():
            return X.copy()
        mean = np.mean([np.asarray(m.transform(X), dtype=np.float64) for m in self.estimators_], axis=0)
        return np.where(missing, mean, X).astype(X.dtype)

    def save(self, path):
        """Save to a directory: one aekit model directory per member and a JSON index; see :func:`aekit.load`.

        Parameters
        ----------
        path : str or Path
            Directory to write, atomically.

        Returns
        -------
        Path
            The directory written.
        """
        from .persistence import save_ensemble

        return save_ensemble(self, path)
