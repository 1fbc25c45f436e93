"""aekit among pandas, NumPy and scikit-learn, as a data scientist meets it.

Each test pins a defect found by a bug hunt from that angle: a DataFrame,
a parameter from ``np.arange`` or ``np.array``, a helper function called on
what the estimators take. Real data (scikit-learn's bundled breast cancer
and digits), tiny trainings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits

import aekit
from aekit import Autoencoder

TINY = dict(n_components=3, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data[:200] / 16.0).astype(np.float32)


@pytest.fixture(scope="module")
def cancer():
    """The breast cancer table as a DataFrame (30 named float columns)."""
    return load_breast_cancer(as_frame=True).data


@pytest.mark.parametrize("params", [dict(hidden_layer_sizes=np.array([8])),
                                    dict(architecture="conv", hidden_layer_sizes=(4,), image_shape=np.array([8, 8]))])
def test_save_takes_parameters_given_as_numpy_arrays(digits, tmp_path, params):
    # the sequences may be arrays (as MLPRegressor's hidden_layer_sizes may): save said "Object of type ndarray
    # is not JSON serializable"
    ae = Autoencoder(**{**TINY, **params}).fit(digits)
    ae.save(tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.transform(digits[:5]), ae.transform(digits[:5]))


@pytest.fixture(scope="module")
def cancer_with_holes(cancer):
    """Standardised, 10 % of the entries missing; "mean area" a nullable Int64 column with pd.NA in it."""
    X = (cancer - cancer.mean()) / cancer.std()
    X = X.mask(np.random.default_rng(0).random(X.shape) < 0.1)
    X["mean area"] = (X["mean area"] * 100).round().astype("Int64")
    return X


@pytest.mark.filterwarnings("error::UserWarning")
def test_impute_with_takes_the_dataframe_the_model_was_fitted_on(cancer, cancer_with_holes):
    from aekit.impute import impute_with

    imputer = aekit.AutoencoderImputer(**TINY).fit(cancer_with_holes)
    # it warned "X does not have valid feature names" (the DataFrame was made an array before transform)
    # and a nullable column's pd.NA made it fail in np.isnan
    np.testing.assert_array_equal(impute_with(imputer, cancer_with_holes), imputer.transform(cancer_with_holes))
    denoiser = aekit.DenoisingAutoencoder(**TINY, corruption="masking", scaling="standard").fit(
        cancer_with_holes.astype("float64").fillna(0.0))
    filled = impute_with(denoiser, cancer_with_holes)
    observed = cancer_with_holes.notna().to_numpy()
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[observed], cancer_with_holes.astype("float64").to_numpy()[observed])
    # columns in another order were filled as if in the fitted order
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        impute_with(denoiser, cancer_with_holes[cancer_with_holes.columns[::-1]])


def test_compare_with_pca_takes_dataframes(cancer):
    from aekit.compare import compare_with_pca

    X = (cancer - cancer.mean()) / cancer.std()
    y = load_breast_cancer().target
    # it failed with "The truth value of a Series is ambiguous" in its NaN check
    result = compare_with_pca(Autoencoder(**TINY), X.iloc[:400], X.iloc[400:], y_train=y[:400], y_test=y[400:])
    assert set(result["rows"]) == {"PCA", "autoencoder"}
    assert result["reconstructions"]["PCA"].shape == (169, 30)
    assert 0.5 < result["rows"]["PCA"]["knn_accuracy"] <= 1.0


@pytest.mark.parametrize("cls", [Autoencoder, aekit.AutoencoderImputer])
def test_an_object_column_of_numbers_is_numeric(cancer, cls):
    X = cancer.iloc[:, :5].copy()
    X["mean area"] = X["mean area"].astype(object)  # as pandas builds a column from Python objects
    # it was refused as "X has non-numeric columns ['mean area']", though StandardScaler and PCA take it
    fitted = cls(**TINY).fit(X)
    np.testing.assert_array_equal(fitted.transform(X), fitted.transform(cancer.iloc[:, :5]))
    X["mean area"] = X["mean area"].where(X.index != 3, "n/a")  # a stray text cell is named still
    with pytest.raises(ValueError, match=r"non-numeric columns \['mean area'\]"):
        cls(**TINY).fit(X)
