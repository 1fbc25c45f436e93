"""The command line, called in-process: files written, exit codes, one-line errors."""

import argparse
import json

import numpy as np
import pytest

from aekit import load
from aekit.cli import main
from aekit.datasets import load_data

FAST = ["--hidden-layer-sizes", "16", "--max-epochs", "3", "--random-state", "0", "--quiet"]


@pytest.fixture
def data_file(tmp_path, rng):
    path = tmp_path / "data.npy"
    np.save(path, rng.random((80, 6)).astype(np.float32))
    return path


def test_train_encode_reconstruct_info(tmp_path, data_file, capsys):
    model = tmp_path / "model"
    assert main(["train", str(data_file), "--out", str(model), "--n-components", "2", *FAST]) == 0
    names = sorted(p.name for p in model.iterdir())
    assert names == ["config.json", "loss_curve.png", "metrics.json", "model.safetensors"]
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["train_error_per_sample"] > 0
    est = load(model)
    assert est.n_components == 2 and est.hidden_layer_sizes == (16,)

    codes = tmp_path / "codes.npy"
    assert main(["encode", str(model), str(data_file), "--out", str(codes), "--quiet"]) == 0
    X = np.load(data_file)
    np.testing.assert_array_equal(np.load(codes), est.transform(X))
    recon = tmp_path / "recon.npy"
    assert main(["reconstruct", str(model), str(data_file), "--out", str(recon), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(recon), est.reconstruct(X))
    decoded = tmp_path / "decoded.npy"  # the codes back through the decoder: the reconstructions
    assert main(["decode", str(model), str(codes), "--out", str(decoded), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(decoded), est.inverse_transform(np.load(codes)))
    np.testing.assert_allclose(np.load(decoded), np.load(recon), atol=1e-6)

    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "Autoencoder" in out and "6 features -> 2 components" in out
    assert main(["info", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_features_in"] == 6


def test_decode_refusals_name_the_file(tmp_path, data_file, capsys):
    from aekit import AutoencoderImputer

    model, imputer = tmp_path / "model", tmp_path / "imputer"
    assert main(["train", str(data_file), "--out", str(model), "--n-components", "2", *FAST]) == 0
    AutoencoderImputer(n_components=2, hidden_layer_sizes=(4,), max_epochs=1).fit(np.load(data_file)).save(imputer)
    (tmp_path / "taken.npy").write_bytes(b"")
    np.save(tmp_path / "nan.npy", np.full((3, 2), np.nan, np.float32))
    capsys.readouterr()
    for which, argv, message in [
        (model, [str(data_file), "--out", str(tmp_path / "x.npy")],  # the data, not its codes
         f"{data_file}: Z has 6 features, but Autoencoder is expecting 2 features (n_components) as input."),
        (model, [str(tmp_path / "nan.npy"), "--out", str(tmp_path / "x.npy")], "nan.npy: Input contains NaN"),
        (model, [str(tmp_path / "no.npy"), "--out", str(tmp_path / "x.npy")], "no.npy"),
        (model, [str(data_file), "--out", str(tmp_path / "taken.npy")], "exists; pass --overwrite"),
        (model, [str(data_file), "--out", str(tmp_path / "x.csv")], ".npy"),
        # an imputer's transform fills holes: it has no code to decode
        (imputer, [str(tmp_path / "nan.npy"), "--out", str(tmp_path / "x.npy")],
         "whose transform fills missing values rather than encoding"),
    ]:
        assert main(["decode", str(which), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("aekit decode: error: ") and message in err, err
    assert not (tmp_path / "x.npy").exists()


def test_train_on_dataset_reports_test_error(tmp_path):
    model = tmp_path / "m"
    assert main(["train", "--dataset", "digits", "--out", str(model), "--n-components", "4", *FAST]) == 0
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["n_test"] == 360 and metrics["test_error_per_sample"] > 0


def test_compare_digits_writes_table_and_figure(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "--dataset", "digits", "--n-components", "8", "--out", str(out), *FAST])
    assert code == 0
    assert {p.name for p in out.iterdir()} >= {"results.json", "results.md", "figure.png", "loss_curve.png"}
    results = json.loads((out / "results.json").read_text())
    assert set(results["rows"]) == {"PCA", "autoencoder"}
    assert results["rows"]["PCA"]["test_error"] > 0 and results["n_components"] == 8
    assert "| PCA |" in capsys.readouterr().out
    assert (out / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("model, name", [("sparse", "sparse autoencoder"), ("contractive", "contractive autoencoder"),
                                         ("imputer", "autoencoder imputer")])
def test_compare_names_the_model_in_table_json_and_figure(tmp_path, capsys, monkeypatch, model, name):
    # every model's row was called "autoencoder"
    from aekit import compare

    drawn = []
    monkeypatch.setattr(compare, "image_rows", lambda rows, *a, path, **k: drawn.append([label for label, _ in rows]) or path)
    out = tmp_path / "cmp"
    assert main(["compare", "--dataset", "digits", "--model", model, "--n-components", "4", "--out", str(out),
                 *FAST]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["rows"]) == {"PCA", name}
    table = capsys.readouterr().out
    assert f"| {name} |" in table and f"{name} / PCA test error" in table and "| autoencoder |" not in table
    assert f"| {name} |" in (out / "results.md").read_text()
    assert [label.split("\n")[0] for label in drawn[0]] == ["test images", name, "PCA"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "missing.npy", "--out", "{tmp}/m"], "missing.npy"),
        (["train", "{tmp}/data.npy", "--out", "{tmp}/m", "--n-components", "0"], "--n-components must be >= 1"),
        (["train", "{tmp}/data.npy", "--out", "{tmp}/m", "--loss", "bce", "--n-components", "2"],
         None),
        (["train", "--out", "{tmp}/m"], "no data"),
        (["encode", "{tmp}/nomodel", "{tmp}/data.npy", "--out", "{tmp}/c.npy"], "not an aekit model directory"),
        (["train", "{tmp}/bad.txt", "--out", "{tmp}/m"], "bad.txt"),
        # the advice named no flag: "Scale X (e.g. MinMaxScaler) or use --loss mse"
        (["train", "{tmp}/wide.npy", "--out", "{tmp}/m", "--loss", "bce"],
         "--loss bce needs X in [0, 1]; X has values in [0, 16]. Use --scaling minmax (each column's minimum and "
         "range, fitted on X) or --loss mse."),
        # 'auto' was left in Python's quotes: "use --device cpu or 'auto'"
        pytest.param(["train", "{tmp}/data.npy", "--out", "{tmp}/m", "--device", "cuda"],
                     "use --device cpu or --device auto.", marks=pytest.mark.skipif(
                         __import__("torch").cuda.is_available(), reason="CUDA is available here")),
    ],
)
def test_bad_input_exit_2_one_line(tmp_path, data_file, capsys, argv, message):
    (tmp_path / "bad.txt").write_text("hello")
    np.save(tmp_path / "wide.npy", np.linspace(0, 16, 80 * 6, dtype=np.float32).reshape(80, 6))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--quiet"]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    if message is None:  # valid input: data in [0, 1] is fine for bce
        assert code == 0
        return
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "m").exists()  # nothing half-written


def test_bad_flag_value_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "x.npy", "--out", "m", "--activation", "swish"])
    assert info.value.code == 2


def test_refuses_to_overwrite(tmp_path, data_file, capsys):
    model = tmp_path / "model"
    model.mkdir()
    assert main(["train", str(data_file), "--out", str(model), *FAST]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["train", str(data_file), "--out", str(model), "--overwrite", *FAST]) == 0
    assert (model / "model.safetensors").exists()


def test_help_lists_every_estimator_parameter(capsys):
    from aekit import Autoencoder

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for name in Autoencoder()._get_param_names():
        if name != "verbose":
            assert "--" + name.replace("_", "-") in text, name


def test_no_help_text_shows_a_doubled_percent_sign():
    # argparse fills in %-placeholders in a description only when it holds %(prog): aekit inpaint --help said
    # "white (> 50%%) in MASK"
    from aekit.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        assert "%%" not in parser.format_help(), name


def test_train_mmap_streams_and_matches_loaded_training(tmp_path, rng, capsys):
    """--mmap streams a .npy from disk; the model equals the one trained on the loaded array."""
    path = tmp_path / "big.npy"
    np.save(path, rng.random((300, 12)).astype(np.float32))
    loaded, streamed = tmp_path / "loaded", tmp_path / "streamed"
    argv = ["--n-components", "3", *FAST]
    assert main(["train", str(path), "--out", str(loaded), *argv]) == 0
    capsys.readouterr()
    assert main(["train", str(path), "--mmap", "--out", str(streamed), *argv[:-1]]) == 0  # not --quiet
    assert "(memory-mapped, streamed)" in capsys.readouterr().err
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (loaded, streamed))
    assert a["epochs"] == b["epochs"] == 3
    assert b["train_error_per_sample"] == pytest.approx(a["train_error_per_sample"], rel=1e-5)
    X = np.load(path)
    np.testing.assert_allclose(load(streamed).reconstruct(X), load(loaded).reconstruct(X), atol=1e-5)
    codes = tmp_path / "codes.npy"
    assert main(["encode", str(streamed), str(path), "--mmap", "--out", str(codes), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(codes), load(streamed).transform(X))


@pytest.fixture
def pixel_files(tmp_path):
    """A model trained on pixels 0..255 (--scaling minmax), and the pixels as uint8, float64 (divided by 255) and
    Fortran-ordered float32 files."""
    X = (np.arange(300 * 12).reshape(300, 12) * 37 % 256).astype(np.uint8)
    files = {"uint8": X, "float64": X / 255.0, "fortran": np.asfortranarray(X, dtype=np.float32)}
    for name, array in files.items():
        np.save(tmp_path / f"{name}.npy", array)
    model = tmp_path / "model"
    assert main(["train", str(tmp_path / "uint8.npy"), "--out", str(model), "--n-components", "3", "--scaling",
                 "minmax", *FAST]) == 0
    return model, {name: tmp_path / f"{name}.npy" for name in files}


@pytest.mark.parametrize("kind", ["uint8", "float64", "fortran"])
@pytest.mark.parametrize("command", ["encode", "reconstruct"])
def test_mmap_keeps_other_dtypes_mapped_with_the_in_memory_output(tmp_path, pixel_files, capsys, monkeypatch,
                                                                  kind, command):
    """--mmap on uint8, float64 or Fortran-ordered files: the model gets the memory map (read whole as float32, it took
    four times the memory of a uint8 file), the output is the in-memory path's, bit for bit."""
    from aekit import Autoencoder

    model, files = pixel_files
    if kind == "float64":  # unscaled: a scaled model reads float64 in float64 (the next test)
        model = tmp_path / "plain"
        assert main(["train", str(files[kind]), "--out", str(model), "--n-components", "3", *FAST]) == 0
    seen = []
    given = Autoencoder._inference_X
    monkeypatch.setattr(Autoencoder, "_inference_X", lambda self, X: seen.append(X) or given(self, X))
    mapped, loaded = tmp_path / "mapped.npy", tmp_path / "loaded.npy"
    capsys.readouterr()
    assert main([command, str(model), str(files[kind]), "--mmap", "--out", str(mapped)]) == 0
    assert "read whole into memory" not in capsys.readouterr().err
    assert all(isinstance(X, np.memmap) and X.dtype == np.load(files[kind]).dtype for X in seen) and seen
    assert main([command, str(model), str(files[kind]), "--out", str(loaded), "--quiet"]) == 0
    assert np.load(mapped).dtype == np.float32
    np.testing.assert_array_equal(np.load(mapped), np.load(loaded))


def test_mmap_float64_with_scaling_is_scaled_before_the_float32_cast(tmp_path, pixel_files):
    """A scaled model reads a memory-mapped float64 file as the library reads a float64 array: scaled in float64,
    then cast (the in-memory command line casts first: equal up to float32 rounding)."""
    model, files = pixel_files
    out = tmp_path / "out.npy"
    assert main(["reconstruct", str(model), str(files["float64"]), "--mmap", "--out", str(out), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(out), load(model).reconstruct(np.load(files["float64"])))
    loaded = load(model).reconstruct(np.load(files["float64"]).astype(np.float32))
    np.testing.assert_allclose(np.load(out), loaded, rtol=1e-5, atol=1e-4)


def test_train_mmap_on_a_fortran_file_reads_it_whole_and_says_why(tmp_path, pixel_files, capsys):
    model, files = pixel_files
    capsys.readouterr()
    assert main(["train", str(files["fortran"]), "--mmap", "--out", str(tmp_path / "f"), "--n-components", "3",
                 "--scaling", "minmax", *FAST[:-1]]) == 0
    err = capsys.readouterr().err
    assert "is Fortran-ordered: each of its rows is spread over the whole file" in err
    assert "(memory-mapped, streamed)" not in err
    X = np.load(files["uint8"])
    np.testing.assert_array_equal(load(tmp_path / "f").reconstruct(X), load(model).reconstruct(X))


@pytest.fixture
def small_blocks(monkeypatch):
    """Inference blocks of 16 rows and output blocks of as few of them as may be: 300 rows make 19 blocks."""
    from aekit import _inference
    from aekit.cli import _blocks

    monkeypatch.setattr(_inference, "INFERENCE_BATCH", 16)
    monkeypatch.setattr(_blocks, "OUTPUT_BLOCK_BYTES", 1)


@pytest.mark.parametrize("command", ["encode", "reconstruct", "decode"])
def test_outputs_are_computed_and_written_a_block_of_rows_at_a_time(tmp_path, pixel_files, small_blocks,
                                                                     monkeypatch, command):
    from aekit import Autoencoder

    model, files = pixel_files
    est = load(model)
    X = np.load(files["uint8"])
    codes = tmp_path / "codes.npy"
    np.save(codes, est.transform(X))
    method = {"encode": "transform", "reconstruct": "reconstruct", "decode": "inverse_transform"}[command]
    whole = getattr(est, method)(X if command != "decode" else np.load(codes))  # with the same 16-row blocks
    rows = []
    given = getattr(Autoencoder, method)
    monkeypatch.setattr(Autoencoder, method, lambda self, A: rows.append(len(A)) or given(self, A))
    out = tmp_path / "out.npy"
    argv = [str(codes)] if command == "decode" else [str(files["uint8"]), "--mmap"]
    assert main([command, str(model), *argv, "--out", str(out), "--quiet"]) == 0
    assert rows == [16] * 18 + [12]
    np.testing.assert_array_equal(np.load(out), whole)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["codes.npy", "out.npy", "model", *[
        f"{k}.npy" for k in files]])


@pytest.mark.parametrize("error, status", [(ValueError("the disk is on fire"), 2), (KeyboardInterrupt(), 130)])
@pytest.mark.parametrize("command", ["reconstruct", "decode"])
def test_an_error_midway_through_the_blocks_leaves_no_file(tmp_path, pixel_files, small_blocks, monkeypatch,
                                                          command, error, status):
    from aekit import Autoencoder

    model, files = pixel_files
    codes = tmp_path / "codes.npy"
    np.save(codes, load(model).transform(np.load(files["uint8"])))
    before = sorted(p.name for p in tmp_path.iterdir())
    method = "inverse_transform" if command == "decode" else "reconstruct"
    calls = []
    given = getattr(Autoencoder, method)

    def failing(self, A):
        calls.append(len(A))
        if len(calls) == 3:
            raise error
        return given(self, A)

    monkeypatch.setattr(Autoencoder, method, failing)
    out = tmp_path / "out.npy"
    argv = [str(codes)] if command == "decode" else [str(files["uint8"]), "--mmap"]
    assert main([command, str(model), *argv, "--out", str(out), "--quiet"]) == status
    assert len(calls) == 3  # two blocks were written when the third failed
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no hidden temporary file


def test_conv_architecture_takes_image_shape_from_dataset_and_info_shows_code(tmp_path, capsys):
    """--architecture fully_conv on digits needs no --image-shape; info reports the code map, not n_components."""
    model = tmp_path / "fc"
    argv = ["train", "--dataset", "digits", "--architecture", "fully_conv", "--hidden-layer-sizes", "4",
            "--n-components", "2", "--max-epochs", "1", "--random-state", "0", "--quiet", "--out", str(model)]
    assert main(argv) == 0
    est = load(model)
    assert est.image_shape == (8, 8) and est.net_.code_size == 2 * 4 * 4
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    assert "64 features -> a code of 32 values (2x4x4: 2 channels)" in capsys.readouterr().out
    assert main(["info", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["code_size"] == 32


def test_train_max_time_flag(tmp_path, data_file):
    model = tmp_path / "timed"
    argv = ["train", str(data_file), "--out", str(model), "--n-components", "2", "--hidden-layer-sizes", "4",
            "--max-epochs", "40", "--n-iter-no-change", "40", "--max-time", "1e-9", "--quiet"]
    assert main(argv) == 0
    assert json.loads((model / "metrics.json").read_text())["epochs"] == 1
    assert load(model).max_time == pytest.approx(1e-9)


def test_choices_of_every_model_are_offered_and_checked_per_model(tmp_path, capsys):
    """--architecture unet exists for the denoising models only: accepted with --model imputer, refused otherwise."""
    X = np.random.default_rng(0).random((40, 16)).astype(np.float32)
    X[X < 0.2] = np.nan
    path = tmp_path / "holes.npy"
    np.save(path, X)
    common = ["--architecture", "unet", "--image-shape", "4", "4", "--hidden-layer-sizes", "4", "--max-epochs", "1",
              "--random-state", "0", "--quiet"]
    assert main(["train", str(path), "--model", "imputer", "--mask-input", "--out", str(tmp_path / "u"), *common]) == 0
    assert load(tmp_path / "u").architecture == "unet"
    capsys.readouterr()
    assert main(["train", str(path), "--out", str(tmp_path / "a"),
                 *common]) == 2
    assert "architecture must be one of" in capsys.readouterr().err


def test_fresh_process_knows_every_model(tmp_path):
    """aekit imports its estimators lazily: the CLI and load() must still find every subclass."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "aekit", "train", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "{autoencoder,contractive,denoising,imputer,sparse,variational}" in out.stdout
    from aekit import SparseAutoencoder

    SparseAutoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(
        np.random.default_rng(0).random((30, 5))).save(tmp_path / "s")
    code = f"import aekit; print(type(aekit.load({str(tmp_path / 's')!r})).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "SparseAutoencoder", out.stderr


@pytest.fixture
def wide_table(tmp_path, rng):
    """A (200, 6) table whose columns differ in scale by up to 1000x."""
    X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(size=(200, 6))
    path = tmp_path / "table.npy"
    np.save(path, X * np.array([1000.0, 1.0, 1.0, 1.0, 1.0, 1.0]))
    return path


def test_compare_own_data_holds_out_a_test_split_and_warns_about_scales(tmp_path, wide_table, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(wide_table), "--n-components", "2", "--out", str(out), "--test-fraction",
                 "0.25", *FAST]) == 0
    err = capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["n_train"] == 150 and results["n_test"] == 50
    assert "150 training and 50 test samples (of 200, held out at random with seed 0)" in results["dataset"]
    assert "standard deviations range from" in err and "--standardize" in err
    capsys.readouterr()
    assert main(["compare", "--dataset", "digits", "--out", str(tmp_path / "d"), *FAST]) == 0
    assert "standard deviations" not in capsys.readouterr().err  # images: one unit for every pixel


def test_warnings_name_the_flags_as_errors_do(tmp_path, wide_table, capsys):
    # the estimators' warnings said "n_components=6 is not below the 6 features": a Python name on the command line
    assert main(["compare", str(wide_table), "--n-components", "6", "--out", str(tmp_path / "c"), *FAST]) == 0
    err = capsys.readouterr().err
    assert "--n-components 6 is not below the 6 features: PCA reconstructs X exactly" in err
    assert "n_components=" not in err
    assert json.loads((tmp_path / "c" / "results.json").read_text())["ratio"] is None


def test_compare_standardize_puts_both_methods_on_standardised_features(tmp_path, wide_table, capsys):
    raw, std = tmp_path / "raw", tmp_path / "std"
    assert main(["compare", str(wide_table), "--n-components", "2", "--out", str(raw), *FAST]) == 0
    capsys.readouterr()
    assert main(["compare", str(wide_table), "--n-components", "2", "--out", str(std), "--standardize",
                 *FAST]) == 0
    assert "standard deviations range" not in capsys.readouterr().err
    result = json.loads((std / "results.json").read_text())
    assert "features standardised with the training split's mean and std" in result["dataset"]
    # the same split, standardised by hand, through PCA
    from sklearn.decomposition import PCA

    split = load_data(wide_table).held_out(0.2, seed=0)
    mu, sd = split.X_train.mean(axis=0, dtype=np.float64), split.X_train.std(axis=0, dtype=np.float64)
    Z_train, Z_test = (split.X_train - mu) / sd, (split.X_test - mu) / sd
    pca = PCA(2, random_state=0).fit(Z_train)
    expected = ((pca.inverse_transform(pca.transform(Z_test)) - Z_test) ** 2).sum(axis=1).mean()
    assert result["rows"]["PCA"]["test_error"] == pytest.approx(expected, rel=1e-4)
    raw_result = json.loads((raw / "results.json").read_text())
    assert raw_result["rows"]["PCA"]["test_error"] != pytest.approx(expected, rel=1e-2)


def test_train_test_fraction_holds_out_rows_of_own_data(tmp_path, data_file, capsys):
    model = tmp_path / "m"
    assert main(["train", str(data_file), "--out", str(model), "--n-components", "2", "--test-fraction", "0.25",
                 *FAST]) == 0
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["n_train"] == 60 and metrics["n_test"] == 20
    split = load_data(data_file).held_out(0.25, seed=0)  # --random-state 0 seeds the split
    assert metrics["test_error_per_sample"] == pytest.approx(-load(model).score(split.X_test), rel=1e-6)
    for argv, message in [
        (["--dataset", "digits"], "--test-fraction is for DATA without a test split; digits has one (360 samples)"),
        ([str(data_file), "--mmap"], "--test-fraction needs DATA in memory"),
        ([str(data_file), "--test-fraction", "1.0"], "--test-fraction must be in (0, 1); got 1.0"),
        # the Dataset's own message named the Python parameter, test_fraction
        ([str(data_file), "--test-fraction", "0.999"], "--test-fraction 0.999 holds out 80 of the 80 samples"),
        ([str(data_file), "--test-fraction", "0.001"], "--test-fraction 0.001 holds out 0 of the 80 samples"),
    ]:
        fraction = [] if "--test-fraction" in argv else ["--test-fraction", "0.2"]
        assert main(["train", *argv, *fraction, "--out", str(tmp_path / "x"), *FAST]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "x").exists()


def test_train_warns_when_a_tables_columns_differ_in_scale(tmp_path, wide_table, data_file, capsys):
    assert main(["train", str(wide_table), "--out", str(tmp_path / "a"), *FAST]) == 0
    assert "pass --scaling standard" in capsys.readouterr().err
    assert main(["train", str(data_file), "--out", str(tmp_path / "b"), *FAST]) == 0  # columns alike
    assert main(["train", str(wide_table), "--model", "imputer", "--out", str(tmp_path / "c"), *FAST]) == 0
    assert "standard deviations" not in capsys.readouterr().err  # the imputer standardises by itself


def test_compare_labelled_data_scores_the_codes_and_draws_2d_ones(tmp_path, capsys):
    out = tmp_path / "two"
    assert main(["compare", "--dataset", "digits", "--n-components", "2", "--out", str(out), "--hidden-layer-sizes",
                 "32", "--max-epochs", "30", "--batch-size", "32", "--random-state", "0", "--quiet"]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert "5-NN accuracy of the codes" in capsys.readouterr().out
    for name in ("PCA", "autoencoder"):
        assert 0.3 < rows[name]["knn_accuracy"] <= 1.0  # 10 classes: chance is 0.1
    assert (out / "codes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the number itself: a 5-NN on PCA's 2-D codes of the same split
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier

    from aekit.datasets import load_digits

    d = load_digits()
    pca = PCA(2, random_state=0).fit(d.X_train)
    knn = KNeighborsClassifier(5).fit(pca.transform(d.X_train), d.y_train)
    assert rows["PCA"]["knn_accuracy"] == pytest.approx(knn.score(pca.transform(d.X_test), d.y_test))

    eight = tmp_path / "eight"  # codes of 8 dimensions: scored, not drawn
    assert main(["compare", "--dataset", "digits", "--n-components", "8", "--out", str(eight), *FAST]) == 0
    assert "knn_accuracy" in json.loads((eight / "results.json").read_text())["rows"]["autoencoder"]
    assert not (eight / "codes.png").exists()


def test_compare_without_labels_or_code_has_no_code_scores(tmp_path, data_file):
    assert main(["compare", str(data_file), "--n-components", "2", "--out", str(tmp_path / "u"), *FAST]) == 0
    assert "knn_accuracy" not in json.loads((tmp_path / "u" / "results.json").read_text())["rows"]["PCA"]
    assert main(["compare", "--dataset", "digits", "--model", "imputer", "--n-components", "2", "--out",
                 str(tmp_path / "i"), *FAST]) == 0  # an imputer's transform fills holes: no code to score
    assert "knn_accuracy" not in json.loads((tmp_path / "i" / "results.json").read_text())["rows"]["PCA"]
    assert not (tmp_path / "i" / "codes.png").exists()


def test_building_the_parser_leaves_heavy_modules_unimported():
    # aekit --help took 3.2 s: datasets, PCA, k-NN and matplotlib were imported only to build the parser
    import subprocess
    import sys
    from pathlib import Path

    heavy = ("matplotlib", "sklearn.datasets", "sklearn.decomposition", "aekit.compare")
    code = ("import sys; from aekit.cli import build_parser; build_parser(); "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    src = str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": src}).stdout
    assert out.strip() == "[]"
