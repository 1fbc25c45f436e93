"""The Autoencoder estimator: scikit-learn contract, learning, reproducibility, errors."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import Autoencoder, load
from aekit.training import TrainingDivergedError

FAST = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=16, random_state=0, device="cpu")
SUBSET_REASON = (
    "score_samples sums the squared errors of a float32 network's outputs: rows computed in batches of different "
    "sizes differ by float32 ulps, which the sum carries just above the check's tolerance of 1e-7 (measured "
    "1.7e-7); test_base.py::test_methods_are_subset_invariant_to_float32_precision checks it at 1e-5")


@parametrize_with_checks([Autoencoder(n_components=2, **FAST), Autoencoder(n_components=2, scaling="standard", **FAST)],
                         expected_failed_checks=lambda est: {"check_methods_subset_invariance": SUBSET_REASON})
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _curved_surface(n, rng):
    """Points on a 2-D curved surface (a saddle with a ripple) embedded linearly in 20-D."""
    u, v = rng.uniform(-1.0, 1.0, (2, n))
    surface = np.column_stack([u, v, 1.5 * (u**2 - v**2), 0.8 * np.sin(2 * u)])
    Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    return (surface @ Q[:4]).astype(np.float32)


def test_beats_pca_on_nonlinear_manifold():
    rng = np.random.default_rng(0)
    X = _curved_surface(3000, rng)
    X_train, X_test = X[:2400], X[2400:]
    pca = PCA(2).fit(X_train)
    pca_err = ((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2).sum(1).mean()
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(64, 64), activation="tanh", max_epochs=100,
                     batch_size=64, learning_rate=3e-3, lr_schedule="cosine", validation_fraction=0.1,
                     n_iter_no_change=30, random_state=0, device="cpu").fit(X_train)
    ae_err = -ae.score(X_test)
    # PCA-2 cannot represent the curvature; the autoencoder can (measured: 0.010 vs 0.339)
    assert ae_err < 0.2 * pca_err, (ae_err, pca_err)


def test_loss_decreases_and_attributes(small_X):
    ae = Autoencoder(n_components=3, hidden_layer_sizes=(16,), max_epochs=40, batch_size=16,
                     learning_rate=1e-2, random_state=0).fit(small_X)
    assert ae.loss_curve_[-1] < 0.5 * ae.loss_curve_[0]
    assert ae.n_iter_ == len(ae.loss_curve_) == len(ae.validation_scores_)
    assert 1 <= ae.best_epoch_ <= ae.n_iter_
    assert ae.n_features_in_ == 10 and ae.fit_time_ > 0
    assert isinstance(ae.net_, torch.nn.Module)
    z = torch.zeros(4, 3)
    assert ae.net_.decode(z).shape == (4, 10) and ae.net_.encode(torch.zeros(4, 10)).shape == (4, 3)


def test_methods_shapes_and_consistency(small_X):
    ae = Autoencoder(n_components=3, hidden_layer_sizes=(16, 8), max_epochs=5, random_state=0).fit(small_X)
    Z = ae.transform(small_X)
    assert Z.shape == (120, 3) and Z.dtype == np.float32
    np.testing.assert_allclose(ae.inverse_transform(Z), ae.reconstruct(small_X), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ae.predict(small_X), ae.reconstruct(small_X))
    expected = -((small_X - ae.reconstruct(small_X)) ** 2).sum(axis=1).mean()
    assert ae.score(small_X) == pytest.approx(expected, rel=1e-5)


def test_same_seed_identical_weights(small_X):
    a = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=4, random_state=3).fit(small_X)
    b = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=4, random_state=3).fit(small_X)
    c = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=4, random_state=4).fit(small_X)
    for (ka, va), (_, vb) in zip(a.net_.state_dict().items(), b.net_.state_dict().items()):
        assert torch.equal(va, vb), ka
    assert not all(torch.equal(va, vc) for va, vc in zip(a.net_.state_dict().values(), c.net_.state_dict().values()))


def test_early_stopping_restores_best(small_X):
    # tol=0.5: no later epoch improves the validation loss by half, so epoch 1 stays best
    params = dict(n_components=2, hidden_layer_sizes=(8,), n_iter_no_change=3, tol=0.5, random_state=0)
    ae = Autoencoder(max_epochs=300, **params).fit(small_X)
    assert ae.n_iter_ == 4 and ae.best_epoch_ == 1
    # the restored weights are exactly those after epoch 1 (same seed, same trajectory)
    first = Autoencoder(max_epochs=1, **params).fit(small_X)
    for a, b in zip(ae.net_.state_dict().values(), first.net_.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("activation", ["relu", "gelu", "sigmoid", "tanh"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_activations_and_optimizers_learn(small_X, activation, optimizer):
    ae = Autoencoder(n_components=3, hidden_layer_sizes=(16,), activation=activation, optimizer=optimizer,
                     learning_rate=1e-2, max_epochs=20, validation_fraction=0, random_state=0).fit(small_X)
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]


@pytest.mark.parametrize("schedule", ["constant", "cosine", "onecycle", "plateau"])
def test_schedules(small_X, schedule):
    ae = Autoencoder(n_components=3, hidden_layer_sizes=(16,), lr_schedule=schedule, max_epochs=10,
                     random_state=0).fit(small_X)
    assert np.isfinite(ae.loss_curve_).all() and ae.loss_curve_[-1] < ae.loss_curve_[0]


def test_bce_needs_unit_range(small_X, unit_X):
    ae = Autoencoder(n_components=2, loss="bce", **FAST).fit(unit_X)
    out = ae.reconstruct(unit_X)
    assert out.min() >= 0 and out.max() <= 1
    # the estimator scales X itself on request: that is the advice (it was "Scale X (e.g. MinMaxScaler)", which on
    # the command line pointed to no flag)
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]; X has values in .*\. Use scaling='minmax' "
                                         r"\(each column's minimum and range, fitted on X\) or loss='mse'\.$"):
        Autoencoder(n_components=2, loss="bce", **FAST).fit(small_X)
    with pytest.raises(ValueError, match="output_activation='sigmoid'"):
        Autoencoder(n_components=2, loss="bce", output_activation="identity", **FAST).fit(unit_X)


def test_shallow_autoencoder(small_X):
    ae = Autoencoder(n_components=3, hidden_layer_sizes=(), max_epochs=3, random_state=0).fit(small_X)
    assert len([m for m in ae.net_.modules() if isinstance(m, torch.nn.Linear)]) == 2


def test_dataframe_input(small_X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(small_X, columns=[f"f{i}" for i in range(10)])
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    assert list(ae.feature_names_in_) == list(df.columns)
    assert ae.transform(df).shape == (120, 2)


def test_integer_and_float64_input(small_X):
    Xi = (small_X * 10).astype(np.int64)
    assert Autoencoder(n_components=2, **FAST).fit(Xi).transform(Xi).dtype == np.float32


def test_pipeline_and_grid_search(small_X):
    pipe = make_pipeline(StandardScaler(), Autoencoder(n_components=2, **FAST))
    assert pipe.fit_transform(small_X).shape == (120, 2)
    # trained enough that the ranking is the data's, not the initialisation's (3 epochs of 4 steps were not)
    grid = GridSearchCV(Autoencoder(**{**FAST, "max_epochs": 20, "learning_rate": 1e-2}), {"n_components": [1, 3]},
                        cv=2).fit(small_X)
    assert grid.best_params_["n_components"] == 3


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([1.0, 2.0, 3.0]), "Expected 2D array"),
        (np.zeros((2, 3, 4)), "Found array with dim 3"),
        (np.array([[1.0, np.nan]] * 4), "NaN"),
        (np.array([[1.0, np.inf]] * 4), "infinity"),
        (np.array([["a", "b"]] * 4), "could not convert|numeric"),
        (np.zeros((0, 3)), "0 sample"),
    ],
)
def test_bad_input(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Autoencoder(**FAST).fit(bad)


def test_feature_mismatch_and_not_fitted(small_X):
    with pytest.raises(NotFittedError):
        Autoencoder().transform(small_X)
    ae = Autoencoder(n_components=2, **FAST).fit(small_X)
    with pytest.raises(ValueError, match="X has 4 features, but Autoencoder is expecting 10 features"):
        ae.transform(small_X[:, :4])
    with pytest.raises(ValueError, match="Z has 3 features, but Autoencoder is expecting 2"):
        ae.inverse_transform(np.zeros((5, 3)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components must be >= 1; got 0"),
        ({"activation": "swish"}, "activation must be one of"),
        ({"loss": "l1"}, r"loss must be one of \{'mse', 'bce'\}; got 'l1'"),
        ({"learning_rate": -1.0}, "learning_rate must be > 0"),
        ({"validation_fraction": 1.0}, "validation_fraction must be < 1"),
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes must contain positive ints"),
        ({"hidden_layer_sizes": 0}, "hidden_layer_sizes must contain positive ints only; got 0"),
        ({"hidden_layer_sizes": "16"}, "hidden_layer_sizes must be a positive int or a sequence of them"),
        ({"optimizer": "lbfgs"}, "optimizer must be one of"),
        ({"lr_schedule": "step"}, "lr_schedule must be one of"),
        ({"device": "tpu"}, "device must be 'auto', 'cpu', 'cuda'"),
        ({"batch_size": 2.5}, "batch_size must be an int"),
    ],
)
def test_bad_params(small_X, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Autoencoder(**{**FAST, **params}).fit(small_X)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_one_int_is_one_hidden_layer_as_in_mlpregressor(small_X, architecture, tmp_path):
    # MLPRegressor(hidden_layer_sizes=100) is one layer of 100; aekit refused the int
    shape = {"image_shape": (2, 5)} if architecture == "conv" else {}
    ae = Autoencoder(**{**FAST, "hidden_layer_sizes": 8, "architecture": architecture, **shape}).fit(small_X)
    same = Autoencoder(**{**FAST, "hidden_layer_sizes": (8,), "architecture": architecture, **shape}).fit(small_X)
    assert repr(ae.net_) == repr(same.net_)
    np.testing.assert_array_equal(ae.transform(small_X), same.transform(small_X))
    ae.save(tmp_path / "m")
    assert load(tmp_path / "m").get_params()["hidden_layer_sizes"] == 8
    ae.set_params(warm_start=True).fit(small_X)  # continuing checks the parameters still describe net_


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_unavailable_error(small_X):
    with pytest.raises(ValueError, match="CUDA is not available"):
        Autoencoder(**{**FAST, "device": "cuda"}).fit(small_X)


def test_divergence_guard_keeps_last_good_weights(small_X):
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(32,), optimizer="sgd", momentum=0.0,
                     learning_rate=1e6, max_epochs=20, validation_fraction=0, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"diverged at epoch \d+.*lower learning_rate"):
        ae.fit(small_X * 100)
    assert all(torch.isfinite(p).all() for p in ae.net_.parameters())
    assert np.isfinite(ae.transform(small_X)).all()


def test_verbose_progress_bar(small_X, capsys):
    Autoencoder(n_components=2, verbose=True, **FAST).fit(small_X)
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err


def test_score_summed_in_chunks_equals_error_of_reconstruction(monkeypatch, rng):
    """score() adds chunk errors (no full reconstruction in memory); it equals the error of reconstruct()."""
    import aekit._inference as inference
    from aekit.metrics import squared_error_per_sample

    X = rng.random((101, 7)).astype(np.float32)
    est = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
    whole = -squared_error_per_sample(X, est.reconstruct(X))
    monkeypatch.setattr(inference, "INFERENCE_BATCH", 10)  # 11 chunks, the last one short
    assert est.score(X) == pytest.approx(whole, rel=1e-6)
    assert est.score(X) < 0


def test_max_time_stops_after_the_epoch_that_crosses_it(rng):
    X = rng.random((64, 5)).astype(np.float32)
    est = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=50, n_iter_no_change=50,
                      max_time=1e-9, random_state=0).fit(X)
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1
    unbounded = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=3, n_iter_no_change=50,
                            random_state=0).fit(X)
    assert unbounded.n_iter_ == 3


@pytest.mark.parametrize("value, error, match", [(0, ValueError, "max_time"), (-1.0, ValueError, "max_time"),
                                                 ("1h", TypeError, "max_time")])
def test_max_time_must_be_positive_seconds(value, error, match):
    with pytest.raises(error, match=match):
        Autoencoder(max_time=value).fit(np.zeros((10, 3)))


# ------------------------------------------------------------ feature names and set_output
def test_feature_names_out_name_the_code_and_set_output_gives_pandas():
    pd = pytest.importorskip("pandas")
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((60, 16)), columns=[f"px{i}" for i in range(16)])
    with pytest.raises(NotFittedError):
        Autoencoder(3).get_feature_names_out()
    ae = Autoencoder(3, **FAST).fit(X)
    assert ae.get_feature_names_out().tolist() == ["autoencoder0", "autoencoder1", "autoencoder2"]
    Z = ae.set_output(transform="pandas").transform(X)
    assert isinstance(Z, pd.DataFrame) and Z.columns.tolist() == ["autoencoder0", "autoencoder1", "autoencoder2"]
    np.testing.assert_array_equal(Z.index, X.index)
    conv = Autoencoder(2, architecture="fully_conv", image_shape=(4, 4), **{**FAST, "hidden_layer_sizes": (4,)}).fit(X)
    assert len(conv.get_feature_names_out()) == conv.transform(X).shape[1] == 2 * 2 * 2  # a 2-channel 2x2 map
    pipe = make_pipeline(StandardScaler(), Autoencoder(2, **FAST)).set_output(transform="pandas").fit(X)
    assert pipe.transform(X).columns.tolist() == ["autoencoder0", "autoencoder1"]


def test_an_imputers_feature_names_are_its_inputs():
    pd = pytest.importorskip("pandas")
    from aekit import AutoencoderImputer, ImputerEnsemble

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((60, 4)), columns=["a", "b", "c", "d"])
    X.iloc[::7, 1] = np.nan
    small = dict(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, device="cpu")
    for imputer in (AutoencoderImputer(**small), ImputerEnsemble(AutoencoderImputer(**small), n_members=2)):
        imputer.fit(X)
        assert imputer.get_feature_names_out().tolist() == ["a", "b", "c", "d"]
        filled = imputer.set_output(transform="pandas").transform(X)
        assert filled.columns.tolist() == ["a", "b", "c", "d"] and not filled.isna().any().any()


def test_methods_are_subset_invariant_to_float32_precision(rng):
    X = rng.random((300, 12)).astype(np.float32)
    ae = Autoencoder(n_components=3, **FAST).fit(X)
    rows = rng.random(300) < 0.3
    for method in ("transform", "reconstruct", "score_samples"):
        whole, part = getattr(ae, method)(X), getattr(ae, method)(X[rows])
        np.testing.assert_allclose(part, whole[rows], rtol=1e-5, atol=1e-6, err_msg=method)
    np.testing.assert_allclose(ae.score(X), ae.score_samples(X).mean(), rtol=1e-12)
