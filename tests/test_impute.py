import numpy as np
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import AutoencoderImputer, DenoisingAutoencoder, load
from aekit.impute import impute_with
from aekit.observed import ObservedInputNet
from aekit.metrics import rmse_on_mask



SMALL = dict(n_components=2, hidden_layer_sizes=(8,), max_epochs=3, random_state=0, device="cpu")


@parametrize_with_checks([AutoencoderImputer(**SMALL), AutoencoderImputer(scaling="minmax", max_iter=2, **SMALL),
                          AutoencoderImputer(mask_input=True, **SMALL)],
                         expected_failed_checks=lambda est: {} if est.mask_input else {
                             "check_methods_subset_invariance": (
                                 "reconstruct/predict run a float32 network and return float64 after unscaling: "
                                 "rows computed in batches of different sizes can differ by a few float32 ulps "
                                 "(measured 2e-7), just above the check's atol of 1e-7 (with mask_input the "
                                 "observed entries are passed through and the check passes)"),
                         })
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_allow_nan_tag_and_no_inverse_transform():
    imp = AutoencoderImputer()
    assert imp.__sklearn_tags__().input_tags.allow_nan
    assert not hasattr(imp, "inverse_transform")


W = np.random.default_rng(42).normal(size=(3, 20))


def low_rank(n, rng, missing=0.2):
    """Rank-3 data (n, 20) around 5, and a copy with a fraction ``missing`` set to NaN."""
    X = rng.normal(size=(n, 3)) @ W + 5.0
    holes = rng.random(X.shape) < missing
    X_missing = X.copy()
    X_missing[holes] = np.nan
    return X, X_missing, holes


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X, X_missing, holes = low_rank(600, rng)
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        imp = AutoencoderImputer(3, hidden_layer_sizes=(32,), max_epochs=60, batch_size=32, learning_rate=3e-3,
                                 random_state=0, device="cpu").fit(X_missing)
    return imp, X, X_missing, holes


def test_beats_mean_imputation_on_low_rank_data(fitted):
    imp, X, X_missing, holes = fitted
    mean = SimpleImputer().fit(X_missing)
    X_test, X_test_missing, test_holes = low_rank(300, np.random.default_rng(1))  # new rows, same structure
    for truth, incomplete, where in ((X, X_missing, holes), (X_test, X_test_missing, test_holes)):
        ours = rmse_on_mask(truth, imp.transform(incomplete), where)
        baseline = rmse_on_mask(truth, mean.transform(incomplete), where)
        assert ours < 0.5 * baseline, (ours, baseline)


def test_never_alters_observed_entries(fitted):
    imp, X, X_missing, holes = fitted
    for dtype in (np.float64, np.float32):
        Xd = X_missing.astype(dtype)
        out = imp.transform(Xd)
        assert out.dtype == dtype
        assert not np.isnan(out).any()
        np.testing.assert_array_equal(out[~holes], Xd[~holes])  # bit for bit
    imp_refine = clone_fitted(imp, max_iter=3)
    out = imp_refine.transform(X_missing)
    np.testing.assert_array_equal(out[~holes], X_missing[~holes])


def clone_fitted(imp, **params):
    other = AutoencoderImputer(**{**imp.get_params(), **params})
    other.__dict__.update({k: v for k, v in vars(imp).items() if k.endswith("_")})
    return other


def test_refinement_re_corrupts_like_training_and_does_not_hurt(fitted):
    imp, X, X_missing, holes = fitted
    one_pass = rmse_on_mask(X, imp.transform(X_missing), holes)
    refined = clone_fitted(imp, max_iter=2)
    out = refined.transform(X_missing)
    np.testing.assert_array_equal(out, refined.transform(X_missing))  # seeded
    assert rmse_on_mask(X, out, holes) < 1.05 * one_pass


@pytest.mark.parametrize("level_power", [1.0, 3.0])
def test_refinement_hides_entries_at_the_full_level_under_random_level(fitted, level_power):
    # with random_level, training hid corruption_level * u**level_power of each row (0.8 / (1 + p) on average);
    # refinement hides the full 0.8, as max_iter's docstring says: on breast-cancer data (20 % missing, 6 masks)
    # that beat re-drawing training's levels in every case (one pass: 0.821 against 0.824, ..., 0.763 against 0.765)
    imp, X, X_missing, holes = fitted
    refined = clone_fitted(imp, corruption_level=0.8, random_level=True, level_power=level_power, max_iter=1)
    seen = []

    def recording(fn, A):
        seen.append(np.array(A))
        return imp._apply(fn, A)

    refined._apply = recording
    refined.transform(X_missing)
    refinement = np.concatenate(seen[1:])  # the first call reconstructs with the holes zeroed, as before
    assert np.mean(refinement == 0) == pytest.approx(0.8, abs=0.03)


def test_refinement_needs_masking_or_pattern():
    with pytest.raises(ValueError, match="max_iter > 0 re-corrupts inputs as training did, which needs "
                                         "corruption='masking' or 'pattern'; got corruption='gaussian'"):
        AutoencoderImputer(**SMALL, corruption="gaussian", max_iter=1).fit(np.zeros((10, 3)))


def test_rows_without_missing_entries_come_back_unchanged(fitted):
    imp, X, _, _ = fitted
    out = imp.transform(X[:10])
    np.testing.assert_array_equal(out, X[:10])
    assert out is not X


def test_scaling_comes_from_the_observed_entries():
    X, X_missing, _ = low_rank(200, np.random.default_rng(0))
    a = AutoencoderImputer(**SMALL).fit(X_missing)
    np.testing.assert_allclose(a.center_, np.nanmean(X_missing, axis=0))
    np.testing.assert_allclose(a.scale_, np.nanstd(X_missing, axis=0))
    b = AutoencoderImputer(**SMALL, scaling="minmax").fit(X_missing)
    np.testing.assert_allclose(b.center_, np.nanmin(X_missing, axis=0))
    assert np.isfinite(a.loss_curve_).all() and np.isfinite(b.loss_curve_).all()


def test_reconstruct_and_score(fitted):
    imp, X, X_missing, holes = fitted
    R = imp.reconstruct(X_missing)
    assert R.shape == X.shape and np.isfinite(R).all()
    assert imp.score(X_missing) <= 0.0
    assert imp.score(X_missing) > -np.nansum((X_missing - np.nanmean(X_missing, 0)) ** 2, axis=1).mean()


def test_images_with_a_convolutional_imputer():
    rng = np.random.default_rng(0)
    X = np.clip(rng.random((300, 1, 1)) * np.ones((1, 8, 8)) + 0.05 * rng.normal(size=(300, 8, 8)), 0, 1)
    X = X.reshape(300, 64)
    X_missing = X.copy()
    X_missing[rng.random(X.shape) < 0.3] = np.nan
    imp = AutoencoderImputer(4, hidden_layer_sizes=(8,), architecture="fully_conv", image_shape=(8, 8),
                             scaling="none", max_epochs=10, batch_size=32, learning_rate=3e-3, random_state=0,
                             device="cpu").fit(X_missing)
    holes = np.isnan(X_missing)
    ours = rmse_on_mask(X, imp.transform(X_missing), holes)
    mean = rmse_on_mask(X, SimpleImputer().fit_transform(X_missing), holes)
    assert ours < mean


def test_save_and_load(fitted, tmp_path):
    imp, X, X_missing, holes = fitted
    imp.save(tmp_path / "imp")
    back = load(tmp_path / "imp")
    assert type(back) is AutoencoderImputer
    np.testing.assert_array_equal(back.center_, imp.center_)
    np.testing.assert_array_equal(back.transform(X_missing), imp.transform(X_missing))


def test_impute_with_any_autoencoder():
    rng = np.random.default_rng(0)
    X, X_missing, holes = low_rank(200, rng)
    dae = DenoisingAutoencoder(3, hidden_layer_sizes=(16,), corruption="masking", corruption_level=0.2,
                               max_epochs=5, random_state=0, device="cpu").fit(X)
    out = impute_with(dae, X_missing)
    np.testing.assert_array_equal(out[~holes], X_missing[~holes])
    assert not np.isnan(out).any()
    with pytest.raises(ValueError, match=r"X has no missing entry \(NaN\) to fill"):
        impute_with(dae, X)
    with pytest.raises(ValueError, match=r"X has shape \(200, 19\), but DenoisingAutoencoder is expecting"):
        impute_with(dae, X_missing[:, :19])


def test_impute_with_an_imputer_uses_its_scaling(fitted):
    imp, X, X_missing, holes = fitted
    np.testing.assert_array_equal(impute_with(imp, X_missing), imp.transform(X_missing))
    with pytest.raises(ValueError, match="no missing entry"):
        impute_with(imp, X)


def test_all_nan_column_is_a_clear_error():
    X = np.random.default_rng(0).random((20, 4))
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"X has no observed value in column\(s\) 2 \(1 of 4\); "
                                         "AutoencoderImputer cannot learn"):
        AutoencoderImputer(**SMALL).fit(X)


def test_infinite_values_are_rejected():
    X = np.random.default_rng(0).random((20, 4))
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        AutoencoderImputer(**SMALL).fit(X)


def test_bce_needs_values_in_unit_range():
    with pytest.raises(ValueError, match="loss='bce' needs values in \\[0, 1\\]: use scaling='minmax'"):
        AutoencoderImputer(**SMALL, loss="bce").fit(np.random.default_rng(0).random((20, 3)))


def test_unknown_scaling():
    with pytest.raises(ValueError, match=r"scaling must be one of \{'standard', 'minmax', 'none'\}; got 'log'"):
        AutoencoderImputer(**SMALL, scaling="log").fit(np.zeros((10, 3)))


def test_wrong_number_of_features():
    imp = AutoencoderImputer(**SMALL).fit(np.random.default_rng(0).random((30, 4)))
    with pytest.raises(ValueError, match="X has 3 features, but AutoencoderImputer is expecting 4 features"):
        imp.transform(np.zeros((2, 3)))


def test_imputer_with_pattern_corruption_learns_structured_holes():
    rng = np.random.default_rng(0)
    X, _, _ = low_rank(600, rng)
    holes = np.zeros(X.shape, dtype=bool)
    for i, start in enumerate(rng.integers(0, 15, size=len(X))):
        holes[i, start:start + 5] = True  # runs of 5 neighbouring features
    X_missing = np.where(holes, np.nan, X)
    imp = AutoencoderImputer(3, hidden_layer_sizes=(32,), corruption="pattern", corruption_level=1.0,
                             max_epochs=60, batch_size=32, learning_rate=3e-3, random_state=0,
                             device="cpu").fit(X_missing)
    assert not hasattr(imp, "_observed")  # the training masks are not kept
    ours = rmse_on_mask(X, imp.transform(X_missing), holes)
    mean = rmse_on_mask(X, SimpleImputer().fit_transform(X_missing), holes)
    assert ours < 0.5 * mean, (ours, mean)


def test_imputer_practises_on_the_patterns_given_to_fit():
    # training rows miss runs among features 0-10; the rows to fill miss features 12-17, never hidden in training
    rng = np.random.default_rng(0)
    X, _, _ = low_rank(600, rng)
    holes = np.zeros(X.shape, dtype=bool)
    for i, start in enumerate(rng.integers(0, 7, size=len(X))):
        holes[i, start:start + 5] = True
    X_missing = np.where(holes, np.nan, X)
    X_new, _, _ = low_rank(200, rng)
    new_holes = np.zeros(X_new.shape, dtype=bool)
    new_holes[:, 12:18] = True
    X_new_missing = np.where(new_holes, np.nan, X_new)
    params = dict(n_components=3, hidden_layer_sizes=(32,), corruption="pattern", corruption_level=1.0,
                  max_epochs=60, batch_size=32, learning_rate=3e-3, random_state=0, device="cpu")
    own = AutoencoderImputer(**params).fit(X_missing)
    given = AutoencoderImputer(**params).fit(X_missing, patterns=np.isnan(X_new_missing))
    assert not hasattr(given, "_observed") and not hasattr(given, "_practice")  # fit-time only
    rmse_own = rmse_on_mask(X_new, own.transform(X_new_missing), new_holes)
    rmse_given = rmse_on_mask(X_new, given.transform(X_new_missing), new_holes)
    mean = rmse_on_mask(X_new, SimpleImputer().fit(X_missing).transform(X_new_missing), new_holes)
    assert rmse_given < 0.6 * min(rmse_own, mean), (rmse_given, rmse_own, mean)  # measured 0.41, 1.28, 1.37
    # one pattern as a 1-D mask, through a Pipeline's fit parameters
    pipe = Pipeline([("impute", AutoencoderImputer(**{**params, "max_epochs": 1}))])
    assert pipe.fit(X_missing, impute__patterns=new_holes[0]).transform(X_new_missing).shape == X_new.shape
    # complete training data has no holes of its own: all the practice is on the patterns given
    complete = AutoencoderImputer(**params).fit(X, patterns=new_holes[:1])
    assert rmse_on_mask(X_new, complete.transform(X_new_missing), new_holes) < 0.2 * mean  # measured 0.06


@pytest.mark.parametrize("patterns, corruption, message", [
    (np.ones((2, 3), dtype=bool), "masking", "patterns are the holes corruption='pattern' practises on; got "
                                             "corruption='masking'"),
    (np.full((2, 3), np.nan), "pattern", "patterns must be boolean .True: missing., e.g. np.isnan.X_new.; got "
                                         "dtype float64"),
    (np.ones((2, 4), dtype=bool), "pattern", r"patterns must have shape \(n_patterns, 3\) like X; got \(2, 4\)"),
    (np.ones((2, 2, 3), dtype=bool), "pattern", r"patterns must have shape \(n_patterns, 3\)"),
    (np.zeros((2, 3), dtype=int), "pattern", "patterns hide no entry"),
])
def test_bad_patterns_are_clear_errors(patterns, corruption, message):
    X = np.where(np.eye(10, 3) > 0, np.nan, 1.0)
    with pytest.raises(ValueError, match=message):
        AutoencoderImputer(**SMALL, corruption=corruption).fit(X, patterns=patterns)


def test_pattern_on_complete_data_without_patterns_is_refused():
    # "pattern" hides other samples' holes: on complete X it hid nothing, and the imputer trained on uncorrupted rows
    X = np.random.default_rng(0).random((40, 3))
    with pytest.raises(ValueError, match=r"corruption='pattern' hides the holes \(NaN\) of other samples while "
                                         r"training, and X has none: pass the holes to practise on"):
        AutoencoderImputer(**SMALL, corruption="pattern").fit(X)
    # with holes to practise on, complete X trains, as before
    holes = np.array([[True, False, False]])
    assert AutoencoderImputer(**SMALL, corruption="pattern").fit(X, patterns=holes).n_iter_ == 3


def test_pattern_level_must_be_a_fraction():
    with pytest.raises(ValueError, match=r"corruption_level for 'pattern' must be in \[0, 1\]; got 1.5"):
        AutoencoderImputer(**SMALL, corruption="pattern", corruption_level=1.5).fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"corruption must be one of \{'gaussian', 'masking', 'salt_and_pepper', "
                                         r"'pattern'\}"):
        AutoencoderImputer(**SMALL, corruption="blocks").fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="random_level=True draws a noise level per sample, but 'pattern' hides"):
        AutoencoderImputer(**SMALL, corruption="pattern", random_level=True).fit(np.zeros((10, 3)))


# ------------------------------------------------------------------ mask_input
def test_mask_input_builds_an_observed_input_net_with_a_flag_channel():
    rng = np.random.default_rng(0)
    X = np.where(rng.random((40, 64)) < 0.2, np.nan, rng.random((40, 64)))
    conv = AutoencoderImputer(4, hidden_layer_sizes=(4,), architecture="fully_conv", image_shape=(8, 8),
                              mask_input=True, max_epochs=1, random_state=0, device="cpu").fit(X)
    assert isinstance(conv.net_, ObservedInputNet)
    assert conv.net_.net.in_channels == 2  # value and "seen" flag
    assert not np.isnan(conv.transform(X)).any()
    plain = AutoencoderImputer(**SMALL).fit(X)  # mask_input=False by default
    assert not isinstance(plain.net_, ObservedInputNet)


def test_observed_zeros_stay_seen_and_come_back_unchanged():
    rng = np.random.default_rng(0)
    X = np.where(rng.random((200, 6)) < 0.3, 0.0, rng.random((200, 6)))  # many exact zeros, as black pixels
    X_missing = X.copy()
    holes = rng.random(X.shape) < 0.2
    X_missing[holes] = np.nan
    imp = AutoencoderImputer(**{**SMALL, "n_components": 3}, scaling="none", mask_input=True).fit(X_missing)
    Xs = imp._scaled(np.where(holes, 0.0, X))
    assert (Xs != 0).all()  # an observed 0 is not mistaken for a hole
    out = imp.transform(X_missing)
    np.testing.assert_array_equal(out[~holes], X[~holes])
    R = imp.reconstruct(X_missing)
    np.testing.assert_allclose(R[~holes], X[~holes], atol=1e-6)  # passed through


def test_mask_input_needs_masking_or_pattern_and_no_pretraining():
    with pytest.raises(ValueError, match="mask_input=True learns from entries the corruption hides, which needs "
                                         "corruption='masking' or 'pattern'; got corruption='gaussian'"):
        AutoencoderImputer(**SMALL, corruption="gaussian", mask_input=True).fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="mask_input=True needs pretraining='none'; got pretraining='denoising'"):
        AutoencoderImputer(**SMALL, pretraining="denoising", mask_input=True).fit(np.zeros((10, 3)))
    AutoencoderImputer(**SMALL, corruption="gaussian").fit(np.random.default_rng(0).random((20, 3)))


def test_score_is_the_error_on_hidden_observed_entries(fitted):
    imp, X, X_missing, holes = fitted
    assert imp.score(X_missing) == imp.score(X_missing)  # the same hidden entries each call
    worse = clone_fitted(imp)
    worse.center_ = imp.center_ + 1.0  # every imputed value off by 1 in the original units
    assert worse.score(X_missing) < imp.score(X_missing) < 0.0



def test_level_power_is_a_parameter_of_the_imputer_too(rng):
    """The imputer inherits random_level/level_power from DenoisingAutoencoder: get_params and the CLI agree."""
    imp = AutoencoderImputer(random_level=True, level_power=2.0)
    assert imp.get_params()["level_power"] == 2.0
    assert imp.set_params(level_power=3.0).level_power == 3.0
    X = rng.random((40, 5))
    X[rng.random(X.shape) < 0.2] = np.nan
    out = AutoencoderImputer(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_level=True,
                             level_power=2.0, random_state=0).fit_transform(X)
    assert not np.isnan(out).any()
    with pytest.raises(ValueError, match="level_power"):
        AutoencoderImputer(random_level=True, level_power=0.0).fit(X)


def test_impute_with_fills_in_the_units_of_x_for_a_model_with_scaling():
    # a hole is zeroed in the scaled units (the column's mean) and the reconstruction scaled back: the filled value
    # is reconstruct() of X with the hole set to the column mean, far from the scaled units near 0
    rng = np.random.default_rng(0)
    X = 100.0 + 5.0 * (rng.standard_normal((60, 3)) @ rng.standard_normal((3, 5)))
    ae = DenoisingAutoencoder(n_components=2, hidden_layer_sizes=(), max_epochs=2, random_state=0,
                              scaling="standard").fit(X)
    holes = X.copy()
    holes[[0, 3], [1, 4]] = np.nan
    at_mean = np.where(np.isnan(holes), ae.center_, holes)
    expected = np.where(np.isnan(holes), ae.reconstruct(at_mean), holes)
    np.testing.assert_allclose(impute_with(ae, holes), expected, rtol=1e-5)


def test_imputer_reconstruct_is_in_the_units_of_x_and_agrees_with_transform_on_the_holes():
    rng = np.random.default_rng(0)
    X = 100.0 + 5.0 * (rng.standard_normal((60, 3)) @ rng.standard_normal((3, 5)))
    X[rng.random(X.shape) < 0.2] = np.nan
    imp = AutoencoderImputer(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
    missing = np.isnan(X)
    np.testing.assert_allclose(imp.reconstruct(X)[missing], imp.transform(X)[missing], rtol=1e-5)
    assert abs(np.nanmean(imp.reconstruct(X)) - 100.0) < 20.0


def test_imputer_loss_counts_only_the_observed_entries(monkeypatch):
    # the mask that training gets is X's observed entries (the holes are zeros at the input, not targets)
    from aekit import training

    seen = []
    fit = training.Trainer.fit

    def spy(self, X, X_val=None, mask=None, mask_val=None):
        seen.append((X.X, X.mask) if mask is None else (np.asarray(X), np.asarray(mask)))  # an ArraySource or arrays
        return fit(self, X, X_val, mask, mask_val)

    monkeypatch.setattr(training.Trainer, "fit", spy)
    X = np.random.default_rng(0).random((40, 4))
    X[np.random.default_rng(1).random(X.shape) < 0.3] = np.nan
    AutoencoderImputer(n_components=2, hidden_layer_sizes=(), max_epochs=1, random_state=0,
                       validation_fraction=0.0).fit(X)
    (Xs, mask), = seen
    np.testing.assert_array_equal(mask, ~np.isnan(X))
    assert (Xs[np.isnan(X)] == 0).all()


def test_salt_and_pepper_takes_its_extremes_from_the_observed_entries_only():
    # values in [5, 10]; the holes are zeros at the input but no data value: pepper is 5, not 0
    rng = np.random.default_rng(0)
    X = 5.0 + 5.0 * rng.random((40, 4))
    X[0, 0], X[1, 1] = 5.0, 10.0
    X[rng.random(X.shape) < 0.2] = np.nan
    X[0, 0], X[1, 1] = 5.0, 10.0
    imp = AutoencoderImputer(n_components=2, hidden_layer_sizes=(), corruption="salt_and_pepper", scaling="none",
                             max_epochs=1, random_state=0).fit(X)
    corrupt = imp._make_corruption()
    out = corrupt(torch.full((2000, 4), 7.0), torch.Generator().manual_seed(0))
    assert set(np.unique(out.numpy()).tolist()) == {5.0, 7.0, 10.0}


def test_salt_and_pepper_takes_each_scaled_columns_extremes():
    # the README: "under scaling, each column's own min or max in scaled units". The imputer scales by itself, so its
    # salt and pepper took the extremes of all the standardised columns together: 12.8 standard deviations in every
    # column of breast cancer, most of whose columns never go beyond 3 or 4
    from sklearn.datasets import load_breast_cancer

    X = load_breast_cancer().data.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    imputer = AutoencoderImputer(2, hidden_layer_sizes=(4,), corruption="salt_and_pepper", max_epochs=1,
                                 random_state=0).fit(X)
    seen = (X - imputer.center_) / imputer.scale_
    np.testing.assert_allclose(imputer.data_min_, np.nanmin(seen, axis=0), rtol=1e-6)
    np.testing.assert_allclose(imputer.data_max_, np.nanmax(seen, axis=0), rtol=1e-6)
    pixels = AutoencoderImputer(2, hidden_layer_sizes=(4,), corruption="salt_and_pepper", scaling="none",
                                max_epochs=1, random_state=0).fit(X / np.nanmax(X))
    assert np.ndim(pixels.data_max_) == 0  # unscaled, one range shared by every column


@pytest.mark.parametrize("make", [lambda X: (row for row in X), lambda X: [X[:20], X[20:]]])
def test_an_imputer_given_a_generator_or_a_list_of_batches_says_to_pass_one_array(make):
    # fit(generator) failed inside numpy ("float() argument must be ... not 'generator'") and a list of batches
    # said sklearn's "Found array with dim 3"; Batches, which the other estimators are told to use, would not do
    X = np.random.default_rng(0).random((40, 4))
    X[::5, 1] = np.nan
    with pytest.raises(TypeError, match=r"X is .*[:;] pass (an array \(np\.vstack\(list\(X\)\)\)|np\.concatenate\(X\) "
                                        r"as one array)\.$") as err:
        AutoencoderImputer(n_components=2, hidden_layer_sizes=(4,), max_epochs=1).fit(make(X))
    assert "Batches" not in str(err.value)
