import numpy as np
import pytest
from PIL import Image

from aekit import AutoencoderImputer, DenoisingAutoencoder
from aekit.images import (average_patches, denoise_image, extract_patches, inpaint_image, patch_positions,
                          read_image, sample_patches, write_image)



# ---------------------------------------------------------------- files
@pytest.mark.parametrize("shape", [(13, 17), (13, 17, 3)])
def test_png_round_trip_is_exact_to_8_bits(tmp_path, shape):
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    path = write_image(tmp_path / "a.png", image)
    back = read_image(path)
    assert back.shape == shape and back.dtype == np.float32
    np.testing.assert_allclose(back, image, atol=0.5 / 255 + 1e-6)


def test_jpeg_round_trip_is_close(tmp_path):
    image = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (32, 1))
    back = read_image(write_image(tmp_path / "a.jpg", image))
    assert np.abs(back - image).mean() < 0.02


def test_write_clips_and_is_atomic(tmp_path):
    path = write_image(tmp_path / "c.png", np.array([[-1.0, 2.0]]))
    np.testing.assert_array_equal(np.asarray(Image.open(path)), [[0, 255]])
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]


def test_read_modes(tmp_path):
    rgba = np.zeros((4, 5, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 10
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    image = read_image(tmp_path / "rgba.png")
    assert image.shape == (4, 5, 3)  # alpha dropped
    np.testing.assert_array_equal(image[..., 0], 1.0)
    grey = read_image(tmp_path / "rgba.png", mode="grey")
    assert grey.shape == (4, 5)
    Image.fromarray(np.full((3, 3), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    np.testing.assert_allclose(read_image(tmp_path / "deep.png"), 1.0)
    Image.fromarray(np.full((3, 3), 51, dtype=np.uint8)).save(tmp_path / "g.png")
    assert read_image(tmp_path / "g.png", mode="rgb").shape == (3, 3, 3)


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such image file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(ValueError, match="fake.png is not a readable PNG/JPEG/TIFF/BMP/WebP image"):
        read_image(tmp_path / "fake.png")
    with pytest.raises(ValueError, match=r"image files must end in one of \['.bmp', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp'\]"):
        write_image(tmp_path / "a.gif", np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\) or \(H, W, 3\)"):
        write_image(tmp_path / "a.png", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="mode must be None, 'grey' or 'rgb'"):
        read_image(tmp_path / "fake.png", mode="cmyk")


# -------------------------------------------------------------- patches
@pytest.mark.parametrize("length, size, stride", [(10, 4, 3), (11, 4, 3), (8, 8, 2), (28, 8, 1), (100, 16, 7)])
def test_patch_positions_cover_every_pixel(length, size, stride):
    starts = patch_positions(length, size, stride)
    assert starts[0] == 0 and starts[-1] == length - size
    assert np.all(np.diff(starts) <= stride) and np.all(np.diff(starts) > 0)


def test_patch_larger_than_image_is_an_error():
    with pytest.raises(ValueError, match="patch size 9 is larger than the image side 8"):
        patch_positions(8, 9, 1)


@pytest.mark.parametrize("shape", [(30, 23), (30, 23, 3), (8, 8)])
@pytest.mark.parametrize("stride", [1, 3, 8])
def test_extract_then_average_gives_the_image_back(shape, stride):
    image = np.random.default_rng(0).random(shape)
    patches, positions = extract_patches(image, (8, 8), stride)
    channels = shape[2] if len(shape) == 3 else 1
    assert patches.shape == (len(positions), 64 * channels)
    r, c = positions[-1]
    np.testing.assert_array_equal(patches[-1].reshape(8, 8, channels)[..., 0],
                                  image.reshape(*shape[:2], channels)[r:r + 8, c:c + 8, 0])
    np.testing.assert_allclose(average_patches(patches, positions, shape, (8, 8)), image, atol=1e-12)


def test_patch_functions_take_a_model_image_shape_and_refuse_bad_strides_clearly():
    # extract_patches(image, model.image_shape, 4) of a colour model failed with "too many values to unpack";
    # stride 0 with "range() arg 3 must not be zero", -2 with an IndexError, 2.5 with a TypeError
    rng = np.random.default_rng(0)
    image = rng.random((20, 30, 3))
    patches, positions = extract_patches(image, (8, 8, 3), 4)
    expected = extract_patches(image, (8, 8), 4)
    np.testing.assert_array_equal(patches, expected[0])
    np.testing.assert_allclose(average_patches(patches, positions, image.shape, (8, 8, 3)), image, atol=1e-12)
    assert sample_patches([image], (8, 8, 3), 5).shape == (5, 192)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match=r"stride must be an int >= 1; got " + repr(bad).replace(".", r"\.")):
            extract_patches(image, (8, 8), bad)
    for bad in ((8, 8, 1), (8,), (0, 8), "8x8"):
        with pytest.raises(ValueError, match=r"patch_shape must be \(ph, pw\) with sides >= 1, or \(ph, pw, 3\)"):
            extract_patches(image, bad, 4)
    with pytest.raises(ValueError, match=r"patches must have shape \(n_patches, 64\): 8x8 patches of the 1 "
                                         r"channel\(s\) of image_shape \(20, 30\); got \(28, 192\)"):
        average_patches(patches, positions, image.shape[:2], (8, 8))


def test_sample_patches():
    rng = np.random.default_rng(0)
    images = [rng.random((20, 30)), rng.random((10, 10)), rng.random((5, 5))]  # the last is too small
    P = sample_patches(images, (8, 8), 50, seed=1)
    assert P.shape == (50, 64) and P.dtype == np.float32
    np.testing.assert_array_equal(P, sample_patches(images, (8, 8), 50, seed=1))
    whole = sample_patches([images[1]], (10, 10), 3)
    np.testing.assert_allclose(whole, np.tile(images[1].reshape(1, -1), (3, 1)), rtol=1e-6)
    with pytest.raises(ValueError, match="no image is at least 8x8 pixels"):
        sample_patches([images[2]], (8, 8), 5)
    with pytest.raises(ValueError, match="the images mix grey and colour"):
        sample_patches([rng.random((9, 9)), rng.random((9, 9, 3))], (8, 8), 5)


# -------------------------------------------------- whole-image operations
class Identity:
    """A stand-in patch model whose reconstruction is its input."""

    def __init__(self, image_shape):
        self.image_shape = image_shape

    def reconstruct(self, X):
        return np.asarray(X, dtype=np.float32)


@pytest.mark.parametrize("shape, patch", [((40, 33), (8, 8)), ((40, 33, 3), (8, 8, 3)), ((5, 6), (8, 8))])
def test_denoise_image_puts_patches_back_in_place(shape, patch):
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    out = denoise_image(Identity(patch), image, stride=3)
    assert out.shape == shape and out.dtype == np.float32
    np.testing.assert_allclose(out, image, atol=1e-6)


class ColumnRamp(Identity):
    """A patch model that adds 0, 0.1, 0.2, ... along each patch's columns: not flip-invariant."""

    def reconstruct(self, X):
        ph, pw = self.image_shape[:2]
        X = np.asarray(X, dtype=np.float32)
        ramp = 0.1 * np.arange(pw, dtype=np.float32)[None, None, :, None]
        return (X.reshape(len(X), ph, pw, -1) + ramp).reshape(X.shape)


@pytest.mark.parametrize("shape", [(40, 33), (24, 24, 3), (17, 30)])
def test_denoise_image_ensemble_averages_flips_and_turns(shape):
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    patch = (8, 8) + shape[2:]
    np.testing.assert_allclose(denoise_image(Identity(patch), image, stride=3, ensemble=True), image, atol=1e-6)
    # a model biased along patch columns: one pass shows the bias as a pattern; the 8 flips and turns
    # spread it evenly (its mirror image cancels it), leaving the mean bias 0.35 nearly everywhere
    model = ColumnRamp(patch)
    plain = denoise_image(model, image, stride=3) - image
    ens = denoise_image(model, image, stride=3, ensemble=True) - image
    assert ens.shape == image.shape and ens.dtype == np.float32
    assert float(np.abs(ens - 0.35).max()) < 0.05 < float(np.abs(plain - 0.35).max())


class ZeroPaddedBlur(Identity):
    """A stand-in fully convolutional net: a 3x3 mean filter that sees zeros beyond the patch's border."""

    architecture = "fully_conv"

    def reconstruct(self, X):
        ph, pw = self.image_shape[:2]
        P = np.pad(np.asarray(X, dtype=np.float32).reshape(len(X), ph, pw, -1), [(0, 0), (1, 1), (1, 1), (0, 0)])
        out = sum(P[:, i:i + ph, j:j + pw] for i in range(3) for j in range(3)) / 9
        return out.reshape(len(X), -1)


@pytest.mark.parametrize("shape", [(40, 33), (24, 24, 3), (5, 6)])
def test_a_fully_conv_model_denoises_the_image_border_like_its_inside(shape):
    # the image's border was covered by patch borders only, where such a net sees zero padding: a flat grey
    # image came out up to 0.28 darker along its border (an image smaller than a patch sat in a patch's
    # corner); with half a patch of mirrored context around it, the border is as good as the inside (within
    # 0.04, what the patches' own borders leave everywhere)
    image = np.full(shape, 0.5, dtype=np.float32)
    out = denoise_image(ZeroPaddedBlur((8, 8) + shape[2:]), image, stride=2)
    assert out.shape == shape
    assert float(np.abs(out - 0.5).max()) < 0.05


def test_an_image_of_the_models_size_is_its_reconstruction():
    # a model of whole images (fully_conv on Fashion-MNIST) was trained on their own border, not on mirrored
    # context: denoise_image of an image of its size stays what the model makes of it
    image = np.random.default_rng(0).random((8, 8)).astype(np.float32)
    model = ZeroPaddedBlur((8, 8))
    np.testing.assert_array_equal(denoise_image(model, image), model.reconstruct(image.reshape(1, -1)).reshape(8, 8))


def test_denoise_image_errors():
    image = np.zeros((20, 20, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"image has 3 channel\(s\) \(RGB\), but the model was trained on "
                                         r"1-channel \(grey\) patches of 8x8"):
        denoise_image(Identity((8, 8)), image)
    with pytest.raises(ValueError, match="has no image_shape, so it does not know its patch size"):
        denoise_image(Identity(None), image)
    for bad in (0, 0.5, 2.7, "2", True):  # 0.5 and 2.7 used to become 0 and 2 silently
        with pytest.raises(ValueError, match=r"stride must be an int >= 1; got " + repr(bad).replace(".", r"\.")):
            denoise_image(Identity((8, 8, 3)), image, stride=bad)
    assert denoise_image(Identity((8, 8, 3)), image, stride=np.int64(3)).shape == image.shape


def test_a_stride_wider_than_a_patch_is_refused():
    # patches 8 wide every 20 pixels left the pixels between them uncovered: written as 0, black bands
    image = np.full((40, 33), 0.5, dtype=np.float32)
    for op, im in ((denoise_image, image), (inpaint_image, np.where(np.eye(40, 33, dtype=bool), np.nan, image))):
        with pytest.raises(ValueError, match=r"stride must be at most the patch side \(8\); got 20, which would "
                                             r"leave pixels that no patch covers"):
            op(Identity((8, 12)), im, stride=20)
    assert float(np.abs(denoise_image(Identity((8, 12)), image, stride=8) - 0.5).max()) < 1e-6  # a side still is


def test_an_rgba_or_empty_image_gets_an_error_that_says_what_to_do():
    # an RGBA array was "4 channel(s) (?) ... convert the image"; an empty one failed inside np.pad with
    # "can't extend empty axis 0 using modes other than 'constant' or 'empty'"
    rgba = np.zeros((20, 20, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"image has 4 channel\(s\) \(RGBA\), but the model was trained on 3-channel "
                                         r"\(RGB\) patches of 8x8; drop its alpha channel \(image\[\.\.\., :3\]\)"):
        denoise_image(Identity((8, 8, 3)), rgba)
    assert denoise_image(Identity((8, 8, 3)), rgba[..., :3]).shape == (20, 20, 3)
    with pytest.raises(ValueError, match=r"image is empty: shape \(0, 5\)"):
        denoise_image(Identity((8, 8)), np.zeros((0, 5)))
    with pytest.raises(ValueError, match=r"image is empty: shape \(5, 0, 3\)"):
        inpaint_image(Identity((8, 8, 3)), np.zeros((5, 0, 3)))


@pytest.fixture(scope="module")
def smooth_images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48] / 48.0
    return [np.clip(0.5 + 0.4 * np.sin(6 * (a * xx + b * yy) + c), 0, 1).astype(np.float32)
            for a, b, c in rng.random((6, 3))]


@pytest.mark.parametrize("kind", ["imputer", "dae"])
def test_inpaint_image_fills_holes_and_keeps_the_rest(smooth_images, kind):
    P = sample_patches(smooth_images[1:], (8, 8), 3000)
    common = dict(hidden_layer_sizes=(16,), architecture="fully_conv", image_shape=(8, 8), max_epochs=6,
                  batch_size=32, learning_rate=3e-3, random_state=0, device="cpu", corruption="masking",
                  corruption_level=0.3)
    model = (AutoencoderImputer(8, scaling="none", **common) if kind == "imputer"
             else DenoisingAutoencoder(8, **common)).fit(P)
    image = smooth_images[0].copy()
    holed = image.copy()
    holes = np.random.default_rng(1).random(image.shape) < 0.3
    holed[holes] = np.nan
    out = inpaint_image(model, holed)
    np.testing.assert_array_equal(out[~holes], image[~holes])
    assert not np.isnan(out).any()
    err = np.sqrt(np.mean((out[holes] - image[holes]) ** 2))
    err_mean_fill = np.sqrt(np.mean((np.nanmean(holed) - image[holes]) ** 2))
    assert err < 0.5 * err_mean_fill, (err, err_mean_fill)


def test_inpaint_and_impute_with_give_arrays_under_a_global_pandas_output():
    # with sklearn.set_config(transform_output="pandas") an imputer's transform gives a DataFrame: impute_with passed
    # it on (documented: an ndarray) and inpaint_image failed with AttributeError: 'DataFrame' has no 'reshape'
    pytest.importorskip("pandas")
    import sklearn

    from aekit import ImputerEnsemble
    from aekit.evaluation import evaluation_images
    from aekit.impute import impute_with

    rng = np.random.default_rng(0)
    X = rng.random((80, 16)).astype(np.float32)
    X[X > 0.9] = np.nan
    imputer = AutoencoderImputer(2, hidden_layer_sizes=(8,), image_shape=(4, 4), max_epochs=2, random_state=0).fit(X)
    ensemble = ImputerEnsemble(imputer, n_members=2, random_state=0).fit(X)
    image = np.where(np.eye(6) > 0, np.nan, 0.5)
    for model in (imputer, ensemble):
        expected = inpaint_image(model, image), impute_with(model, X)
        with sklearn.config_context(transform_output="pandas"):
            filled = impute_with(model, X)
            np.testing.assert_array_equal(inpaint_image(model, image), expected[0])
            rows = evaluation_images(model, X, n_images=3)
        assert isinstance(filled, np.ndarray)
        np.testing.assert_array_equal(filled, expected[1])
        assert all(isinstance(r, np.ndarray) for _, r in rows)


def test_inpaint_needs_missing_pixels():
    with pytest.raises(ValueError, match=r"the image has no missing pixel \(NaN\) to fill"):
        inpaint_image(Identity((8, 8)), np.zeros((10, 10)))
