"""Findings of walking the README's sections as a new user (scaling, partial_fit/warm_start, anomaly detection)."""

import numpy as np
import pytest
from sklearn.datasets import load_wine

from aekit.cli import main

FAST = ["--hidden-layer-sizes", "8", "--n-components", "3", "--max-epochs", "2", "--random-state", "0", "--quiet"]


def test_warm_start_on_unscaled_columns_does_not_advise_a_refused_flag(tmp_path, capsys):
    # The hint for columns in different units was "pass --scaling standard", which --warm-start then refuses.
    np.save(tmp_path / "wine.npy", load_wine().data.astype(np.float32))
    assert main(["train", str(tmp_path / "wine.npy"), *FAST, "--out", str(tmp_path / "first")]) == 0
    capsys.readouterr()
    assert main(["train", str(tmp_path / "wine.npy"), "--warm-start", str(tmp_path / "first"), "--quiet",
                 "--out", str(tmp_path / "more")]) == 0
    err = capsys.readouterr().err  # the command line logs to stderr
    assert "the columns' standard deviations range from" in err
    assert "pass --scaling standard" not in err
    assert "train a new model with --scaling standard" in err


def test_jacobian_norms_refuses_a_unet_which_has_no_code():
    # "for any aekit model with a code": a U-Net's encode is the identity, so the norm was n_features, silently.
    from aekit import DenoisingAutoencoder
    from aekit.contractive import jacobian_norms

    X = np.random.default_rng(0).random((40, 16)).astype(np.float32)
    unet = DenoisingAutoencoder(architecture="unet", image_shape=(4, 4), max_epochs=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="U-Net .* has no code"):
        jacobian_norms(unet, X[:3])
