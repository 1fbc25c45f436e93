"""Image files as users have them: 16-bit colour, odd modes, EXIF rotation, other formats (edge cases)."""

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from aekit.cli import main
from aekit.datasets import load_array
from aekit.images import read_image, write_image


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def png16(path, pixels):
    """Write uint16 pixels (H, W[, C]) as a 16-bit PNG, cycling through all five row filters (as encoders do)."""
    h, w = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    bpp = 2 * channels
    rows = pixels.astype(">u2").reshape(h, -1).view(np.uint8).astype(int)
    data = bytearray()
    for y in range(h):
        kind, row = y % 5, rows[y]
        prev = rows[y - 1] if y else np.zeros_like(row)
        out = []
        for x, value in enumerate(row):
            a = row[x - bpp] if x >= bpp else 0
            c = prev[x - bpp] if x >= bpp else 0
            b = prev[x]
            predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            out.append((value - predictor) % 256)
        data += bytes([kind, *out])

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(data)))
                     + chunk(b"IEND", b""))
    return path


def deep_pattern(shape, seed=0):
    """uint16 pixels whose low bytes differ everywhere: reading 8 of their bits loses them."""
    values = np.random.default_rng(seed).integers(0, 65536, shape)
    values[..., 0, 0] = 0
    return values.astype(np.uint16)


def smooth(shape, seed=0):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    a, b, c = np.random.default_rng(seed).random(3)
    image = 0.5 + 0.4 * np.sin(6 * (a * xx + b * yy) + c)
    if len(shape) == 3:
        image = np.stack([image, image[::-1], image[:, ::-1]], axis=-1)
    return image


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A grey and a colour patch denoiser (8x8, masking noise: they also inpaint), trained for seconds."""
    root = tmp_path_factory.mktemp("models")
    for name, shape, extra in (("grey", (32, 40), []), ("colour", (32, 40, 3), ["--color"])):
        (root / name).mkdir()
        write_image(root / name / "clean.png", smooth(shape))
        with torch.random.fork_rng():
            torch.set_num_threads(1)
            assert main(["train-denoiser", str(root / name), "--out", str(root / f"model_{name}"),
                         "--patch-size", "8", "--n-patches", "300", "--max-epochs", "1", "--corruption", "masking",
                         "--corruption-level", "0.3", "--random-state", "0", "--device", "cpu", "-q",
                         *extra]) == 0
    return root


# ------------------------------------------------------------------ 16-bit colour
@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_png_reads_all_16_bits(tmp_path, channels):
    deep = deep_pattern((9, 7, channels))
    image, bits = read_image(png16(tmp_path / "deep.png", deep), return_bit_depth=True)
    assert bits == 16 and image.shape == (9, 7, 3) and image.dtype == np.float32
    np.testing.assert_array_equal(np.round(image.astype(np.float64) * 65535), deep[:, :, :3])


def test_16_bit_grey_alpha_png_reads_grey_with_all_16_bits(tmp_path):
    deep = deep_pattern((6, 5, 2))
    image, bits = read_image(png16(tmp_path / "la.png", deep), return_bit_depth=True)
    assert bits == 16 and image.shape == (6, 5)
    np.testing.assert_array_equal(np.round(image.astype(np.float64) * 65535), deep[:, :, 0])


def test_16_bit_colour_read_as_grey_keeps_16_bits(tmp_path):
    deep = deep_pattern((6, 5, 3))
    grey = read_image(png16(tmp_path / "deep.png", deep), mode="grey")
    np.testing.assert_allclose(grey, deep @ np.array([0.299, 0.587, 0.114]) / 65535, atol=1e-6)


def test_16_bit_colour_tiff_reads_all_16_bits(tmp_path):
    import tifffile

    deep = deep_pattern((6, 5, 3))
    tifffile.imwrite(tmp_path / "deep.tif", deep, photometric="rgb")
    image, bits = read_image(tmp_path / "deep.tif", return_bit_depth=True)
    assert bits == 16
    np.testing.assert_array_equal(np.round(image.astype(np.float64) * 65535), deep)


def test_16_bit_colour_png_round_trip_is_exact(tmp_path):
    deep = deep_pattern((11, 13, 3))
    path = write_image(tmp_path / "out.png", deep / 65535, bit_depth=16)
    image, bits = read_image(path, return_bit_depth=True)
    assert bits == 16
    np.testing.assert_array_equal(np.round(image.astype(np.float64) * 65535), deep)
    with Image.open(path) as img:  # a PNG other readers take: Pillow sees RGB with the high bytes
        assert img.mode == "RGB" and img.size == (13, 11)
        np.testing.assert_array_equal(np.asarray(img), deep >> 8)


def test_16_bit_colour_image_folder_keeps_16_bits(tmp_path):
    (tmp_path / "imgs").mkdir()
    deep = [deep_pattern((4, 6, 3), seed) for seed in range(2)]
    for i, pixels in enumerate(deep):
        png16(tmp_path / "imgs" / f"img{i}.png", pixels)
    X, image_shape = load_array(tmp_path / "imgs")
    assert image_shape == (4, 6, 3)
    np.testing.assert_array_equal(np.round(X.astype(np.float64) * 65535), np.stack(deep).reshape(2, -1))


def test_denoise_and_inpaint_keep_16_bit_colour(models, tmp_path, capsys):
    clean = np.round(smooth((20, 24, 3), seed=3) * 65535).astype(np.uint16)
    png16(tmp_path / "photo.png", clean)
    assert main(["denoise", str(models / "model_colour"), str(tmp_path / "photo.png"), "--out",
                 str(tmp_path / "out"), "-q"]) == 0
    denoised, bits = read_image(tmp_path / "out" / "photo.png", return_bit_depth=True)
    assert bits == 16 and denoised.shape == (20, 24, 3)
    assert len(np.unique(np.round(denoised * 65535) % 257)) > 10  # not 8-bit values scaled up

    mask = np.zeros((20, 24))
    mask[8:12, 5:15] = 1.0
    write_image(tmp_path / "mask.png", mask)
    assert main(["inpaint", str(models / "model_colour"), str(tmp_path / "photo.png"), "--mask",
                 str(tmp_path / "mask.png"), "--out", str(tmp_path / "filled.png"), "-q"]) == 0
    filled, bits = read_image(tmp_path / "filled.png", return_bit_depth=True)
    assert bits == 16
    observed = mask == 0
    np.testing.assert_array_equal(np.round(filled.astype(np.float64) * 65535)[observed], clean[observed])
    assert "8 bits" not in capsys.readouterr().err


# ------------------------------------------------------------------ EXIF orientation
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_viewers_do(tmp_path, orientation):
    from PIL import ImageOps

    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(tmp_path / "photo.png", exif=exif)
    with Image.open(tmp_path / "photo.png") as img:
        shown = np.asarray(ImageOps.exif_transpose(img))
    np.testing.assert_array_equal(np.round(read_image(tmp_path / "photo.png") * 255), shown)


def test_denoise_and_inpaint_an_exif_rotated_jpeg_come_out_as_viewers_show_it(models, tmp_path):
    photo = np.round(smooth((16, 24, 3), seed=5) * 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: viewers show it turned a quarter clockwise, 24 high and 16 wide
    Image.fromarray(photo).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    with Image.open(tmp_path / "phone.jpg") as img:
        shown = np.rot90(np.asarray(img), -1)
    assert main(["denoise", str(models / "model_colour"), str(tmp_path / "phone.jpg"), "--out",
                 str(tmp_path / "out"), "-q"]) == 0
    with Image.open(tmp_path / "out" / "phone.jpg") as out:
        assert out.getexif().get(0x0112, 1) == 1 and out.size == (16, 24)
    mask = np.pad(np.ones((4, 4)), ((10, 10), (6, 6)))  # drawn on the photo as shown
    write_image(tmp_path / "mask.png", mask)
    assert main(["inpaint", str(models / "model_colour"), str(tmp_path / "phone.jpg"), "--mask",
                 str(tmp_path / "mask.png"), "--out", str(tmp_path / "filled.png"), "-q"]) == 0
    with Image.open(tmp_path / "filled.png") as out:
        filled = np.asarray(out)
    np.testing.assert_array_equal(filled[mask == 0], shown[mask == 0])  # the kept pixels, where they are shown


# ------------------------------------------------------------------ TIFF, BMP, WebP
@pytest.mark.parametrize("shape", [(6, 5), (6, 5, 3)])
def test_16_bit_tiff_round_trip_is_exact(tmp_path, shape):
    deep = deep_pattern(shape)
    path = write_image(tmp_path / "out.tif", deep / 65535, bit_depth=16)
    image, bits = read_image(path, return_bit_depth=True)
    assert bits == 16
    np.testing.assert_array_equal(np.round(image.astype(np.float64) * 65535), deep)


def test_denoise_takes_and_writes_tiff_bmp_and_webp(models, tmp_path):
    photo = np.round(smooth((12, 14, 3), seed=6) * 255).astype(np.uint8)
    (tmp_path / "in").mkdir()
    for suffix in (".bmp", ".webp"):
        Image.fromarray(photo).save(tmp_path / "in" / f"photo{suffix}")
    png16(tmp_path / "deep.png", photo.astype(np.uint16) * 257 + 1)
    write_image(tmp_path / "in" / "deep.tif", read_image(tmp_path / "deep.png"), bit_depth=16)
    assert main(["denoise", str(models / "model_colour"), str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                 "-q"]) == 0
    for name, fmt in (("photo.bmp", "BMP"), ("photo.webp", "WEBP"), ("deep.tif", "TIFF")):
        with Image.open(tmp_path / "out" / name) as out:
            assert out.format == fmt and out.size == (14, 12)
    assert read_image(tmp_path / "out" / "deep.tif", return_bit_depth=True)[1] == 16


def test_train_denoiser_reads_a_folder_of_tiff_and_bmp(tmp_path):
    (tmp_path / "clean").mkdir()
    Image.fromarray(np.round(smooth((20, 20)) * 255).astype(np.uint8)).save(tmp_path / "clean" / "a.bmp")
    write_image(tmp_path / "clean" / "b.tif", smooth((20, 24), seed=1))
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        assert main(["train-denoiser", str(tmp_path / "clean"), "--out", str(tmp_path / "model"), "--patch-size", "8",
                     "--n-patches", "50", "--max-epochs", "1", "--device", "cpu", "-q"]) == 0
    assert "2 images in" in (tmp_path / "model" / "metrics.json").read_text()


def test_float_tiff_in_0_1_is_read_as_is(tmp_path):
    import tifffile

    values = np.random.default_rng(7).random((6, 5)).astype(np.float32)  # as scientific pipelines save them
    tifffile.imwrite(tmp_path / "f.tif", values)
    image, bits = read_image(tmp_path / "f.tif", return_bit_depth=True)
    np.testing.assert_array_equal(image, values)
    assert bits == 16  # written back with the most precision a file here keeps


def test_16_bit_colour_png_falls_back_to_8_bits_if_pillow_changes(tmp_path, monkeypatch, caplog):
    from aekit.datasets import _pixels

    pixels = deep_pattern((5, 7, 3))
    png16(tmp_path / "c.png", pixels)

    def changed(path, rawmode):
        raise ValueError(f"unknown raw mode {rawmode}")

    monkeypatch.setattr(_pixels, "_decoded", changed)
    image, bits = read_image(tmp_path / "c.png", return_bit_depth=True)
    assert bits == 8 and "could not be decoded" in caplog.text
    np.testing.assert_allclose(image, (pixels >> 8) / 255.0, atol=1e-6)  # Pillow's own 8-bit reading


def test_a_grey_picture_saved_with_a_palette_is_grey(models, tmp_path):
    # a palette (mode P) PNG was read as RGB whatever its colours, so a grey model refused a grey picture
    grey = np.round(smooth((12, 14), seed=3) * 255).astype(np.uint8)
    Image.fromarray(grey, "L").convert("P").save(tmp_path / "grey_palette.png")
    image = read_image(tmp_path / "grey_palette.png")
    assert image.shape == (12, 14)
    np.testing.assert_array_equal(np.round(image * 255), grey)
    colour = np.round(smooth((12, 14, 3), seed=4) * 255).astype(np.uint8)
    Image.fromarray(colour).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(tmp_path / "colour.png")
    assert read_image(tmp_path / "colour.png").shape == (12, 14, 3)  # a colour palette stays colour
    assert main(["denoise", str(models / "model_grey"), str(tmp_path / "grey_palette.png"), "--out",
                 str(tmp_path / "out"), "-q"]) == 0
    with Image.open(tmp_path / "out" / "grey_palette.png") as out:
        assert out.mode == "L" and out.size == (14, 12)


# ---------------------------------------------------------------- transparency: read_alpha, write_image(alpha=)
@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("bit_depth", [8, 16])
def test_alpha_is_written_and_read_back(tmp_path, suffix, channels, bit_depth):
    from aekit.images import read_alpha

    if suffix == ".webp" and (bit_depth == 16 or channels is None):
        pytest.skip("WebP has 8-bit colour only (grey is read back as RGB)")
    if bit_depth == 16 and suffix == ".tif" and channels is None:
        pytest.skip("a 16-bit grey + alpha TIFF is written, but read back without its alpha")
    rng = np.random.default_rng(0)
    image = rng.random((7, 9) if channels is None else (7, 9, channels))
    alpha = np.ones((7, 9))
    alpha[2:5, 3:7] = 0.0  # a transparent hole
    alpha[0, 0] = 0.5
    path = write_image(tmp_path / f"a{suffix}", image, bit_depth=bit_depth, alpha=alpha)
    top = 65535 if bit_depth == 16 else 255
    back, bits = read_image(path, return_bit_depth=True)
    assert bits == bit_depth and back.shape == image.shape  # colour as before: alpha is read on its own
    np.testing.assert_allclose(back, np.round(image * top) / top, atol=1e-6)
    np.testing.assert_allclose(read_alpha(path), np.round(alpha * top) / top, atol=1e-6)


def test_alpha_of_opaque_and_transparent_colour_images(tmp_path):
    from aekit.images import read_alpha

    write_image(tmp_path / "opaque.png", np.zeros((4, 4, 3)))
    assert read_alpha(tmp_path / "opaque.png") is None
    write_image(tmp_path / "full.png", np.zeros((4, 4)), alpha=np.ones((4, 4)))  # an alpha channel all opaque
    assert read_alpha(tmp_path / "full.png") is None
    grey = np.full((4, 5), 100, np.uint8)
    grey[0] = 7
    Image.fromarray(grey).save(tmp_path / "trns.png", transparency=100)  # grey 100 is the transparent colour
    np.testing.assert_array_equal(read_alpha(tmp_path / "trns.png"), (grey != 100).astype(np.float32))
    Image.fromarray(grey).convert("P").save(tmp_path / "p.png", transparency=7)  # a palette entry
    assert read_alpha(tmp_path / "p.png")[0].max() == 0 and read_alpha(tmp_path / "p.png")[1:].min() == 1
    with pytest.raises(FileNotFoundError, match="no such image file"):
        read_alpha(tmp_path / "nope.png")


def test_alpha_is_dropped_with_a_warning_where_the_format_has_none(tmp_path, caplog):
    alpha = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"alpha must have the image's height and width \(4, 4\); got \(4, 3\)"):
        write_image(tmp_path / "a.png", np.zeros((4, 4)), alpha=alpha[:, :3])
    for suffix in (".jpg", ".bmp"):
        with caplog.at_level("WARNING", logger="aekit"):
            write_image(tmp_path / f"a{suffix}", np.zeros((4, 4, 3)), alpha=alpha)
        assert f"a{suffix}: its transparency is dropped" in caplog.text
        with Image.open(tmp_path / f"a{suffix}") as img:
            assert img.mode == "RGB"


def test_denoise_and_inpaint_keep_an_images_transparency(tmp_path):
    # read_image drops alpha so that a model sees colour; the outputs dropped it too, and a transparent
    # background's hidden colour (here black) became visible
    from aekit.images import read_alpha

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:24, 0:24] / 24
    grey = 0.5 + 0.3 * np.sin(5 * xx + 3 * yy)
    train = tmp_path / "train"
    train.mkdir()
    write_image(train / "t.png", grey)
    assert main(["train-denoiser", str(train), "--out", str(tmp_path / "m"), "--patch-size", "8", "--n-patches",
                 "200", "--max-epochs", "1", "--corruption", "masking", "--random-state", "0", "-q"]) == 0
    rgba = np.zeros((24, 24, 4), np.uint8)
    rgba[..., 0] = np.round(255 * np.clip(grey + 0.05 * rng.standard_normal(grey.shape), 0, 1))
    rgba[..., 3] = 255
    rgba[:, :6, 3] = 0  # a transparent band, black beneath
    Image.fromarray(rgba[..., [0, 3]], mode="LA").save(tmp_path / "in.png")
    assert main(["denoise", str(tmp_path / "m"), str(tmp_path / "in.png"), "--out", str(tmp_path / "out"),
                 "-q"]) == 0
    with Image.open(tmp_path / "out" / "in.png") as img:
        assert img.mode == "LA"
    np.testing.assert_array_equal(read_alpha(tmp_path / "out" / "in.png"), rgba[..., 3] / 255)
    mask = np.zeros((24, 24))
    mask[10:13, 10:13] = 1
    write_image(tmp_path / "mask.png", mask)
    assert main(["inpaint", str(tmp_path / "m"), str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(tmp_path / "filled.png"), "-q"]) == 0
    np.testing.assert_array_equal(read_alpha(tmp_path / "filled.png"), rgba[..., 3] / 255)
