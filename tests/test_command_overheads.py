"""Work the commands and their functions no longer do twice, or at all: each test pins one finding of the
command-overhead hunt (benchmarks/checks/command_overheads.py measures them at full size).

Tiny seeded data, a few epochs: every test runs in well under a second.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from aekit import Autoencoder, SparseAutoencoder
from aekit.cli import main


class _Forbidden(types.ModuleType):
    """Stands in for a module a command must not touch: any attribute taken from it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"{self.__name__}.{name} was used")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny autoencoder and a tiny sparse one, saved, and 40 rows of 16 features in [0, 1] as .npy."""
    root = tmp_path_factory.mktemp("models")
    X = np.random.default_rng(0).random((40, 16)).astype(np.float32)
    Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X).save(root / "ae")
    SparseAutoencoder(n_components=4, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X).save(root / "sp")
    np.save(root / "X.npy", X)
    return root


@pytest.mark.parametrize("command", [
    "evaluate {root}/sp {root}/X.npy",
    "errors {root}/ae {root}/X.npy --out {tmp}/errors.npy",
    "features {root}/sp {root}/X.npy --out {tmp}/codes.npy",
])
def test_commands_without_figures_do_not_touch_plotting(command, saved, tmp_path, monkeypatch, capsys):
    # matplotlib takes ~0.5 s of a ~3 s command to import; evaluate, errors and features imported it without a figure
    monkeypatch.setitem(sys.modules, "aekit.plotting", _Forbidden("aekit.plotting"))
    assert main(command.format(root=saved, tmp=tmp_path).split() + ["--quiet"]) == 0


# ----------------------------------------------------------------------------------- compare_with_pca
def _split(n_train=48, n_test=24, n_features=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n_train + n_test, n_features)).astype(np.float32)
    y = np.arange(n_train + n_test) % 3
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


@pytest.fixture
def small_blocks(monkeypatch):
    """Inference in blocks of 16 rows, so that tiny data goes through several (as 60k rows do through 8192)."""
    import aekit._inference

    monkeypatch.setattr(aekit._inference, "INFERENCE_BATCH", 16)


def _estimators():
    from aekit import AutoencoderImputer, VariationalAutoencoder

    small = {"hidden_layer_sizes": (8,), "max_epochs": 2, "random_state": 0}
    return {
        "mlp": Autoencoder(n_components=2, **small),
        "topk": SparseAutoencoder(n_components=6, sparsity="topk", k=2, **small),
        "vae": VariationalAutoencoder(n_components=2, **small),
        "conv": Autoencoder(n_components=2, architecture="conv", image_shape=(4, 4), max_epochs=1, random_state=0),
        "imputer": AutoencoderImputer(n_components=2, scaling="none", **small),
    }


@pytest.mark.parametrize("kind", ["mlp", "topk", "vae", "conv", "imputer"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compare_numbers_are_those_of_separate_calls(kind, dtype, small_blocks):
    """One pass of the network gives the train error, the codes and the test reconstructions: bit for bit what
    reconstruct and transform give (the errors against X as given, float64 X too)."""
    from aekit.compare import compare_with_pca
    from aekit.metrics import squared_error_per_sample

    X_train, X_test, y_train, y_test = (a.astype(dtype) if a.dtype.kind == "f" else a for a in _split())
    estimator = _estimators()[kind]
    result = compare_with_pca(estimator, X_train, X_test, y_train=y_train, y_test=y_test)
    row = result["rows"][result["method"]]
    assert row["train_error"] == squared_error_per_sample(X_train, estimator.reconstruct(X_train))
    assert row["test_error"] == squared_error_per_sample(X_test, estimator.reconstruct(X_test))
    reconstruction = result["reconstructions"][result["method"]]
    assert reconstruction.dtype == estimator.reconstruct(X_test).dtype
    np.testing.assert_array_equal(reconstruction, estimator.reconstruct(X_test))
    if kind == "imputer":  # no code: no k-NN accuracy
        assert "knn_accuracy" not in row
        return
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=5).fit(estimator.transform(X_train), y_train)
    assert row["knn_accuracy"] == knn.score(estimator.transform(X_test), y_test)
    if "codes" in result:
        np.testing.assert_array_equal(result["codes"][result["method"]], estimator.transform(X_test))


def test_compare_pca_numbers_are_inverse_transforms():
    from sklearn.decomposition import PCA

    from aekit.compare import compare_with_pca
    from aekit.metrics import squared_error_per_sample

    X_train, X_test, y_train, y_test = _split(n_features=12)
    result = compare_with_pca(Autoencoder(n_components=3, hidden_layer_sizes=(8,), max_epochs=1, random_state=0),
                              X_train, X_test, y_train=y_train, y_test=y_test)
    pca = PCA(n_components=3, random_state=0).fit(X_train)
    row = result["rows"]["PCA"]
    assert row["train_error"] == squared_error_per_sample(X_train, pca.inverse_transform(pca.transform(X_train)))
    assert row["test_error"] == squared_error_per_sample(X_test, pca.inverse_transform(pca.transform(X_test)))
    np.testing.assert_array_equal(result["reconstructions"]["PCA"], pca.inverse_transform(pca.transform(X_test)))


def test_compare_runs_the_network_once_over_each_set(monkeypatch, small_blocks):
    """Outside training, each row is encoded once: for its error, its reconstruction and its k-NN code (the train
    set was reconstructed, then encoded again; the test set too); PCA encodes each set once."""
    import torch
    from sklearn.decomposition import PCA

    from aekit.compare import compare_with_pca
    from aekit.nets import MLPAutoencoder

    encoded, pca_transforms = [], []
    encode, transform = MLPAutoencoder.encode, PCA.transform

    def counting_encode(self, x):
        if torch.is_inference_mode_enabled():  # inference, not training
            encoded.append(len(x))
        return encode(self, x)

    def counting_transform(self, X):
        pca_transforms.append(len(X))
        return transform(self, X)

    monkeypatch.setattr(MLPAutoencoder, "encode", counting_encode)
    monkeypatch.setattr(PCA, "transform", counting_transform)
    X_train, X_test, y_train, y_test = _split()
    compare_with_pca(Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0),
                     X_train, X_test, y_train=y_train, y_test=y_test)
    assert sum(encoded) == len(X_train) + len(X_test)
    assert sorted(pca_transforms) == sorted([len(X_train), len(X_test)])


# ----------------------------------------------------------------------------------- evaluate
@pytest.mark.parametrize("params", [{}, {"sparsity": "topk", "k": 2}, {"scaling": "standard"},
                                    {"sparsity": "kl"}])
def test_evaluate_sparse_numbers_are_those_of_separate_calls(params, small_blocks):
    """A sparse model's errors and code statistics come from one pass: score_samples's and transform's, bit for bit."""
    from aekit.evaluation import _errors_of_rows, evaluate
    from aekit.metrics import code_statistics

    X = _split()[0]
    options = {"hidden_layer_sizes": (8,), "max_epochs": 2, "random_state": 0, **params}
    model = SparseAutoencoder(n_components=6, **options).fit(X)
    result = evaluate(model, X)
    expected = {**_errors_of_rows(-model.score_samples(X), X.shape[1], "", "scaling" not in params),
                **code_statistics(model.transform(X), threshold=model.activity_threshold_)}
    assert {k: result[k] for k in expected} == expected


def test_evaluate_encodes_a_sparse_models_data_once(monkeypatch, small_blocks):
    import torch

    from aekit.evaluation import evaluate
    from aekit.nets import MLPAutoencoder

    X = _split()[0]
    model = SparseAutoencoder(n_components=6, hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X)
    encoded, encode = [], MLPAutoencoder.encode

    def counting_encode(self, x):
        if torch.is_inference_mode_enabled():
            encoded.append(len(x))
        return encode(self, x)

    monkeypatch.setattr(MLPAutoencoder, "encode", counting_encode)
    evaluate(model, X)
    assert sum(encoded) == len(X)  # score_samples then transform encoded it twice


# ----------------------------------------------------------------------------------- compare --standardize
def test_standardize_holds_no_float64_copy_of_the_training_set():
    import tracemalloc

    from aekit.cli._compare import _standardized
    from aekit.datasets import Dataset

    rng = np.random.default_rng(0)
    X_train, X_test = rng.random((16000, 16), dtype=np.float32) * 7 + 3, rng.random((10, 16), dtype=np.float32)
    data = Dataset(X_train, X_test, None, None, None, "t", "t")
    center, scale = X_train.mean(axis=0, dtype=np.float64), X_train.std(axis=0, dtype=np.float64)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        out = _standardized(data)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    # the same values as the whole expression, cast to float32 as Dataset stores it
    np.testing.assert_array_equal(out.X_train, ((X_train - center) / scale).astype(np.float32))
    np.testing.assert_array_equal(out.X_test, ((X_test - center) / scale).astype(np.float32))
    # numpy's std takes one float64 copy of X_train while it runs; the scaling took two more, then a float32 one
    assert peak < 1.25 * X_train.size * 8, peak / (X_train.size * 8)


# ----------------------------------------------------------------------------------- score_samples
def test_row_errors_are_the_whole_blocks_errors():
    from aekit.metrics._errors import _squared_error_rows as row_errors  # the one row scorer

    rng = np.random.default_rng(0)
    x, out = rng.random((2500, 33), dtype=np.float32), rng.random((2500, 33), dtype=np.float32)
    expected = np.square(x.astype(np.float64) - out).sum(axis=1)  # what score_samples computed per block
    for rows in (1, 7, 1024, 4096):
        np.testing.assert_array_equal(row_errors(x, out, rows=rows), expected)


def test_score_samples_holds_no_float64_copy_of_a_block():
    """errors, evaluate and train's metrics score every row: each 8192-row block took three float64 arrays of its
    size (a copy, the difference, its square; 150 MiB at 784 features), now a 1024-row float64 buffer."""
    import tracemalloc

    X = np.random.default_rng(0).random((8192, 64), dtype=np.float32)
    model = Autoencoder(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X[:64])
    expected = -np.square(X.astype(np.float64) - model.reconstruct(X)).sum(axis=1)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        scores = model.score_samples(X)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(scores, expected)
    assert peak < X.nbytes, peak / X.nbytes  # was 6 times X's float32 size: three float64 copies
