import json

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import AutoencoderImputer, ImputerEnsemble, load
from aekit.metrics import rmse_on_mask

SMALL = dict(n_components=2, hidden_layer_sizes=(8,), max_epochs=3, device="cpu", mask_input=True)


@parametrize_with_checks([ImputerEnsemble(AutoencoderImputer(**SMALL), n_members=2, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


W = np.random.default_rng(7).normal(size=(3, 12))


def low_rank(n=300, seed=0, missing=0.25):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) @ W + 2.0
    holes = rng.random(X.shape) < missing
    X_missing = np.where(holes, np.nan, X)
    return X, X_missing, holes


def member():
    return AutoencoderImputer(3, hidden_layer_sizes=(32,), max_epochs=15, batch_size=32, learning_rate=3e-3,
                              device="cpu")


@pytest.fixture(scope="module")
def fitted():
    X, X_missing, holes = low_rank()
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        ens = ImputerEnsemble(member(), n_members=3, random_state=0).fit(X_missing)
    return ens, X, X_missing, holes


def test_fill_is_the_mean_of_the_members_fills(fitted):
    ens, X, X_missing, holes = fitted
    filled = ens.transform(X_missing)
    fills = [m.transform(X_missing) for m in ens.estimators_]
    np.testing.assert_allclose(filled[holes], np.mean(fills, axis=0)[holes], rtol=1e-12)
    np.testing.assert_array_equal(filled[~holes], X_missing[~holes])
    assert len(set(ens.seeds_)) == 3
    assert [m.random_state for m in ens.estimators_] == ens.seeds_
    assert not np.allclose(fills[0][holes], fills[1][holes])  # the seeds made them differ


def test_mean_fill_beats_the_average_member(fitted):
    ens, X, X_missing, holes = fitted
    member_rmse = [rmse_on_mask(X, m.transform(X_missing), holes) for m in ens.estimators_]
    mean_rmse = rmse_on_mask(X, np.where(holes, X_missing.mean(axis=0, where=~holes), X), holes)
    ours = rmse_on_mask(X, ens.transform(X_missing), holes)
    assert ours < np.mean(member_rmse) < mean_rmse
    # entry by entry, the squared error of a mean is at most the mean of the squared errors
    assert ens.score(X_missing) >= np.mean([m.score(X_missing) for m in ens.estimators_]) - 1e-12


def test_seeds_follow_random_state():
    _, X_missing, _ = low_rank(60)
    a = ImputerEnsemble(AutoencoderImputer(**SMALL), random_state=3).fit(X_missing)
    b = ImputerEnsemble(AutoencoderImputer(**SMALL), random_state=3).fit(X_missing)
    assert a.seeds_ == b.seeds_
    np.testing.assert_array_equal(a.transform(X_missing), b.transform(X_missing))


def test_fit_params_reach_every_member():
    X, _, _ = low_rank(80)
    patterns = np.zeros((1, X.shape[1]), bool)
    patterns[0, :4] = True
    ens = ImputerEnsemble(AutoencoderImputer(corruption="pattern", **SMALL), random_state=0)
    ens.fit(X, patterns=patterns)  # complete X: only the given holes can be practised on
    assert len(ens.estimators_) == 2
    with pytest.raises(ValueError, match="patterns are the holes"):
        ImputerEnsemble(AutoencoderImputer(**SMALL), random_state=0).fit(X, patterns=patterns)


def test_parallel_members_match_sequential_ones():
    _, X_missing, holes = low_rank(100)
    base = AutoencoderImputer(**SMALL)
    seq = ImputerEnsemble(base, random_state=0).fit(X_missing)
    par = ImputerEnsemble(base, n_jobs=2, random_state=0).fit(X_missing)
    assert par.seeds_ == seq.seeds_
    np.testing.assert_allclose(par.transform(X_missing), seq.transform(X_missing), atol=1e-5)


def test_save_and_load_round_trip(fitted, tmp_path):
    ens, X, X_missing, holes = fitted
    ens.save(tmp_path / "ens")
    again = load(tmp_path / "ens")
    assert isinstance(again, ImputerEnsemble)
    assert again.seeds_ == ens.seeds_ and again.get_params()["n_members"] == 3
    np.testing.assert_array_equal(again.transform(X_missing), ens.transform(X_missing))


def test_column_names_survive_save_and_load(tmp_path):
    pd = pytest.importorskip("pandas")
    _, X_missing, _ = low_rank(60)
    frame = pd.DataFrame(X_missing, columns=[f"c{i}" for i in range(X_missing.shape[1])])
    ens = ImputerEnsemble(AutoencoderImputer(**SMALL), random_state=0).fit(frame)
    again = load(ens.save(tmp_path / "ens"))
    assert list(again.feature_names_in_) == list(frame.columns)
    assert list(again.get_feature_names_out()) == list(frame.columns)
    np.testing.assert_array_equal(again.transform(frame), ens.transform(frame))


def test_load_refuses_a_tampered_index(fitted, tmp_path):
    ens = fitted[0]
    ens.save(tmp_path / "ens")
    index = tmp_path / "ens" / "ensemble.json"
    config = json.loads(index.read_text())
    config["members"] = ["../elsewhere"] + config["members"][1:]
    index.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="lists no valid members"):
        load(tmp_path / "ens")
    index.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load(tmp_path / "ens")


def test_save_refuses_foreign_members(tmp_path):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer as Iterative

    _, X_missing, _ = low_rank(60)
    ens = ImputerEnsemble(Iterative(sample_posterior=True, max_iter=2), random_state=0).fit(X_missing)
    assert not np.isnan(ens.transform(X_missing)).any()
    with pytest.raises(TypeError, match="only ensembles of aekit estimators"):
        ens.save(tmp_path / "ens")
    assert not (tmp_path / "ens").exists()


@pytest.mark.parametrize("params, error, match", [
    (dict(n_members=0), ValueError, "n_members must be an int >= 1"),
    (dict(n_members=1.5), ValueError, "n_members must be an int >= 1"),
    (dict(estimator=SimpleImputer()), ValueError, "must have a random_state parameter"),
    (dict(estimator=object()), TypeError, "imputer with fit and transform"),
    (dict(estimator=type("Bare", (), {"fit": lambda self, X: self, "transform": lambda self, X: X})()), ValueError,
     "must have a random_state parameter"),
])
def test_bad_parameters(params, error, match):
    _, X_missing, _ = low_rank(30)
    with pytest.raises(error, match=match):
        ImputerEnsemble(**params).fit(X_missing)


def test_unfitted_and_wrong_width():
    _, X_missing, _ = low_rank(40)
    with pytest.raises(NotFittedError):
        ImputerEnsemble().transform(X_missing)
    ens = ImputerEnsemble(AutoencoderImputer(**SMALL), n_members=1, random_state=0).fit(X_missing)
    with pytest.raises(ValueError, match="expecting 12 features"):
        ens.transform(X_missing[:, :5])


def test_saved_image_ensemble_inpaints_through_the_cli(tmp_path):
    from aekit.cli import main
    from aekit.images import extract_patches, read_image, write_image

    yy, xx = np.mgrid[0:30, 0:26] / 30.0
    image = 0.5 + 0.4 * np.sin(5 * xx + 3 * yy)
    patches = np.concatenate([extract_patches(0.5 + 0.4 * np.sin(5 * a * xx + 3 * b * yy), (8, 8), 2)[0]
                              for a, b in np.random.default_rng(0).random((6, 2)) + 0.5])
    holes = np.random.default_rng(1).random(patches.shape) < 0.2
    imputer = AutoencoderImputer(8, hidden_layer_sizes=(8,), architecture="fully_conv", image_shape=(8, 8),
                                 corruption="masking", corruption_level=0.3, scaling="none", max_epochs=8,
                                 batch_size=32, learning_rate=3e-3, device="cpu")
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        ImputerEnsemble(imputer, random_state=0).fit(np.where(holes, np.nan, patches)).save(tmp_path / "ens")
    mask = np.zeros(image.shape)
    mask[10:13, 5:20] = 1.0
    write_image(tmp_path / "image.png", image)
    write_image(tmp_path / "mask.png", mask)
    assert main(["inpaint", str(tmp_path / "ens"), str(tmp_path / "image.png"), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(tmp_path / "filled.png"), "-q"]) == 0
    result, original, hole = read_image(tmp_path / "filled.png"), read_image(tmp_path / "image.png"), mask > 0
    np.testing.assert_array_equal(result[~hole], original[~hole])
    assert np.abs(result[hole] - original[hole]).mean() < 0.5 * np.abs(original[hole]).mean()


def test_cli_info_and_denoise_on_a_saved_ensemble(fitted, tmp_path, capsys):
    from aekit.cli import main

    ens = fitted[0]
    ens.save(tmp_path / "ens")
    assert main(["info", str(tmp_path / "ens"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["class"] == "ImputerEnsemble" and info["n_members"] == 3 and info["seeds"] == ens.seeds_
    assert info["member_class"] == "AutoencoderImputer" and info["member_params"]["max_epochs"] == 15
    assert info["n_parameters"] == 3 * sum(p.numel() for p in ens.estimators_[0].net_.parameters())
    assert main(["info", str(tmp_path / "ens")]) == 0
    assert "ImputerEnsemble of 3 x AutoencoderImputer" in capsys.readouterr().out
    assert main(["denoise", str(tmp_path / "ens"), str(tmp_path / "x.png"), "--out", str(tmp_path / "o")]) == 2
    assert "which fills holes (aekit inpaint)" in capsys.readouterr().err
    for command in ("encode", "reconstruct"):
        assert main([command, str(tmp_path / "ens"), "--dataset", "digits", "--out", str(tmp_path / "o.npy")]) == 2
        assert "it has no code or reconstruction" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()


def test_cli_impute_and_evaluate_a_saved_ensemble(fitted, tmp_path, capsys):
    from aekit.cli import main

    ens, X, X_missing, holes = fitted
    ens.save(tmp_path / "ens")
    np.save(tmp_path / "holes.npy", X_missing)
    assert main(["impute", str(tmp_path / "ens"), str(tmp_path / "holes.npy"), "--out", str(tmp_path / "f.npy"),
                 "--quiet"]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "f.npy"), ens.transform(X_missing), rtol=1e-6)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "ens"), str(tmp_path / "holes.npy"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "ImputerEnsemble" and result["n_missing"] == int(holes.sum())
    assert result["hidden_error_per_sample"] == pytest.approx(-ens.score(X_missing), rel=1e-6)
