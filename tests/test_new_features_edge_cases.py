"""Edge cases of the contractive autoencoder, anomaly scores and partial_fit, as their users meet them."""

import numpy as np
import pytest
import torch

from aekit import DenoisingAutoencoder

SMALL = dict(n_components=3, hidden_layer_sizes=(8,), random_state=0, device="cpu", batch_size=32)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).random((120, 16)).astype(np.float32)


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
