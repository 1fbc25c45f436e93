"""Edge cases of the ``scaling`` parameter found by a bug hunt: each test failed before its fix."""

import numpy as np
import pytest
import torch

from aekit import DenoisingAutoencoder
from aekit.impute import impute_with

torch.set_num_threads(1)


def _table(n=200, seed=0):
    """Columns in very different units (as a real table's): a model needs scaling to learn them."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    mix = rng.normal(size=(2, 6))
    units = np.array([1e-3, 1.0, 10.0, 100.0, 1e3, 1e4])
    return (z @ mix) * units + units * 5


def test_impute_with_a_scaled_denoiser_fills_in_x_units():
    X = _table()
    ae = DenoisingAutoencoder(n_components=2, hidden_layer_sizes=(16,), corruption="masking", corruption_level=0.2,
                              max_epochs=60, random_state=0, scaling="standard").fit(X)
    holes = np.random.default_rng(1).random(X.shape) < 0.1
    filled = impute_with(ae, np.where(holes, np.nan, X))
    error = np.sqrt(np.mean(((filled - X) / ae.scale_)[holes] ** 2))  # in standard deviations of each column
    assert error < 1.0  # the column mean would score about 1
    assert np.array_equal(filled[~holes], X[~holes])


def test_evaluate_names_the_scaling_the_model_was_trained_with():
    from aekit import Autoencoder
    from aekit.evaluation import evaluate

    X = _table()
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, scaling="standard").fit(X)
    ae.set_params(scaling="minmax")  # not refitted: its errors are still in standard deviations
    assert evaluate(ae, X)["scaling"] == "standard"


@pytest.mark.parametrize("continuing", ["partial_fit", "warm_start"])
def test_bce_with_minmax_names_the_first_fits_range_when_continuing(continuing):
    from aekit import Autoencoder

    X = np.random.default_rng(0).random((120, 4))
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, loss="bce",
                     scaling="minmax", warm_start=continuing == "warm_start")
    train = ae.partial_fit if continuing == "partial_fit" else ae.fit
    train(X[:60])
    wider = np.vstack([X[60:], [[2.0, 0.5, 0.5, 0.5]]])  # beyond the range the statistics were fitted on
    with pytest.raises(ValueError, match=r"\[0, 1\].*statistics fitted on the first data") as err:
        train(wider)
    assert "\n" not in str(err.value) and "MinMaxScaler" not in str(err.value)


def test_a_float64_column_far_from_zero_is_scaled_before_the_float32_cast():
    from aekit import Autoencoder

    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 1))
    X = np.hstack([z, -z, 1e8 + z])  # the last: one value in float32 (its spacing there is 8)
    ae = Autoencoder(n_components=1, hidden_layer_sizes=(8,), max_epochs=200, random_state=0, scaling="standard").fit(X)
    assert ae.scale_[2] == pytest.approx(z.std(), rel=1e-6)
    codes = ae.transform(X).ravel()
    assert abs(np.corrcoef(codes, z.ravel())[0, 1]) > 0.9  # the column's variation reaches the network
    assert ae.score(X) > -0.5  # errors in standard deviations, not in float32 steps of 8


@pytest.mark.parametrize("kind", ["autoencoder", "denoiser"])
def test_evaluate_of_a_float64_column_far_from_zero_is_the_models_score(kind):
    from aekit import Autoencoder
    from aekit.evaluation import evaluate

    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 1))
    X = np.hstack([z, -z, 1e8 + z])
    cls = DenoisingAutoencoder if kind == "denoiser" else Autoencoder
    ae = cls(n_components=1, hidden_layer_sizes=(8,), max_epochs=5, random_state=0, scaling="standard").fit(X)
    result = evaluate(ae, X)
    assert result["error_per_sample"] == pytest.approx(-ae.score(X), rel=1e-5)
    if kind == "denoiser":
        assert result["noisy_error_per_sample"] < 10 * result["error_per_sample"] + 10
