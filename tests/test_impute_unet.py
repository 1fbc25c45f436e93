import numpy as np
import pytest
import torch
from sklearn.impute import SimpleImputer

from aekit import AutoencoderImputer, load
from aekit.observed import ObservedInputNet
from aekit.metrics import rmse_on_mask
from aekit.unet import UNet



@pytest.mark.parametrize("shape", [(28, 28), (25, 25, 3), (8, 6, 2)])
def test_unet_keeps_the_image_shape(shape):
    net = UNet(shape, channels=(4, 8, 8))
    n = int(np.prod(shape))
    assert net(torch.zeros(2, n)).shape == (2, n)


def test_unet_output_depends_on_far_away_pixels():
    # the coarsest stage sees the whole image: a change in one corner moves the opposite corner's output
    torch.manual_seed(0)
    net = UNet((16, 16), channels=(4, 8, 8)).eval()
    x = torch.zeros(1, 256)
    y = x.clone()
    y[0, 0] = 5.0
    assert net(x)[0, 255] != net(y)[0, 255]


def test_unet_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"image_shape must be \(H, W\) or \(H, W, C\); got \(4,\)"):
        UNet((4,))
    with pytest.raises(ValueError, match=r"channels must hold at least one stage width; got \(\)"):
        UNet((8, 8), channels=())


def blobs(n, rng):
    """8x8 images: one bright 4x4 square at a random place on a dim background, (n, 64) in [0, 1]."""
    X = np.full((n, 8, 8), 0.1)
    for i, (r, c) in enumerate(rng.integers(0, 5, size=(n, 2))):
        X[i, r:r + 4, c:c + 4] = 0.9
    return X.reshape(n, 64)


def test_unet_imputer_fills_holes_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    X = blobs(400, rng)
    holes = rng.random(X.shape) < 0.4
    X_missing = np.where(holes, np.nan, X)
    imp = AutoencoderImputer(architecture="unet", hidden_layer_sizes=(8, 16), image_shape=(8, 8), mask_input=True,
                             max_epochs=15,
                             batch_size=32, learning_rate=3e-3, random_state=0, device="cpu").fit(X_missing)
    assert isinstance(imp.net_, ObservedInputNet) and isinstance(imp.net_.net, UNet)
    out = imp.transform(X_missing)
    np.testing.assert_array_equal(out[~holes], X[~holes])
    ours = rmse_on_mask(X, out, holes)
    mean = rmse_on_mask(X, SimpleImputer().fit_transform(X_missing), holes)
    assert ours < 0.6 * mean, (ours, mean)
    imp.save(tmp_path / "m")
    np.testing.assert_array_equal(load(tmp_path / "m").transform(X_missing), out)


def test_unet_needs_mask_input_and_an_image_shape():
    X = np.random.default_rng(0).random((20, 16))
    with pytest.raises(ValueError, match="architecture='unet' needs mask_input=True"):
        AutoencoderImputer(architecture="unet", image_shape=(4, 4), mask_input=False, max_epochs=1).fit(X)
    with pytest.raises(ValueError, match="architecture='unet' needs image_shape"):
        AutoencoderImputer(architecture="unet", mask_input=True, max_epochs=1).fit(X)
