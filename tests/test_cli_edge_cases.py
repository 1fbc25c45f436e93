"""The command line as users hit it: awkward inputs, models passed to commands that do not suit them.

Each test is a defect found by trying the CLI on real data (scikit-learn's digits and
breast-cancer tables, scikit-image photographs); models are built in Python, tiny.
"""

import json
import warnings

import numpy as np
import pytest
from PIL import Image

from aekit import (Autoencoder, AutoencoderImputer, DenoisingAutoencoder, ImputerEnsemble, SparseAutoencoder,
                   load)
from aekit.cli import main

TINY = {"max_epochs": 2, "batch_size": 64, "random_state": 0}


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    return (load_digits().data[:200] / 16).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory, digits):
    """Data files and saved models of every kind, made once."""
    root = tmp_path_factory.mktemp("edge")
    paths = {"flat": root / "digits.npy", "images": root / "digits3d.npy"}
    np.save(paths["flat"], digits)
    np.save(paths["images"], digits.reshape(-1, 8, 8))
    models = {
        "imputer": AutoencoderImputer(4, hidden_layer_sizes=(16,), **TINY),
        "ensemble": ImputerEnsemble(AutoencoderImputer(4, hidden_layer_sizes=(16,), **TINY), n_members=2,
                                    random_state=0),
        "unet": DenoisingAutoencoder(architecture="unet", hidden_layer_sizes=(4,), image_shape=(8, 8), **TINY),
        "fully_conv": Autoencoder(2, architecture="fully_conv", hidden_layer_sizes=(4,), image_shape=(8, 8),
                                  **TINY),
        "conv": Autoencoder(2, architecture="conv", hidden_layer_sizes=(4,), image_shape=(8, 8), **TINY),
        "sparse": SparseAutoencoder(16, **TINY),
    }
    for name, model in models.items():
        paths[name] = root / name
        model.fit(digits).save(paths[name])
    return paths


def _one_line_error(capsys, command):
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"aekit {command}: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------- models that do not suit the command
@pytest.mark.parametrize("model", ["imputer", "ensemble"])
def test_features_refuses_an_imputer(files, tmp_path, capsys, model):
    # an imputer's transform fills holes: `features` wrote the input table back as "codes"
    out = tmp_path / "codes.npy"
    assert main(["features", str(files[model]), str(files["flat"]), "--out", str(out), "-q"]) == 2
    assert "aekit impute" in _one_line_error(capsys, "features")
    assert not out.exists()


@pytest.mark.parametrize("command", ["encode", "features"])
def test_encode_and_features_refuse_a_unet(files, tmp_path, capsys, command):
    # a U-Net has no code (its transform returns the input): the input was written as codes
    out = tmp_path / "codes.npy"
    assert main([command, str(files["unet"]), str(files["images"]), "--out", str(out), "-q"]) == 2
    assert "U-Net" in _one_line_error(capsys, command)
    assert not out.exists()


def test_encode_on_an_ensemble_points_to_impute(files, tmp_path, capsys):
    out = tmp_path / "codes.npy"
    assert main(["encode", str(files["ensemble"]), str(files["flat"]), "--out", str(out), "-q"]) == 2
    assert "aekit impute" in _one_line_error(capsys, "encode")


@pytest.mark.parametrize("model", ["conv", "fully_conv"])
def test_features_figures_of_a_conv_model(files, tmp_path, capsys, model):
    # the first Linear layer of a conv net reads feature maps, not pixels: it was drawn as pixel filters
    # (conv), or the command failed after writing the codes and the histogram (fully_conv)
    out, figures = tmp_path / "codes.npy", tmp_path / "figs"
    assert main(["features", str(files[model]), str(files["images"]), "--out", str(out),
                 "--figures", str(figures)]) == 0
    assert out.is_file() and (figures / "activations.png").is_file()
    assert not (figures / "filters.png").exists()
    assert "no filter figure" in capsys.readouterr().err


def test_encoder_filters_refuses_a_conv_model(files):
    from aekit.sparse import encoder_filters

    assert encoder_filters(load(files["sparse"])).shape == (16, 64)
    with pytest.raises(ValueError, match="architecture='conv'"):
        encoder_filters(load(files["conv"]))


# ---------------------------------------------------------------- missing values
@pytest.mark.parametrize("command", ["train", "encode", "compare"])
def test_nan_data_for_a_model_that_needs_complete_data(files, tmp_path, capsys, digits, command):
    # sklearn's message advised HistGradientBoosting and a pipeline; aekit has its own imputer
    holed = tmp_path / "holed.npy"
    X = digits.copy()
    X[::7, 3] = np.nan
    np.save(holed, X)
    args = {"train": ["train", str(holed), "--n-components", "2", "--max-epochs", "1"],
            "compare": ["compare", str(holed), "--n-components", "2", "--max-epochs", "1"],
            "encode": ["encode", str(files["conv"]), str(holed)]}[command]
    assert main([*args, "--out", str(tmp_path / "out.npy"), "-q"]) == 2
    err = _one_line_error(capsys, command)
    assert "NaN" in err and "imputer" in err.lower() and "HistGradientBoosting" not in err


def test_impute_csv_keeps_observed_values_as_written(tmp_path, capsys):
    # float32 values went back as 17.9899998 for 17.99, though observed values are "written back unchanged"
    from sklearn.datasets import load_breast_cancer

    X = load_breast_cancer().data[:80, :6]
    lines = ["radius,texture,perimeter,area,smoothness,compactness"]
    lines += [",".join("" if (i + j) % 9 == 0 else f"{v:g}" for j, v in enumerate(row)) for i, row in enumerate(X)]
    table = tmp_path / "table.csv"
    table.write_text("\n".join(lines) + "\n")
    model, out = tmp_path / "imputer", tmp_path / "filled.csv"
    assert main(["train", str(table), "--model", "imputer", "--n-components", "2", "--hidden-layer-sizes", "8",
                 "--max-epochs", "2", "--random-state", "0", "--out", str(model), "-q"]) == 0
    assert main(["impute", str(model), str(table), "--out", str(out), "-q"]) == 0
    written = out.read_text().splitlines()
    assert written[0] == lines[0]
    for before, after in zip(lines[1:], written[1:]):
        for a, b in zip(before.split(","), after.split(",")):
            assert b and (a == "" or float(a) == float(b) and len(b) <= len(a) + 2), (a, b)
    assert ",10.38,122.8,1001,0.1184," in written[1]


def test_evaluate_json_when_every_entry_is_hidden(files, capsys):
    # --hide 1 leaves no observed entry to take a column mean from: the JSON said "NaN" (not JSON)
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "Mean of empty slice"
        assert main(["evaluate", str(files["imputer"]), str(files["flat"]), "--hide", "1", "--json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    result = json.loads(text)
    assert result["mean_fill_rmse"] is None and result["hidden_rmse"] > 0
    assert main(["evaluate", str(files["imputer"]), str(files["flat"]), "--hide", "1"]) == 0
    assert "RMSE filling with column means" in capsys.readouterr().out


# ---------------------------------------------------------------- compare
def test_compare_does_not_call_pixels_features_of_different_units(tmp_path, capsys):
    # the README's first command warned that digits' pixels have different scales and suggested --standardize
    assert main(["compare", "--dataset", "digits", "--n-components", "2", "--hidden-layer-sizes", "8",
                 "--max-epochs", "1", "--out", str(tmp_path / "cmp"), "-q"]) == 0
    assert "standard deviations" not in capsys.readouterr().err


def test_compare_an_imputer_on_one_measure(files, tmp_path, digits):
    # the imputer's train error was its score (error on hidden entries), its test error a reconstruction error
    from aekit.metrics import squared_error_per_sample

    out = tmp_path / "cmp"
    assert main(["compare", str(files["flat"]), "--model", "imputer", "--n-components", "2",
                 "--hidden-layer-sizes", "8", "--max-epochs", "2", "--random-state", "0", "--save-model",
                 "--out", str(out), "-q"]) == 0
    result = json.loads((out / "results.json").read_text())
    model = load(out / "model")
    from aekit.datasets import Dataset

    held = Dataset(digits, digits[:0], None, None, None, "d", "d").held_out(0.2, 0)
    row = result["rows"]["autoencoder imputer"]
    assert row["train_error"] == pytest.approx(squared_error_per_sample(held.X_train, model.reconstruct(held.X_train)),
                                               rel=1e-5)


# ---------------------------------------------------------------- images
def test_rgba_and_grey_alpha_image_folders(tmp_path, capsys):
    # read_image (denoise, train-denoiser) dropped the alpha channel; load_array refused RGBA/LA folders
    import skimage.data

    photo = skimage.data.astronaut()[::8, ::8]
    for mode, folder in (("RGBA", "rgba"), ("LA", "la")):
        (tmp_path / folder).mkdir()
        for i in range(4):
            tile = Image.fromarray(photo[8 * i:8 * i + 16, :16]).convert(mode)
            tile.save(tmp_path / folder / f"{i}.png")
    from aekit.datasets import load_array

    X, shape = load_array(tmp_path / "rgba")
    assert shape == (16, 16, 3) and X.max() <= 1.0
    assert np.allclose(X[0].reshape(16, 16, 3), photo[:16, :16] / 255.0, atol=1e-6)
    X, shape = load_array(tmp_path / "la")
    assert shape == (16, 16)
    assert main(["train", str(tmp_path / "rgba"), "--n-components", "2", "--hidden-layer-sizes", "8",
                 "--max-epochs", "1", "--out", str(tmp_path / "m"), "-q"]) == 0


def test_inpaint_stride_is_named_as_the_flag(files, tmp_path, capsys):
    import skimage.data

    image, mask = tmp_path / "cam.png", tmp_path / "mask.png"
    Image.fromarray(skimage.data.camera()[::16, ::16]).save(image)
    hole = np.zeros((32, 32), np.uint8)
    hole[10:14, 10:14] = 255
    Image.fromarray(hole).save(mask)
    out = tmp_path / "filled.png"
    assert main(["inpaint", str(files["fully_conv"]), str(image), "--mask", str(mask), "--out", str(out),
                 "--stride", "0", "-q"]) == 2
    assert "--stride must be >= 1; got 0" in _one_line_error(capsys, "inpaint")
    assert not out.exists()


def test_features_figures_blame_the_data_not_a_flag_not_given(files, tmp_path, capsys):
    # 16x16 images for a 64-feature model: the message said "--image-shape must be ...", a flag not given
    big = tmp_path / "big.npy"
    np.save(big, np.zeros((5, 16, 16), np.float32))
    out = tmp_path / "codes.npy"
    assert main(["features", str(files["sparse"]), str(big), "--out", str(out), "--figures",
                 str(tmp_path / "figs"), "-q"]) == 2
    err = _one_line_error(capsys, "features")
    assert "--image-shape" not in err and "16x16" in err and "64 features" in err
    assert not out.exists()


def test_compare_warns_about_scales_for_tables_not_pixel_tables(tmp_path, capsys):
    from sklearn.datasets import load_breast_cancer, load_digits

    pixels = load_digits().data / 16  # as a 2-D table: no image shape to go by
    for name, X, warned in (("pixels", pixels, False), ("cancer", load_breast_cancer().data[:150], True)):
        np.save(tmp_path / f"{name}.npy", X)
        assert main(["compare", str(tmp_path / f"{name}.npy"), "--n-components", "2", "--hidden-layer-sizes", "8",
                     "--max-epochs", "1", "--out", str(tmp_path / name), "-q"]) == 0
        assert ("standard deviations range" in capsys.readouterr().err) == warned, name


def test_evaluate_json_when_the_noise_changes_nothing(tmp_path, capsys, digits):
    # --noise-level 0: the noisy images equal the clean ones, PSNR inf, written as "Infinity" (not JSON)
    model, out = tmp_path / "dae", tmp_path / "numbers.json"
    DenoisingAutoencoder(4, hidden_layer_sizes=(8,), **TINY).fit(digits).save(model)
    np.save(tmp_path / "d.npy", digits)
    capsys.readouterr()
    assert main(["evaluate", str(model), str(tmp_path / "d.npy"), "--noise-level", "0", "--json",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for text in (printed, out.read_text()):
        assert "Infinity" not in text and "NaN" not in text
        result = json.loads(text)
        assert result["noisy_psnr_db"] is None and result["noisy_error_per_sample"] == 0.0
    assert main(["evaluate", str(model), str(tmp_path / "d.npy"), "--noise-level", "0"]) == 0
    assert "noisy input: PSNR (dB)                   inf" in capsys.readouterr().out


def test_train_denoiser_without_noise_and_info_json(tmp_path, capsys):
    # --corruption-level 0: the held-out "noisy" PSNR is inf, written as Infinity into metrics.json and
    # echoed by aekit info --json (neither is JSON)
    import skimage.data

    (tmp_path / "photos").mkdir()
    Image.fromarray(skimage.data.camera()[::8, ::8]).save(tmp_path / "photos" / "camera.png")
    model = tmp_path / "dae"
    assert main(["train-denoiser", str(tmp_path / "photos"), "--patch-size", "8", "--n-patches", "200",
                 "--max-epochs", "1", "--hidden-layer-sizes", "4", "--n-components", "2", "--corruption-level", "0",
                 "--out", str(model), "-q"]) == 0
    assert "Infinity" not in (model / "metrics.json").read_text()
    (model / "metrics.json").write_text('{"psnr_noisy": Infinity, "psnr_denoised": NaN}')  # a model saved before
    capsys.readouterr()
    assert main(["info", str(model), "--json"]) == 0
    printed = capsys.readouterr().out
    assert "Infinity" not in printed and "NaN" not in printed
    assert json.loads(printed)["metrics"] == {"psnr_noisy": None, "psnr_denoised": None}


@pytest.mark.parametrize("argv", [
    ["train", "--dataset", "digits", "--out", "{out}"],
    ["compare", "--dataset", "digits", "--out", "{out}"],
    ["reproduce", "hinton2006", "--dataset", "digits", "--out", "{out}"],
])
def test_a_data_dir_that_does_not_exist_is_refused(tmp_path, capsys, argv):
    # a typo in --data-dir used to be ignored: the loaders fell back to the system folder, cache or download
    argv = [a.format(out=tmp_path / "out") for a in argv] + ["--data-dir", str(tmp_path / "typo")]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --data-dir: {tmp_path / 'typo'} does not exist" in err
    assert not (tmp_path / "out").exists()


def test_threads_flag_sets_torch_threads_for_the_command_and_is_recorded(tmp_path, monkeypatch):
    # only reproduce had --threads; aekit train neither took it nor recorded the count, which conv nets'
    # results depend on
    import torch

    before = torch.get_num_threads()
    seen = []
    real_fit = Autoencoder.fit

    def fit(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(Autoencoder, "fit", fit)
    threads = 2 if before == 1 else 1
    assert main(["train", "--dataset", "digits", "--max-epochs", "1", "--threads", str(threads), "-q",
                 "--out", str(tmp_path / "m")]) == 0
    assert seen == [threads]
    assert torch.get_num_threads() == before  # put back after the command
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["torch_threads"] == threads
    assert main(["train", "--dataset", "digits", "--threads", "0", "--out", str(tmp_path / "n")]) == 2


def test_a_missing_dataset_message_keeps_its_parts_apart(tmp_path, capsys, monkeypatch):
    # the multi-line not-found message was joined with spaces: "... (path) /root/.cache/... (cache ...) scikit-learn's
    # copy ... is False To get them: ..." read as one run-on sentence
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))
    (tmp_path / "empty").mkdir()
    assert main(["reproduce", "hinton2006", "--dataset", "faces", "--no-download", "--data-dir",
                 str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "olivettifaces.mat (path); " in err and "is False; To get them:" in err


# ---------------------------------------------------------------- outputs a flag would misplace or destroy
@pytest.mark.parametrize("command", [
    ["compare", "--n-components", "2"],
    ["sweep", "--n-components", "2"],
])
def test_overwrite_does_not_delete_a_folder_that_holds_no_results(files, tmp_path, capsys, command):
    # `aekit compare --out results --overwrite` swapped in the new results for the whole folder: the user's
    # files in it (here, an earlier run under results/digits) were deleted without a word
    out = tmp_path / "results"
    (out / "digits").mkdir(parents=True)
    (out / "digits" / "notes.txt").write_text("keep me")
    argv = [command[0], str(files["flat"]), *command[1:], "--hidden-layer-sizes", "4", "--max-epochs", "1", "--quiet",
            "--out", str(out), "--overwrite"]
    assert main(argv) == 2
    assert "no results.json" in _one_line_error(capsys, command[0])
    assert (out / "digits" / "notes.txt").read_text() == "keep me"
    # an earlier run's results (results.json) are replaced as before; so is an empty folder
    for folder in (tmp_path / "empty", tmp_path / "earlier"):
        folder.mkdir()
    (tmp_path / "earlier" / "results.json").write_text("{}")
    for folder in (tmp_path / "empty", tmp_path / "earlier"):
        argv[argv.index("--out") + 1] = str(folder)
        assert main(argv) == 0
        assert json.loads((folder / "results.json").read_text())


def test_reproduce_overwrite_does_not_delete_a_folder_that_holds_no_results(tmp_path, capsys):
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["reproduce", "hinton2006", "--dataset", "digits", "--budget-minutes", "0.01", "--out", str(out),
                 "--overwrite", "--quiet"]) == 2
    assert "no results.json" in _one_line_error(capsys, "reproduce")
    assert (out / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("command", [
    ["compare", "DATA", "--n-components", "2"],
    ["sweep", "DATA", "--n-components", "2"],
    ["reproduce", "hinton2006", "--dataset", "digits", "--budget-minutes", "0.01"],
])
def test_overwrite_does_not_replace_a_file_by_a_results_folder(files, tmp_path, capsys, command):
    # `--out notes.txt --overwrite` deleted the user's file and put a folder of results in its place: only a folder
    # was checked for holding an earlier run's results.json
    out = tmp_path / "notes.txt"
    out.write_text("keep me")
    argv = [str(files["flat"]) if a == "DATA" else a for a in command]
    argv += ["--hidden-layer-sizes", "4", "--max-epochs", "1"] if command[0] != "reproduce" else []
    assert main([*argv, "--quiet", "--out", str(out), "--overwrite"]) == 2
    assert "is a file" in _one_line_error(capsys, command[0])
    assert out.read_text() == "keep me"


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_compare_names_the_file_with_missing_values(tmp_path, capsys, command):
    # the message was compare_with_pca's, "X_train contains NaN", a name the command line never shows
    table = tmp_path / "holes.csv"
    table.write_text("a,b,c\n1,2,3\n4,,6\n7,8,9\n1,1,1\n2,2,2\n")
    assert main([command, str(table), "--n-components", "1", "--hidden-layer-sizes", "2", "--max-epochs", "1",
                 "--quiet", "--out", str(tmp_path / "out")]) == 2
    err = _one_line_error(capsys, command)
    assert "holes.csv has missing values" in err and "X_train" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_compare_refuses_test_fraction_for_a_dataset_with_a_test_split(tmp_path, capsys, command):
    # --test-fraction 0.5 with --dataset digits was ignored without a word: the table was of digits' own 360 test
    # images (aekit train refuses it)
    assert main([command, "--dataset", "digits", "--test-fraction", "0.5", "--n-components", "1",
                 "--hidden-layer-sizes", "2", "--max-epochs", "1", "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert "--test-fraction is for DATA without a test split; digits has one (360 samples)" in _one_line_error(
        capsys, command)
    assert not (tmp_path / "out").exists()


def test_compare_out_current_directory_is_refused_in_words(files, tmp_path, capsys, monkeypatch):
    # `--out . --overwrite` ended in "PosixPath('.') has an empty name"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.json").write_text("{}")
    assert main(["compare", str(files["flat"]), "--n-components", "2", "--hidden-layer-sizes", "4",
                 "--max-epochs", "1", "--quiet", "--out", ".", "--overwrite"]) == 2
    assert "current directory" in _one_line_error(capsys, "compare")


def test_random_state_flag_error_names_what_it_takes(capsys):
    # argparse named the converter: "invalid _random_state value: 'foo'"
    with pytest.raises(SystemExit):
        main(["train", "x.npy", "--out", "m", "--random-state", "foo"])
    err = capsys.readouterr().err
    assert "_random_state" not in err
    assert "argument --random-state: expected an integer or None; got 'foo'" in err


def test_denoise_out_named_like_an_image_is_refused(files, tmp_path, capsys):
    # --out is a folder: `aekit denoise M noisy.png --out clean.png` made a folder clean.png/ holding noisy.png
    image = tmp_path / "noisy.png"
    Image.fromarray((np.random.default_rng(0).random((16, 16)) * 255).astype(np.uint8)).save(image)
    assert main(["denoise", str(files["unet"]), str(image), "--out", str(tmp_path / "clean.png"), "-q"]) == 2
    assert "--out is the folder" in _one_line_error(capsys, "denoise")
    assert not (tmp_path / "clean.png").exists()
    (tmp_path / "dir.png").mkdir()  # an existing folder is a folder, whatever its name
    assert main(["denoise", str(files["unet"]), str(image), "--out", str(tmp_path / "dir.png"), "-q"]) == 0
    assert (tmp_path / "dir.png" / "noisy.png").is_file()


@pytest.mark.parametrize("model, flag", [("conv", "--noise-level"), ("sparse", "--hide"), ("imputer", "--noise-level"),
                                         ("unet", "--hide")])
def test_evaluate_refuses_a_flag_for_another_kind_of_model(files, capsys, model, flag):
    # `aekit evaluate AUTOENCODER DATA --noise-level 0.3` printed the clean reconstruction error, the flag ignored
    assert main(["evaluate", str(files[model]), str(files["images"] if model != "imputer" else files["flat"]),
                 flag, "0.3"]) == 2
    assert f"{flag} applies to a" in _one_line_error(capsys, "evaluate")


def test_train_reads_a_folder_of_webp_images_as_train_denoiser_does(tmp_path, digits):
    # train-denoiser, denoise and inpaint read WebP; train, encode and the other DATA commands said the folder
    # held no images
    folder = tmp_path / "webp"
    folder.mkdir()
    for i, image in enumerate(digits[:20].reshape(-1, 8, 8)):
        Image.fromarray((image * 255).round().astype(np.uint8)).save(folder / f"{i:02d}.webp", lossless=True)
    assert main(["train", str(folder), "--n-components", "2", "--hidden-layer-sizes", "4", "--max-epochs", "1",
                 "--out", str(tmp_path / "m"), "-q"]) == 0
    assert main(["encode", str(tmp_path / "m"), str(folder), "--out", str(tmp_path / "codes.npy"), "-q"]) == 0
    assert np.load(tmp_path / "codes.npy").shape == (20, 2)


@pytest.mark.parametrize("architecture", ["mlp", "fully_conv"])
def test_info_of_a_mask_input_imputer_reports_no_code(tmp_path, capsys, digits, architecture):
    # the network sees the observed entries and passes them through (its encode returns the input), yet info said
    # "64 features -> 4 components" and code_size 4, where a U-Net gets "no code"
    model = tmp_path / "imputer"
    AutoencoderImputer(4, hidden_layer_sizes=(8,), mask_input=True, architecture=architecture, image_shape=(8, 8),
                       **TINY).fit(digits).save(model)
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    assert "64 features -> no code (mask_input" in capsys.readouterr().out
    assert main(["info", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["code_size"] == 64


def test_info_counts_one_epoch_as_one_epoch(files, capsys):
    model = load(files["conv"])
    model.n_iter_ = model.best_epoch_ = 1
    model.save(files["conv"].parent / "one_epoch")
    capsys.readouterr()
    assert main(["info", str(files["conv"].parent / "one_epoch")]) == 0
    assert "trained 1 epoch (best 1)" in capsys.readouterr().out


def test_train_denoiser_takes_data_dir_as_its_not_found_message_says(tmp_path, capsys, monkeypatch):
    # train-denoiser --dataset had no --data-dir, though a missing dataset's message says to pass one
    import gzip
    import struct

    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))
    mine = tmp_path / "mine"
    mine.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 10)):
        for kind, array in (("images-idx3", rng.integers(0, 256, (n, 28, 28))), ("labels-idx1", np.arange(n) % 10)):
            array = np.asarray(array, dtype=np.uint8)
            header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
            (mine / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    assert main(["train-denoiser", "--dataset", "fashion-mnist", "--data-dir", str(mine), "--max-epochs", "1",
                 "--hidden-layer-sizes", "4", "--n-components", "2", "--out", str(tmp_path / "m"), "-q"]) == 0
    assert str(mine) in json.loads((tmp_path / "m" / "metrics.json").read_text())["data"]
    (tmp_path / "photos").mkdir()
    assert main(["train-denoiser", str(tmp_path / "photos"), "--data-dir", str(mine),
                 "--out", str(tmp_path / "n")]) == 2
    assert "--data-dir is where --dataset" in _one_line_error(capsys, "train-denoiser")


def test_errors_of_a_scaled_model_say_their_units(tmp_path, capsys, digits):
    # evaluate says "errors in the model's scaled units"; errors printed the same numbers as a plain
    # "reconstruction error", 40 times smaller here than the squared differences of DATA and its reconstruction
    model = tmp_path / "scaled"
    Autoencoder(2, hidden_layer_sizes=(8,), scaling="standard", **TINY).fit(digits).save(model)
    np.save(tmp_path / "d.npy", digits)
    capsys.readouterr()
    assert main(["errors", str(model), str(tmp_path / "d.npy"), "--out", str(tmp_path / "e.npy")]) == 0
    assert "errors in the model's scaled units (scaling='standard')" in capsys.readouterr().out
    Autoencoder(2, hidden_layer_sizes=(8,), **TINY).fit(digits).save(tmp_path / "plain")
    capsys.readouterr()
    assert main(["errors", str(tmp_path / "plain"), str(tmp_path / "d.npy"), "--out", str(tmp_path / "f.npy")]) == 0
    assert "scaled units" not in capsys.readouterr().out


def test_train_imputer_with_pattern_corruption_on_complete_data_is_refused(files, tmp_path, capsys, digits):
    # 'pattern' hides other rows' holes; complete DATA has none, so the imputer trained on uncorrupted rows without a
    # word (train-denoiser refuses the same without --practice-mask)
    argv = ["train", str(files["flat"]), "--model", "imputer", "--corruption", "pattern", "--max-epochs", "1",
            "--hidden-layer-sizes", "4", "-q", "--out", str(tmp_path / "m")]
    assert main(argv) == 2
    assert "has no missing value: use --corruption masking" in _one_line_error(capsys, "train")
    holed = digits.copy()
    holed[::3, 10:14] = np.nan
    np.save(tmp_path / "holed.npy", holed)
    argv[1] = str(tmp_path / "holed.npy")
    assert main(argv) == 0
    # compare trains on complete data only: an imputer's 'pattern' there hid nothing either
    assert main(["compare", str(files["flat"]), "--model", "imputer", "--corruption", "pattern", "--n-components",
                 "2", "--max-epochs", "1", "--hidden-layer-sizes", "4", "-q", "--out", str(tmp_path / "c")]) == 2
    assert "has no missing value: use --corruption masking" in _one_line_error(capsys, "compare")


@pytest.mark.parametrize("command", ["errors", "evaluate", "sample"])
def test_a_figure_with_an_unknown_suffix_is_refused_before_anything_is_written(files, tmp_path, capsys, digits,
                                                                               command):
    # errors and sample wrote their .npy, then stopped with "path must end in a figure format suffix" (exit 2,
    # an output written after all); evaluate did all its work first
    from aekit import VariationalAutoencoder

    if command == "sample":
        model = tmp_path / "vae"
        VariationalAutoencoder(2, hidden_layer_sizes=(8,), **TINY).fit(digits).save(model)
        argv = ["sample", str(model), "--out", str(tmp_path / "out.npy")]
    else:
        argv = [command, str(files["conv"]), str(files["images"])]
        argv += ["--out", str(tmp_path / ("out.npy" if command == "errors" else "out.json"))]
    capsys.readouterr()
    assert main([*argv, "--figure", str(tmp_path / "worst.txt")]) == 2
    assert "--figure: path must end in a figure format suffix" in _one_line_error(capsys, command)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["vae"] if command == "sample" else [])


# ---------------------------------------------------------------- dataset flags given with a data file
@pytest.mark.parametrize("command", [["encode"], ["reconstruct"], ["errors"], ["features"], ["evaluate"]])
@pytest.mark.parametrize("flag", [["--split", "train"], ["--data-dir", "."]])
def test_dataset_flags_with_a_data_file_are_refused_not_ignored(files, tmp_path, capsys, command, flag):
    # --split and --data-dir choose among a named dataset's files; with DATA they were ignored without a word
    # (`--split train` printed the numbers of the whole file as if they were its training split)
    out = tmp_path / "out.npy"
    argv = [command[0], str(files["sparse"]), str(files["flat"]), *flag, "-q"]
    if command[0] != "evaluate":
        argv += ["--out", str(out)]
    assert main(argv) == 2
    err = _one_line_error(capsys, command[0])
    assert ("--split chooses a split of --dataset NAME" in err if flag[0] == "--split"
            else "--data-dir is where --dataset NAME's files are looked for" in err)
    assert not out.exists()


def test_output_suffixes_in_upper_case_are_accepted(files, tmp_path, capsys):
    # `--out FILLED.CSV` was refused ("--out must end in .npy or .csv") and OUT.NPY likewise
    holes = np.load(files["flat"]).astype(np.float64)
    holes[::3, 5] = np.nan
    data = tmp_path / "holes.npy"
    np.save(data, holes)
    for out in (tmp_path / "FILLED.CSV", tmp_path / "FILLED.NPY"):
        assert main(["impute", str(files["imputer"]), str(data), "--out", str(out), "-q"]) == 0
        filled = np.loadtxt(out, delimiter=",") if out.suffix == ".CSV" else np.load(out)
        assert filled.shape == holes.shape and not np.isnan(filled).any()
    codes = tmp_path / "CODES.NPY"
    assert main(["encode", str(files["sparse"]), str(files["flat"]), "--out", str(codes), "-q"]) == 0
    assert np.load(codes).shape == (200, 16) and sorted(p.name for p in tmp_path.iterdir()) == [
        "CODES.NPY", "FILLED.CSV", "FILLED.NPY", "holes.npy"]


@pytest.mark.parametrize("argv, message", [
    (["--loss", "bce", "--scaling", "standard"],
     "--loss bce needs values in [0, 1]: use --scaling minmax (or 'none' for data already in [0, 1]); got "
     "--scaling standard."),
    (["--batch-size", "0"], "--batch-size must be >= 1; got 0."),
    (["--model", "sparse", "--sparsity", "topk", "--k", "0"], "--k must be >= 1; got 0."),
    (["--model", "imputer", "--no-mask-input", "--architecture", "unet"],
     "--architecture unet needs --mask-input (a U-Net"),
    (["--model", "imputer", "--no-mask-input", "--architecture", "unet"], "; got --no-mask-input."),
])
def test_train_names_estimator_parameters_as_flags(argv, message, tmp_path, capsys):
    """The estimators say loss='bce' and scaling='minmax'; on the command line those are --loss and --scaling."""
    assert main(["train", "--dataset", "digits", "--out", str(tmp_path / "m"), "-q", *argv]) == 2
    assert message in _one_line_error(capsys, "train")
    assert not (tmp_path / "m").exists()


def test_train_refuses_momentum_for_an_optimizer_without_it(tmp_path, capsys):
    # --momentum with adam (the default) trained without it and said nothing
    assert main(["train", "--dataset", "digits", "--momentum", "0.5", "--out", str(tmp_path / "m"), "-q"]) == 2
    assert "--momentum applies to --optimizer sgd, not adam (it would be ignored)" in _one_line_error(capsys, "train")
    assert main(["train", "--dataset", "digits", "--momentum", "0.5", "--optimizer", "sgd", "--max-epochs", "1",
                 "--hidden-layer-sizes", "8", "--out", str(tmp_path / "m"), "-q"]) == 0
