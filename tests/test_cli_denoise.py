import json

import numpy as np
import pytest
import torch

from aekit import load
from aekit.cli import main
from aekit.images import read_image, write_image



def smooth(rng, shape):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    a, b, c = rng.random(3)
    image = 0.5 + 0.4 * np.sin(6 * (a * xx + b * yy) + c)
    if len(shape) == 3:
        image = np.stack([image, image[::-1], image[:, ::-1]], axis=-1)
    return np.clip(image, 0, 1)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Clean training PNGs, a trained grey patch denoiser (masking noise, so it also inpaints)."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    (root / "clean").mkdir()
    for i in range(3):
        write_image(root / "clean" / f"c{i}.png", smooth(rng, (40, 48)))
    write_image(root / "clean" / "skip.txt.png", smooth(rng, (20, 20)))
    (root / "clean" / "._c0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # macOS metadata: left out
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        code = main(["train-denoiser", str(root / "clean"), "--out", str(root / "model"), "--patch-size", "8",
                     "--n-patches", "1500", "--max-epochs", "4", "--corruption", "masking",
                     "--corruption-level", "0.3", "--random-state", "0", "--device", "cpu", "-q"])
    assert code == 0
    return root


def test_train_denoiser_writes_a_model_with_metrics(workdir):
    model = load(workdir / "model")
    assert model.image_shape == (8, 8) and model.architecture == "fully_conv"
    assert model.corruption == "masking" and model.corruption_level == 0.3
    metrics = json.loads((workdir / "model" / "metrics.json").read_text())
    assert metrics["psnr_denoised"] > metrics["psnr_noisy"]
    assert (workdir / "model" / "loss_curve.png").is_file()


def test_denoise_writes_one_file_per_input_and_never_overwrites(workdir, tmp_path, capsys):
    rng = np.random.default_rng(1)
    clean = smooth(rng, (37, 29))
    noisy = clean.copy()
    noisy[rng.random(clean.shape) < 0.3] = 0.0
    write_image(tmp_path / "noisy.png", noisy)
    (tmp_path / "folder").mkdir()
    write_image(tmp_path / "folder" / "other.jpg", noisy[:20, :20])
    (tmp_path / "folder" / "._other.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # macOS metadata
    out = tmp_path / "out"
    args = ["denoise", str(workdir / "model"), str(tmp_path / "noisy.png"), str(tmp_path / "folder"),
            "--out", str(out), "-q"]
    assert main(args) == 0
    result = read_image(out / "noisy.png")
    assert result.shape == clean.shape
    assert read_image(out / "other.jpg").shape == (20, 20)
    assert sorted(f.name for f in out.iterdir()) == ["noisy.png", "other.jpg"]
    assert np.abs(result - clean).mean() < np.abs(noisy - clean).mean()
    before = (out / "noisy.png").read_bytes()
    assert main(args) == 2
    assert "exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert (out / "noisy.png").read_bytes() == before
    assert main(args + ["--overwrite"]) == 0


def test_denoise_rejects_an_image_whose_channels_do_not_match(workdir, tmp_path, capsys):
    write_image(tmp_path / "grey.png", np.zeros((16, 16)))
    write_image(tmp_path / "rgb.png", smooth(np.random.default_rng(2), (16, 16, 3)))
    code = main(["denoise", str(workdir / "model"), str(tmp_path / "grey.png"), str(tmp_path / "rgb.png"),
                 "--out", str(tmp_path / "out"), "-q"])
    assert code == 2
    assert "rgb.png has 3 channel(s) (RGB), but the model was trained on 1-channel (grey)" in capsys.readouterr().err
    assert not (tmp_path / "out" / "grey.png").exists()  # nothing written on error


def test_denoise_missing_input(workdir, tmp_path, capsys):
    assert main(["denoise", str(workdir / "model"), str(tmp_path / "nope.png"), "--out", str(tmp_path)]) == 2
    assert "no such image file or folder" in capsys.readouterr().err


@pytest.fixture
def holed(tmp_path):
    rng = np.random.default_rng(3)
    image = smooth(rng, (30, 26))
    mask = np.zeros(image.shape)
    mask[10:14, 5:20] = 1.0
    mask[rng.random(image.shape) < 0.1] = 1.0
    write_image(tmp_path / "image.png", image)
    write_image(tmp_path / "mask.png", mask)
    return tmp_path, image, mask.astype(bool)


def test_inpaint_fills_masked_pixels_only(workdir, holed, capsys):
    folder, image, mask = holed
    out = folder / "filled.png"
    code = main(["inpaint", str(workdir / "model"), str(folder / "image.png"), "--mask", str(folder / "mask.png"),
                 "--out", str(out), "-q"])
    assert code == 0
    result = read_image(out)
    original = read_image(folder / "image.png")
    np.testing.assert_array_equal(result[~mask], original[~mask])
    # a tiny model trained for seconds: far better than the black holes, at least
    assert np.abs(result[mask] - image[mask]).mean() < 0.5 * np.abs(image[mask]).mean()
    assert main(["inpaint", str(workdir / "model"), str(folder / "image.png"), "--mask", str(folder / "mask.png"),
                 "--out", str(out), "-q"]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err


def test_inpaint_mask_errors(workdir, holed, capsys):
    folder, image, _ = holed
    write_image(folder / "small.png", np.ones((10, 10)))
    write_image(folder / "empty.png", np.zeros(image.shape))
    base = ["inpaint", str(workdir / "model"), str(folder / "image.png"), "--out", str(folder / "o.png")]
    assert main(base + ["--mask", str(folder / "small.png")]) == 2
    assert "is 10x10 pixels but" in capsys.readouterr().err
    assert main(base + ["--mask", str(folder / "empty.png")]) == 2
    assert "marks no pixel as missing" in capsys.readouterr().err
    assert not (folder / "o.png").exists()


def test_inpaint_refuses_a_mask_of_every_pixel_and_warns_of_an_inverted_one(workdir, holed, capsys):
    # an all-white mask wrote the model's guess from nothing as the "filled" image, exit status 0; an inverted
    # mask (black = missing, as some tools draw it) kept only the holes and filled the rest, silently
    folder, image, mask = holed
    write_image(folder / "all.png", np.ones(image.shape))
    write_image(folder / "inverted.png", ~mask)
    base = ["inpaint", str(workdir / "model"), str(folder / "image.png"), "--out", str(folder / "o.png")]
    assert main(base + ["--mask", str(folder / "all.png")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"aekit inpaint: error: --mask {folder / 'all.png'} marks every pixel as missing, which leaves nothing to "
        "fill from (white = missing; an inverted mask?).")
    assert not (folder / "o.png").exists()
    assert main(base + ["--mask", str(folder / "inverted.png")]) == 0
    share = round(100 * (~mask).mean())
    assert (f"--mask {folder / 'inverted.png'} marks {share}% of the pixels as missing (white = missing; an "
            "inverted mask?)") in capsys.readouterr().err


def test_inpaint_refuses_a_model_that_never_learnt_to_fill_holes(workdir, holed, capsys):
    # a gaussian denoiser (or a plain autoencoder) gives back the zeros put into the holes: aekit inpaint wrote
    # a moon photograph with its holes near-black, 16 times the error of filling them with their mean
    from aekit import Autoencoder

    folder, image, _ = holed
    gaussian = folder / "gaussian"
    assert main(["train-denoiser", str(workdir / "clean"), "--out", str(gaussian), "--patch-size", "8",
                 "--n-patches", "100", "--max-epochs", "1", "--random-state", "0", "--device", "cpu", "-q"]) == 0
    Autoencoder(2, architecture="fully_conv", hidden_layer_sizes=(4,), image_shape=(8, 8), max_epochs=1,
                random_state=0).fit(np.random.default_rng(0).random((20, 64))).save(folder / "plain")
    for model, how in ((gaussian, "a DenoisingAutoencoder trained with gaussian noise"),
                       (folder / "plain", "an Autoencoder trained without masking noise")):  # was "a Autoencoder"
        out = folder / "never.png"
        assert main(["inpaint", str(model), str(folder / "image.png"), "--mask", str(folder / "mask.png"),
                     "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f"aekit inpaint: error: {model} holds {how}, which never learnt to fill holes; aekit "
                       "inpaint needs an imputer (aekit train-denoiser --model imputer) or a denoiser trained with "
                       "--corruption masking.")
        assert not out.exists()


def test_a_stride_wider_than_the_models_patches_is_refused(workdir, holed, capsys):
    # --stride 100 with 8x8 patches wrote 90 % of a photograph's pixels black, exit status 0
    folder, _, _ = holed
    for out, command in ((folder / "d", ["denoise", str(workdir / "model"), str(folder / "image.png")]),
                         (folder / "i.png", ["inpaint", str(workdir / "model"), str(folder / "image.png"),
                                             "--mask", str(folder / "mask.png")])):
        assert main(command + ["--out", str(out), "--stride", "9"]) == 2
        assert capsys.readouterr().err.strip() == (
            f"aekit {command[0]}: error: --stride must be at most the model's patch side (8); got 9, which would "
            "leave pixels that no patch covers.")
        assert not out.exists()
        assert main(command + ["--out", str(out), "--stride", "8", "-q"]) == 0


def test_train_denoiser_input_errors(tmp_path, capsys):
    assert main(["train-denoiser", "--out", str(tmp_path / "m")]) == 2
    assert "give either DIR" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train-denoiser", str(tmp_path / "empty"), "--out", str(tmp_path / "m")]) == 2
    assert "holds no PNG/JPEG/TIFF/BMP/WebP image" in capsys.readouterr().err
    assert main(["train-denoiser", str(tmp_path / "empty"), "--out", str(tmp_path / "m"), "--image-shape", "8",
                 "8"]) == 2
    assert "use --patch-size instead" in capsys.readouterr().err
    assert main(["train-denoiser", str(tmp_path / "empty"), "--out", str(tmp_path / "m"),
                 "--corruption-level", "2", "--corruption", "masking"]) == 2


def test_train_denoiser_on_a_dataset(tmp_path):
    code = main(["train-denoiser", "--dataset", "digits", "--out", str(tmp_path / "m"), "--n-patches", "300",
                 "--max-epochs", "1", "--hidden-layer-sizes", "4", "--device", "cpu", "-q"])
    assert code == 0
    model = load(tmp_path / "m")
    assert model.image_shape == (8, 8)


def test_train_denoiser_imputer_practises_on_the_given_hole(tmp_path, capsys):
    hole = np.zeros((8, 8))
    hole[2:6, 2:6] = 1.0
    write_image(tmp_path / "hole.png", hole)
    base = ["train-denoiser", "--dataset", "digits", "--model", "imputer", "--corruption", "pattern",
            "--corruption-level", "1", "--n-patches", "600", "--hidden-layer-sizes", "32", "--mask-input",
            "--scaling", "none", "--device", "cpu", "-q"]
    assert main(base + ["--max-epochs", "15", "--practice-mask", str(tmp_path / "hole.png"),
                        "--out", str(tmp_path / "m")]) == 0
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["practice_mask"] == str(tmp_path / "hole.png")
    assert metrics["psnr_denoised"] > metrics["psnr_noisy"] + 3, metrics  # the hole is filled, not left black
    model = load(tmp_path / "m")
    digits = np.random.default_rng(0).random((5, 64))
    digits[:, hole.reshape(-1) > 0] = np.nan
    assert not np.isnan(model.transform(digits)).any()
    # errors: pattern noise without a hole on clean images, a mask of the wrong size, a mask without the pattern
    assert main(base + ["--out", str(tmp_path / "m2")]) == 2
    assert "clean training images have none: give --practice-mask" in capsys.readouterr().err
    write_image(tmp_path / "big.png", np.ones((9, 9)))
    assert main(base + ["--practice-mask", str(tmp_path / "big.png"), "--out", str(tmp_path / "m2")]) == 2
    assert "is 9x9 pixels but the patches are 8x8" in capsys.readouterr().err
    assert main(["train-denoiser", "--dataset", "digits", "--practice-mask", str(tmp_path / "hole.png"),
                 "--out", str(tmp_path / "m2")]) == 2
    assert "--practice-mask needs --model imputer --corruption pattern" in capsys.readouterr().err
    assert not (tmp_path / "m2").exists()


def test_denoise_ensemble_flag_writes_the_ensemble_average(workdir, tmp_path):
    """--ensemble gives what denoise_image(..., ensemble=True) gives, and still removes noise."""
    from aekit.images import denoise_image

    rng = np.random.default_rng(2)
    clean = smooth(rng, (24, 30))
    noisy = clean.copy()
    noisy[rng.random(clean.shape) < 0.3] = 0.0
    write_image(tmp_path / "n.png", noisy)
    assert main(["denoise", str(workdir / "model"), str(tmp_path / "n.png"), "--out", str(tmp_path / "o"),
                 "--ensemble", "-q"]) == 0
    result = read_image(tmp_path / "o" / "n.png")
    expected = np.clip(denoise_image(load(workdir / "model"), read_image(tmp_path / "n.png"), ensemble=True), 0, 1)
    assert np.abs(result - expected).max() <= 1 / 255 + 1e-6  # 8-bit PNG rounding
    assert np.abs(result - clean).mean() < np.abs(noisy - clean).mean()


def test_16_bit_grey_pngs_stay_16_bit(workdir, tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(4)
    clean = smooth(rng, (30, 26))
    # values 8-bit cannot hold: each 16-bit step a 257th of an 8-bit one
    deep = np.round(clean * 65535).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "scan.png")
    image, bits = read_image(tmp_path / "scan.png", return_bit_depth=True)
    assert bits == 16 and image.dtype == np.float32
    np.testing.assert_allclose(image, deep / 65535, atol=1e-7)
    assert main(["denoise", str(workdir / "model"), str(tmp_path / "scan.png"), "--out", str(tmp_path / "out"),
                 "-q"]) == 0
    with Image.open(tmp_path / "out" / "scan.png") as out:
        assert out.mode == "I;16"
        values = np.asarray(out)
    assert len(np.unique(values % 257)) > 10  # not 8-bit values scaled up

    mask = np.zeros(clean.shape)
    mask[10:14, 5:20] = 1.0
    write_image(tmp_path / "mask.png", mask)
    for suffix, mode in ((".png", "I;16"), (".jpg", "L")):  # JPEG: 8 bits, and says so
        out = tmp_path / f"filled{suffix}"
        assert main(["inpaint", str(workdir / "model"), str(tmp_path / "scan.png"), "--mask",
                     str(tmp_path / "mask.png"), "--out", str(out)]) == 0
        with Image.open(out) as result:
            assert result.mode == mode
    assert "written with 8 bits per channel" in capsys.readouterr().err
    with Image.open(tmp_path / "filled.png") as result:
        filled = np.asarray(result)
    np.testing.assert_array_equal(filled[mask == 0], deep[mask == 0])  # the observed pixels, all 16 bits


def test_write_image_bit_depth_errors(tmp_path):
    with pytest.raises(ValueError, match=r"bit_depth=16 is for PNG and TIFF images; got g.jpg \(write a .png, or bit_depth=8\)"):
        write_image(tmp_path / "g.jpg", np.zeros((2, 2)), bit_depth=16)
    with pytest.raises(ValueError, match="bit_depth must be 8 or 16; got 12"):
        write_image(tmp_path / "g.png", np.zeros((2, 2)), bit_depth=12)
    assert not list(tmp_path.iterdir())


def test_held_out_psnr_is_finite_when_the_noise_leaves_a_patch_unchanged():
    # masking a black patch changes nothing: its PSNR is infinite, and train-denoiser reported
    # "held-out PSNR inf dB noisy" for the mean
    from aekit import DenoisingAutoencoder
    from aekit.cli._denoise import _held_out_psnr

    X = np.random.default_rng(0).random((40, 16), dtype=np.float32)
    X[:3] = 0.0  # black patches
    model = DenoisingAutoencoder(n_components=4, hidden_layer_sizes=(8,), corruption="masking",
                                 corruption_level=0.25, max_epochs=2, random_state=0).fit(X)
    result = _held_out_psnr(model, X)
    assert np.isfinite(result["psnr_noisy"]) and np.isfinite(result["psnr_denoised"])
    assert result["n_unchanged_by_noise"] == 3 and result["n_held_out"] == 40


def test_train_denoiser_names_the_images_smaller_than_a_patch(tmp_path, capsys):
    # sample_patches skips them: they were counted among the training images ("3 images in ...") without a word
    rng = np.random.default_rng(0)
    (tmp_path / "clean").mkdir()
    for name, shape in (("a.png", (20, 20)), ("b.png", (24, 20)), ("tiny.png", (5, 30))):
        write_image(tmp_path / "clean" / name, smooth(rng, shape))
    code = main(["train-denoiser", str(tmp_path / "clean"), "--out", str(tmp_path / "m"), "--patch-size", "8",
                 "--n-patches", "200", "--max-epochs", "1", "--hidden-layer-sizes", "4", "--device", "cpu", "-q"])
    assert code == 0
    assert "1 of the 3 images in" in capsys.readouterr().err
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["data"].startswith("2 images in ")


@pytest.mark.parametrize("command", [["reconstruct", "--out", "{tmp}/r.npy"], ["encode", "--out", "{tmp}/e.npy"],
                                     ["evaluate"], ["errors", "--out", "{tmp}/e.npy"],
                                     ["features", "--out", "{tmp}/f.npy"]])
def test_a_patch_model_given_whole_images_says_it_takes_patches(workdir, tmp_path, capsys, command):
    # they stopped at scikit-learn's "X has 480 features, but DenoisingAutoencoder is expecting 64 features",
    # which did not say that the model takes 8x8 patches nor what would cut the images into them
    (tmp_path / "photos").mkdir()
    for i in range(2):
        write_image(tmp_path / "photos" / f"p{i}.png", smooth(np.random.default_rng(i), (20, 24)))
    name, *rest = command
    code = main([name, str(workdir / "model"), str(tmp_path / "photos"), *(a.format(tmp=tmp_path) for a in rest)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'photos'} holds 20x24 images, but {workdir / 'model'} takes 8x8 ones" in err
    assert "aekit denoise or aekit inpaint" in err and "features" not in err.split("error:")[1].split(";")[0]
