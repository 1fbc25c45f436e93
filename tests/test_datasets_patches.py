"""Tests for the face patches (Hinton & Salakhutdinov 2006) and photo patches."""

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from aekit.datasets import _face_patches, image_patches, list_photos, olivetti_patches, sample_face_patches

SHARED = Path(os.environ.get("AEKIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
REAL = SHARED / "olivettifaces.mat"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def real_faces():
    if not REAL.is_file():
        pytest.skip(f"real Olivetti faces not present at {REAL}")
    return REAL


def ramps(n=1):
    """Faces whose value is the row index (first) or the column index (second)."""
    rows, cols = np.mgrid[0:64, 0:64].astype(np.float64)
    return np.stack([rows, cols] * n)


def test_geometry_follows_documented_ranges():
    # Bilinear interpolation is exact on a linear ramp, so each patch reveals its geometry.
    patches = sample_face_patches(ramps()[:1], 3000, 25, np.random.default_rng(0)).reshape(-1, 25, 25)
    d_col = patches[:, 12, 13] - patches[:, 12, 12]  # = scale * sin(angle) (source rows per column)
    d_row = patches[:, 13, 12] - patches[:, 12, 12]  # = scale * cos(angle)
    scale, angle = np.hypot(d_col, d_row), np.degrees(np.arctan2(d_col, d_row))
    assert scale.min() >= 1.4 - 1e-4 and scale.max() <= 2.0 + 1e-4
    assert scale.min() < 1.42 and scale.max() > 1.98
    assert angle.min() >= -90 - 1e-3 and angle.max() <= 90 + 1e-3
    assert angle.min() < -85 and angle.max() > 85
    # Big scales near +-45 degrees cannot fit in a 64x64 face and are never drawn.
    reach = 12 * scale * (np.abs(np.cos(np.radians(angle))) + np.abs(np.sin(np.radians(angle))))
    assert reach.max() <= 31.5 + 1e-3


def test_patches_stay_inside_the_face():
    # Were a sample clamped at the border, the patch would stop being an exact affine ramp.
    patches = sample_face_patches(ramps(), 500, 25, np.random.default_rng(1)).reshape(-1, 625)
    i, j = np.mgrid[0:25, 0:25]
    design = np.column_stack([np.ones(625), i.ravel(), j.ravel()])  # (625, 3)
    coef, *_ = np.linalg.lstsq(design, patches.T.astype(np.float64), rcond=None)
    assert np.abs(design @ coef - patches.T).max() < 1e-3
    assert patches.min() >= 0 and patches.max() <= 63


def test_shapes_order_and_determinism():
    faces = np.stack([np.full((64, 64), k, dtype=np.float64) for k in range(5)])
    X = sample_face_patches(faces, 3, 10, 7)
    assert X.shape == (15, 100) and X.dtype == np.float32
    np.testing.assert_array_equal(X[:, 0], np.repeat(np.arange(5), 3))  # ordered by face
    faces = np.random.default_rng(0).random((2, 64, 64))
    np.testing.assert_array_equal(sample_face_patches(faces, 4, 25, 3), sample_face_patches(faces, 4, 25, 3))
    rng = np.random.default_rng(3)
    first, second = sample_face_patches(faces, 4, 25, rng), sample_face_patches(faces, 4, 25, rng)
    assert not np.allclose(first, second)  # a shared Generator gives fresh patches


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(faces=np.zeros((64, 64))), ValueError, r"faces must have shape \(n_faces, height, width\); got shape \(64, 64\)"),
        (dict(n_per_face=0), ValueError, "n_per_face must be a positive integer; got 0"),
        (dict(patch_size=2.5), ValueError, "patch_size must be a positive integer; got 2.5"),
        (dict(faces=np.zeros((1, 30, 30))), ValueError, r"faces of 30x30 pixels are too small"),
        (dict(rng="seed"), TypeError, "rng must be a numpy.random.Generator, an int seed or None; got str"),
    ],
)
def test_sample_errors(kwargs, error, match):
    args = dict(faces=np.zeros((1, 64, 64)), n_per_face=2, patch_size=25, rng=0) | kwargs
    with pytest.raises(error, match=match):
        sample_face_patches(**args)


def write_person_mat(path):
    """A fake olivettifaces.mat whose face i is flat with value 5 * (i // 10) + 10."""
    values = (5 * (np.arange(400) // 10) + 10).astype(np.uint8)
    scipy.io.savemat(path, {"faces": np.tile(values, (4096, 1))})
    return path


def test_split_by_person(tmp_path):
    X_train, X_test = olivetti_patches(write_person_mat(tmp_path / "f.mat"), n_per_face=4, cache=False)
    assert X_train.shape == (30 * 10 * 4, 625) and X_test.shape == (10 * 10 * 4, 625)
    # Flat faces give flat patches; normalisation is monotone, so values identify people.
    assert np.ptp(X_train, axis=1).max() < 1e-5 and np.ptp(X_test, axis=1).max() < 1e-5
    train_people = np.unique(X_train[:, 0].round(4))
    test_people = np.unique(X_test[:, 0].round(4))
    assert len(train_people) == 30 and len(test_people) == 10
    assert train_people.max() < test_people.min()  # people 0-29 train, 30-39 test


def test_normalisation_and_determinism(real_faces):
    X_train, X_test = olivetti_patches(real_faces, seed=0, n_per_face=4, cache=False)
    assert X_train.shape == (1200, 625) and X_test.shape == (400, 625)
    assert X_train.dtype == np.float32 and X_train.flags.c_contiguous
    assert np.abs(X_train.mean(axis=0, dtype=np.float64)).max() < 1e-4
    assert X_train.var(axis=0, dtype=np.float64).mean() == pytest.approx(1.0, rel=1e-4)
    assert np.abs(X_test.mean(axis=0)).max() > 1e-3  # the test set keeps its own offset
    again_train, again_test = olivetti_patches(real_faces, seed=0, n_per_face=4, cache=False)
    np.testing.assert_array_equal(again_train, X_train)
    np.testing.assert_array_equal(again_test, X_test)
    other, _ = olivetti_patches(real_faces, seed=1, n_per_face=4, cache=False)
    assert not np.allclose(other, X_train)


def test_patch_size(real_faces):
    X_train, X_test = olivetti_patches(real_faces, n_per_face=1, patch_size=12, cache=False)
    assert X_train.shape == (300, 144) and X_test.shape == (100, 144)


def test_cache_round_trip(tmp_path, cache, monkeypatch):
    mat = write_person_mat(tmp_path / "f.mat")
    X_train, X_test = olivetti_patches(mat, seed=3, n_per_face=2)
    target = cache / "olivetti_patches_3_2_25.npz"
    assert target.is_file()
    assert [p.name for p in cache.iterdir()] == [target.name]  # no temporary file left

    def must_not_sample(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(_face_patches, "sample_face_patches", must_not_sample)
    cached_train, cached_test = olivetti_patches(mat, seed=3, n_per_face=2)
    np.testing.assert_array_equal(cached_train, X_train)
    np.testing.assert_array_equal(cached_test, X_test)
    # Different faces invalidate the cache.
    faces = scipy.io.loadmat(mat)["faces"]
    scipy.io.savemat(tmp_path / "g.mat", {"faces": faces // 2})
    with pytest.raises(AssertionError, match="cache should have been used"):
        olivetti_patches(tmp_path / "g.mat", seed=3, n_per_face=2)


def test_unreadable_cache_is_rebuilt(tmp_path, cache, caplog):
    mat = write_person_mat(tmp_path / "f.mat")
    cache.mkdir()
    (cache / "olivetti_patches_0_1_25.npz").write_bytes(b"not a zip")
    X_train, _ = olivetti_patches(mat, seed=0, n_per_face=1)
    assert "ignoring unreadable cache" in caplog.text
    np.testing.assert_array_equal(olivetti_patches(mat, seed=0, n_per_face=1)[0], X_train)


def test_seed_must_be_an_int(tmp_path):
    with pytest.raises(TypeError, match="seed must be an int .*; got None"):
        olivetti_patches(tmp_path / "f.mat", seed=None)


def test_photo_patches_default():
    X = image_patches(n_patches=2000)
    assert X.shape == (2000, 64) and X.dtype == np.float32
    assert X.min() >= 0 and X.max() <= 1
    np.testing.assert_array_equal(X, image_patches(n_patches=2000))
    assert not np.array_equal(X, image_patches(n_patches=2000, seed=1))
    assert set(list_photos()) >= {"camera", "astronaut", "coffee", "grass"}


def test_photo_patches_colour():
    X = image_patches(["astronaut", "camera"], patch_size=5, n_patches=50, grey=False)
    assert X.shape == (50, 75)


def test_patches_are_windows_of_the_image():
    image = np.arange(40 * 50, dtype=np.float64).reshape(40, 50) / 2000
    X = image_patches([image], patch_size=6, n_patches=300, seed=2).reshape(-1, 6, 6) * 2000
    corner = X[:, :1, :1]
    expected = corner + np.arange(6)[:, None] * 50 + np.arange(6)[None, :]
    np.testing.assert_allclose(X, expected, atol=1e-2)
    assert len(np.unique(corner.round())) > 200  # positions vary


def test_whitening():
    d = 64
    X = image_patches(n_patches=5000, whiten=True, epsilon=1e-9)
    np.testing.assert_allclose(X.sum(axis=1), 0, atol=1e-3)  # DC removed
    cov = np.cov(X.T.astype(np.float64), bias=True)
    np.testing.assert_allclose(cov, np.eye(d) - 1.0 / d, atol=1e-4)  # identity off the DC direction
    eig = np.linalg.eigvalsh(np.cov(image_patches(n_patches=5000, whiten=True).T, bias=True))
    assert eig.max() <= 1 + 1e-4 and np.median(eig) > 0.9  # regularised: near 1, never above


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(images=["not-a-photo"]), r"images must be names from list_photos\(\)"),
        (dict(images=[np.zeros((4, 4))]), "no image is at least 8x8 pixels"),
        (dict(images=[np.full((9, 9), 2.0)]), r"image #0 is floating point but not within \[0, 1\]"),
        (dict(images=[np.zeros((9, 9, 4))]), r"image #0 must have shape \(H, W\) or \(H, W, 3\); got \(9, 9, 4\)"),
        (dict(images=[]), "images must hold at least one name or array; got an empty sequence"),
        (dict(n_patches=0), "n_patches must be a positive integer; got 0"),
        (dict(epsilon=-1.0), "epsilon must be >= 0; got -1.0"),
    ],
)
def test_photo_patch_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        image_patches(**kwargs)
