"""The estimators' ``scaling`` parameter: the network sees scaled X; the estimator takes and gives X's units."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from aekit import Autoencoder, ContractiveAutoencoder, DenoisingAutoencoder, SparseAutoencoder, load
from aekit.cli import main
from aekit.compare import compare_with_pca
from aekit.contractive import jacobian_norms
from aekit.evaluation import evaluate
from aekit.streaming import Batches

KW = dict(n_components=4, hidden_layer_sizes=(16,), max_epochs=5, random_state=0)


@pytest.fixture(scope="module")
def X():
    return load_breast_cancer().data  # columns from ~1e-3 to ~4e3: the case scaling is for


@pytest.mark.parametrize("kind, scaler", [("standard", StandardScaler), ("minmax", MinMaxScaler)])
def test_scaling_is_a_scaler_in_front_of_the_autoencoder(X, kind, scaler):
    ae = Autoencoder(scaling=kind, **KW).fit(X)
    pipe = make_pipeline(scaler(), Autoencoder(**KW)).fit(X)
    np.testing.assert_allclose(ae.transform(X), pipe.transform(X), atol=1e-4)
    np.testing.assert_allclose(ae.reconstruct(X), pipe.inverse_transform(pipe.transform(X)),
                               rtol=1e-4, atol=1e-4 * np.abs(X).max())
    np.testing.assert_allclose(ae.inverse_transform(ae.transform(X)), ae.reconstruct(X), rtol=1e-5, atol=1e-3)
    # errors in the scaled units: those of the inner autoencoder on the scaled data
    np.testing.assert_allclose(ae.score_samples(X), pipe[-1].score_samples(pipe[0].transform(X)), rtol=1e-4)
    assert ae.score(X) == pytest.approx(ae.score_samples(X).mean())


def test_standard_scaling_finds_the_outlier_that_raw_units_hide(X):
    X = X.copy()
    small = int(np.argmin(X.std(axis=0)))  # a column in small units: its outlier is invisible in raw errors
    X[7, small] = X[:, small].mean() + 30 * X[:, small].std()
    raw = Autoencoder(**{**KW, "max_epochs": 30}).fit(X)
    scaled = Autoencoder(scaling="standard", **{**KW, "max_epochs": 30}).fit(X)
    assert int(np.argmin(scaled.score_samples(X))) == 7
    assert 7 not in np.argsort(raw.score_samples(X))[:5]


def test_scaling_persists_and_is_refitted_or_kept(X, tmp_path):
    ae = Autoencoder(scaling="standard", **KW).fit(X)
    np.testing.assert_allclose(ae.center_, X.mean(axis=0))
    np.testing.assert_allclose(ae.scale_, X.std(axis=0))
    ae.save(tmp_path / "m")
    back = load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform(X), ae.transform(X))
    assert back.scaling_ == "standard"
    center = ae.center_.copy()
    ae.set_params(warm_start=True).fit(X[:100])  # continuing: the network's scaling is kept
    np.testing.assert_array_equal(ae.center_, center)
    ae.set_params(warm_start=False, scaling="none").fit(X)  # a cold fit without scaling leaves none behind
    assert not hasattr(ae, "center_") and not hasattr(ae, "scale_")
    first = Autoencoder(scaling="standard", **KW).partial_fit(X[:200])
    first.partial_fit(X[200:])
    np.testing.assert_allclose(first.center_, X[:200].mean(axis=0))  # fitted on the first call's data


def test_a_memory_mapped_file_is_scaled_as_it_streams(X, tmp_path):
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    streamed = Autoencoder(scaling="standard", **KW).fit(np.load(tmp_path / "x.npy", mmap_mode="r"))
    in_memory = Autoencoder(scaling="standard", **KW).fit(X.astype(np.float32))
    np.testing.assert_allclose(streamed.center_, in_memory.center_, rtol=1e-10)
    np.testing.assert_allclose(streamed.scale_, in_memory.scale_, rtol=1e-10)
    np.testing.assert_allclose(streamed.transform(X), in_memory.transform(X), atol=1e-5)


def test_a_float64_memory_map_is_scaled_in_float64_like_an_array(tmp_path):
    # the rows of a memory map were read as float32 before scaling: a column 1e8 + N(0, 1) became steps of 8
    # (float32's spacing there), so its statistics and codes differed from the same float64 array's
    rng = np.random.default_rng(0)
    X = np.column_stack([1e8 + rng.normal(size=300), rng.normal(size=300), rng.random(300)])
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    streamed = Autoencoder(scaling="standard", **KW).fit(mapped)
    in_memory = Autoencoder(scaling="standard", **KW).fit(X)
    np.testing.assert_allclose(streamed.center_, in_memory.center_, rtol=1e-12)
    np.testing.assert_allclose(streamed.scale_, in_memory.scale_, rtol=1e-9)
    np.testing.assert_allclose(streamed.transform(mapped), in_memory.transform(X), atol=1e-5)
    np.testing.assert_allclose(in_memory.transform(mapped), in_memory.transform(X), atol=1e-6)


@pytest.mark.parametrize("cls", [SparseAutoencoder, DenoisingAutoencoder, ContractiveAutoencoder])
def test_variants_scale_too(X, cls):
    est = cls(scaling="standard", **KW).fit(X)
    assert est.transform(X).shape == (X.shape[0], 4) and np.isfinite(est.score_samples(X)).all()
    assert hasattr(est, "scale_")


def test_evaluate_measures_in_scaled_units_and_jacobian_at_the_scaled_input(X):
    ae = ContractiveAutoencoder(scaling="standard", **KW).fit(X)
    result = evaluate(ae, X)
    assert result["scaling"] == "standard" and "psnr_db" not in result
    assert result["error_per_sample"] == pytest.approx(-ae.score(X), rel=1e-5)
    inner = ContractiveAutoencoder(**KW).fit((X - X.mean(axis=0)) / X.std(axis=0))
    np.testing.assert_allclose(jacobian_norms(ae, X[:20]), jacobian_norms(inner, (X[:20] - X.mean(axis=0))
                                                                          / X.std(axis=0)), rtol=1e-3)


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_an_iterable_of_batches_is_scaled_as_it_streams(X, kind):
    # the statistics in one pass over the batches; the network trains on what a pre-scaled iterable would give it
    train, val = X[:500], X[500:]
    center, scale = ((train.mean(axis=0), train.std(axis=0)) if kind == "standard"
                     else (train.min(axis=0), np.ptp(train, axis=0)))
    ae = Autoencoder(scaling=kind, **KW).fit(Batches([X[:300], X[300:500]], validation=val))
    np.testing.assert_allclose(ae.center_, center, rtol=1e-10)
    np.testing.assert_allclose(ae.scale_, scale, rtol=1e-10)
    scaled = ((X - ae.center_) / ae.scale_).astype(np.float32)
    inner = Autoencoder(**KW).fit(Batches([scaled[:300], scaled[300:500]], validation=scaled[500:]))
    np.testing.assert_allclose(ae.transform(X), inner.transform(scaled), atol=1e-5)
    assert ae.validation_scores_ == pytest.approx(inner.validation_scores_, rel=1e-5)


def test_tensor_batches_are_scaled_on_their_device_and_warm_start_keeps_the_statistics(X):
    import torch
    batches = Batches([torch.from_numpy(X[:300]), torch.from_numpy(X[300:])])
    ae = Autoencoder(scaling="standard", warm_start=True, **KW).fit(batches)
    center, before = ae.center_.copy(), ae.transform(X)
    np.testing.assert_allclose(center, X.mean(axis=0), rtol=1e-10)  # both batches
    ae.fit(Batches([X[:100]]))  # the kept statistics, not the new batch's
    np.testing.assert_array_equal(ae.center_, center)
    assert not np.allclose(ae.transform(X), before)  # it trained on
    ae.partial_fit(Batches([X[100:200]]))
    np.testing.assert_array_equal(ae.center_, center)


def test_scaling_refusals(X, tmp_path):
    with pytest.raises(ValueError, match="scaling must be one of"):
        Autoencoder(scaling="robust").fit(X)
    with pytest.raises(ValueError, match="loss='bce' needs values in \\[0, 1\\]: use scaling='minmax'"):
        Autoencoder(scaling="standard", loss="bce").fit(X)
    with pytest.raises(ValueError, match="aekit compare --standardize"):
        compare_with_pca(Autoencoder(scaling="standard", **KW), X[:400], X[400:])


def test_cli_train_with_scaling_and_errors(X, tmp_path, capsys):
    X = X.copy()
    small = int(np.argmin(X.std(axis=0)))
    X[7, small] = X[:, small].mean() + 30 * X[:, small].std()
    np.save(tmp_path / "x.npy", X)
    assert main(["train", str(tmp_path / "x.npy"), "--scaling", "standard", "--n-components", "4",
                 "--hidden-layer-sizes", "16", "--max-epochs", "30", "--random-state", "0", "--quiet",
                 "--out", str(tmp_path / "m")]) == 0
    assert "standard deviations range" not in capsys.readouterr().err  # no advice to scale: it is scaled
    assert json.loads((tmp_path / "m" / "config.json").read_text())["params"]["scaling"] == "standard"
    assert main(["errors", str(tmp_path / "m"), str(tmp_path / "x.npy"), "--out", str(tmp_path / "e.npy"),
                 "--top", "1"]) == 0
    assert "largest (row: error): 7: " in capsys.readouterr().out


def test_continuing_refuses_another_scaling(X):
    ae = Autoencoder(scaling="standard", warm_start=True, **KW).fit(X)
    assert ae.scaling_ == "standard"
    for other in ("minmax", "none"):
        ae.set_params(scaling=other)
        with pytest.raises(ValueError, match=f"scaling='{other}', but the network was trained with scaling='standard'"):
            ae.fit(X)
    plain = Autoencoder(**KW).fit(X)
    with pytest.raises(ValueError, match="trained with scaling='none'"):
        plain.set_params(scaling="standard").partial_fit(X)


def test_continuing_on_shifted_data_warns(X, caplog):
    ae = Autoencoder(scaling="standard", warm_start=True, **KW).fit(X)
    caplog.clear()
    ae.fit(X[:200])  # the same kind of data: no warning
    assert "far from the data" not in caplog.text
    ae.fit(2 * X + 100)
    assert "X lies far from the data the kept scaling was fitted on" in caplog.text


def test_streamed_minmax_takes_the_range_over_every_block():
    # the maximum of column 0 is in the first block, its minimum in the last; column 1 the other way round
    from aekit._scaling import column_scaling, streamed_column_scaling

    X = np.array([[9.0, 0.0], [1.0, 2.0], [2.0, 3.0], [0.5, 7.0]])
    center, scale = streamed_column_scaling([X[:1], X[1:3], X[3:]], "minmax")
    np.testing.assert_array_equal(center, [0.5, 0.0])
    np.testing.assert_array_equal(scale, [8.5, 7.0])
    for a, b in zip((center, scale), column_scaling(X, "minmax")):
        np.testing.assert_array_equal(a, b)


def test_column_statistics_in_blocks_equal_numpy_on_the_whole_array():
    # 65 columns: a lone 65th column joins the block before, so its float64 sums are numpy's for the whole array
    # (summed alone, numpy sums a single column pairwise and its std differs in the last bits)
    from aekit._scaling import column_scaling

    X = (np.random.default_rng(0).random((5000, 65)) * 1e3 + 1e4).astype(np.float32)
    center, scale = column_scaling(X, "standard")
    np.testing.assert_array_equal(center, X.astype(np.float64).mean(axis=0))
    np.testing.assert_array_equal(scale, X.astype(np.float64).std(axis=0))


def test_continuing_warns_from_a_shift_of_more_than_three_standard_deviations(caplog):
    X = np.random.default_rng(0).normal(size=(200, 3))
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(), max_epochs=1, random_state=0, scaling="standard",
                     warm_start=True).fit(X)
    caplog.clear()
    ae.fit(X + 2.0)  # two standard deviations: within the range the kept scaling covers
    assert "far from the data" not in caplog.text
    ae.fit(X + 4.0)
    assert "column 0: 4" in caplog.text or "standard deviations" in caplog.text
    assert "X lies far from the data the kept scaling was fitted on" in caplog.text


def test_continuing_warns_when_minmax_scaled_data_leaves_the_fitted_range_far_behind(caplog):
    # minmax maps the fitted data to [0, 1]; continuing on data that lands in [3, 4] is far out (> 2), [0.5, 1.5] not
    X = np.random.default_rng(0).random((200, 3))
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(), max_epochs=1, random_state=0, scaling="minmax",
                     warm_start=True).fit(X)
    caplog.clear()
    ae.fit(X + 0.5)
    assert "far from the data" not in caplog.text
    ae.fit(X + 3.0)
    assert "X lies far from the data the kept scaling was fitted on" in caplog.text and "where [0, 1] was fitted" in caplog.text
