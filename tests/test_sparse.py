"""SparseAutoencoder: each penalty does what it should, the estimator contract, errors, persistence, CLI."""

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import Autoencoder, SparseAutoencoder, load
from aekit.cli import main
from aekit.datasets import load_digits
from aekit.metrics import code_statistics
from aekit.sparse import encoder_filters

FAST = dict(max_epochs=3, batch_size=16, random_state=0, device="cpu")


@parametrize_with_checks([
    SparseAutoencoder(n_components=4, sparsity="l1", **FAST),
    # k=1: some checks refit with n_components=1, and k may not exceed it
    SparseAutoencoder(n_components=4, sparsity="topk", k=1, **FAST),
    SparseAutoencoder(n_components=4, sparsity="kl", **FAST),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def digits_small(digits):
    return digits.X_train[:600]


def _fit(X, **params):
    defaults = dict(n_components=48, max_epochs=15, learning_rate=1e-2, batch_size=64, random_state=0,
                    device="cpu", validation_fraction=0.0)
    return SparseAutoencoder(**{**defaults, **params}).fit(X)


def test_l1_penalty_lowers_mean_abs_code(digits_small):
    off = _fit(digits_small, sparsity="l1", sparsity_weight=0.0)
    on = _fit(digits_small, sparsity="l1", sparsity_weight=3e-3)
    # same data and seed, only lambda differs
    assert on.mean_abs_code_ < 0.5 * off.mean_abs_code_, (on.mean_abs_code_, off.mean_abs_code_)
    assert on.active_fraction_ < off.active_fraction_
    # the decoder cannot undo the penalty by growing: each code unit's column has unit norm
    Z = np.eye(48, dtype=np.float32)
    atoms = on.inverse_transform(Z) - on.inverse_transform(np.zeros((1, 48), np.float32))
    np.testing.assert_allclose(np.linalg.norm(atoms, axis=1), 1.0, rtol=1e-4)


@pytest.mark.parametrize("k", [1, 5])
def test_topk_codes_have_at_most_k_nonzeros(digits, k):
    sae = _fit(digits.X_train[:300], sparsity="topk", k=k, max_epochs=5)
    for X in (digits.X_train, digits.X_test):
        H = sae.transform(X)
        assert (np.count_nonzero(H, axis=1) <= k).all()
    assert sae.active_fraction_ <= k / 48 + 1e-9


def test_topk_identity_code_keeps_exactly_k(digits_small):
    sae = _fit(digits_small, sparsity="topk", k=3, code_activation="identity", max_epochs=3)
    assert (np.count_nonzero(sae.transform(digits_small), axis=1) == 3).all()


def test_kl_drives_mean_activation_toward_target(digits_small):
    rho = 0.05
    off = _fit(digits_small, sparsity="kl", sparsity_weight=0.0, sparsity_target=rho)
    on = _fit(digits_small, sparsity="kl", sparsity_weight=0.05, sparsity_target=rho)
    H = on.transform(digits_small)
    assert H.min() > 0 and H.max() < 1  # sigmoid codes
    assert abs(on.mean_activation_ - rho) < 0.03, on.mean_activation_
    assert abs(on.mean_activation_ - rho) < 0.25 * abs(off.mean_activation_ - rho)


@pytest.mark.parametrize("sparsity", ["l1", "kl", "topk"])
def test_overcomplete_codes(digits_small, sparsity):
    # 128 code units for 64 pixels
    sae = _fit(digits_small, sparsity=sparsity, n_components=128, k=10, max_epochs=2)
    assert sae.transform(digits_small[:7]).shape == (7, 128)
    assert sae.inverse_transform(sae.transform(digits_small[:7])).shape == (7, 64)


def test_diagnostics_match_training_codes(digits_small):
    sae = _fit(digits_small, sparsity="l1", sparsity_weight=1e-3, max_epochs=5)
    stats = code_statistics(sae.transform(digits_small), threshold=sae.activity_threshold_)
    assert sae.diagnostics() == {
        "active_fraction": stats["active_fraction"], "dead_units": stats["dead_units"],
        "dead_fraction": stats["dead_fraction"], "mean_abs_code": stats["mean_abs"],
        "mean_activation": stats["mean_activation"],
    }
    assert isinstance(sae.dead_units_, int) and 0 <= sae.dead_units_ <= 48
    assert sae.activity_threshold_ == 1e-6
    assert _fit(digits_small, sparsity="kl", max_epochs=1, sparsity_target=0.1).activity_threshold_ == 0.1


def test_kl_codes_count_units_active_above_the_target_rate(digits_small):
    # KL codes start at (and are held near) the target mean rho = 0.05, far below 0.5: the old 'active means
    # h > 0.5' rule called every unit dead after a few epochs, though every unit responds to the input
    sae = _fit(digits_small, sparsity="kl", sparsity_weight=1e-3, loss="bce", max_epochs=1)
    H = sae.transform(digits_small)
    assert H.max() < 0.5 and H.std(axis=0).min() > 1e-3  # no unit above 0.5, none constant
    assert sae.activity_threshold_ == sae.sparsity_target
    assert sae.dead_units_ == 0 and 0.0 < sae.active_fraction_ < 1.0
    # a unit shut off (its sigmoid stuck near 0 on every sample) is dead
    code_layer = [m for m in sae.net_.encoder if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        code_layer.bias[:3] = -30.0
    sae._set_diagnostics(digits_small)
    assert sae.dead_units_ == 3


def test_input_is_centred_on_training_mean(digits_small):
    sae = _fit(digits_small, max_epochs=1)
    np.testing.assert_allclose(sae.net_.encoder[0].offset.numpy(), digits_small.mean(axis=0), atol=1e-6)
    # shallow by default: the filters are the code units' encoder weights
    assert encoder_filters(sae).shape == (48, 64)
    deep = _fit(digits_small, hidden_layer_sizes=(32,), max_epochs=1)
    assert encoder_filters(deep).shape == (32, 64)


def test_encoder_filters_of_a_variational_model_and_a_clear_refusal(digits_small, tmp_path, capsys):
    # a VAE's network (GaussianEncoderNet) keeps its encoder under .base and its code layer as the mean head:
    # encoder_filters, and aekit features --figures on a VAE model, failed with AttributeError 'encoder'
    from aekit import AutoencoderImputer, VariationalAutoencoder

    fast = dict(loss="bce", max_epochs=1, random_state=0, device="cpu")
    deep = VariationalAutoencoder(n_components=4, hidden_layer_sizes=(16,), **fast).fit(digits_small)
    np.testing.assert_array_equal(encoder_filters(deep), deep.net_.base.encoder[0].weight.detach().numpy())
    shallow = VariationalAutoencoder(n_components=4, hidden_layer_sizes=(), **fast).fit(digits_small)
    np.testing.assert_array_equal(encoder_filters(shallow), shallow.net_.mu.weight.detach().numpy())
    deep.save(tmp_path / "vae")
    assert main(["features", str(tmp_path / "vae"), "--dataset", "digits", "--out", str(tmp_path / "f.npy"),
                 "--figures", str(tmp_path / "figs"), "--quiet"]) == 0
    assert (tmp_path / "figs" / "filters.png").is_file()
    # a network whose first layer does not read the n_features inputs alone (value and "seen" flag): a clear error
    X = np.where(digits_small > 0.9, np.nan, digits_small)
    seen = AutoencoderImputer(4, hidden_layer_sizes=(8,), mask_input=True, max_epochs=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="AutoencoderImputer has no linear encoder layer over its 64 inputs"):
        encoder_filters(seen)


def test_pipeline_features_for_a_classifier(digits):
    pipe = make_pipeline(
        SparseAutoencoder(n_components=128, sparsity="l1", sparsity_weight=1e-3, max_epochs=15,
                          learning_rate=1e-2, batch_size=128, random_state=0, device="cpu"),
        LogisticRegression(max_iter=2000),
    )
    pipe.fit(digits.X_train, digits.y_train)
    accuracy = pipe.score(digits.X_test, digits.y_test)
    assert accuracy > 0.93, accuracy  # raw pixels give 0.96; chance is 0.1


@pytest.mark.parametrize("params, message", [
    (dict(sparsity_weight=-0.1), r"sparsity_weight must be >= 0; got -0.1"),
    (dict(sparsity="kl", sparsity_target=0.0), r"sparsity_target must be > 0; got 0.0"),
    (dict(sparsity="kl", sparsity_target=1.0), r"sparsity_target must be < 1; got 1.0"),
    (dict(sparsity="kl", sparsity_target=-0.5), r"sparsity_target must be > 0"),
    (dict(sparsity="topk", k=0), r"k must be >= 1; got 0"),
    (dict(sparsity="topk", k=9, n_components=8), r"k must be <= n_components \(8\) for sparsity='topk'; got k=9\.$"),
    (dict(sparsity="topk", n_components=8), r"; got k=25 \(the default: set k too\)\.$"),  # the user set no k
    (dict(sparsity="kl", code_activation="relu"), r"sparsity='kl' needs codes in \(0, 1\): code_activation"),
    (dict(sparsity="kl", code_activation="identity"), r"code_activation must be 'sigmoid'"),
    (dict(sparsity="l2"), r"sparsity must be one of \{'l1', 'kl', 'topk'\}; got 'l2'"),
    (dict(code_activation="tanh"), r"code_activation must be one of"),
])
def test_bad_parameters_raise_value_error(params, message):
    X = np.random.default_rng(0).random((20, 5))
    with pytest.raises(ValueError, match=message):
        SparseAutoencoder(**{**FAST, **params}).fit(X)


def test_k_above_n_components_is_fine_without_topk():
    X = np.random.default_rng(0).random((20, 5))
    sae = SparseAutoencoder(n_components=4, k=25, sparsity="l1", **{**FAST, "max_epochs": 1}).fit(X)
    assert sae.transform(X).shape == (20, 4) and sae.k == 25  # k is ignored, and kept as given


@pytest.mark.parametrize("params", [
    dict(sparsity="kl", pretraining="denoising"),  # a shallow net: no hidden layer, only the sigmoid code
    dict(sparsity="kl", hidden_layer_sizes=(16,), pretraining="denoising"),
    dict(sparsity="l1", activation="sigmoid", pretraining="rbm"),  # a ReLU code under sigmoid hidden units
    dict(sparsity="l1", activation="tanh", pretraining="denoising"),
])
def test_pretraining_with_a_code_activation_unlike_the_hidden_one(digits_small, params):
    # the code activation counted as a hidden layer's: "activation='relu', but the net's hidden layers use
    # 'relu'", or 'sigmoid' for a net without hidden layers, refused each of these
    sae = _fit(digits_small, n_components=16, max_epochs=1, **params)
    assert sae.n_iter_ == 1 and np.isfinite(sae.transform(digits_small)).all()


@pytest.mark.parametrize("sparsity", ["l1", "kl", "topk"])
def test_save_load_round_trip(tmp_path, digits_small, sparsity):
    sae = _fit(digits_small, sparsity=sparsity, k=4, max_epochs=2)
    sae.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert type(back) is SparseAutoencoder and back.get_params() == sae.get_params()
    np.testing.assert_array_equal(back.transform(digits_small), sae.transform(digits_small))
    np.testing.assert_array_equal(back.reconstruct(digits_small), sae.reconstruct(digits_small))
    assert back.diagnostics() == sae.diagnostics()
    assert back.activity_threshold_ == sae.activity_threshold_


def test_cli_train_sparse_records_diagnostics(tmp_path, capsys):
    model = tmp_path / "m"
    code = main(["train", "--dataset", "digits", "--model", "sparse", "--sparsity", "topk", "--k", "5",
                 "--n-components", "32", "--max-epochs", "2", "--random-state", "0", "--out", str(model)])
    assert code == 0
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["active_fraction"] <= 5 / 32 + 1e-9 and "dead_units" in metrics
    assert "units active per sample" in capsys.readouterr().err  # the diagnostics are printed
    est = load(model)
    assert isinstance(est, SparseAutoencoder) and est.k == 5 and est.hidden_layer_sizes == ()


@pytest.mark.parametrize("argv, message", [
    (["--k", "5"],
     "--k applies to --sparsity topk, not l1 (it would be ignored); use --sparsity topk, or leave --k out."),
    (["--sparsity", "kl", "--k", "5"], "--k applies to --sparsity topk, not kl (it would be ignored)"),
    (["--sparsity-target", "0.1"], "--sparsity-target applies to --sparsity kl, not l1 (it would be ignored)"),
    (["--sparsity", "topk", "--k", "4", "--sparsity-weight", "0.1"],
     "--sparsity-weight applies to --sparsity l1 or kl, not topk (it would be ignored)"),
])
def test_cli_train_refuses_a_sparsity_flag_its_sparsity_ignores(tmp_path, capsys, argv, message):
    # `--model sparse --k 100` without --sparsity topk trained an L1 model with k unused, and said nothing
    model = tmp_path / "m"
    code = main(["train", "--dataset", "digits", "--model", "sparse", "--n-components", "16", "--max-epochs", "1",
                 "--out", str(model), "-q", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err
    assert not model.exists()


def test_cli_warm_start_refuses_a_sparsity_flag_the_model_ignores(tmp_path, capsys):
    model = tmp_path / "m"
    assert main(["train", "--dataset", "digits", "--model", "sparse", "--n-components", "16", "--max-epochs", "1",
                 "--out", str(model), "-q"]) == 0
    argv = ["train", "--dataset", "digits", "--warm-start", str(model), "--max-epochs", "1", "-q"]
    assert main([*argv, "--k", "5", "--out", str(tmp_path / "m2")]) == 2
    assert "--k applies to --sparsity topk, not l1 (it would be ignored)" in capsys.readouterr().err
    # the model's own sparsity counts, not --sparsity's default: a top-k model takes --k
    assert main(["train", "--dataset", "digits", "--model", "sparse", "--sparsity", "topk", "--k", "4",
                 "--n-components", "16", "--max-epochs", "1", "--out", str(tmp_path / "t"), "-q"]) == 0
    assert main(["train", "--dataset", "digits", "--warm-start", str(tmp_path / "t"), "--max-epochs", "1", "-q",
                 "--sparsity-weight", "0.1", "--out", str(tmp_path / "t2")]) == 2
    assert "--sparsity-weight applies to --sparsity l1 or kl, not topk" in capsys.readouterr().err


def test_cli_features_writes_codes_and_figures(tmp_path, digits_small, capsys):
    sae = _fit(digits_small, sparsity="topk", k=4, max_epochs=2)
    sae.save(tmp_path / "m")
    out, figs = tmp_path / "codes.npy", tmp_path / "figs"
    argv = ["features", str(tmp_path / "m"), "--dataset", "digits", "--out", str(out), "--figures", str(figs)]
    assert main(argv) == 0
    H = np.load(out)
    np.testing.assert_array_equal(H, sae.transform(load_digits().X_test))
    printed = capsys.readouterr().out
    stats = code_statistics(H)
    assert f"active units per sample: {stats['active_fraction']:.1%}" in printed
    assert f"dead units (active on no sample): {stats['dead_units']} of 48" in printed
    for name in ("filters.png", "activations.png"):
        assert (figs / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # outputs are not overwritten without --overwrite
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(argv + ["--overwrite"]) == 0


def test_cli_features_of_a_plain_autoencoder_on_a_file(tmp_path, capsys):
    X = np.random.default_rng(0).random((30, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    ae = Autoencoder(n_components=3, hidden_layer_sizes=(), max_epochs=2, random_state=0, device="cpu").fit(X)
    ae.save(tmp_path / "m")
    out = tmp_path / "f.npy"
    assert main(["features", str(tmp_path / "m"), str(tmp_path / "x.npy"), "--out", str(out), "--quiet",
                 "--figures", str(tmp_path / "figs"), "--image-shape", "2", "3"]) == 0
    np.testing.assert_array_equal(np.load(out), ae.transform(X))
    assert (tmp_path / "figs" / "filters.png").exists()


def test_cli_features_draws_the_weights_of_constant_pixels_as_0(tmp_path, monkeypatch):
    # digits' corner pixels are 0 in every image: their weights never move from the random initialisation, and
    # drawn black and white they read as learnt features
    import aekit.plotting

    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    X[:, 2] = 0.5
    np.save(tmp_path / "x.npy", X)
    ae = Autoencoder(n_components=3, hidden_layer_sizes=(), max_epochs=2, random_state=0, device="cpu").fit(X)
    ae.save(tmp_path / "m")
    drawn = {}
    real = aekit.plotting.filter_grid

    def spy(W, image_shape, **kwargs):
        drawn.update(W=np.array(W), title=kwargs.get("title"))
        return real(W, image_shape, **kwargs)

    monkeypatch.setattr(aekit.plotting, "filter_grid", spy)
    assert main(["features", str(tmp_path / "m"), str(tmp_path / "x.npy"), "--out", str(tmp_path / "f.npy"),
                 "--quiet", "--figures", str(tmp_path / "figs"), "--image-shape", "2", "3"]) == 0
    W = ae.net_.encoder[0].weight.detach().numpy()
    assert np.abs(W[:, 2]).min() > 0 and (drawn["W"][:, 2] == 0).all()
    np.testing.assert_array_equal(np.delete(drawn["W"], 2, axis=1), np.delete(W, 2, axis=1))
    assert drawn["title"].endswith("; 1 pixel constant in the data drawn as 0")


@pytest.mark.parametrize("extra, message", [
    (["--out", "{tmp}/codes.txt"], "--out must end in .npy"),
    (["--out", "{tmp}/c.npy", "--figures", "{tmp}/figs", "--image-shape", "4", "4"], "--image-shape must be H W"),
    # without --figures, --image-shape (even one that fits no image of the data) was ignored silently
    (["--out", "{tmp}/c.npy", "--image-shape", "3", "3"],
     "--image-shape shapes the filter grid of --figures; give --figures DIR too"),
])
def test_cli_features_bad_input(tmp_path, digits_small, capsys, extra, message):
    _fit(digits_small, max_epochs=1).save(tmp_path / "m")
    argv = ["features", str(tmp_path / "m"), "--dataset", "digits", "--quiet"]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "c.npy").exists() and not (tmp_path / "codes.txt").exists()


def test_cli_help_lists_sparse_flags(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for flag in ("--sparsity", "--sparsity-weight", "--sparsity-target", "--k ", "--code-activation"):
        assert flag in text, flag
    assert torch.get_num_threads() >= 1


def test_interrupted_and_resumed_fit_is_bit_identical(tmp_path, monkeypatch, digits_small):
    # l1: the variant with the most extra state (input offset buffer, unit-norm decoder layer)
    import os
    import signal

    from aekit.checkpoint import TrainingInterrupted
    from aekit.training import Trainer

    kw = dict(n_components=16, sparsity="l1", max_epochs=4, batch_size=64, random_state=0, device="cpu")
    reference = SparseAutoencoder(**kw).fit(digits_small)
    original = Trainer._early_stopping

    def early_stopping(self, value, keep_best):  # a real SIGINT at the end of epoch 2
        if self.epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, value, keep_best)

    monkeypatch.setattr(Trainer, "_early_stopping", early_stopping)
    with pytest.raises(TrainingInterrupted):
        SparseAutoencoder(**kw).fit(digits_small, checkpoint_dir=tmp_path)
    monkeypatch.setattr(Trainer, "_early_stopping", original)
    resumed = SparseAutoencoder(**kw).fit(digits_small, checkpoint_dir=tmp_path, resume=True)
    for key, value in reference.net_.state_dict().items():
        assert torch.equal(value, resumed.net_.state_dict()[key]), key
    assert resumed.diagnostics() == reference.diagnostics()


def test_sigmoid_output_starts_at_the_training_mean(digits_small):
    # the decoder's output bias starts at logit(mean) (a learning rate of 1e-12 keeps it): sigmoid(bias) is the mean
    X = digits_small[:100]
    sae = SparseAutoencoder(n_components=8, loss="bce", learning_rate=1e-12, max_epochs=1, validation_fraction=0.0,
                            random_state=0).fit(X)
    bias = sae.net_.decoder[-1].bias.detach().double()
    expected = np.clip(X.mean(axis=0, dtype=np.float64), 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(torch.sigmoid(bias).numpy(), expected, atol=1e-6)
