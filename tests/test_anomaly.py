"""Per-sample reconstruction errors: ``score_samples`` and ``aekit errors`` (anomaly scores)."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from aekit import Autoencoder, AutoencoderImputer, DenoisingAutoencoder
from aekit.cli import main
from aekit.datasets import load_digits

SMALL = dict(n_components=4, hidden_layer_sizes=(32,), random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def zeros_model(digits):
    # "normal" data: the training images of the digit 0 only
    return Autoencoder(**SMALL, max_epochs=60, loss="bce").fit(digits.X_train[digits.y_train == 0])


def test_score_samples_is_minus_each_samples_squared_error(zeros_model, digits):
    X = digits.X_test
    scores = zeros_model.score_samples(X)
    assert scores.shape == (X.shape[0],) and scores.dtype == np.float64
    expected = np.square(X.astype(np.float64) - zeros_model.reconstruct(X)).sum(axis=1)
    np.testing.assert_allclose(-scores, expected, rtol=1e-6)
    assert zeros_model.score(X) == pytest.approx(scores.mean(), rel=1e-12)


def test_unusual_samples_reconstruct_worst(zeros_model, digits):
    # trained on zeros only, the other digits are the anomalies: their errors rank above the zeros'
    anomalous = digits.y_test != 0
    auc = roc_auc_score(anomalous, -zeros_model.score_samples(digits.X_test))
    assert auc > 0.9


def test_score_samples_on_a_memory_map(zeros_model, digits, tmp_path):
    np.save(tmp_path / "x.npy", digits.X_test)
    X = np.load(tmp_path / "x.npy", mmap_mode="r")
    np.testing.assert_array_equal(zeros_model.score_samples(X), zeros_model.score_samples(digits.X_test))


def test_score_samples_errors(zeros_model):
    with pytest.raises(ValueError, match="X has 3 features, but Autoencoder is expecting 64 features"):
        zeros_model.score_samples(np.zeros((2, 3)))
    assert hasattr(DenoisingAutoencoder(), "score_samples")
    assert not hasattr(AutoencoderImputer(), "score_samples")  # scored on hidden entries instead


def test_cli_errors_writes_each_samples_error_and_prints_the_largest(zeros_model, digits, tmp_path, capsys):
    zeros_model.save(tmp_path / "m")
    np.save(tmp_path / "x.npy", digits.X_test)
    assert main(["errors", str(tmp_path / "m"), str(tmp_path / "x.npy"), "--out", str(tmp_path / "e.npy"),
                 "--top", "3"]) == 0
    errors = np.load(tmp_path / "e.npy")
    np.testing.assert_allclose(errors, -zeros_model.score_samples(digits.X_test), rtol=1e-12)
    out = capsys.readouterr().out
    worst = np.argsort(-errors)[:3]
    assert f"{errors.size} samples: reconstruction error mean {errors.mean():.6g}" in out
    assert "largest (row: error): " + ", ".join(f"{i}: {errors[i]:.6g}" for i in worst) in out


def test_cli_errors_names_an_image_folders_files(zeros_model, digits, tmp_path, capsys):
    # the largest errors were row numbers, which a user of a folder of images had to map to files by hand
    from aekit.images import write_image

    zeros_model.save(tmp_path / "m")
    (tmp_path / "imgs").mkdir()
    images = digits.X_test[:6].reshape(-1, 8, 8)
    for i, image in enumerate(images):
        write_image(tmp_path / "imgs" / f"scan-{5 - i}.png", image)  # sorted by name: the rows in reverse
    assert main(["errors", str(tmp_path / "m"), str(tmp_path / "imgs"), "--out", str(tmp_path / "e.npy"),
                 "--top", "2"]) == 0
    errors = np.load(tmp_path / "e.npy")
    names = [f"scan-{i}.png" for i in range(6)]
    worst = np.argsort(-errors)[:2]
    assert "largest (file: error): " + ", ".join(f"{names[i]}: {errors[i]:.6g}" for i in worst) in \
        capsys.readouterr().out


def test_cli_errors_refusals(zeros_model, digits, tmp_path, capsys):
    zeros_model.save(tmp_path / "m")
    np.save(tmp_path / "x.npy", digits.X_test)
    assert main(["errors", str(tmp_path / "m"), str(tmp_path / "x.npy"), "--out", str(tmp_path / "e.npy"),
                 "--top", "-1"]) == 2
    assert "--top must be >= 0; got -1" in capsys.readouterr().err
    X = np.where(np.random.default_rng(0).random((80, 6)) < 0.1, np.nan, np.random.default_rng(1).random((80, 6)))
    AutoencoderImputer(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X).save(
        tmp_path / "imp")
    np.save(tmp_path / "t.npy", X)
    assert main(["errors", str(tmp_path / "imp"), str(tmp_path / "t.npy"), "--out", str(tmp_path / "e2.npy")]) == 2
    assert "fills holes rather than reconstructing rows" in capsys.readouterr().err
    assert not (tmp_path / "e2.npy").exists()


def test_cli_errors_figure_shows_the_worst_and_best_samples(zeros_model, digits, tmp_path, capsys):
    zeros_model.save(tmp_path / "m")
    assert main(["errors", str(tmp_path / "m"), "--dataset", "digits", "--out", str(tmp_path / "e.npy"),
                 "--figure", str(tmp_path / "worst.png"), "--quiet"]) == 0
    assert (tmp_path / "worst.png").stat().st_size > 0
    errors = np.load(tmp_path / "e.npy")
    from aekit.evaluation import extreme_samples

    rows = extreme_samples(zeros_model, digits.X_test, errors=errors)
    worst, best = rows[0][1], rows[2][1]
    np.testing.assert_array_equal(worst[0], digits.X_test[np.argmax(errors)])
    np.testing.assert_array_equal(best[0], digits.X_test[np.argmin(errors)])
    assert rows[0][0] == f"largest errors ({errors.max():.3g} to {np.sort(errors)[-10]:.3g})"
    np.save(tmp_path / "table.npy", digits.X_test[:, :64])  # a flat .npy: no image shape known
    assert main(["errors", str(tmp_path / "m"), str(tmp_path / "table.npy"), "--out", str(tmp_path / "e2.npy"),
                 "--figure", str(tmp_path / "t.png")]) == 2
    assert "--figure needs image data" in capsys.readouterr().err
    assert not (tmp_path / "e2.npy").exists()
