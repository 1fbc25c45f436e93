"""Tests for load_olivetti on .mat files written here and on the real file."""

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from aekit.datasets import load_olivetti

SHARED = Path(os.environ.get("AEKIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
REAL = SHARED / "olivettifaces.mat"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_mat(path, images):
    """Store (400, 64, 64) images as MATLAB would: one column-major column per image."""
    faces = np.stack([im.ravel(order="F") for im in images], axis=1)  # (4096, 400)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"faces": faces.astype(np.uint8)})
    return path


def fake_images(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(10, 200, size=(400, 64, 64), dtype=np.uint8)
    images[:, :8, :] = 250  # a bright band at the top: orientation is checkable
    return images


def test_orientation_scaling_and_split(tmp_path):
    images = fake_images()
    ds = load_olivetti(write_mat(tmp_path / "olivettifaces.mat", images), download=False)
    assert ds.X_train.shape == (300, 4096) and ds.X_test.shape == (100, 4096)
    assert ds.image_shape == (64, 64) and ds.X_train.dtype == np.float32
    lo, hi = images.min(), images.max()
    expected = (images.astype(np.float32) - lo) / (hi - lo)
    np.testing.assert_allclose(ds.X_train.reshape(300, 64, 64), expected[:300], atol=1e-6)
    np.testing.assert_allclose(ds.X_test.reshape(100, 64, 64), expected[300:], atol=1e-6)
    assert np.all(ds.X_train.reshape(300, 64, 64)[:, :8, :] == 1.0)  # band still on top
    np.testing.assert_array_equal(ds.y_train, np.repeat(np.arange(30), 10))
    np.testing.assert_array_equal(ds.y_test, np.repeat(np.arange(30, 40), 10))
    assert "people 0-29 train (300 images), people 30-39 test (100 images)" in ds.description


def test_path_may_be_a_directory(tmp_path):
    write_mat(tmp_path / "faces" / "olivettifaces.mat", fake_images())
    assert load_olivetti(tmp_path / "faces", download=False).X_train.shape == (300, 4096)


def test_cache_is_searched_after_path(tmp_path, cache):
    write_mat(cache / "olivetti" / "olivettifaces.mat", fake_images(seed=1))
    from_cache = load_olivetti(download=False)
    assert str(cache) in from_cache.description
    other = load_olivetti(write_mat(tmp_path / "mine.mat", fake_images(seed=2)), download=False)
    assert not np.array_equal(other.X_train, from_cache.X_train)
    missing = load_olivetti(tmp_path / "not-there.mat", download=False)  # falls through to the cache
    np.testing.assert_array_equal(missing.X_train, from_cache.X_train)


def test_not_found(tmp_path, cache):
    with pytest.raises(FileNotFoundError) as info:
        load_olivetti(tmp_path / "nope", download=False)
    message = str(info.value)
    assert "olivettifaces.mat" in message and str(tmp_path / "nope") in message
    assert str(cache / "olivetti" / "olivettifaces.mat") in message
    assert "put it in" in message and "https://" in message


def test_no_faces_variable(tmp_path):
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"images": np.zeros((2, 2)), "labels": np.zeros(2)})
    with pytest.raises(ValueError, match=r"other.mat has no variable 'faces' \(found \['images', 'labels'\]\)"):
        load_olivetti(path, download=False)


def test_wrong_shape(tmp_path):
    path = tmp_path / "small.mat"
    scipy.io.savemat(path, {"faces": np.zeros((4096, 10), np.uint8)})
    with pytest.raises(ValueError, match=r"small.mat: 'faces' has shape \(4096, 10\), expected \(4096, 400\)"):
        load_olivetti(path, download=False)


def test_not_a_mat_file(tmp_path):
    path = tmp_path / "olivettifaces.mat"
    path.write_text("hello, not MATLAB")
    with pytest.raises(ValueError, match=r"olivettifaces.mat is not a MATLAB .mat file scipy can read"):
        load_olivetti(path, download=False)


def test_real_file():
    if not REAL.is_file():
        pytest.skip(f"real Olivetti faces not present at {REAL}")
    ds = load_olivetti(REAL, download=False)
    assert ds.X_train.shape == (300, 4096) and ds.X_test.shape == (100, 4096)
    both = np.concatenate([ds.X_train, ds.X_test])
    assert both.min() == 0.0 and both.max() == 1.0
    # Same arrangement as sklearn.datasets.fetch_olivetti_faces (its documented transform).
    faces = scipy.io.loadmat(REAL)["faces"].T.reshape((400, 64, 64)).transpose(0, 2, 1)
    np.testing.assert_allclose(both.reshape(400, 64, 64), faces / np.float32(faces.max()), atol=1e-6)
