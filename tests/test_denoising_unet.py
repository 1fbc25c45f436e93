"""DenoisingAutoencoder(architecture="unet"): the residual U-Net denoiser (aekit.unet.UNetDenoiser)."""
import numpy as np
import pytest
import torch

from aekit import Autoencoder, DenoisingAutoencoder, load
from aekit.cli import main
from aekit.images import denoise_image, write_image
from aekit.metrics import psnr
from aekit.unet import UNetDenoiser

SMALL = dict(architecture="unet", hidden_layer_sizes=(8, 16), image_shape=(8, 8), corruption_level=0.1,
             batch_size=16, learning_rate=3e-3, lr_schedule="cosine", random_state=0, device="cpu")


def smooth_patches(n, rng, size=8):
    """Random smooth waves in [0.1, 0.9]: easy to tell from white noise."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    a, b, c = rng.random((3, n, 1, 1))
    X = 0.5 + 0.4 * np.sin(3 * (a * xx + b * yy) + 6 * c)
    return X.reshape(n, -1).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    X = smooth_patches(2000, np.random.default_rng(0))
    return DenoisingAutoencoder(max_epochs=6, **SMALL).fit(X)


def test_denoiser_starts_as_the_identity_and_its_code_is_the_input():
    net = UNetDenoiser((8, 8), channels=(4, 8))
    with torch.no_grad():
        net.unet.out.conv.weight.zero_()
        net.unet.out.conv.bias.zero_()
    x = torch.rand(3, 64)
    assert torch.equal(net.encode(x), x) and net.code_size == 64
    assert torch.equal(net(x), x)  # residual: input minus a zero noise estimate
    net.residual = False
    assert torch.equal(net(x), torch.zeros_like(x))


def test_unet_denoises_better_than_the_noisy_input(fitted):
    clean = smooth_patches(200, np.random.default_rng(1))
    noisy = clean + 0.1 * np.random.default_rng(2).standard_normal(clean.shape).astype(np.float32)
    assert psnr(clean, fitted.denoise(noisy)) > psnr(clean, noisy) + 1.5
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]


def test_transform_is_the_input_and_inverse_transform_denoises(fitted):
    X = smooth_patches(5, np.random.default_rng(3))
    np.testing.assert_array_equal(fitted.transform(X), X)
    np.testing.assert_allclose(fitted.inverse_transform(X), fitted.denoise(X), atol=1e-6)


def test_save_load_round_trip_is_exact(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert back.architecture == "unet" and back.net_.residual
    X = smooth_patches(20, np.random.default_rng(4))
    np.testing.assert_array_equal(back.denoise(X), fitted.denoise(X))


def test_denoise_image_with_a_unet_of_any_size(fitted):
    image = smooth_patches(1, np.random.default_rng(5), size=19).reshape(19, 19)
    out = denoise_image(fitted, image, stride=2, ensemble=True)
    assert out.shape == (19, 19) and psnr(image.reshape(1, -1), out.reshape(1, -1)) > 25


def test_unet_needs_a_linear_output_and_only_denoisers_have_it():
    X = smooth_patches(40, np.random.default_rng(6))
    with pytest.raises(ValueError, match="architecture='unet' subtracts the predicted noise"):
        DenoisingAutoencoder(loss="bce", max_epochs=1, **SMALL).fit(X)
    with pytest.raises(ValueError, match="architecture='unet' subtracts the predicted noise"):
        DenoisingAutoencoder(output_activation="sigmoid", max_epochs=1, **SMALL).fit(X)
    with pytest.raises(ValueError, match="needs image_shape"):
        DenoisingAutoencoder(architecture="unet", max_epochs=1).fit(X)
    with pytest.raises(ValueError, match="architecture must be one of"):
        Autoencoder(architecture="unet", image_shape=(8, 8), hidden_layer_sizes=(8,), max_epochs=1).fit(X)


def test_cli_train_denoiser_architecture_unet(tmp_path, capsys):
    rng = np.random.default_rng(7)
    (tmp_path / "clean").mkdir()
    for i in range(2):
        write_image(tmp_path / "clean" / f"c{i}.png", smooth_patches(1, rng, size=32).reshape(32, 32))
    assert main(["train-denoiser", str(tmp_path / "clean"), "--out", str(tmp_path / "m"), "--patch-size", "8",
                 "--n-patches", "300", "--architecture", "unet", "--hidden-layer-sizes", "4", "8",
                 "--max-epochs", "2", "--random-state", "0", "--device", "cpu", "-q"]) == 0
    model = load(tmp_path / "m")
    assert model.architecture == "unet" and isinstance(model.net_, UNetDenoiser)
    assert main(["info", str(tmp_path / "m")]) == 0
    assert "64 features -> no code (a U-Net" in capsys.readouterr().out
