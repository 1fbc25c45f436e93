"""The user's own data: .npy, .npz, .csv files and directories of images."""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

import numpy as np
from PIL import Image

from ._csv import load_csv
from ._npy import load_numpy as _load_numpy
from ._pixels import deep_colour_pixels

logger = logging.getLogger(__name__)

__all__ = ["image_files", "load_array", "load_image_folder"]

ARRAY_SUFFIXES = (".npy", ".npz", ".csv")
#: Suffixes of the image files read, the keys of aekit._image_files.IMAGE_SUFFIXES (which this package may not import).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# Pillow mode -> (mode to convert to, or None to keep it; value that maps to 1.0).
IMAGE_MODES = {
    "L": (None, 255), "1": ("L", 255), "P": ("RGB", 255), "RGB": (None, 255),
    "LA": ("L", 255), "RGBA": ("RGB", 255),  # alpha dropped, as aekit.images.read_image does
    "I;16": (None, 65535), "I;16B": ("I;16", 65535), "I;16L": ("I;16", 65535),
}


def _utf16_text(path) -> bool:
    """Whether the file starts with a UTF-16 byte-order mark and reads as UTF-16 text with ',' or line breaks."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        return False
    try:
        text = codecs.getincrementaldecoder("utf-16")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return "\x00" not in text and ("," in text or "\n" in text)


def _shape_samples(X, path):
    """Return (X as (n, n_features), image_shape) from a 2-D, 3-D or 4-D array."""
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path} holds {X.dtype} data; expected numbers (bool, int or float).")
    if X.size == 0:
        raise ValueError(f"{path} is empty (shape {X.shape}).")
    if X.ndim == 2:
        return X, None
    if X.ndim == 3 or (X.ndim == 4 and X.shape[3] in (1, 3, 4)):
        return X.reshape(len(X), -1), tuple(X.shape[1:])
    raise ValueError(
        f"{path} holds an array of shape {X.shape}; expected (n_samples, n_features), "
        f"(n, H, W) or (n, H, W, C) with C in {{1, 3, 4}}."
    )


def image_files(folder) -> list[Path]:
    """The image files in ``folder`` (by suffix, any case), sorted by name; hidden ones left out.

    A name starting with "." is not an image a user put there: macOS writes a
    ``._photo.png`` of metadata beside each file copied to a FAT or network
    drive, which no image reader opens.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("b.PNG", "a.jpg", "._a.jpg", "notes.txt"):
    ...     _ = (folder / name).write_bytes(b"")
    >>> [f.name for f in image_files(folder)]
    ['a.jpg', 'b.PNG']
    """
    found = sorted(f for f in Path(folder).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    hidden = [f for f in found if f.name.startswith(".")]
    if hidden:
        logger.info("left out %d hidden file(s) in %s (e.g. %s)", len(hidden), folder, hidden[0].name)
    return [f for f in found if f.is_file() and not f.name.startswith(".")]


def load_image_folder(path):
    """``(X, image_shape, names)`` of a directory of images: :func:`load_array`'s, and the file name of each row."""
    X, files = _load_image_dir(path)
    return (*_shape_samples(X, path), tuple(f.name for f in files))


def _load_image_dir(path):
    """Images of one size and mode, sorted by file name, as (n, H, W[, 3]) float32 in [0, 1], and their files."""
    files = image_files(path)
    if not files:
        raise ValueError(
            f"{path} is a directory without images; expected files ending in {IMAGE_SUFFIXES}."
        )
    first = None
    X = None
    for i, file in enumerate(files):
        try:
            with Image.open(file) as image:
                deep = deep_colour_pixels(file, image)  # Pillow would keep 8 of their 16 bits
                if deep is not None:
                    pixels = deep[:, :, 0] if deep.shape[2] == 2 else deep[:, :, :3]  # alpha dropped
                    mode, top = ("I;16" if pixels.ndim == 2 else "RGB;16"), 65535
                elif image.mode not in IMAGE_MODES:
                    raise ValueError(
                        f"{file} has image mode {image.mode!r}; supported modes are "
                        f"{sorted(IMAGE_MODES)} (convert to 'L' or 'RGB')."
                    )
                else:
                    convert, top = IMAGE_MODES[image.mode]
                    mode = convert or image.mode
                    # np.asarray reads every 16-bit variant natively; converting them is not needed.
                    pixels = np.asarray(image if convert in (None, "I;16") else image.convert(convert))
        except OSError as err:
            raise ValueError(f"{file} is not an image Pillow can read ({err}).") from None
        except Image.DecompressionBombError as err:
            raise ValueError(f"{file} is refused as a possible decompression bomb ({err}).") from None
        if first is None:
            first = (file, pixels.shape, mode)
            X = np.empty((len(files), *pixels.shape), dtype=np.float32)
        elif (pixels.shape, mode) != first[1:]:
            raise ValueError(
                f"{file} is {pixels.shape} in mode {mode!r} but {first[0].name} is "
                f"{first[1]} in mode {first[2]!r}; all images must have the same size and mode."
            )
        X[i] = pixels
        X[i] /= top
    logger.info("read %d images of shape %s from %s", len(files), first[1], path)
    return X, files


def load_array(path, mmap=False):
    """Load the user's data: an array file or a directory of images.

    Parameters
    ----------
    path : str or os.PathLike
        One of:

        - ``.npy``: an array, memory-mapped read-only if ``mmap``;
        - ``.npz``: the array named ``X``, or the only array;
        - ``.csv``: comma-separated numbers with '.' decimals, UTF-8 (a
          byte-order mark is skipped), one sample per row, with one
          optional header row (detected by a non-numeric cell in row 1);
          an empty cell, ``NA``, ``N/A``, ``NaN``, ``null``, ``None`` or
          ``?`` is a missing value (NaN), for an imputer to fill;
        - a directory of PNG/JPEG/BMP/TIFF/WebP images, all of the same size and
          mode, read in file-name order; grey ones give (H, W), colour ones
          (H, W, 3) (an alpha channel is dropped), 16-bit ones (grey, or
          48/64-bit colour PNG and TIFF) are divided by 65535 and 8-bit by 255.
    mmap : bool, default=False
        Memory-map a ``.npy`` file instead of reading it (other formats are
        always read).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        A 2-D array as stored; a 3-D (n, H, W) or 4-D (n, H, W, C) array
        flattened to (n, H*W[*C]). The dtype is as stored for .npy/.npz,
        float32 for .csv and images (in [0, 1]).
    image_shape : tuple of int or None
        (H, W) or (H, W, C) for images and 3-D/4-D arrays, None for 2-D.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the format is unknown, the file is empty, a .npz is ambiguous, a
        CSV cell is not a number, infinite or beyond float32's range, its
        rows are ragged or it is a European CSV (';' between cells, ','
        decimals) or separated by tabs or spaces, or images differ in size or mode; the message names the
        file and the problem (and a CSV's row and column, by its header
        name when it has one).

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(pathlib.Path(tmp, "x.npy"), np.zeros((5, 8, 8)))
    ...     X, image_shape = load_array(pathlib.Path(tmp, "x.npy"))
    >>> X.shape, image_shape
    ((5, 64), (8, 8))
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file or directory: {path}")
    if path.is_dir():
        return load_image_folder(path)[:2]
    suffix = path.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise ValueError(
            f"{path} has an unknown extension {path.suffix!r}; supported are "
            f"{ARRAY_SUFFIXES} or a directory of {IMAGE_SUFFIXES} images."
        )
    if suffix == ".csv":
        try:
            return _shape_samples(load_csv(path), path)
        except UnicodeDecodeError as err:
            if _utf16_text(path):  # Windows PowerShell 5's '>' and Excel's "Unicode Text" write it
                raise ValueError(f"{path} is a UTF-16 text file; aekit reads CSV files in UTF-8: re-save it so "
                                 "(Excel: 'CSV UTF-8'; PowerShell: Out-File -Encoding utf8).") from None
            raise ValueError(f"{path} is not a text CSV file ({err}).") from None
    return _shape_samples(_load_numpy(path, mmap), path)
