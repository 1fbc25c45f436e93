"""Edge cases of sparse autoencoders found by using them as a researcher would (features for another task)."""

import numpy as np
import pytest

from aekit import SparseAutoencoder
from aekit.cli import main
from aekit.datasets import load_digits

FAST = dict(max_epochs=1, batch_size=64, random_state=0, device="cpu", validation_fraction=0.0)


@pytest.fixture(scope="module")
def digits_small():
    return load_digits().X_train[:300]


@pytest.fixture
def model_12(tmp_path):
    """A saved sparse model on 12 features (no image shape of its own)."""
    X = np.random.default_rng(0).random((60, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    SparseAutoencoder(n_components=5, sparsity="topk", k=2, **FAST).fit(X).save(tmp_path / "m")
    return tmp_path


def test_features_refuses_image_shape_with_unplottable_channels_before_writing(model_12, capsys):
    # 3 2 2 has the model's 12 values, but filters can only be drawn grey (C=1) or RGB (C=3): refused up
    # front, not after the codes and the histogram were written (which left a rerun facing "exists")
    tmp = model_12
    argv = ["features", str(tmp / "m"), str(tmp / "x.npy"), "--out", str(tmp / "c.npy"), "--quiet",
            "--figures", str(tmp / "figs"), "--image-shape", "3", "2", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--image-shape" in err and "got 3 2 2" in err, err
    assert not (tmp / "c.npy").exists() and not (tmp / "figs").exists()


def test_features_of_rgba_data_skip_the_filter_figure(tmp_path, capsys):
    # the data's own (H, W, 4) shape (RGBA images) cannot be drawn as filters: no filter figure, the rest works
    X = np.random.default_rng(0).random((40, 2, 2, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    SparseAutoencoder(n_components=5, **FAST).fit(X.reshape(40, -1)).save(tmp_path / "m")
    argv = ["features", str(tmp_path / "m"), str(tmp_path / "x.npy"), "--out", str(tmp_path / "c.npy"),
            "--figures", str(tmp_path / "figs")]
    assert main(argv) == 0
    assert "no filter figure" in capsys.readouterr().err
    assert (tmp_path / "c.npy").exists() and (tmp_path / "figs" / "activations.png").exists()
    assert not (tmp_path / "figs" / "filters.png").exists()


@pytest.mark.parametrize("architecture", ["conv", "fully_conv"])
def test_convolutional_architecture_is_refused_clearly(digits_small, architecture):
    # the input centring, the KL bias start and the unit-norm decoder columns are built on an MLP; a conv
    # net used to crash inside fit with "AttributeError: '_Upsample' object has no attribute 'bias'"
    sae = SparseAutoencoder(n_components=8, architecture=architecture, image_shape=(8, 8), hidden_layer_sizes=(4,),
                            **FAST)
    with pytest.raises(ValueError, match=rf"architecture must be 'mlp' .*; got architecture='{architecture}'"):
        sae.fit(digits_small)


def test_cli_train_sparse_conv_is_a_one_line_error(tmp_path, capsys):
    argv = ["train", "--dataset", "digits", "--model", "sparse", "--architecture", "conv", "--hidden-layer-sizes",
            "4", "--max-epochs", "1", "--out", str(tmp_path / "m"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "architecture must be 'mlp'" in err, err


def test_pretrained_first_layer_sees_the_raw_input_it_was_trained_on(digits_small, monkeypatch):
    # greedy pretraining learns the first layer on raw x, but the sparse net feeds it x - mean: the mean
    # must be folded into its bias, or every pretrained unit starts shifted by W @ mean
    import aekit._fitting

    captured = []

    def recording_pretrain(net, X, method, **kw):
        layers = pretrain(net, X, method, **kw)
        captured.append(layers)
        return layers

    pretrain = aekit._fitting.pretrain
    monkeypatch.setattr(aekit._fitting, "pretrain", recording_pretrain)
    # learning_rate 1e-9: fine-tuning leaves the pretrained weights as they are (Adam moves each by ~lr)
    sae = SparseAutoencoder(n_components=8, hidden_layer_sizes=(16,), pretraining="denoising", max_epochs=1,
                            learning_rate=1e-9, batch_size=64, random_state=0, device="cpu").fit(digits_small)
    first = captured[0][0]
    expected = np.maximum(digits_small @ first.weight.numpy().T + first.hidden_bias.numpy(), 0)  # (n, 16)
    hidden = sae._apply(sae.net_.encoder[:3], digits_small)  # shift, first Linear, ReLU
    np.testing.assert_allclose(hidden, expected, atol=1e-4)


def test_topk_sigmoid_codes_count_every_kept_unit_as_active(digits_small):
    # top-k codes are exactly 0 off the k kept units, so a kept sigmoid value of 0.3 is active; the 0.5
    # threshold of plain sigmoid codes (never exactly 0) reported fewer than k active units per sample
    sae = SparseAutoencoder(n_components=16, sparsity="topk", k=4, code_activation="sigmoid", **FAST).fit(digits_small)
    H = sae.transform(digits_small)
    assert ((H > 0) & (H < 0.5)).any()  # the case in question: kept units below 0.5
    assert sae.activity_threshold_ == 1e-6
    assert sae.active_fraction_ == pytest.approx(np.mean(np.abs(H) > 1e-6)) == pytest.approx(4 / 16)


def test_diverged_refit_measures_the_weights_it_keeps():
    # a refit that diverged kept the weights from before the diverging epoch, but diagnostics() still described the
    # previous fit's network
    from aekit.metrics import code_statistics
    from aekit.training import TrainingDivergedError

    X = np.random.default_rng(0).random((200, 12)).astype(np.float32)
    est = SparseAutoencoder(n_components=16, max_epochs=1, random_state=0).fit(X)
    before = est.diagnostics()
    est.set_params(optimizer="sgd", learning_rate=1e10, max_epochs=20)
    with pytest.raises(TrainingDivergedError):
        est.fit(X)
    stats = code_statistics(est.transform(X), threshold=est.activity_threshold_)
    assert est.diagnostics()["active_fraction"] == pytest.approx(stats["active_fraction"])
    assert est.diagnostics()["mean_abs_code"] == pytest.approx(stats["mean_abs"])
    assert est.diagnostics() != before
