"""Edge cases of the contractive autoencoder, anomaly scores and partial_fit, as their users meet them."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from aekit import AutoencoderImputer, DenoisingAutoencoder
from aekit.cli import main
from aekit.contractive import ContractiveAutoencoder, jacobian_norms

SMALL = dict(n_components=3, hidden_layer_sizes=(8,), random_state=0, device="cpu", batch_size=32)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).random((120, 16)).astype(np.float32)


@pytest.fixture(scope="module")
def cae(X):
    return ContractiveAutoencoder(**SMALL, max_epochs=2, contraction_weight=0.01).fit(X)


def test_partial_fit_continues_after_the_device_changed(X):
    # partial_fit on a GPU, then set_params(device="cpu") (or a pickle opened on another machine): the noise
    # generator's saved state is a CUDA (Philox, 16 bytes) state, which a CPU generator cannot take
    ae = DenoisingAutoencoder(**SMALL).partial_fit(X)
    ae._partial_state["noise_generator"] = torch.zeros(16, dtype=torch.uint8)  # what a CUDA generator saves
    ae.partial_fit(X)
    assert ae.n_iter_ == 2 and np.isfinite(ae.loss_curve_).all()
    again = DenoisingAutoencoder(**SMALL).partial_fit(X)
    again._partial_state["noise_generator"] = torch.zeros(16, dtype=torch.uint8)
    np.testing.assert_array_equal(again.partial_fit(X).transform(X), ae.transform(X))  # still seeded


def test_jacobian_norms_refuse_nan_in_a_memory_map_beyond_its_first_rows(cae, X, tmp_path):
    bad = X.copy()
    bad[50, 3] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match="NaN or infinity"):
        jacobian_norms(cae, np.load(tmp_path / "bad.npy", mmap_mode="r"), batch_size=16)
    np.save(tmp_path / "x.npy", X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "NumPy array is not writable" on every memory map
        on_disk = jacobian_norms(cae, np.load(tmp_path / "x.npy", mmap_mode="r"), batch_size=16)
    np.testing.assert_array_equal(on_disk, jacobian_norms(cae, X))


def test_jacobian_norms_batch_size_must_be_positive(cae, X):
    with pytest.raises(ValueError, match="batch_size must be >= 1; got 0"):
        jacobian_norms(cae, X, batch_size=0)


def test_the_imputer_says_why_it_has_no_score_samples(X):
    imputer = AutoencoderImputer(**SMALL, max_epochs=1, max_iter=1).fit(X)
    assert not hasattr(imputer, "score_samples")
    with pytest.raises(AttributeError, match="scored on hidden entries"):
        imputer.score_samples(X)
    with pytest.raises(AttributeError, match="fills values, it does not encode"):
        imputer.inverse_transform(X[:, :3])


def test_cli_errors_warns_that_a_u_net_has_no_bottleneck(X, tmp_path, capsys):
    unet = DenoisingAutoencoder(n_components=2, hidden_layer_sizes=(4,), architecture="unet", image_shape=(4, 4),
                                max_epochs=1, random_state=0, device="cpu").fit(X)
    unet.save(tmp_path / "m")
    np.save(tmp_path / "x.npy", X)
    assert main(["errors", str(tmp_path / "m"), str(tmp_path / "x.npy"), "--out", str(tmp_path / "e.npy"),
                 "--quiet"]) == 0
    assert "no bottleneck" in capsys.readouterr().err
    assert np.load(tmp_path / "e.npy").shape == (X.shape[0],)


def test_anomaly_benchmark_bolds_only_the_best_mean():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from anomaly import format_table
    finally:
        sys.path.pop(0)
    rows = [dict(normal_class=0, pca_auc=0.9, autoencoder_auc=0.8, isolation_forest_auc=0.7, autoencoder_epochs=5)]
    assert format_table(rows, ["zero"], "t").splitlines()[-1] == "| mean | **0.900** | 0.800 | 0.700 | |"
