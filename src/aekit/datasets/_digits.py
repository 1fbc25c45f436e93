"""scikit-learn's bundled 8x8 handwritten digits: always available offline."""

from __future__ import annotations

import numpy as np

from ._dataset import Dataset

__all__ = ["load_digits"]


def load_digits():
    """Load the 1,797 8x8 digits of ``sklearn.datasets.load_digits``.

    Returns
    -------
    dataset : Dataset
        Pixels divided by 16 into [0, 1], float32; a stratified 80/20 split
        with ``random_state=0``: ``X_train`` of shape (1437, 64), ``X_test``
        of shape (360, 64); ``y_*`` are the digits 0-9; ``image_shape`` is
        (8, 8).

    Examples
    --------
    >>> ds = load_digits()
    >>> ds.X_train.shape, ds.X_test.shape, ds.image_shape
    ((1437, 64), (360, 64), (8, 8))
    """
    import sklearn.datasets  # here, not at import: the command line's start-up does not pay for it
    from sklearn.model_selection import train_test_split

    digits = sklearn.datasets.load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    description = (
        f"scikit-learn's bundled 8x8 digits ({len(X)} images, UCI optdigits test set): "
        f"stratified 80/20 split, random_state=0."
    )
    return Dataset(X_train, X_test, y_train, y_test, (8, 8), "digits", description)
