"""Tests for aekit.datasets.load_idx on small IDX files written here."""

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from aekit.datasets import load_idx

SHARED = Path(os.environ.get("AEKIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TYPE_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array, type_code=None):
    """Encode ``array`` as IDX, independently of the reader under test."""
    array = np.asarray(array)
    code = TYPE_CODES[array.dtype.str[1:]] if type_code is None else type_code
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 1, 3, 2)])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, dtype, shape, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    data = idx_bytes(array)
    # Compression is detected from the content, so the name deliberately lies.
    path = tmp_path / ("plain.idx" if compress else "looks-compressed.gz")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = load_idx(path)
    assert out.shape == shape
    assert out.dtype == np.dtype(dtype)
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    out[...] = 0  # the result is writable


def test_accepts_str_path(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(idx_bytes(np.arange(3, dtype=np.uint8)))
    np.testing.assert_array_equal(load_idx(str(path)), [0, 1, 2])


def test_double_gzip_is_not_idx(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.compress(idx_bytes(np.zeros((2, 2), np.uint8)))))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz is not an IDX file \(magic 0x1f8b"):
        load_idx(path)


@pytest.mark.parametrize(
    "content, magic",
    [
        (b"PK\x03\x04 a zip file, not IDX", "0x504b0304"),
        (struct.pack(">BBBBI", 0, 0, 0x07, 1, 1) + b"\x00", "0x00000701"),  # unknown type
        (struct.pack(">BBBB", 0, 0, 0x08, 0), "0x00000800"),  # zero dimensions
        (struct.pack(">BBBBI", 1, 0, 0x08, 1, 1) + b"\x00", "0x01000801"),
    ],
)
def test_bad_magic(tmp_path, content, magic):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"bad is not an IDX file \(magic {magic}, expected 0x0000TTNN"):
        load_idx(path)


def test_too_short_for_magic(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match=r"short is not an IDX file \(only 2 bytes"):
        load_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_payload(tmp_path, compress):
    data = idx_bytes(np.zeros((60, 28, 28), np.uint8))[: 16 + 1234]
    path = tmp_path / "images"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match=r"images is truncated: header says 60x28x28 = 47040 bytes of data, found 1234\."):
        load_idx(path)


def test_truncated_payload_multibyte(tmp_path):
    path = tmp_path / "ints"
    path.write_bytes(idx_bytes(np.zeros((5, 3), ">i4"))[:-4])
    with pytest.raises(ValueError, match=r"ints is truncated: header says 5x3x4 = 60 bytes of data, found 56"):
        load_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.zeros((2, 3), np.uint8)) + b"\x00\x00")
    with pytest.raises(ValueError, match=r"long has trailing bytes: header says 2x3 = 6 bytes of data, found 8"):
        load_idx(path)


def test_wrong_dims_in_header(tmp_path):
    # Header claims 3x3 but the payload holds 2x3 = 6 bytes.
    path = tmp_path / "dims"
    path.write_bytes(struct.pack(">BBBBII", 0, 0, 8, 2, 3, 3) + bytes(6))
    with pytest.raises(ValueError, match=r"dims is truncated: header says 3x3 = 9 bytes of data, found 6"):
        load_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "head"
    path.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 3, 60000))
    with pytest.raises(ValueError, match=r"head is truncated: magic 0x00000803 declares 3 dimensions \(16-byte header\), found 8 bytes"):
        load_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8) % 7))[:-20])
    with pytest.raises(ValueError, match=r"cut.gz is a truncated gzip file"):
        load_idx(path)


def test_corrupt_gzip_stream(tmp_path):
    path = tmp_path / "corrupt.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(6) + b"\xff" * 40)
    with pytest.raises(ValueError, match=r"corrupt.gz is a (corrupt|truncated) gzip file"):
        load_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="IDX file not found: .*nothing-here"):
        load_idx(tmp_path / "nothing-here")


def test_real_mnist_test_images():
    path = SHARED / "mnist" / "t10k-images-idx3-ubyte.gz"
    if not path.is_file():
        pytest.skip(f"real MNIST test images not present at {path}")
    images = load_idx(path)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images.max() == 255
