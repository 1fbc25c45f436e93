"""aekit.evaluation: what ``aekit evaluate`` measures, for each kind of model."""

import doctest
import re

import numpy as np
import pytest

from aekit import (Autoencoder, AutoencoderImputer, DenoisingAutoencoder, ImputerEnsemble, SparseAutoencoder,
                   evaluation)
from aekit.datasets import load_digits
from aekit.evaluation import evaluate, evaluation_images
from aekit.metrics import code_statistics

SMALL = {"hidden_layer_sizes": (32,), "max_epochs": 15, "batch_size": 32, "random_state": 0, "device": "cpu"}


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.X_train, data.X_test


def test_docstring_examples_run():
    result = doctest.testmod(evaluation)
    assert result.attempted > 0 and result.failed == 0


def test_autoencoder_errors_match_its_score(digits):
    X_train, X_test = digits
    ae = Autoencoder(8, **SMALL).fit(X_train)
    result = evaluate(ae, X_test)
    assert result["kind"] == "autoencoder" and result["model"] == "Autoencoder"
    assert (result["n_samples"], result["n_features"]) == X_test.shape
    assert result["error_per_sample"] == pytest.approx(-ae.score(X_test), rel=1e-5)
    assert result["mse"] == pytest.approx(result["error_per_sample"] / 64, rel=1e-5)
    assert result["psnr_db"] > 10.0  # digits lie in [0, 1]
    assert "noise" not in result and "active_fraction" not in result


def test_psnr_only_for_data_in_the_unit_range(small_X):
    ae = Autoencoder(3, **SMALL).fit(small_X)
    result = evaluate(ae, small_X)
    assert "psnr_db" not in result and result["error_per_sample"] > 0


def test_sparse_model_reports_the_sparsity_of_its_codes_on_this_data(digits):
    X_train, X_test = digits
    sae = SparseAutoencoder(32, sparsity="topk", k=4, **SMALL).fit(X_train)
    result = evaluate(sae, X_test)
    expected = code_statistics(sae.transform(X_test), threshold=sae.activity_threshold_)
    assert result["active_fraction"] == pytest.approx(expected["active_fraction"])
    assert result["active_fraction"] <= 4 / 32 + 1e-9  # top-4 of 32 units
    assert result["dead_units"] == expected["dead_units"]


def test_denoiser_denoises_its_own_noise(digits):
    X_train, X_test = digits
    dae = DenoisingAutoencoder(16, corruption="gaussian", corruption_level=0.2, **{**SMALL, "max_epochs": 30})
    dae.fit(X_train)
    result = evaluate(dae, X_test)
    assert result["kind"] == "denoiser" and result["noise"] == "gaussian" and result["noise_level"] == 0.2
    # Gaussian noise of sd 0.2 on 64 pixels: about 64 * 0.04 = 2.56 per image
    assert result["noisy_error_per_sample"] == pytest.approx(64 * 0.04, rel=0.05)
    assert result["denoised_error_per_sample"] < 0.8 * result["noisy_error_per_sample"]
    assert result["denoised_psnr_db"] > result["noisy_psnr_db"]
    assert evaluate(dae, X_test) == result  # seeded noise
    quiet = evaluate(dae, X_test, noise_level=0.0)
    assert quiet["noisy_error_per_sample"] == 0.0 and quiet["noise_level"] == 0.0
    assert evaluate(dae, X_test, random_state=1)["noisy_error_per_sample"] != result["noisy_error_per_sample"]


@pytest.mark.parametrize("corruption", ["masking", "salt_and_pepper"])
def test_denoiser_other_noises(digits, corruption):
    X_train, X_test = digits
    dae = DenoisingAutoencoder(8, corruption=corruption, corruption_level=0.25,
                               **{**SMALL, "max_epochs": 2}).fit(X_train)
    result = evaluate(dae, X_test)
    assert result["noise"] == corruption and result["noisy_error_per_sample"] > 0
    images = evaluation_images(dae, X_test, n_images=5)
    noisy = images[1][1]
    changed = (noisy != X_test[:5]).mean()
    assert 0.1 < changed < 0.4  # about a quarter of the entries (some were at the value already)


def test_imputer_hides_observed_entries_and_matches_its_score(digits):
    X_train, X_test = digits
    X_missing = X_test.astype(np.float64)
    X_missing[np.random.default_rng(1).random(X_missing.shape) < 0.1] = np.nan
    imp = AutoencoderImputer(16, **SMALL).fit(X_train)
    result = evaluate(imp, X_missing)
    n_observed = int((~np.isnan(X_missing)).sum())
    assert result["kind"] == "imputer" and result["n_missing"] == X_missing.size - n_observed
    assert result["n_hidden"] == round(0.2 * n_observed) and result["hidden_fraction"] == 0.2
    assert result["hidden_error_per_sample"] == pytest.approx(-imp.score(X_missing))
    assert result["hidden_rmse"] < result["mean_fill_rmse"]  # digits' pixels predict each other
    half = evaluate(imp, X_missing, hide=0.5)
    assert half["n_hidden"] == round(0.5 * n_observed)


def test_imputer_ensemble_is_evaluated_like_an_imputer(digits):
    X_train, X_test = digits
    ens = ImputerEnsemble(AutoencoderImputer(8, **{**SMALL, "max_epochs": 3}), n_members=2,
                          random_state=0).fit(X_train)
    result = evaluate(ens, X_test)
    assert result["model"] == "ImputerEnsemble"
    assert result["hidden_error_per_sample"] == pytest.approx(-ens.score(X_test))
    rows = evaluation_images(ens, X_test, n_images=4)
    assert [label for label, _ in rows] == ["20% hidden", "filled", "true"]
    assert all(images.shape == (4, 64) for _, images in rows)
    # the hidden entries stay NaN, for the figure to draw them as holes; the filled and true rows have none
    assert np.isnan(rows[0][1]).sum() == round(0.2 * 4 * 64)
    assert not np.isnan(rows[1][1]).any() and not np.isnan(rows[2][1]).any()


def test_images_rows_of_an_autoencoder_and_a_denoiser(digits):
    X_train, X_test = digits
    ae = Autoencoder(4, **{**SMALL, "max_epochs": 2}).fit(X_train)
    rows = evaluation_images(ae, X_test, n_images=3)
    assert [label for label, _ in rows] == ["original", "reconstruction"]
    np.testing.assert_allclose(rows[1][1], ae.reconstruct(X_test[:3]))
    dae = DenoisingAutoencoder(4, corruption_level=0.3, **{**SMALL, "max_epochs": 2}).fit(X_train)
    assert [label for label, _ in evaluation_images(dae, X_test)] == ["clean", "gaussian 0.3", "denoised"]


def test_a_scaled_denoisers_figure_shows_the_noise_it_meets():
    # its noisy row had the level added in X's units (0.5 on columns whose spread runs from 0.003 to 570), where
    # the network and evaluate add it in scaled units: the figure showed noise the model never meets
    from sklearn.datasets import load_breast_cancer

    X = load_breast_cancer().data
    dae = DenoisingAutoencoder(4, corruption_level=0.5, scaling="standard", **{**SMALL, "max_epochs": 2}).fit(X)
    clean, noisy, _ = (images for _, images in evaluation_images(dae, X, n_images=400))
    spread = ((noisy - clean) / dae.scale_).std(axis=0)  # the noise in each column's scaled units
    np.testing.assert_allclose(spread, 0.5, rtol=0.15)


def test_errors(digits):
    X_train, X_test = digits
    ae = Autoencoder(4, **{**SMALL, "max_epochs": 1}).fit(X_train)
    with_nan = X_test.copy()
    with_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X has missing values \(NaN\); Autoencoder needs complete data \(an AutoencoderImputer fills them\)"):
        evaluate(ae, with_nan)
    with pytest.raises(ValueError, match=r"X must be 2-D \(n_samples, n_features\); got shape \(64,\)"):
        evaluate(ae, X_test[0])


def test_imputer_rmses_match_a_hand_computation(digits):
    # the hidden entries are hide_entries' (seed 0); the baseline fills each with its column's mean over the
    # entries still observed (not over all rows: hidden and missing ones are no zeros)
    from aekit.metrics import hide_entries

    X_train, X_test = digits
    X = X_test[:60].astype(np.float64) + 1.0  # away from 0, so a mean over all rows would be visibly lower
    X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
    imp = AutoencoderImputer(16, **SMALL).fit(X_train + 1.0)
    result = evaluate(imp, X)
    X_hidden, hide = hide_entries(X, 0.2, 0)
    filled = imp.transform(X_hidden)
    assert result["hidden_rmse"] == pytest.approx(np.sqrt(np.mean((filled[hide] - X[hide]) ** 2)), rel=1e-6)
    means = np.nanmean(X_hidden, axis=0)
    expected = np.sqrt(np.nanmean((np.broadcast_to(means, X.shape)[hide] - X[hide]) ** 2))
    assert result["mean_fill_rmse"] == pytest.approx(expected, rel=1e-6)


def test_extreme_samples_split_a_small_x_into_two_disjoint_halves():
    # 6 samples and n_images=10: three in each group, the largest errors first, then the smallest
    from aekit.evaluation import extreme_samples

    X = np.arange(12.0).reshape(6, 2)
    errors = np.array([0.5, 3.0, 0.1, 2.0, 9.0, 1.0])
    ae = Autoencoder(n_components=1, hidden_layer_sizes=(), max_epochs=1, random_state=0).fit(X)
    (worst_label, worst), _, (best_label, best), _ = extreme_samples(ae, X, n_images=10, errors=errors)
    np.testing.assert_array_equal(worst, X[[4, 1, 3]])
    np.testing.assert_array_equal(best, X[[2, 0, 5]])
    assert worst_label == "largest errors (9 to 2)" and best_label == "smallest errors (0.1 to 1)"


@pytest.mark.parametrize("kind", ["autoencoder", "denoiser", "imputer"])
def test_figure_rows_of_a_dataframe_check_its_names_once_and_do_not_warn(kind):
    # a model fitted on a DataFrame and shown the same DataFrame: extreme_samples and evaluation_images handed the
    # model bare arrays, and scikit-learn warned that X had no valid feature names although it had the right ones
    import warnings

    import pandas as pd

    from aekit.evaluation import extreme_samples

    X = pd.DataFrame(np.random.default_rng(0).random((60, 4)), columns=["a", "b", "c", "d"])
    fast = dict(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    model = {"autoencoder": lambda: Autoencoder(2, **fast), "denoiser": lambda: DenoisingAutoencoder(2, **fast),
             "imputer": lambda: AutoencoderImputer(2, **fast)}[kind]().fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = evaluation_images(model, X, n_images=3)
        if kind != "imputer":  # an imputer has no score_samples
            rows += extreme_samples(model, X, n_images=3)
    assert all(isinstance(r, np.ndarray) for _, r in rows)
    # the names are still checked
    with pytest.raises(ValueError, match="feature names"):
        evaluation_images(model, X.rename(columns={"a": "z"}), n_images=3)
    if kind != "imputer":
        with pytest.raises(ValueError, match="feature names"):
            extreme_samples(model, X.rename(columns={"a": "z"}), errors=np.zeros(60))


def test_a_scaled_salt_and_pepper_denoiser_is_evaluated_on_the_noise_it_trained_on():
    # under scaling, salt and pepper trains with each column's own extremes (data_min_, data_max_, scaled units), but
    # evaluate set the corrupted entries to the extremes of all the columns together: on breast cancer, salt at 11
    # standard deviations in columns whose maximum is 2.5, a noisy error 3.5 times the model's own kind of noise
    import torch
    from sklearn.datasets import load_breast_cancer

    from aekit.corruption import make_corruption

    X = load_breast_cancer().data
    dae = DenoisingAutoencoder(4, hidden_layer_sizes=(8,), corruption="salt_and_pepper", corruption_level=0.2,
                               scaling="standard", max_epochs=2, random_state=0).fit(X[:400])
    result = evaluate(dae, X[400:], random_state=0)
    seen = ((X[400:] - dae.center_) / dae.scale_).astype(np.float32)
    corrupt = make_corruption("salt_and_pepper", 0.2, low=dae.data_min_, high=dae.data_max_)
    noisy = corrupt(torch.from_numpy(seen), torch.Generator().manual_seed(0)).numpy()
    expected = ((noisy.astype(np.float64) - seen) ** 2).sum(axis=1).mean()
    assert result["noisy_error_per_sample"] == pytest.approx(expected, rel=1e-5)


def test_a_pipeline_is_refused_with_what_to_do_instead():
    # make_pipeline(StandardScaler(), Autoencoder()) in a notebook: evaluate said "'Pipeline' object has no attribute
    # '_scales'", evaluation_images and extreme_samples that it has no 'reconstruct'
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from aekit.evaluation import extreme_samples

    X = np.random.default_rng(0).random((40, 4))
    pipe = make_pipeline(StandardScaler(), Autoencoder(2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0))
    pipe.fit(X)
    for function in (evaluate, evaluation_images, extreme_samples):
        with pytest.raises(TypeError, match=rf"{function.__name__} takes a fitted aekit model .*; got Pipeline.*"
                                            r"scaling='standard'.*pipe\[-1\]"):
            function(pipe, X)
    with pytest.raises(TypeError, match="evaluate takes a fitted aekit model .*; got PCA"):
        from sklearn.decomposition import PCA
        evaluate(PCA(2).fit(X), X)


def test_extreme_samples_refuses_errors_of_other_samples():
    # errors of other data (the training set's, a slice) picked rows of X by the wrong samples' errors, silently
    from aekit.evaluation import extreme_samples

    X = np.random.default_rng(0).random((30, 4))
    ae = Autoencoder(2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X)
    for errors in (np.zeros(20), np.zeros(40), np.zeros((30, 1))):
        with pytest.raises(ValueError, match=r"errors must hold one error per sample of X, shape \(30,\); got shape "
                                             + re.escape(str(errors.shape))):
            extreme_samples(ae, X, errors=errors)


def test_evaluation_images_refuses_a_single_sample_as_evaluate_does(digits):
    # evaluation_images(ae, X[0]) sliced the first 10 features of the one sample and scikit-learn then printed them
    # as an "array=[...]" of 10 values the user never passed
    X_train, X_test = digits
    ae = Autoencoder(4, **{**SMALL, "max_epochs": 1}).fit(X_train)
    with pytest.raises(ValueError, match=r"X must be 2-D \(n_samples, n_features\); got shape \(64,\)"):
        evaluation_images(ae, X_test[0])


@pytest.mark.parametrize("n_images", [0, -1, 2.5, True])
def test_figure_rows_refuse_a_count_of_images_that_is_not_a_positive_int(n_images):
    # extreme_samples(n_images=0) gave one sample of each group, evaluation_images(n_images=-1) all but the last
    from aekit.evaluation import extreme_samples

    X = np.random.default_rng(0).random((30, 4))
    ae = Autoencoder(2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X)
    for function in (evaluation_images, extreme_samples):
        with pytest.raises(ValueError, match=rf"n_images must be a positive integer; got {n_images!r}\."):
            function(ae, X, n_images=n_images)
