"""``aekit evaluate`` and ``aekit impute`` (and ``aekit features --mmap``), called in-process."""

import json
import warnings

import numpy as np
import pytest

from aekit import load
from aekit.cli import main
from aekit.evaluation import evaluate

FAST = ["--hidden-layer-sizes", "16", "--max-epochs", "3", "--batch-size", "32", "--random-state", "0",
        "--quiet"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    for name, extra in {"ae": [], "dae": ["--model", "denoising", "--corruption-level", "0.2"],
                        "imputer": ["--model", "imputer"]}.items():
        assert main(["train", "--dataset", "digits", "--out", str(root / name), "--n-components", "8",
                     *extra, *FAST]) == 0
    return root


@pytest.fixture
def table(tmp_path, rng):
    """A CSV with a header and empty cells, and the same values as an array."""
    X = rng.random((60, 5)) @ rng.random((5, 5))
    X[rng.random(X.shape) < 0.15] = np.nan
    lines = ["alpha,beta,gamma,delta,epsilon"]
    lines += [",".join("" if np.isnan(v) else f"{v:.6f}" for v in row) for row in X]
    path = tmp_path / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, np.round(X, 6)


@pytest.fixture
def table_imputer(tmp_path, table):
    model = tmp_path / "tab-imputer"
    assert main(["train", str(table[0]), "--model", "imputer", "--out", str(model), "--n-components", "3",
                 *FAST]) == 0
    return model


def test_evaluate_prints_the_numbers_of_evaluate(models, tmp_path, capsys):
    capsys.readouterr()
    out_json = tmp_path / "ae.json"
    assert main(["evaluate", str(models / "ae"), "--dataset", "digits", "--out", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "Autoencoder" in text and "digits (test split): 360 samples x 64 features" in text
    written = json.loads(out_json.read_text())
    from aekit.datasets import load_digits

    expected = evaluate(load(models / "ae"), load_digits().X_test)
    assert written["error_per_sample"] == pytest.approx(expected["error_per_sample"])
    assert f"reconstruction error per sample          {expected['error_per_sample']:.6g}" in text
    assert main(["evaluate", str(models / "ae"), "--dataset", "digits", "--split", "train", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_samples"] == 1437


def test_evaluate_denoiser_and_imputer_with_figures(models, tmp_path, capsys):
    capsys.readouterr()
    figure = tmp_path / "dae.png"
    assert main(["evaluate", str(models / "dae"), "--dataset", "digits", "--noise-level", "0.3",
                 "--figure", str(figure), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["noise"] == "gaussian" and result["noise_level"] == 0.3
    assert figure.stat().st_size > 5000 and figure.read_bytes()[:4] == b"\x89PNG"
    figure = tmp_path / "imp.png"
    assert main(["evaluate", str(models / "imputer"), "--dataset", "digits", "--hide", "0.5",
                 "--figure", str(figure)]) == 0
    text = capsys.readouterr().out
    assert "50% of the observed entries hidden (seed 0)" in text and "imputation RMSE" in text
    assert figure.is_file()


def test_evaluate_errors(models, tmp_path, capsys):
    data = tmp_path / "flat.npy"
    np.save(data, np.random.default_rng(0).random((10, 64)).astype(np.float32))
    np.save(tmp_path / "wrong.npy", np.zeros((3, 5)))
    existing = tmp_path / "taken.json"
    existing.write_text("{}")
    cases = [
        (["evaluate", str(models / "ae"), str(tmp_path / "no.npy")], "nor an existing file or directory"),
        (["evaluate", str(models / "ae"), "--dataset", "digits", "--out", str(existing)], "exists; pass --overwrite"),
        (["evaluate", str(models / "ae"), str(data), "--figure", str(tmp_path / "f.png")],
         f"--figure needs image data; {data} has 64 features and no image shape: give the images as a folder or a "
         ".npy of shape (n, height, width[, channels]), pass --image-shape H W [C], or leave --figure out."),
        (["evaluate", str(models / "imputer"), "--dataset", "digits", "--hide", "1.5"], "--hide must be in (0, 1]"),
        (["evaluate", str(models / "imputer"), "--dataset", "digits", "--hide", "0"], "--hide must be in (0, 1]"),
        (["evaluate", str(models / "dae"), "--dataset", "digits", "--noise-level", "-1"],
         "--noise-level -1.0: corruption_level for 'gaussian' must be in [0, inf); got -1.0"),
        (["evaluate", str(models / "ae"), str(tmp_path / "wrong.npy")],
         "X has 5 features, but Autoencoder is expecting 64 features as input"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err
    assert existing.read_text() == "{}" and not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("command", ["evaluate", "errors"])
def test_image_shape_draws_the_figure_of_flat_rows(models, tmp_path, capsys, command):
    # a flat .npy (or CSV) of images, e.g. MNIST as 784 columns, with a model trained without an image shape: the
    # figure was refused with no way to draw it but rewriting the data as (n, height, width)
    data = tmp_path / "flat.npy"
    np.save(data, np.random.default_rng(0).random((12, 64)).astype(np.float32))
    figure = tmp_path / "f.png"
    out = ["--out", str(tmp_path / "e.npy")] if command == "errors" else []
    assert main([command, str(models / "ae"), str(data), *out, "--figure", str(figure), "--image-shape", "8", "8",
                 "--quiet"]) == 0
    from PIL import Image

    with Image.open(figure) as image:
        assert image.size[0] > 200 and image.size[1] > 100
    capsys.readouterr()
    for shape, message in [(["4", "4"], "--image-shape 4 4 holds 16 values; the features of {data} are 64."),
                           (["4", "8", "2"], "--image-shape must be H W [C] with C 1, 3 or 4 and H*W*C = 64 "
                                             "(the features of {data}); got 4 8 2."),
                           (["8", "8"], "--image-shape shapes the images of --figure; give --figure PNG too")]:
        drawn = ["--figure", str(tmp_path / "g.png")] if shape != ["8", "8"] else []
        out = ["--out", str(tmp_path / "e2.npy")] if command == "errors" else []
        assert main([command, str(models / "ae"), str(data), *out, *drawn, "--image-shape", *shape]) == 2
        err = capsys.readouterr().err.strip()
        named = data if command == "evaluate" else data.name  # aekit errors names the data by its file name
        assert len(err.splitlines()) == 1 and message.format(data=named) in err, err
        assert not (tmp_path / "g.png").exists() and not (tmp_path / "e2.npy").exists()  # refused before the work


def test_impute_csv_keeps_header_and_observed_values(table, table_imputer, tmp_path):
    path, X = table
    out = tmp_path / "filled.csv"
    assert main(["impute", str(table_imputer), str(path), "--out", str(out), "--quiet"]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "alpha,beta,gamma,delta,epsilon" and len(lines) == 61
    filled = np.loadtxt(out, delimiter=",", skiprows=1)
    assert not np.isnan(filled).any()
    observed = ~np.isnan(X)
    np.testing.assert_allclose(filled[observed], X[observed], rtol=1e-6)
    expected = load(table_imputer).transform(X.astype(np.float32))
    np.testing.assert_allclose(filled, expected, rtol=1e-6)


def _rewritten(path, tmp_path, name, order=None, header=None):
    """``path``'s CSV with its columns in ``order`` (indices) and/or another ``header`` line."""
    lines = [line.split(",") for line in path.read_text().splitlines()]
    order = range(len(lines[0])) if order is None else order
    lines = [[cells[i] for i in order] for cells in lines]
    if header is not None:
        lines[0] = header.split(",")
    out = tmp_path / name
    out.write_text("\n".join(",".join(cells) for cells in lines) + "\n")
    return out


def test_a_table_with_its_columns_moved_is_refused_not_read_by_position(table, table_imputer, tmp_path, capsys):
    # the model was trained on alpha,...,epsilon: the same table with two columns swapped used to be filled (and
    # scored, encoded) without a word, each value going into another column's input
    path, _ = table
    swapped = _rewritten(path, tmp_path, "swapped.csv", order=[1, 0, 2, 3, 4])
    renamed = _rewritten(path, tmp_path, "renamed.csv", header="alpha,beta,gamma,delta,zeta")
    with_id = tmp_path / "with_id.csv"
    with_id.write_text("".join(f"{i - 1 if i else 'row'},{line}\n"
                               for i, line in enumerate(path.read_text().splitlines())))
    out = tmp_path / "filled.csv"
    cases = [(["impute", str(table_imputer), str(swapped), "--out", str(out)],
              "swapped.csv has the same columns in another order than"),
             (["impute", str(table_imputer), str(renamed), "--out", str(out)],
              "column 5 is 'zeta', the model's is 'epsilon'"),
             (["impute", str(table_imputer), str(with_id), "--out", str(out)],
              "with_id.csv has 6 columns, but"),
             (["evaluate", str(table_imputer), str(swapped)], "column 1 is 'beta', the model's is 'alpha'")]
    capsys.readouterr()
    for argv, message in cases:
        assert main([*argv, "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()
    # the same columns in the same order pass, with or without a header
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("\n".join(path.read_text().splitlines()[1:]) + "\n")
    for ok in (path, headerless):
        assert main(["impute", str(table_imputer), str(ok), "--out", str(out), "--overwrite", "--quiet"]) == 0


def test_a_model_fitted_on_a_dataframe_refuses_a_csv_with_its_columns_moved(table, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    from aekit import Autoencoder

    path, X = table
    frame = pd.DataFrame(np.nan_to_num(X), columns=["alpha", "beta", "gamma", "delta", "epsilon"])
    model = tmp_path / "ae"
    Autoencoder(2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(frame).save(model)
    complete = tmp_path / "complete.csv"
    frame.to_csv(complete, index=False)
    swapped = _rewritten(complete, tmp_path, "swapped.csv", order=[0, 1, 2, 4, 3])
    capsys.readouterr()
    for command in ("errors", "encode", "reconstruct"):
        assert main([command, str(model), str(swapped), "--out", str(tmp_path / "o.npy"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert "column 4 is 'epsilon', the model's is 'delta'" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "o.npy").exists()
    # its own columns pass, and without scikit-learn's "X does not have valid feature names" on every call (the
    # command passes arrays; the header was checked above): the warning filters are put back after the command
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["errors", str(model), str(complete), "--out", str(tmp_path / "o.npy"), "--quiet"]) == 0
        inside = list(warnings.filters)
    assert not [w for w in caught if "feature names" in str(w.message)], [str(w.message) for w in caught]
    assert inside[0][0] == "always" and list(warnings.filters) == before


def test_train_records_the_csv_columns_and_warm_start_checks_them(table, table_imputer, tmp_path, capsys):
    path, _ = table
    metrics = json.loads((table_imputer / "metrics.json").read_text())
    assert metrics["columns"] == ["alpha", "beta", "gamma", "delta", "epsilon"]
    capsys.readouterr()
    assert main(["info", str(table_imputer)]) == 0
    assert "metric columns = ['alpha', 'beta', 'gamma', 'delta', 'epsilon']" in capsys.readouterr().out
    swapped = _rewritten(path, tmp_path, "swapped.csv", order=[0, 1, 3, 2, 4])
    capsys.readouterr()
    assert main(["train", str(swapped), "--warm-start", str(table_imputer), "--max-epochs", "1",
                 "--out", str(tmp_path / "more"), "--quiet"]) == 2
    assert "column 3 is 'delta', the model's is 'gamma'" in capsys.readouterr().err
    assert not (tmp_path / "more").exists()


def test_impute_npy_keeps_the_array_shape(models, tmp_path):
    from aekit.datasets import load_digits

    images = load_digits().X_test[:20].reshape(20, 8, 8).astype(np.float64)
    images[:, 2:5, 2:5] = np.nan
    data, out = tmp_path / "holes.npy", tmp_path / "filled.npy"
    np.save(data, images)
    assert main(["impute", str(models / "imputer"), str(data), "--out", str(out), "--quiet"]) == 0
    filled = np.load(out)
    assert filled.shape == (20, 8, 8) and not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[:, 0], images[:, 0])


def test_impute_and_encode_errors(models, table, tmp_path, capsys):
    path, _ = table
    cases = [
        (["impute", str(models / "ae"), str(path), "--out", str(tmp_path / "f.csv")],
         "holds a model (Autoencoder) that does not fill missing values; train an imputer"),
        (["impute", str(models / "imputer"), str(path), "--out", str(tmp_path / "f.txt")],
         "--out must end in .npy or .csv"),
        (["encode", str(models / "imputer"), "--dataset", "digits", "--out", str(tmp_path / "c.npy")],
         "whose transform fills missing values rather than encoding: use aekit impute"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert main([*argv, "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert not list(tmp_path.glob("f.*")) and not (tmp_path / "c.npy").exists()


# ---------------------------------------------------------------- --mmap: evaluate and features stream DATA
@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """Pixels as uint8 (0..255), float64 and Fortran-ordered float32 (both in [0, 1]) .npy files, and a model of each
    kind trained on the float32 pixels."""
    root = tmp_path_factory.mktemp("mapped")
    X = (np.arange(300 * 12).reshape(300, 12) * 37 % 256).astype(np.uint8)
    files = {"uint8": X, "float64": X / 255.0, "fortran": np.asfortranarray(X / 255.0, dtype=np.float32)}
    for name, array in {**files, "train": (X / 255.0).astype(np.float32)}.items():
        np.save(root / f"{name}.npy", array)
    for kind in ("autoencoder", "sparse", "variational", "contractive", "denoising", "imputer"):
        assert main(["train", str(root / "train.npy"), "--model", kind, "--out", str(root / kind), "--n-components",
                     "3", *FAST]) == 0
    return root, {name: root / f"{name}.npy" for name in files}


@pytest.fixture
def spy_inputs(monkeypatch):
    """The X each call of an estimator's ``_inference_X`` receives."""
    from aekit import Autoencoder

    seen = []
    given = Autoencoder._inference_X
    monkeypatch.setattr(Autoencoder, "_inference_X", lambda self, X: seen.append(X) or given(self, X))
    return seen


@pytest.mark.parametrize("kind", ["uint8", "float64", "fortran"])
@pytest.mark.parametrize("model", ["autoencoder", "sparse", "variational", "contractive"])
def test_evaluate_mmap_keeps_the_memmap_and_prints_the_in_memory_numbers(mapped, spy_inputs, capsys, model, kind):
    """The model gets the memory map in its file's dtype; the numbers (PSNR of the [0, 1] files, a sparse model's
    code statistics, a VAE's ELBO) are those of DATA loaded whole, exactly (float64 sums over the same blocks)."""
    root, files = mapped
    capsys.readouterr()
    assert main(["evaluate", str(root / model), str(files[kind]), "--mmap", "--json"]) == 0
    streamed = json.loads(capsys.readouterr().out)
    assert spy_inputs and all(isinstance(X, np.memmap) and X.dtype == np.load(files[kind]).dtype
                              for X in spy_inputs)
    spy_inputs.clear()
    assert main(["evaluate", str(root / model), str(files[kind]), "--json"]) == 0
    loaded = json.loads(capsys.readouterr().out)
    assert not any(isinstance(X, np.memmap) for X in spy_inputs)
    assert ("psnr_db" in streamed) == (kind != "uint8")
    assert ("active_fraction" in streamed) == (model == "sparse")
    assert ("negative_elbo_per_sample" in streamed) == (model == "variational")
    assert streamed == loaded


def test_evaluate_takes_a_memmap_without_reading_it_whole(mapped, spy_inputs, monkeypatch):
    """evaluate(model, memmap): the memory map reaches the model, and the NaN and range checks read it a few rows at
    a time (np.asarray made it a plain array, which was read whole); the numbers are the loaded array's."""
    from aekit import _memmap_io

    root, files = mapped
    model = load(root / "sparse")
    X = np.load(files["float64"], mmap_mode="r")
    monkeypatch.setattr(_memmap_io, "BLOCK_BYTES", 7 * 12 * 8)  # 7 rows a block: 43 blocks
    blocks = []
    given = _memmap_io.row_blocks
    monkeypatch.setattr("aekit.evaluation.row_blocks", lambda a: blocks.append(a) or given(a))
    streamed = evaluate(model, X)
    assert spy_inputs and all(isinstance(A, np.memmap) for A in spy_inputs)
    # the NaN check and the [0, 1] range, in one pass
    assert len(blocks) == 1 and all(isinstance(A, np.memmap) for A in blocks)
    assert streamed == evaluate(model, np.load(files["float64"]))
    X = np.load(files["float64"])
    X[-1, -1] = np.nan  # in the last block
    np.save(root / "nan.npy", X)
    with pytest.raises(ValueError, match="X has missing values"):
        evaluate(model, np.load(root / "nan.npy", mmap_mode="r"))


@pytest.mark.parametrize("model, drawn", [("denoising", "noise"), ("imputer", "hidden entries")])
def test_evaluate_mmap_refuses_a_denoiser_and_an_imputer_in_one_line(mapped, capsys, model, drawn):
    root, files = mapped
    capsys.readouterr()
    assert main(["evaluate", str(root / model), str(files["uint8"]), "--mmap"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aekit evaluate: error: --mmap") and "\n" not in err, err
    assert f"seeded {drawn} are drawn over the whole of DATA" in err and "leave out --mmap" in err


@pytest.mark.parametrize("kind", ["uint8", "float64", "fortran"])
def test_features_mmap_writes_the_in_memory_codes_and_statistics(mapped, spy_inputs, tmp_path, capsys, kind):
    root, files = mapped
    out = {how: tmp_path / f"{how}.npy" for how in ("mapped", "loaded")}
    capsys.readouterr()
    assert main(["features", str(root / "sparse"), str(files[kind]), "--mmap", "--out", str(out["mapped"])]) == 0
    printed = capsys.readouterr().out
    assert spy_inputs and all(isinstance(X, np.memmap) and X.dtype == np.load(files[kind]).dtype
                              for X in spy_inputs)
    assert main(["features", str(root / "sparse"), str(files[kind]), "--out", str(out["loaded"])]) == 0
    assert capsys.readouterr().out.replace("loaded.npy", "mapped.npy") == printed
    np.testing.assert_array_equal(np.load(out["mapped"]), np.load(out["loaded"]))


def test_features_writes_its_codes_a_block_of_rows_at_a_time(mapped, tmp_path, monkeypatch, capsys):
    """Codes computed, counted and written in blocks of 16 rows: the file and the statistics are those of one
    call on all rows (the statistics' sums over other runs of rows: equal to 1e-12)."""
    from aekit import SparseAutoencoder, _inference
    from aekit.cli import _blocks
    from aekit.metrics import code_statistics

    root, files = mapped
    model = load(root / "sparse")
    X = np.load(files["uint8"])
    whole = model.transform(X)
    monkeypatch.setattr(_inference, "INFERENCE_BATCH", 16)
    monkeypatch.setattr(_blocks, "OUTPUT_BLOCK_BYTES", 1)
    rows = []
    given = SparseAutoencoder.transform
    monkeypatch.setattr(SparseAutoencoder, "transform", lambda self, A: rows.append(len(A)) or given(self, A))
    out = tmp_path / "codes.npy"
    capsys.readouterr()
    assert main(["features", str(root / "sparse"), str(files["uint8"]), "--mmap", "--out", str(out)]) == 0
    assert rows == [16] * 18 + [12]
    np.testing.assert_array_equal(np.load(out), whole)
    stats = code_statistics(whole, threshold=model.activity_threshold_)
    printed = capsys.readouterr().out
    assert f"mean |h|: {stats['mean_abs']:.4g}" in printed and f"{stats['active_fraction']:.1%}" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.npy"]  # no temporary file left


def test_evaluate_mmap_draws_the_in_memory_figure(mapped, tmp_path):
    """--figure reads its 10 rows of the memory map (uint8 pixels, drawn as the float32 the model sees)."""
    root, files = mapped
    figures = {how: tmp_path / f"{how}.png" for how in ("mapped", "loaded")}
    for how, flags in (("mapped", ["--mmap"]), ("loaded", [])):
        assert main(["evaluate", str(root / "autoencoder"), str(files["uint8"]), *flags, "--figure",
                     str(figures[how]), "--image-shape", "3", "4", "--quiet"]) == 0
    assert figures["mapped"].read_bytes() == figures["loaded"].read_bytes()


def test_features_mmap_draws_the_in_memory_figures(mapped, tmp_path):
    """--figures: the histogram of the codes written and the filters, with the columns constant in DATA found a
    block at a time, as in memory."""
    root, files = mapped
    for how, flags in (("mapped", ["--mmap"]), ("loaded", [])):
        assert main(["features", str(root / "sparse"), str(files["uint8"]), *flags, "--out",
                     str(tmp_path / f"{how}.npy"), "--figures", str(tmp_path / f"{how}-figures"), "--image-shape", "3",
                     "4", "--quiet"]) == 0
    for name in ("activations.png", "filters.png"):
        assert (tmp_path / "mapped-figures" / name).read_bytes() == (tmp_path / "loaded-figures" / name).read_bytes()
