"""Tests for load_mnist / load_fashion_mnist: search order, downloads, fallback."""

import dataclasses
import gzip
import hashlib
import logging
import os
import shutil
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from aekit.datasets import _fetch, _mnist, load_fashion_mnist, load_mnist

SHARED = Path(os.environ.get("AEKIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
_real_download = _fetch._download  # captured at import, before the autouse fixture patches it
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Cache in tmp_path; no system directories unless a test adds one; no real downloads."""
    monkeypatch.setenv("AEKIT_DATA", str(tmp_path / "cache"))
    monkeypatch.setitem(_mnist.SYSTEM_DIRS, "fashion-mnist", [])

    def no_network(url, dest, md5):
        raise AssertionError(f"unexpected download of {url}")

    monkeypatch.setattr(_fetch, "_download", no_network)


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def write_split(directory, split, n, seed=0, gz=True):
    """Write ``n`` random 28x28 images and labels 0-9 (each class equally often); return them."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array in zip(STEMS[split], (images, labels)):
        data = idx_bytes(array)
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)
    return images, labels


def write_all(directory, n_train=20, n_test=10, gz=True):
    return write_split(directory, "train", n_train, 1, gz), write_split(directory, "test", n_test, 2, gz)


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
def test_tiny_files(tmp_path, loader, gz):
    (train_images, train_labels), (test_images, test_labels) = write_all(tmp_path / "d", gz=gz)
    ds = loader(data_dir=tmp_path / "d", download=False)
    assert ds.X_train.shape == (20, 784) and ds.X_test.shape == (10, 784)
    assert ds.X_train.dtype == np.float32 and ds.X_train.flags.c_contiguous
    np.testing.assert_array_equal(ds.X_train, train_images.reshape(20, 784).astype(np.float32) / 255)
    np.testing.assert_array_equal(ds.X_test * 255, test_images.reshape(10, 784).astype(np.float32))
    np.testing.assert_array_equal(ds.y_train, train_labels)
    assert ds.y_test.dtype == np.int64
    assert ds.image_shape == (28, 28)
    assert "standard 20/10 train/test split" in ds.description


def test_search_order(tmp_path, monkeypatch):
    data_dir, system, cache = tmp_path / "data_dir", tmp_path / "system", tmp_path / "cache" / "fashion-mnist"
    write_all(data_dir, n_train=10, n_test=10)
    write_all(system, n_train=20, n_test=10)
    write_all(cache, n_train=30, n_test=10)
    monkeypatch.setitem(_mnist.SYSTEM_DIRS, "fashion-mnist", [(str(system), "test system dir")])
    assert len(load_fashion_mnist(data_dir, download=False).X_train) == 10
    assert len(load_fashion_mnist(None, download=False).X_train) == 20
    assert len(load_fashion_mnist(tmp_path / "empty", download=False).X_train) == 20
    shutil.rmtree(system)
    assert len(load_fashion_mnist(None, download=False).X_train) == 30


def test_images_and_labels_come_from_one_directory(tmp_path):
    # data_dir has train images but not train labels: both must come from the cache.
    write_all(tmp_path / "cache" / "mnist", n_train=30)
    write_split(tmp_path / "d", "train", 10)
    (tmp_path / "d" / "train-labels-idx1-ubyte.gz").unlink()
    write_split(tmp_path / "d", "test", 10)
    ds = load_mnist(tmp_path / "d", download=False)
    assert len(ds.X_train) == 30 and len(ds.X_test) == 10


def test_not_found_message_lists_everything(tmp_path, monkeypatch):
    monkeypatch.setitem(
        _mnist.SYSTEM_DIRS, "fashion-mnist",
        [(str(tmp_path / "sys"), "Debian package dataset-fashion-mnist")],
    )
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(tmp_path / "mine", download=False)
    message = str(info.value)
    for expected in [
        "Fashion-MNIST files not found",
        "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        f"{tmp_path / 'mine'} (data_dir)",
        f"{tmp_path / 'sys'} (Debian package dataset-fashion-mnist)",
        str(tmp_path / "cache" / "fashion-mnist"),
        "download=False",
        "apt-get install dataset-fashion-mnist",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
    ]:
        assert expected in message
    assert message.index("(data_dir)") < message.index("(Debian") < message.index("(cache")


def test_download_into_cache(tmp_path, monkeypatch):
    write_all(tmp_path / "server", n_train=20, n_test=10)
    calls = []

    def fake_download(url, dest, md5):
        calls.append((url, Path(dest), md5))
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "server" / url.rsplit("/", 1)[1], dest)

    monkeypatch.setattr(_fetch, "_download", fake_download)
    ds = load_fashion_mnist(tmp_path / "nothing-here")
    assert ds.X_train.shape == (20, 784)
    source = _mnist.SOURCES["fashion-mnist"]
    assert [c[0] for c in calls] == [source.url + s + ".gz" for split in ("train", "test") for s in STEMS[split]]
    assert all(c[1].parent == tmp_path / "cache" / "fashion-mnist" for c in calls)
    assert [c[2] for c in calls] == [source.md5[s] for split in ("train", "test") for s in STEMS[split]]
    calls.clear()
    load_fashion_mnist()  # now cached: no second download
    assert calls == []


def test_offline_download_failure_is_reported(tmp_path, monkeypatch, caplog):
    calls = []

    def offline(url, dest, md5):
        calls.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(_fetch, "_download", offline)
    with caplog.at_level(logging.WARNING, logger="aekit"):
        with pytest.raises(FileNotFoundError, match=r"(?s)download failed: train files: .*Name or service not known"):
            load_mnist(tmp_path / "d")
    assert len(calls) == 1  # once offline, the other files are not tried
    assert not caplog.records  # the error says it: a warning before it repeated the same message
    assert not (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz").exists()


def file_url(directory):
    return directory.resolve().as_uri() + "/"


def test_real_download_function_checks_md5(tmp_path):
    source = tmp_path / "f.gz"
    source.write_bytes(b"some bytes")
    good = hashlib.md5(b"some bytes").hexdigest()
    dest = tmp_path / "out" / "f.gz"
    with pytest.raises(ValueError, match=rf"checksum mismatch for file://.*f.gz: md5 {good}, expected 0+; the file was not saved"):
        _real_download(source.as_uri(), dest, "0" * 32)
    assert not dest.exists()
    assert list((tmp_path / "out").iterdir()) == []  # no partial file left behind
    _real_download(source.as_uri(), dest, good)
    assert dest.read_bytes() == b"some bytes"


def test_real_download_function_network_error(tmp_path):
    with pytest.raises(OSError):
        _real_download((tmp_path / "missing.gz").as_uri(), tmp_path / "out" / "x.gz", "0" * 32)
    assert list((tmp_path / "out").iterdir()) == []


def test_checksum_mismatch_through_loader(tmp_path, monkeypatch):
    write_all(tmp_path / "server")
    monkeypatch.setattr(_fetch, "_download", _real_download)
    source = dataclasses.replace(_mnist.SOURCES["mnist"], url=file_url(tmp_path / "server"))
    monkeypatch.setitem(_mnist.SOURCES, "mnist", source)  # published md5s do not match these files
    with pytest.raises(ValueError, match="checksum mismatch for file://.*train-images-idx3-ubyte.gz"):
        load_mnist()
    assert not list((tmp_path / "cache" / "mnist").iterdir())
    md5s = {s: _fetch.md5_file(tmp_path / "server" / f"{s}.gz") for pair in STEMS.values() for s in pair}
    monkeypatch.setitem(_mnist.SOURCES, "mnist", dataclasses.replace(source, md5=md5s))
    assert load_mnist().X_train.shape == (20, 784)
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == sorted(f"{s}.gz" for s in md5s)


def test_mnist_test_only_fallback(tmp_path, monkeypatch, caplog):
    test_images, test_labels = write_split(tmp_path / "d", "test", 50)
    monkeypatch.setattr(_fetch, "_download", lambda *a: (_ for _ in ()).throw(OSError("offline")))
    with caplog.at_level(logging.WARNING, logger="aekit.datasets._mnist"):
        ds = load_mnist(tmp_path / "d")
    assert ds.X_train.shape == (40, 784) and ds.X_test.shape == (10, 784)
    assert "TEST SPLIT ONLY" in ds.description and "40/10" in ds.description
    assert any("MNIST training files not found" in r.getMessage() for r in caplog.records)
    assert any("could not download mnist train files: offline" in r.getMessage() for r in caplog.records)
    # Stratified: every digit once in the 10 test samples; together they are the 50 originals.
    assert sorted(ds.y_test) == list(range(10))
    rows = np.concatenate([ds.X_train, ds.X_test]) * 255
    assert sorted(map(bytes, rows.astype(np.uint8))) == sorted(map(bytes, test_images.reshape(50, -1)))
    again = load_mnist(tmp_path / "d", download=False)
    np.testing.assert_array_equal(again.X_test, ds.X_test)  # fixed seed


def test_fashion_mnist_has_no_test_only_fallback(tmp_path):
    write_split(tmp_path / "d", "test", 10)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        load_fashion_mnist(tmp_path / "d", download=False)


def test_wrong_image_shape(tmp_path):
    write_all(tmp_path / "d")
    (tmp_path / "d" / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros((10, 27, 27)))))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz holds uint8 of shape \(10, 27, 27\); expected uint8 images of shape \(n, 28, 28\)"):
        load_mnist(tmp_path / "d", download=False)


def test_label_count_mismatch(tmp_path):
    write_all(tmp_path / "d")
    (tmp_path / "d" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(9))))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz holds uint8 of shape \(9,\); expected 10 uint8 labels"):
        load_mnist(tmp_path / "d", download=False)


def raw_md5(path):
    return hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest()


def test_real_fashion_mnist():
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST not installed at {FASHION_DIR} (apt-get install dataset-fashion-mnist)")
    ds = load_fashion_mnist(FASHION_DIR, download=False)
    assert ds.X_train.shape == (60000, 784) and ds.X_test.shape == (10000, 784)
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    assert set(np.unique(ds.y_test)) == set(range(10))
    # Debian recompressed the .gz files, so compare the content with the published raw MD5s.
    for stem, md5 in _mnist.SOURCES["fashion-mnist"].raw_md5.items():
        assert raw_md5(FASHION_DIR / f"{stem}.gz") == md5


def test_real_mnist_test_only():
    directory = SHARED / "mnist"
    if not (directory / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test files not present in {directory}")
    ds = load_mnist(directory, download=False)
    assert ds.X_train.shape == (8000, 784) and ds.X_test.shape == (2000, 784)
    assert "TEST SPLIT ONLY" in ds.description
    assert np.bincount(ds.y_test).min() >= 170  # stratified: about 200 per digit
    for stem in STEMS["test"]:
        assert raw_md5(directory / f"{stem}.gz") == _mnist.SOURCES["mnist"].raw_md5[stem]
