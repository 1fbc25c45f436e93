"""The README's commands and Python blocks run, in the README's order, scaled down to seconds.

``test_readme.py`` parses every command; this runs them, so a command that
parses but fails (`torchrun ... aekit train` without --random-state did, until
every rank took rank 0's random draw) is caught. Scaled down, and nothing else
changed: digits for Fashion-MNIST (the same commands on 8x8 images), small
hidden layers and codes, one epoch, few patches; the input files a command
names (``table.csv``, ``photos/``, ``shirt.png``, ...) are made from real data
first. Not run: ``pip``, ``pytest``, ``torchrun`` (``test_distributed.py`` runs
``aekit train`` under torchrun as the README writes it), ``aekit reproduce``
(``test_reproduce.py``), and elided commands (``aekit train ... --resume``).
The Python blocks run on 2000 Fashion-MNIST images, one epoch each, with the
names they leave to the reader (``X``, ``my_table``, ...) given real data.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aekit.cli import main
from aekit.images import write_image
from test_readme import COMMANDS, SUBCOMMANDS

#: Flags with their scaled-down values, applied where a command has the flag (its value replaced).
SMALLER = {"--hidden-layer-sizes": ["16"], "--max-epochs": ["1"], "--n-patches": ["400"], "--patch-size": ["8"],
           "--k": ["4"], "--budget-minutes": ["0.05"], "--dataset": ["digits"], "--max-time": ["60"]}
#: Values of --n-components above this are cut to it (digits have 64 pixels).
MAX_CODE = 8


def _scaled(argv: list[str]) -> list[str]:
    """``argv`` with the values of :data:`SMALLER`'s flags replaced (all the values a flag takes)."""
    out, i = [], 0
    while i < len(argv):
        word = argv[i]
        out.append(word)
        i += 1
        if word in SMALLER or word == "--n-components":
            values = []
            while i < len(argv) and not argv[i].startswith("-"):
                values.append(argv[i])
                i += 1
            if word == "--n-components":
                values = [str(min(int(v), MAX_CODE)) for v in values]
                values = list(dict.fromkeys(values))  # a sweep's 8 16 32: 8 once
            elif word == "--dataset":
                values = ["digits" if v == "fashion-mnist" else v for v in values]
            else:
                values = SMALLER[word]
            out.extend(values)
    if argv[0] in ("train", "compare", "sweep", "train-denoiser") and "--max-epochs" not in argv:
        out += ["--max-epochs", "1"]
    return out


def _inputs(root) -> None:
    """The files the README's commands read, from real data: digits, a wine table, scikit-image photographs."""
    import skimage.data
    from sklearn.datasets import load_digits, load_wine

    digits = load_digits().data.astype(np.float32) / 16
    np.save(root / "my_data.npy", digits[:50])
    np.save(root / "big.npy", digits)
    wine = load_wine(as_frame=True).frame.drop(columns="target")
    wine.to_csv(root / "table.csv", index=False)  # complete, for the anomaly scores; the imputer's: _holed_table
    camera = skimage.data.camera()[::8, ::8] / 255.0  # 64x64
    for folder, image in (("photos", camera), ("photos", skimage.data.moon()[::8, ::8] / 255.0),
                          ("scans", skimage.data.coins()[::8, ::8] / 255.0)):
        (root / folder).mkdir(exist_ok=True)
        write_image(root / folder / f"{len(list((root / folder).iterdir()))}.png", image)
    noise = np.random.default_rng(0).normal(0, 0.1, camera.shape)
    write_image(root / "noisy1.png", np.clip(camera + noise, 0, 1))
    write_image(root / "shirt.png", digits[0].reshape(8, 8))  # the model's size: digits stand in for clothes
    holes = np.zeros((8, 8))
    holes[3:5, 2:6] = 1
    write_image(root / "holes.png", holes)
    centre = np.zeros((8, 8))
    centre[2:6, 2:6] = 1
    Image.fromarray((centre * 255).astype(np.uint8)).save(root / "centre.png")


def _holed_table(root) -> None:
    """``table.csv`` with empty cells, for the imputer's commands (the anomaly section's table is complete)."""
    import pandas as pd

    table = pd.read_csv(root / "table.csv")
    table.iloc[::7, 3] = np.nan
    table.to_csv(root / "table.csv", index=False)


def _runnable():
    return [(n, command, argv) for n, command, argv in COMMANDS
            if not command.startswith("torchrun") and argv[0] != "reproduce" and "..." not in argv]


def test_the_walk_covers_the_readme():
    commands = {argv[0] for _, _, argv in _runnable()}
    assert {"train", "info", "encode", "reconstruct", "decode", "evaluate", "errors", "compare", "sweep", "features",
            "sample", "train-denoiser", "denoise", "inpaint", "impute"} <= commands


def test_the_readme_commands_run_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _inputs(tmp_path)
    for number, command, argv in _runnable():
        if argv[:2] == ["train", "table.csv"] and "imputer" in argv:
            _holed_table(tmp_path)
        quiet = ["--quiet"] if "--quiet" in SUBCOMMANDS[argv[0]]._option_string_actions else []
        code = main(_scaled(argv) + quiet)
        err = capsys.readouterr().err
        assert code == 0, f"README line {number}: {command}\nran as: aekit {' '.join(_scaled(argv))}\n{err}"
    # what the walk wrote, as the README says
    assert (tmp_path / "models" / "fmnist" / "metrics.json").is_file()
    assert np.load(tmp_path / "codes.npy").shape[1] == MAX_CODE
    assert np.load(tmp_path / "recon.npy").shape == (50, 64)
    assert np.load(tmp_path / "vae_samples.npy").shape == (64, 64)
    assert (tmp_path / "denoised" / "0.png").is_file() and (tmp_path / "filled.png").is_file()
    filled = (tmp_path / "filled.csv").read_text().splitlines()
    assert filled[0].startswith("alcohol,") and ",," not in "\n".join(filled)


@pytest.mark.parametrize("argv, expected", [
    (["train", "--dataset", "fashion-mnist", "--n-components", "30", "--hidden-layer-sizes", "1000", "500", "250",
      "--loss", "bce"],
     ["train", "--dataset", "digits", "--n-components", "8", "--hidden-layer-sizes", "16", "--loss", "bce",
      "--max-epochs", "1"]),
    (["sweep", "--dataset", "digits", "--n-components", "2", "4", "8", "16", "32", "--out", "r"],
     ["sweep", "--dataset", "digits", "--n-components", "2", "4", "8", "--out", "r", "--max-epochs", "1"]),
])
def test_scaling_down_replaces_values_only(argv, expected):
    assert _scaled(argv) == expected


# ---------------------------------------------------------------- the README's Python blocks
#: Names the README's Python blocks use without defining them ("X = ...your data..."): given here.
UNDEFINED = ("X", "X_val", "my_table", "X_images", "patch_model", "read_chunks")


def _small_fashion_mnist():
    """Fashion-MNIST cut to 2000 training and 500 test images (as loaded, in order), or a skip."""
    import dataclasses

    from aekit.datasets import load_fashion_mnist

    try:
        data = load_fashion_mnist()
    except FileNotFoundError as err:
        pytest.skip(f"Fashion-MNIST is not installed: {err}")
    return dataclasses.replace(data, X_train=data.X_train[:2000], y_train=data.y_train[:2000],
                               X_test=data.X_test[:500], y_test=data.y_test[:500])


def _given(root, data) -> dict:
    """Values for :data:`UNDEFINED`, from real data."""
    from sklearn.datasets import load_wine

    from aekit import DenoisingAutoencoder
    from aekit.images import sample_patches

    X = data.X_train[:500]
    np.save(root / "big.npy", X)
    np.savetxt(root / "big.csv", X, delimiter=",")

    def read_chunks(path, rows=128):
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        return iter(np.array_split(table, max(1, len(table) // rows)))

    wine = load_wine().data
    wine[::5, 2] = np.nan
    holed = data.X_train[:300].copy()
    holed.reshape(-1, 28, 28)[::3, 8:20, 8:20] = np.nan  # a third with the centre missing
    photo = np.asarray(data.X_test[0].reshape(28, 28))
    patches = sample_patches([photo], (8, 8), 200)
    patch_model = DenoisingAutoencoder(4, hidden_layer_sizes=(8,), architecture="fully_conv", image_shape=(8, 8),
                                       max_epochs=1, random_state=0).fit(patches)
    return {"X": X, "X_val": data.X_test[:100], "my_table": wine.tolist(), "X_images": holed,
            "patch_model": patch_model, "read_chunks": read_chunks}


def _scaled_code(code: str) -> str:
    """A block's code with its ``max_epochs`` cut to 1 (``_one_epoch`` cuts the default too, but not in the
    processes an ImputerEnsemble with ``n_jobs=2`` starts) and its row counts of 5000 (the anomaly threshold's
    training rows) to 100: the data has 2000 rows. Nothing else changed."""
    import re

    return re.sub(r"max_epochs=\d+", "max_epochs=1", code).replace("5000", "100")


def _one_epoch(monkeypatch) -> None:
    """Every training run (any estimator, its ``max_epochs`` given or default) stops after one epoch."""
    from aekit.training import Trainer

    original = Trainer.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.max_epochs = min(self.max_epochs, 1)

    monkeypatch.setattr(Trainer, "__init__", init)


def test_the_readme_python_blocks_run_in_order(tmp_path, monkeypatch, capsys):
    import aekit.datasets
    from aekit.images import write_image
    from test_readme import PYTHON_BLOCKS

    data = _small_fashion_mnist()
    monkeypatch.setattr(aekit.datasets, "load_fashion_mnist", lambda *args, **kwargs: data)
    _one_epoch(monkeypatch)
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "noisy.png", np.asarray(data.X_test[1].reshape(28, 28)))
    namespace = {"__name__": "readme", **_given(tmp_path, data)}
    for start, lines in PYTHON_BLOCKS:
        code = _scaled_code("\n".join(lines))
        try:
            exec(compile(code, f"README.md:{start}", "exec"), namespace)
        except Exception as err:  # noqa: BLE001 (which block, then the error)
            raise AssertionError(f"the README's Python block at line {start} failed: {type(err).__name__}: "
                                 f"{err}") from err
    capsys.readouterr()
    # what the blocks made, as the README says
    assert namespace["Z"].shape == (500, 30) and namespace["X_hat"].shape == (500, 784)
    assert namespace["new"].shape == (64, 784) and 0 <= namespace["new"].min() and namespace["new"].max() <= 1
    assert not np.isnan(namespace["X_filled"]).any()
    assert (tmp_path / "models" / "fmnist-py").is_dir() and (tmp_path / "clean.png").is_file()
