"""Incremental training: ``partial_fit`` (one epoch per call) and ``warm_start`` (fit continues)."""

import json
import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

from aekit import Autoencoder, AutoencoderImputer, DenoisingAutoencoder, SparseAutoencoder, load
from aekit.cli import main

SMALL = dict(n_components=4, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def X():
    return (load_digits().data[:400] / 16).astype(np.float32)


def test_partial_fit_on_all_of_X_is_fit_with_the_constant_schedule(X):
    # the same seeds, the same shuffling, one epoch per call: bit-identical to fit for as many epochs
    incremental = Autoencoder(**SMALL)
    for _ in range(3):
        incremental.partial_fit(X)
    whole = Autoencoder(**SMALL, max_epochs=3, lr_schedule="constant", validation_fraction=0.0,
                        n_iter_no_change=100).fit(X)
    np.testing.assert_array_equal(incremental.transform(X), whole.transform(X))
    assert incremental.loss_curve_ == whole.loss_curve_
    assert incremental.n_iter_ == 3


def test_partial_fit_over_chunks_learns(X):
    ae = Autoencoder(**SMALL)
    chunks = np.array_split(X, 4)
    ae.partial_fit(chunks[0])
    first = -ae.score(X)
    for _ in range(5):
        for chunk in chunks:
            ae.partial_fit(chunk)
    assert ae.n_iter_ == 21 and len(ae.loss_curve_) == 21
    assert -ae.score(X) < 0.8 * first


def test_partial_fit_state_survives_pickling(X):
    ae = Autoencoder(**SMALL).partial_fit(X)
    copy = pickle.loads(pickle.dumps(ae))
    ae.partial_fit(X)
    copy.partial_fit(X)
    np.testing.assert_array_equal(ae.transform(X), copy.transform(X))


@pytest.mark.parametrize("cls, extra", [(Autoencoder, {}), (DenoisingAutoencoder, {"corruption": "masking"}),
                                        (Autoencoder, {"optimizer": "sgd"})])
def test_partial_fit_state_survives_save_and_load(X, tmp_path, cls, extra):
    # as through pickle: load gave a fresh optimiser (Adam's moments gone), so the weights parted from those of
    # the same calls without the save; the generators (shuffling, noise) went back to their seeds too
    ae = cls(**SMALL, **extra).partial_fit(X[:200])
    ae.save(tmp_path / "m")
    assert (tmp_path / "m" / "partial_fit.safetensors").is_file()
    loaded = load(tmp_path / "m")
    for model in (ae, loaded):
        model.partial_fit(X[200:]).partial_fit(X)
    assert loaded.n_iter_ == ae.n_iter_ == 3 and loaded.loss_curve_ == ae.loss_curve_
    np.testing.assert_array_equal(loaded.transform(X), ae.transform(X))


def test_a_fit_model_is_saved_without_partial_fit_state(X, tmp_path):
    Autoencoder(**SMALL, max_epochs=2).partial_fit(X).fit(X).save(tmp_path / "m")  # fit started over
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]


def test_a_partial_fit_state_that_does_not_fit_is_refused_by_name(X, tmp_path):
    from aekit.checkpoint import load_checkpoint, save_checkpoint

    Autoencoder(**SMALL).partial_fit(X).save(tmp_path / "small")
    Autoencoder(**{**SMALL, "hidden_layer_sizes": (8,)}).partial_fit(X).save(tmp_path / "other")
    state, meta = load_checkpoint(tmp_path / "other", "partial_fit.safetensors")  # Adam's moments of another net
    save_checkpoint(tmp_path / "small", state, meta, name="partial_fit.safetensors")
    file = tmp_path / "small" / "partial_fit.safetensors"
    with pytest.raises(ValueError, match=rf"^{re.escape(str(file))} does not fit the model it was saved with \(.*"
                                         r"\); delete it to continue partial_fit with a fresh optimiser\.$"):
        load(tmp_path / "small")
    file.write_bytes(file.read_bytes()[:100])  # truncated
    with pytest.raises(ValueError, match=re.escape(str(file))):
        load(tmp_path / "small")
    file.unlink()  # as the message says: a fresh optimiser, the weights kept
    assert load(tmp_path / "small").partial_fit(X).n_iter_ == 2


def test_partial_fit_continues_from_fit_and_from_load(X, tmp_path):
    fitted = Autoencoder(**SMALL, max_epochs=10).fit(X)
    fresh = Autoencoder(**SMALL).partial_fit(X)
    before = fitted.loss_curve_[:]
    fitted.partial_fit(X)
    assert fitted.loss_curve_[:-1] == before and fitted.n_iter_ == len(before) + 1
    assert fitted.loss_curve_[-1] < 0.8 * fresh.loss_curve_[0]  # it started from the trained weights
    fitted.save(tmp_path / "m")
    loaded = load(tmp_path / "m").partial_fit(X)
    assert loaded.loss_curve_[-1] < 0.8 * fresh.loss_curve_[0]


def test_fit_after_partial_fit_starts_over(X):
    ae = Autoencoder(**SMALL, max_epochs=2).partial_fit(X).partial_fit(X)
    ae.fit(X)
    again = Autoencoder(**SMALL, max_epochs=2).fit(X)
    np.testing.assert_array_equal(ae.transform(X), again.transform(X))
    assert "_partial_state" not in vars(ae)


@pytest.mark.parametrize("cls", [SparseAutoencoder, DenoisingAutoencoder])
def test_partial_fit_in_the_variants(cls, X):
    ae = cls(**SMALL)
    ae.partial_fit(X[:200])
    ae.partial_fit(X[200:])
    assert ae.n_iter_ == 2 and ae.transform(X).shape == (400, 4)


def test_partial_fit_streams_a_memory_map(X, tmp_path):
    np.save(tmp_path / "x.npy", X)
    ae = Autoencoder(**SMALL).partial_fit(np.load(tmp_path / "x.npy", mmap_mode="r"))
    same = Autoencoder(**SMALL).partial_fit(X)
    np.testing.assert_allclose(ae.transform(X), same.transform(X), atol=1e-6)


def test_partial_fit_refusals(X):
    assert not hasattr(AutoencoderImputer(), "partial_fit")  # its fit scales and masks: train it with fit
    ae = Autoencoder(**SMALL).partial_fit(X)
    with pytest.raises(ValueError, match="X has 10 features, but Autoencoder is expecting 64 features"):
        ae.partial_fit(X[:, :10])
    ae.set_params(n_components=3)
    with pytest.raises(ValueError, match="no longer describe its fitted network.*partial_fit"):
        ae.partial_fit(X)
    # hasattr is False; the traceback gives the reason (available_if chains it)
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
        Autoencoder(**SMALL, pretraining="denoising").partial_fit(X)
    assert "partial_fit is not available with pretraining='denoising'" in str(info.value.__cause__)
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
        AutoencoderImputer().partial_fit(X)
    assert "AutoencoderImputer has no partial_fit: it trains with fit" in str(info.value.__cause__)


def test_warm_start_trains_the_fitted_network_further(X):
    cold = Autoencoder(**SMALL, max_epochs=3)
    cold.fit(X)
    first = cold.loss_curve_[0]
    cold.fit(X)  # warm_start=False: the same fit again
    assert cold.loss_curve_[0] == first
    warm = clone(cold).set_params(warm_start=True).fit(X)
    np.testing.assert_array_equal(warm.transform(X), cold.transform(X))  # nothing to warm-start from yet
    warm.fit(X)
    assert warm.loss_curve_[0] < 0.8 * first
    assert -warm.score(X) < -cold.score(X)


def test_warm_start_refuses_another_network_or_feature_count(X):
    ae = Autoencoder(**SMALL, max_epochs=2, warm_start=True).fit(X)
    with pytest.raises(ValueError, match="X has 10 features, but Autoencoder is expecting 64"):
        ae.fit(X[:, :10])
    ae.set_params(hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match="no longer describe its fitted network.*warm_start=False to start over"):
        ae.fit(X)
    ae.set_params(hidden_layer_sizes=(16,), warm_start=False)
    assert ae.fit(X[:, :10]).n_features_in_ == 10  # a cold fit takes any data


def test_warm_start_on_the_imputer_keeps_training(X):
    rng = np.random.default_rng(0)
    X_missing = np.where(rng.random(X.shape) < 0.2, np.nan, X)
    imputer = AutoencoderImputer(**SMALL, max_epochs=3, warm_start=True).fit(X_missing)
    first = imputer.loss_curve_[0]
    imputer.fit(X_missing)
    assert imputer.loss_curve_[0] < first


def test_warm_start_on_the_imputer_keeps_its_scaling(X):
    # the imputer refitted center_ and scale_ on the new data under the trained network (a few rows of other
    # statistics moved every input), and took another scaling kind silently; Autoencoder's warm_start keeps them
    rng = np.random.default_rng(0)
    X_missing = np.where(rng.random(X.shape) < 0.2, np.nan, X)
    imputer = AutoencoderImputer(**SMALL, max_epochs=2).fit(X_missing)
    center, scale = imputer.center_.copy(), imputer.scale_.copy()
    imputer.set_params(warm_start=True, max_epochs=1).fit(X_missing[:20] * 0.5)
    np.testing.assert_array_equal(imputer.center_, center)
    np.testing.assert_array_equal(imputer.scale_, scale)
    imputer.set_params(scaling="minmax")
    with pytest.raises(ValueError, match="scaling='minmax', but the network was trained with scaling='standard'"):
        imputer.fit(X_missing)
    imputer.set_params(warm_start=False).fit(X_missing[:20] * 0.5)  # a cold fit starts over
    assert imputer.scaling_ == "minmax" and not np.array_equal(imputer.scale_, scale)


def test_warm_start_on_the_imputer_says_why_bce_data_is_out_of_range(X):
    # with the scaling kept, new data beyond the first data's range is outside [0, 1] for loss='bce': the message
    # said to scale X, which the imputer does itself
    X_missing = np.where(np.random.default_rng(0).random(X.shape) < 0.2, np.nan, X)
    imputer = AutoencoderImputer(**SMALL, max_epochs=1, loss="bce", scaling="minmax").fit(X_missing)
    with pytest.raises(ValueError, match=r"values in \[0, 2\] under the scaling='minmax' statistics fitted on the "
                                         r"first data \(warm_start keeps center_ and scale_\)"):
        imputer.set_params(warm_start=True).fit(X_missing * 2)


def test_warm_start_on_the_imputer_checks_the_data(X):
    X_missing = np.where(np.random.default_rng(0).random(X.shape) < 0.2, np.nan, X)
    imputer = AutoencoderImputer(**SMALL, max_epochs=2, warm_start=True).fit(X_missing)
    with pytest.raises(ValueError, match="X has 10 features, but AutoencoderImputer is expecting 64"):
        imputer.fit(X_missing[:, :10])


# ------------------------------------------------------------------ command line
FAST = ["--hidden-layer-sizes", "16", "--random-state", "0", "--quiet"]


@pytest.fixture
def trained(tmp_path, X):
    np.save(tmp_path / "x.npy", X)
    assert main(["train", str(tmp_path / "x.npy"), "--n-components", "4", "--max-epochs", "3", *FAST,
                 "--out", str(tmp_path / "first")]) == 0
    return tmp_path


def test_cli_warm_start_trains_a_saved_model_further(trained, X):
    assert main(["train", str(trained / "x.npy"), "--warm-start", str(trained / "first"), "--max-epochs", "3",
                 "--learning-rate", "0.001", "--quiet", "--out", str(trained / "more")]) == 0
    first, more = load(trained / "first"), load(trained / "more")
    assert more.learning_rate == 0.001 and more.n_components == 4 and more.hidden_layer_sizes == (16,)
    assert more.warm_start is False  # the saved model fits from scratch when refitted in Python
    assert -more.score(X) < -first.score(X)
    in_python = first.set_params(warm_start=True, learning_rate=0.001, max_epochs=3).fit(X)
    np.testing.assert_allclose(more.transform(X), in_python.transform(X), atol=1e-5)
    metrics = json.loads((trained / "more" / "metrics.json").read_text())
    assert metrics["warm_start_from"] == str(trained / "first") and metrics["epochs"] == 3


@pytest.mark.parametrize("flags, message", [
    (["--n-components", "3"], r"flags that shape it cannot change: --n-components \(the model has 4\)"),
    (["--loss", "bce"], r"cannot change: --loss \(the model has 'mse'\)"),
    (["--model", "sparse"], r"--model sparse but --warm-start .* holds an Autoencoder \(--model autoencoder\)"),
])
def test_cli_warm_start_refusals(trained, flags, message, capsys):
    assert main(["train", str(trained / "x.npy"), "--warm-start", str(trained / "first"), *flags, "--quiet",
                 "--out", str(trained / "more")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err)
    assert not (trained / "more").exists()


def test_cli_warm_start_on_other_data_names_the_feature_counts(trained, X, capsys):
    np.save(trained / "narrow.npy", X[:, :10])
    assert main(["train", str(trained / "narrow.npy"), "--warm-start", str(trained / "first"), "--quiet",
                 "--out", str(trained / "more")]) == 2
    assert "X has 10 features, but Autoencoder is expecting 64 features" in capsys.readouterr().err


def test_salt_and_pepper_partial_fit_uses_the_range_of_every_chunk_seen(X):
    dae = DenoisingAutoencoder(**SMALL, corruption="salt_and_pepper")
    dae.partial_fit(X[:200] * 0.5)  # values in [0, 0.5]
    assert (dae.data_min_, dae.data_max_) == (0.0, 0.5)
    dae.partial_fit(X[200:] * 0.5 + 0.5)  # [0.5, 1]: salt is 1 now, pepper still 0
    assert (dae.data_min_, dae.data_max_) == (0.0, 1.0)
    dae.fit(X[:200] * 0.5)  # a fit starts over
    assert (dae.data_min_, dae.data_max_) == (0.0, 0.5)


@pytest.mark.parametrize("scaling", ["none", "standard"])
def test_salt_and_pepper_partial_fit_after_load_keeps_the_training_range(X, tmp_path, scaling):
    # the range salt and pepper draws from was kept in memory only: a loaded model trained on with partial_fit set
    # "salt" to the new chunk's largest value (0.5 here) instead of the training data's (1.0), and so trained on
    # other noise than the model it was saved from
    dae = DenoisingAutoencoder(**SMALL, max_epochs=2, corruption="salt_and_pepper", scaling=scaling).fit(X)
    dae.save(tmp_path / "dae")
    loaded = load(tmp_path / "dae")
    np.testing.assert_array_equal(loaded.data_max_, dae.data_max_)
    for model in (dae, loaded):
        model.partial_fit(X[:100] * 0.5)
    np.testing.assert_array_equal(loaded.data_min_, dae.data_min_)
    np.testing.assert_array_equal(loaded.data_max_, dae.data_max_)
    np.testing.assert_array_equal(loaded.transform(X), dae.transform(X))


def test_cli_warm_start_refuses_another_scaling(trained, capsys):
    assert main(["train", str(trained / "x.npy"), "--warm-start", str(trained / "first"), "--scaling", "standard",
                 "--quiet", "--out", str(trained / "more")]) == 2
    err = capsys.readouterr().err
    assert "--scaling standard but " in err and "trained with scaling 'none', which --warm-start keeps" in err
    assert not (trained / "more").exists()


def test_info_says_whether_a_model_keeps_partial_fit_state(X, tmp_path, capsys):
    Autoencoder(**SMALL).partial_fit(X).save(tmp_path / "chunks")
    Autoencoder(**SMALL, max_epochs=1).fit(X).save(tmp_path / "whole")
    capsys.readouterr()
    assert main(["info", str(tmp_path / "chunks")]) == 0
    assert "partial_fit state kept (partial_fit.safetensors)" in capsys.readouterr().out
    assert main(["info", str(tmp_path / "whole"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["partial_fit_state"] is False
    assert main(["info", str(tmp_path / "chunks" / "partial_fit.safetensors")]) == 2
    assert f"is a file of a model directory; pass its directory: aekit info {tmp_path / 'chunks'}" in \
        capsys.readouterr().err
