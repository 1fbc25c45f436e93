"""VariationalAutoencoder edge cases found by a bug hunt: each test failed before its fix."""

import logging

import numpy as np
import pytest

from aekit import VariationalAutoencoder
from aekit.cli import main
from aekit.datasets import load_digits
from aekit.streaming import Batches

SMALL = dict(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def pixels():
    """Digits pixels in [0, 1]."""
    return load_digits().X_train[:300]


def _collapse_warnings(caplog):
    return [r for r in caplog.records if r.levelno == logging.WARNING and "posterior collapse" in r.getMessage()]


def test_mse_on_pixels_warns_of_posterior_collapse(pixels, caplog):
    """The default loss='mse' (unit-variance Gaussian) on [0, 1] data switched most code units off (Fashion-MNIST,
    k=20: 7 of 20 active, reconstruction error 21.7 against bce's 12.97), silently."""
    with caplog.at_level(logging.WARNING, logger="aekit"):
        VariationalAutoencoder(**SMALL).fit(pixels)
    (record,) = _collapse_warnings(caplog)
    assert "loss='bce'" in record.getMessage() and "scaling='standard'" in record.getMessage()


def test_mse_after_minmax_scaling_warns_too(caplog):
    """scaling='minmax' puts any data in [0, 1], where the unit-variance Gaussian is as wide: breast cancer (k=4,
    hidden (32,), 100 epochs) kept 0 of 4 units active (KL 0.02 nats per sample), with no warning (the check looked
    at scaling='none' only)."""
    X = np.random.default_rng(0).normal(100.0, 30.0, size=(200, 6))
    with caplog.at_level(logging.WARNING, logger="aekit"):
        VariationalAutoencoder(**{**SMALL, "scaling": "minmax"}).fit(X)
    (record,) = _collapse_warnings(caplog)
    assert "X after scaling='minmax'" in record.getMessage()


@pytest.mark.parametrize("params, scale", [({"loss": "bce"}, 1.0), ({"scaling": "standard"}, 1.0),
                                           ({"scaling": "minmax", "loss": "bce"}, 1.0), ({}, 255.0)])
def test_no_collapse_warning_where_the_likelihood_fits(pixels, caplog, params, scale):
    with caplog.at_level(logging.WARNING, logger="aekit"):
        VariationalAutoencoder(**{**SMALL, **params}).fit(pixels * scale)
    assert not _collapse_warnings(caplog)


def test_partial_fit_warns_once_not_per_chunk(pixels, caplog):
    vae = VariationalAutoencoder(**SMALL)
    with caplog.at_level(logging.WARNING, logger="aekit"):
        for chunk in np.array_split(pixels, 3):
            vae.partial_fit(chunk)
    assert len(_collapse_warnings(caplog)) == 1


def test_trains_from_an_iterable_of_batches_and_a_memory_map(pixels, tmp_path):
    """_fit handles streamed sources, but the class did not say so: a DataLoader / Batches was refused with
    'cannot train from Batches' and a memory-mapped .npy was read into memory whole."""
    vae = VariationalAutoencoder(**{**SMALL, "loss": "bce", "max_epochs": 2})
    vae.fit(Batches(lambda: iter(np.array_split(pixels, 4))))
    assert vae.n_iter_ == 2 and vae.diagnostics() == {}  # no second pass over a one-pass iterable
    np.save(tmp_path / "x.npy", pixels)
    mapped = vae.fit(np.load(tmp_path / "x.npy", mmap_mode="r"))
    in_memory = VariationalAutoencoder(**{**SMALL, "loss": "bce", "max_epochs": 2}).fit(pixels)
    assert mapped.training_negative_elbo_ == in_memory.training_negative_elbo_


@pytest.fixture(scope="module")
def model_dir(pixels, tmp_path_factory):
    path = tmp_path_factory.mktemp("vae") / "vae"
    VariationalAutoencoder(**{**SMALL, "loss": "bce"}).fit(pixels).save(path)
    return path


def test_sample_more_than_memory_holds_is_one_line(model_dir, tmp_path, capsys):
    """--n 10**13 ended in a MemoryError traceback ('Unable to allocate 146. TiB')."""
    out = tmp_path / "s.npy"
    assert main(["sample", str(model_dir), "--n", str(10**13), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "do not fit in memory; draw fewer" in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_infinite_beta_is_refused_up_front(pixels):
    """beta=inf passed validation and the fit died with 'Training diverged at epoch 1: the training loss became
    nan ... try a lower learning_rate'."""
    with pytest.raises(ValueError, match="beta must be finite; got inf"):
        VariationalAutoencoder(**{**SMALL, "beta": float("inf")}).fit(pixels)


@pytest.mark.parametrize("flags, message", [
    (["--random-state", "-1"], "--random-state must be in 0 .. 2**32 - 1; got -1"),
    (["--random-state", str(2**32)], "--random-state must be in 0 .. 2**32 - 1; got 4294967296"),
    (["--image-shape", "8", "8"], "--image-shape shapes the images of --figure; give --figure PNG too"),
])
def test_sample_flags_refused_by_name(model_dir, tmp_path, capsys, flags, message):
    # a negative seed got numpy's message, naming no flag; --image-shape without --figure was ignored silently
    assert main(["sample", str(model_dir), "--out", str(tmp_path / "s.npy"), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize("shape", [["4", "8", "2"], ["8", "8", "1", "1"], ["0", "64"], ["64"]])
def test_sample_image_shape_that_draws_no_image_is_refused_before_the_work(model_dir, tmp_path, capsys, shape):
    # 4 8 2 (two channels) wrote the .npy, then failed naming image_shape, exit 2; 8 8 1 1 said "--image-shape
    # 8 8 1 1 holds 64 values; ... makes samples of 64 features", which is no reason
    out = tmp_path / "s.npy"
    assert main(["sample", str(model_dir), "--out", str(out), "--figure", str(tmp_path / "s.png"), "-q",
                 "--image-shape", *shape]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert ("--image-shape must be H W [C] with C 1, 3 or 4 and H*W*C = 64 (the model's features); "
            f"got {' '.join(shape)}.") in err
    assert not out.exists() and not (tmp_path / "s.png").exists()


def test_sample_figure_of_non_square_features_says_to_pass_image_shape(tmp_path, capsys):
    # a model of 8x8 RGB images (192 features, not a square) said only "--figure needs image data; ... has no
    # image_shape", not that --image-shape H W C draws them
    rgb = np.random.default_rng(0).random((60, 192)).astype(np.float32)
    VariationalAutoencoder(**{**SMALL, "loss": "bce"}).fit(rgb).save(tmp_path / "m")
    argv = ["sample", str(tmp_path / "m"), "--out", str(tmp_path / "s.npy"), "--figure", str(tmp_path / "s.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pass --image-shape H W [C] with H*W*C = 192" in err
    assert not (tmp_path / "s.npy").exists()
    assert main([*argv, "--image-shape", "8", "8", "3", "-q"]) == 0 and (tmp_path / "s.png").exists()


def test_mse_on_unscaled_columns_of_other_units_warns(caplog):
    """Breast cancer unscaled with loss='mse': training KL 76,600 nats per sample and prior samples whose column
    means were 7 standard deviations off (scaling='standard': 2.9 nats, 0.03 sd), with no warning."""
    from sklearn.datasets import load_breast_cancer

    X = load_breast_cancer().data[:200]
    with caplog.at_level(logging.WARNING, logger="aekit"):
        VariationalAutoencoder(**SMALL).fit(X)
    (record,) = [r for r in caplog.records if "variance 1 for every feature" in r.getMessage()]
    assert "pass scaling='standard'" in record.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="aekit"):
        VariationalAutoencoder(**{**SMALL, "scaling": "standard"}).fit(X)
        VariationalAutoencoder(**SMALL).fit(np.random.default_rng(0).normal(size=(200, 6)))  # already unit scale
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_evaluate_reports_the_elbo_of_a_variational_model(model_dir, pixels, capsys):
    # aekit evaluate gave a VAE's reconstruction error only, not the objective it was trained on
    from aekit import load
    from aekit.evaluation import evaluate

    vae = load(model_dir)
    result = evaluate(vae, pixels, random_state=3)
    assert result["negative_elbo_per_sample"] == pytest.approx(-vae.elbo_samples(pixels, random_state=3).mean())
    assert result["kl_per_sample"] == pytest.approx(vae.kl_samples(pixels).mean())
    assert main(["evaluate", str(model_dir), "--dataset", "digits"]) == 0
    out = capsys.readouterr().out
    assert "negative ELBO per sample (nats)" in out and "KL per sample (nats)" in out


def test_evaluate_leaves_out_a_bernoulli_elbo_of_values_outside_0_1(model_dir, pixels, caplog):
    # it reported a "negative ELBO" of data x 16 as if it were a likelihood bound (negative nats)
    from aekit import load
    from aekit.evaluation import evaluate

    vae = load(model_dir)
    assert vae.loss == "bce"
    with caplog.at_level(logging.WARNING, logger="aekit"):
        result = evaluate(vae, pixels * 16)
    assert "negative_elbo_per_sample" not in result
    assert result["kl_per_sample"] == pytest.approx(vae.kl_samples(pixels * 16).mean())
    (record,) = [r for r in caplog.records if "no negative ELBO" in r.getMessage()]
    assert "values in [0, 16]" in record.getMessage()


def test_gaussian_encoder_net_builds_its_log_variance_head_beside_the_mean_head():
    # the log-variance head was always a float32 CPU layer: a float64 (or GPU) base failed at the first forward
    import torch

    from aekit.nets import MLPAutoencoder
    from aekit.variational import GaussianEncoderNet

    net = GaussianEncoderNet(MLPAutoencoder(6, (4,), 2).double())
    assert net.logvar.weight.dtype == torch.float64
    code, z = net.encode_train(torch.zeros(3, 6, dtype=torch.float64), torch.Generator().manual_seed(0))
    assert code.shape == (3, 4) and net(torch.zeros(3, 6, dtype=torch.float64)).dtype == torch.float64
