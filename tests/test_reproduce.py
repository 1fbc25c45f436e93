"""``aekit reproduce hinton2006``: the experiment library and the command, end to end on digits."""

import doctest
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aekit import compare
from aekit.cli import main
from aekit.experiments import hinton2006
from aekit.experiments.hinton2006 import (PAPER_ERRORS, FlippedImages, FreshFacePatches, WallClockBudget,
                                          format_table, make_estimator)

SHARED_DATA = Path(os.environ.get("AEKIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

OUTPUTS = ["figure.png", "loss_curve.png", "params.json", "results.json", "results.md"]



@pytest.fixture
def figure_rows(monkeypatch):
    """Record the rows write_comparison draws in the seed figure."""
    calls = []
    draw = compare.image_rows

    def spy(rows, image_shape, **kwargs):
        calls.append((rows, image_shape, kwargs))
        return draw(rows, image_shape, **kwargs)

    monkeypatch.setattr(compare, "image_rows", spy)
    return calls


def test_reproduce_digits_end_to_end(tmp_path, figure_rows, capsys):
    out = tmp_path / "digits"
    budget_minutes = 0.05
    argv = ["reproduce", "hinton2006", "--dataset", "digits", "--budget-minutes", str(budget_minutes),
            "--out", str(out), "--hidden-layer-sizes", "32", "16", "--n-show", "6", "--quiet"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    for name in ("figure.png", "loss_curve.png"):
        with Image.open(out / name) as im:
            assert im.format == "PNG" and min(im.size) > 100

    # the figure: three rows of six 8x8 images, test images / autoencoder / PCA, same columns
    (rows, image_shape, kwargs), = figure_rows
    assert image_shape == (8, 8) and kwargs["n_images"] == 6
    assert [label.split()[0] for label, _ in rows] == ["test", "autoencoder", "PCA"]
    assert all(np.asarray(X).shape == (6, 64) for _, X in rows)
    with Image.open(out / "figure.png") as im:
        width, height = im.size
    assert width > 2 * height  # six columns, three rows

    results = json.loads((out / "results.json").read_text())
    assert set(results["rows"]) == {"PCA", "autoencoder"}
    ae, pca = results["rows"]["autoencoder"]["test_error"], results["rows"]["PCA"]["test_error"]
    assert math.isclose(results["ratio"], ae / pca)
    assert results["n_components"] == 10 and results["paper"] is None
    assert len(results["loss_curve"]) == results["experiment"]["epochs"] >= 1
    # the budget stops training, not an epoch count
    assert results["experiment"]["training_seconds"] <= 60 * budget_minutes + 5

    params = json.loads((out / "params.json").read_text())
    assert params["estimator"]["hidden_layer_sizes"] == [32, 16]
    assert params["estimator"]["loss"] == "bce" and params["estimator"]["activation"] == "gelu"
    assert params["experiment"]["budget_minutes"] == budget_minutes
    assert "load_average_1_5_15min" in params["environment"]

    table = (out / "results.md").read_text()
    assert "| autoencoder |" in table and "| PCA |" in table
    assert capsys.readouterr().out.startswith("| method (10-D code)")

    # never overwritten without --overwrite
    assert main(argv) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err


def test_paper_recipe_runs_with_rbm_pretraining(tmp_path):
    summary = hinton2006.run("digits", tmp_path / "paper", budget_minutes=0.05, pretraining_epochs=1,
                             params={"activation": "sigmoid", "pretraining": "rbm", "hidden_layer_sizes": (32, 16)})
    assert summary["experiment"]["pretraining_epochs_per_layer"] == 1
    assert np.isfinite(summary["rows"]["autoencoder"]["test_error"])


def test_flipped_images_mirror_a_random_half_anew_each_epoch(tmp_path):
    X = np.random.default_rng(0).random((400, 12)).astype(np.float32)
    before = X.copy()
    flips = FlippedImages(X, (3, 4), seed=0)
    A = flips(0, epoch=1)
    np.testing.assert_array_equal(A, flips(0, epoch=1))
    np.testing.assert_array_equal(X, before)  # the training set itself is left alone
    mirrored = (A.reshape(-1, 3, 4) == X.reshape(-1, 3, 4)[:, :, ::-1]).all(axis=(1, 2))
    kept = (A == X).all(axis=1)
    assert (mirrored | kept).all() and 150 < mirrored.sum() < 250
    assert not np.array_equal(A, flips(0, epoch=2))
    # through the experiment: flips on, and no validation split (mirrored copies would be trained on)
    summary = hinton2006.run("digits", tmp_path / "flip", budget_minutes=0.03, flip=True,
                             params={"hidden_layer_sizes": (16,)})
    assert summary["experiment"]["flip"] is True and summary["validation_curve"] == []


def test_unknown_dataset_lists_the_valid_ones(tmp_path, capsys):
    assert main(["reproduce", "hinton2006", "--dataset", "cifar", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--dataset must be one of faces, mnist, fashion-mnist, digits; got 'cifar'" in err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match=r"dataset must be one of \{'faces', 'mnist', 'fashion-mnist', 'digits'\}"):
        hinton2006.run("cifar", tmp_path / "y")


def test_run_refuses_a_folder_of_other_files_before_training(tmp_path, monkeypatch):
    # run(..., replace=True) swaps its results in for the whole out_dir: a folder of earlier runs was deleted, after
    # the training
    (tmp_path / "runs" / "faces").mkdir(parents=True)
    (tmp_path / "runs" / "faces" / "results.json").write_text("{}")
    monkeypatch.setattr(hinton2006, "load", lambda *a, **k: pytest.fail("trained before refusing"))
    for out in (tmp_path / "runs", Path(".")):
        with pytest.raises(ValueError, match=r"holds files but no results.json|is the current directory"):
            hinton2006.run("digits", out, budget_minutes=0.01)
    assert (tmp_path / "runs" / "faces" / "results.json").read_text() == "{}"


def test_missing_faces_say_where_they_were_looked_for_and_how_to_get_them(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["reproduce", "hinton2006", "--dataset", "faces", "--data-dir", str(empty), "--no-download",
            "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1  # one line, with all of it
    assert str(empty / "olivettifaces.mat") in err
    assert "To get them: download https://" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv,message", [
    (["--budget-minutes", "0"], "--budget-minutes must be > 0; got 0.0"),
    (["--n-show", "0"], "--n-show must be >= 1"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--pretraining-epochs", "0", "--activation", "sigmoid", "--pretraining", "rbm"],
     "--pretraining-epochs must be >= 1; got 0"),
    (["--activation", "relu", "--pretraining", "rbm"], "--pretraining rbm needs --activation sigmoid"),
    # these two named the Python parameters (fresh_patches, lighting), the second only after loading the faces
    (["--fresh-patches", "-5"], "--fresh-patches must be >= 0; got -5"),
    (["--lighting", "-1"], "--lighting must be in [0, 1); got -1.0"),
    (["--lighting", "nan"], "--lighting must be in [0, 1); got nan"),
])
def test_bad_options(tmp_path, capsys, argv, message):
    assert main(["reproduce", "hinton2006", "--dataset", "digits", "--out", str(tmp_path / "o"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


class _FakeTrainer:
    learning_rate = 1e-3

    def __init__(self):
        self.optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=self.learning_rate)


def test_wall_clock_budget_stops_before_overrunning_and_anneals():
    budget, trainer = WallClockBudget(100.0), _FakeTrainer()
    assert budget(trainer, 1, {"loss": 1.0, "seconds": 10.0}) is False
    assert math.isclose(trainer.optimizer.param_groups[0]["lr"], 1e-3, rel_tol=1e-3)  # start of the cosine
    budget.t0 -= 50.0  # half the budget spent
    assert budget(trainer, 2, {"loss": 1.0, "seconds": 10.0}) is False
    assert math.isclose(trainer.optimizer.param_groups[0]["lr"], 5e-4, rel_tol=1e-2)
    budget.t0 -= 45.0  # 95 s spent: another 10 s epoch would overrun
    assert budget(trainer, 3, {"loss": 1.0, "seconds": 10.0}) is True
    assert trainer.optimizer.param_groups[0]["lr"] < 1e-5
    fixed = WallClockBudget(100.0, anneal=False)
    fixed(trainer, 1, {"loss": 1.0, "seconds": 1.0})
    assert trainer.optimizer.param_groups[0]["lr"] < 1e-5  # left alone
    with pytest.raises(ValueError, match="budget must be > 0 seconds"):
        WallClockBudget(0)


def test_docstring_examples_run():
    result = doctest.testmod(hinton2006)
    assert result.attempted > 0 and result.failed == 0


def test_estimator_uses_the_paper_networks():
    faces = make_estimator("faces")
    assert (faces.hidden_layer_sizes, faces.n_components, faces.loss) == ((2000, 1000, 500), 30, "mse")
    digits = make_estimator("fashion-mnist", {"activation": "sigmoid"})
    assert (digits.hidden_layer_sizes, digits.loss, digits.activation) == ((1000, 500, 250), "bce", "sigmoid")
    assert make_estimator("mnist", {"precision": "float32"}).precision == "float32"


def test_table_puts_the_papers_numbers_beside_ours():
    rows = {"PCA": {"test_error": 14.0, "train_error": 13.0, "fit_seconds": 1.0},
            "autoencoder": {"test_error": 7.0, "train_error": 6.0, "fit_seconds": 60.0}}
    table = format_table("mnist", rows, 0.5, 30)
    assert "| autoencoder | 7 | 3 |" in table and "| PCA | 14 | 13.87 |" in table
    assert "| logistic PCA | not run | 8.01 |" in table
    assert "**0.500** (paper: 0.216)" in table
    assert "not in the paper" in format_table("fashion-mnist", rows, 0.5, 30)
    assert PAPER_ERRORS["faces"] == {"autoencoder": 126.0, "PCA": 135.0}


@pytest.mark.skipif(not (SHARED_DATA / "olivettifaces.mat").is_file(), reason="olivettifaces.mat not available")
def test_fresh_face_patches_are_normalised_like_the_training_set():
    from aekit.datasets import olivetti_patches

    path = SHARED_DATA / "olivettifaces.mat"
    X_train, _ = olivetti_patches(path, seed=1, n_per_face=8, cache=False, download=False)
    fresh = FreshFacePatches(path, seed=1, X_train=X_train, n_per_face=8)
    A, B = fresh(3000, epoch=1), fresh(3000, epoch=1)
    np.testing.assert_array_equal(A, B)  # deterministic per epoch
    assert A.shape == (3000, 625) and A.dtype == np.float32
    assert not np.array_equal(A, fresh(3000, epoch=2))
    # same distribution as the training set: per-pixel means near 0, average variance near 1
    assert abs(A.mean()) < 0.1 and 0.8 < A.var(axis=0).mean() < 1.2
    augmented = FreshFacePatches(path, seed=1, X_train=X_train, n_per_face=8, mirror=True, lighting=0.2)
    assert augmented.train_faces.shape == (600, 64, 64)
    np.testing.assert_array_equal(augmented.train_faces[300:], augmented.train_faces[:300, :, ::-1])
    C = augmented(3000, epoch=1)
    np.testing.assert_array_equal(C, augmented(3000, epoch=1))
    # random lighting spreads the patches' mean brightness
    assert C.mean(axis=1).std() > 1.2 * A.mean(axis=1).std()
    with pytest.raises(ValueError, match=r"lighting must be in \[0, 1\); got 1.5"):
        FreshFacePatches(path, seed=1, X_train=X_train, n_per_face=8, lighting=1.5)
    # a training set built another way is refused rather than silently mis-normalised
    with pytest.raises(RuntimeError, match="could not recover the face patches' normalisation"):
        FreshFacePatches(path, seed=2, X_train=X_train, n_per_face=8)


def test_help_shows_the_recipes_defaults_not_the_estimators(capsys):
    # --help said "--n-components (default: 2)" and "--activation (default: 'relu')": the plain estimator's
    # defaults, while the recipe trains 30-D codes with GELU units
    with pytest.raises(SystemExit):
        main(["reproduce", "hinton2006", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "size of the code (default: faces 30, mnist 30, fashion-mnist 30, digits 10)" in text
    assert "hidden activation (default: 'gelu')" in text
    assert "minibatch size (default: 256)" in text
    assert "(default: faces (2000, 1000, 500), mnist (1000, 500, 250)" in text


def test_environment_record_works_without_getloadavg(monkeypatch):
    # os.getloadavg does not exist on Windows: recording the environment crashed the experiment there
    from aekit.experiments import hinton2006

    monkeypatch.delattr("os.getloadavg")
    env = hinton2006._environment()
    assert env["load_average_1_5_15min"] is None and env["cpu_count"] >= 1
