"""Tests for the Dataset container, the registry, load_digits and package hygiene."""

import ast
import doctest
import gzip
import importlib
import os
import pkgutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

import aekit.datasets
from aekit.datasets import DATASETS, Dataset, load_data, load_dataset, load_digits

SHARED = Path(os.environ.get("AEKIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PACKAGE_DIR = Path(aekit.datasets.__file__).parent
ALLOWED_IMPORTS = {"numpy", "scipy", "sklearn", "skimage", "PIL", "tifffile"}  # tifffile: scikit-image needs it too


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))


def test_dataset_coerces_to_float32_c_contiguous():
    X = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(4, 3))
    ds = Dataset(X, X[:1], np.arange(4, dtype=np.int32), np.zeros(1, int), None, "t", "d")
    assert ds.X_train.dtype == np.float32 and ds.X_train.flags.c_contiguous
    assert ds.y_train.dtype == np.int64 and ds.n_features == 3
    np.testing.assert_array_equal(ds.X_train, X)
    same = np.zeros((3, 2), np.float32)
    assert Dataset(same, same, None, None, (2,), "t", "d").X_train is same  # no copy needed


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros((2, 3)), np.zeros((2, 4)), None, None, None), "X_train has 3 features but X_test has 4"),
        ((np.zeros(3), np.zeros((2, 3)), None, None, None), r"X_train must be 2-D of shape \(n_samples, n_features\); got shape \(3,\)"),
        ((np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(3, int), None, None), r"y_train must be None or an integer array of shape \(2,\)"),
        ((np.zeros((2, 3)), np.zeros((2, 3)), None, np.zeros(2), None), r"y_test must be None or an integer array.*got dtype float64"),
        ((np.zeros((2, 6)), np.zeros((2, 6)), None, None, (2, 2)), r"image_shape \(2, 2\) has 4 pixels but the data have 6 features"),
    ],
)
def test_dataset_validation(args, match):
    with pytest.raises(ValueError, match=match):
        Dataset(*args, "t", "d")


def test_held_out_splits_rows_with_their_labels():
    X = np.arange(40.0).reshape(20, 2)
    ds = Dataset(X, np.zeros((0, 2)), np.arange(20), None, None, "toy", "twenty rows")
    split = ds.held_out(0.25, seed=3)
    assert split.X_train.shape == (15, 2) and split.X_test.shape == (5, 2)
    rows = np.concatenate([split.X_train[:, 0], split.X_test[:, 0]]) / 2
    assert sorted(rows) == list(range(20))  # every row once
    np.testing.assert_array_equal(split.y_train, split.X_train[:, 0] / 2)  # labels follow their rows
    np.testing.assert_array_equal(split.y_test, split.X_test[:, 0] / 2)
    assert np.all(np.diff(split.X_test[:, 0]) > 0)  # order kept
    assert "15 training and 5 test samples (of 20, held out at random with seed 3)" in split.description
    np.testing.assert_array_equal(ds.held_out(0.25, seed=3).X_test, split.X_test)
    assert not np.array_equal(ds.held_out(0.25, seed=4).X_test, split.X_test)


def test_class_names_follow_the_data():
    from aekit.datasets import load_fashion_mnist

    ds = Dataset(np.zeros((4, 2)), np.zeros((2, 2)), np.arange(4) % 2, np.arange(2), None, "t", "d", ["a", 1])
    assert ds.class_names == ("a", "1")
    assert ds.held_out(0.5).class_names == ("a", "1")
    assert load_digits().class_names is None  # digits are their own names
    try:
        fashion = load_fashion_mnist(download=False)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST files not installed")
    assert fashion.class_names[fashion.y_test[0]] == "Ankle boot" and len(fashion.class_names) == 10


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 0.01, 0.99])
def test_held_out_refuses_an_empty_side(fraction):
    ds = Dataset(np.zeros((20, 2)), np.zeros((0, 2)), None, None, None, "toy", "twenty rows")
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\) and leave at least one of the 20"):
        ds.held_out(fraction)
    with pytest.raises(TypeError, match=r"test_fraction must be a number in \(0, 1\); got '0.2'"):
        ds.held_out("0.2")


def test_digits():
    ds = load_digits()
    assert ds.X_train.shape == (1437, 64) and ds.X_test.shape == (360, 64)
    assert ds.image_shape == (8, 8) and ds.name == "digits"
    assert ds.X_train.min() == 0 and ds.X_train.max() == 1
    # Stratified: each class's share of the test set is within one sample of 20%.
    counts_test = np.bincount(ds.y_test)
    counts_all = counts_test + np.bincount(ds.y_train)
    assert np.all(np.abs(counts_test - 0.2 * counts_all) <= 1)
    np.testing.assert_array_equal(load_digits().X_test, ds.X_test)  # random_state=0


def test_registry():
    assert set(DATASETS) == {"digits", "fashion-mnist", "mnist", "olivetti"}
    assert all(callable(loader) for loader in DATASETS.values())
    with pytest.raises(ValueError, match=r"^dataset must be one of \{'digits', 'fashion-mnist', 'mnist', 'olivetti'\}; got 'cifar'\.$"):
        load_dataset("cifar")
    assert load_dataset("digits", data_dir="/ignored", download=False).name == "digits"


def write_tiny_idx(directory):
    directory.mkdir()
    for stem, shape in [("train-images-idx3-ubyte", (3, 28, 28)), ("train-labels-idx1-ubyte", (3,)),
                        ("t10k-images-idx3-ubyte", (2, 28, 28)), ("t10k-labels-idx1-ubyte", (2,))]:
        header = struct.pack(">BBBB", 0, 0, 8, len(shape)) + b"".join(struct.pack(">I", d) for d in shape)
        (directory / f"{stem}.gz").write_bytes(gzip.compress(header + bytes(int(np.prod(shape)))))


@pytest.mark.parametrize("name", ["fashion-mnist", "mnist"])
def test_load_dataset_forwards_data_dir(tmp_path, name):
    write_tiny_idx(tmp_path / "d")
    ds = load_dataset(name, data_dir=tmp_path / "d", download=False)
    assert ds.name == name and ds.X_train.shape == (3, 784)
    assert load_data(name, data_dir=tmp_path / "d", download=False).X_test.shape == (2, 784)


def test_load_dataset_olivetti_uses_data_dir():
    if not (SHARED / "olivettifaces.mat").is_file():
        pytest.skip(f"real Olivetti faces not present in {SHARED}")
    assert load_dataset("olivetti", data_dir=SHARED, download=False).X_train.shape == (300, 4096)


def test_public_api():
    expected = {
        "Dataset", "DATASETS", "load_dataset", "load_digits", "load_fashion_mnist", "load_mnist",
        "load_olivetti", "olivetti_patches", "image_patches", "load_idx", "load_array", "load_data",
        "sample_face_patches", "list_photos", "get_data_home",
    }
    assert set(aekit.datasets.__all__) == expected
    assert all(hasattr(aekit.datasets, name) for name in expected)


def module_files():
    return sorted(PACKAGE_DIR.glob("*.py"))


@pytest.mark.parametrize("path", module_files(), ids=lambda p: p.name)
def test_module_hygiene(path):
    """No torch, no other aekit module, no print; short modules."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                pytest.fail(f"{path.name} imports outside aekit.datasets (line {node.lineno})")
            roots = [] if node.level == 1 else [node.module.split(".")[0]]
        else:
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                pytest.fail(f"{path.name} calls print (line {node.lineno})")
            continue
        for root in roots:
            is_stdlib = root in sys.stdlib_module_names or root == "__future__"
            assert is_stdlib or root in ALLOWED_IMPORTS, f"{path.name} imports {root}"
    assert len(path.read_text().splitlines()) < 400


@pytest.mark.parametrize(
    "module", [m.name for m in pkgutil.iter_modules(aekit.datasets.__path__)] + ["__init__"]
)
def test_doctests(module):
    name = "aekit.datasets" if module == "__init__" else f"aekit.datasets.{module}"
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_datasets_and_metrics_import_without_torch():
    """aekit loads its estimators lazily: data loading and metrics do not pay for PyTorch."""
    import subprocess
    import sys

    code = ("import sys, aekit.datasets, aekit.metrics; assert 'torch' not in sys.modules, 'torch imported'; "
            "import aekit; aekit.Autoencoder; assert 'torch' in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
