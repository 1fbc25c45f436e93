"""Reading the user's .npy and .npz files without trusting their headers or their compression."""

from __future__ import annotations

import math
import zipfile

import numpy as np

__all__ = ["load_numpy", "BOMB_RATIO", "BOMB_MIN_BYTES"]


class _TooShort(ValueError):
    """A file claims more data than it holds, or would expand to far more (the message is complete)."""


def _check_npy_header(fp, size, where):
    """Refuse a .npy header that claims more data than the file holds: numpy would allocate it all first."""
    version = np.lib.format.read_magic(fp)
    reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in reader:
        return  # numpy judges other versions itself
    shape, _, dtype = reader[version](fp)
    need, have = math.prod(shape) * dtype.itemsize, size - fp.tell()
    if need > have:
        raise _TooShort(f"{where} is truncated: its header says {shape} {dtype} ({need} bytes), "
                         f"the file holds {have} bytes of data.")


#: A .npz member expanding more than this many times its compressed size, to more than
#: :data:`BOMB_MIN_BYTES`, is refused: real data compresses a few times (deflate stops near 1000-fold on
#: zeros, bzip2 and lzma go far beyond: 6 kB of bzip2 held 8 GiB of zeros).
BOMB_RATIO = 100
BOMB_MIN_BYTES = 64 * 2**20


def _check_not_a_bomb(info, where):
    """Refuse a zip member whose declared size is a decompression bomb's (zipfile never reads past it)."""
    if info.file_size > BOMB_MIN_BYTES and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
        raise _TooShort(f"{where} would expand from {info.compress_size} bytes to {info.file_size} bytes "
                        f"(more than {BOMB_RATIO} times); refused as a possible decompression bomb. If the data is "
                        "real, save it uncompressed (np.save to .npy, or np.savez).")


def load_numpy(path, mmap):
    """Read a .npy (optionally memory-mapped) or the array of a .npz."""
    try:
        if path.suffix.lower() == ".npy":
            with open(path, "rb") as fp:
                _check_npy_header(fp, path.stat().st_size, path)
            return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            keys = [name[:-len(".npy")] if name.endswith(".npy") else name for name in members]
            if "X" not in keys and len(keys) != 1:
                raise _TooShort(f"{path} holds {len(keys)} arrays {keys}; expected one array, or one named 'X'.")
            key = "X" if "X" in keys else keys[0]
            info = members.get(f"{key}.npy") or members[key]  # as np.load looks it up
            where = f"{path}:{info.filename}"
            _check_not_a_bomb(info, where)
            with archive.open(info) as fp:
                if fp.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
                    raise _TooShort(f"{where} is not a .npy array; expected an .npz of numpy arrays.")
            with archive.open(info) as fp:
                _check_npy_header(fp, info.file_size, where)
            with archive.open(info) as fp:  # the member checked (np.load would take a member "X" over "X.npy")
                return np.lib.format.read_array(fp, allow_pickle=False)
    except _TooShort as err:
        raise ValueError(str(err)) from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a valid {path.suffix} file ({err}).") from None
