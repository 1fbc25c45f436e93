"""Reader for the IDX format used by MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number ``0x0000TTNN`` (two zero bytes, a type
code ``TT``, the number of dimensions ``NN``), then ``NN`` big-endian uint32
dimension sizes, then the values in C order, big-endian. See
http://yann.lecun.com/exdb/mnist/ (section "THE IDX FILE FORMAT").
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

__all__ = ["load_idx"]

# IDX type code -> big-endian numpy dtype.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_EXPECTED_MAGIC = (
    "expected 0x0000TTNN: two zero bytes, a type code TT in "
    "{08, 09, 0b, 0c, 0d, 0e} and the number of dimensions NN >= 1, "
    "e.g. 0x00000803 for unsigned bytes in 3-D"
)


def _read_bytes(path):
    """Return the file's content, gunzipped when it starts with the gzip magic 1f 8b."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as err:
        raise ValueError(f"{path} is a truncated gzip file ({err}).") from None
    except (OSError, zlib.error) as err:
        raise ValueError(f"{path} is a corrupt gzip file ({err}).") from None


def load_idx(path):
    """Read an IDX file, gzipped or raw, into an array.

    Compression is detected from the content (gzip magic bytes ``1f 8b``),
    not from the file name.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``"train-images-idx3-ubyte.gz"``.

    Returns
    -------
    array : ndarray of shape given by the header
        In native byte order, e.g. uint8 of shape (60000, 28, 28) for the
        MNIST training images. The array is writable.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not IDX (bad magic number), is truncated, has bytes
        beyond what the header declares, or is a corrupt gzip stream. The
        one-line message names the file and what was expected.

    Examples
    --------
    >>> import struct, tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "tiny-idx2-ubyte")
    ...     _ = path.write_bytes(struct.pack(">BBBBII", 0, 0, 8, 2, 2, 3) + bytes(range(6)))
    ...     print(load_idx(path))
    [[0 1 2]
     [3 4 5]]
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(
            f"{path} is not an IDX file (only {len(data)} bytes; {_EXPECTED_MAGIC})."
        )
    magic = int.from_bytes(data[:4], "big")
    zero, type_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or type_code not in IDX_TYPES or ndim < 1:
        raise ValueError(f"{path} is not an IDX file (magic 0x{magic:08x}, {_EXPECTED_MAGIC}).")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{path} is truncated: magic 0x{magic:08x} declares {ndim} dimensions "
            f"({header_size}-byte header), found {len(data)} bytes."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on hostile headers
    found = len(data) - header_size
    if found != expected:
        dims = "x".join(str(d) for d in shape)
        size = f"{dims}" if dtype.itemsize == 1 else f"{dims}x{dtype.itemsize}"
        problem = "is truncated" if found < expected else "has trailing bytes"
        raise ValueError(
            f"{path} {problem}: header says {size} = {expected} bytes of data, found {found}."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
