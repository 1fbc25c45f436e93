"""The user's own data: .npy, .npz, .csv files and directories of images."""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from ._npy import load_numpy as _load_numpy
from ._pixels import deep_colour_pixels

logger = logging.getLogger(__name__)

__all__ = ["load_array", "csv_header", "csv_cells"]

ARRAY_SUFFIXES = (".npy", ".npz", ".csv")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# Pillow mode -> (mode to convert to, or None to keep it; value that maps to 1.0).
IMAGE_MODES = {
    "L": (None, 255), "1": ("L", 255), "P": ("RGB", 255), "RGB": (None, 255),
    "LA": ("L", 255), "RGBA": ("RGB", 255),  # alpha dropped, as aekit.images.read_image does
    "I;16": (None, 65535), "I;16B": ("I;16", 65535), "I;16L": ("I;16", 65535),
}


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


#: CSV cells read as a missing value (NaN), compared in lower case: an empty cell and the usual spellings.
CSV_MISSING = frozenset({"", "na", "n/a", "#n/a", "<na>", "nan", "-nan", "null", "none", "?"})


#: Text encoding of CSV files: UTF-8, with the byte-order mark that Excel's "CSV UTF-8" writes skipped.
CSV_ENCODING = "utf-8-sig"


def _cell(cell):
    """A CSV cell's value: a float, NaN for a missing-value token; ValueError otherwise."""
    text = cell.strip()
    return float("nan") if text.lower() in CSV_MISSING else float(text)


def _is_number(cell):
    try:
        _cell(cell)
    except ValueError:
        return False
    return True


def _csv_rows(path):
    """The non-empty rows of a CSV file as ``(line number, cells)``, header included."""
    with open(path, newline="", encoding=CSV_ENCODING) as fh:
        return [(n, row) for n, row in enumerate(_reader(fh, path), start=1) if row]


def _reader(fh, path):
    """``csv.reader(fh)``, its errors as ValueError naming ``path``."""
    try:
        yield from csv.reader(fh)
    except csv.Error as err:  # Python 3.10's reader refuses a NUL byte ("line contains NUL"); 3.11 reads it
        raise ValueError(f"{path} is not a readable CSV file ({err}).") from None


def _default_column_names(row) -> bool:
    """Whether ``row`` is "0,1,2,3,...": the column names pandas gives a DataFrame made from an array.

    Four columns at least: a data row of 0, 1 (a binary table) or 0, 1, 2 is not rare.
    """
    return len(row) >= 4 and [cell.strip() for cell in row] == [str(i) for i in range(len(row))]


def csv_header(path):
    """The header row of a CSV file, else None.

    The first row is a header when a cell of it is not a number, or when it
    reads ``0,1,2,3,...`` over four columns or more (pandas' default column
    names: ``pd.DataFrame(X).to_csv(path, index=False)``); loading it says so.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of str or None
    """
    with open(path, newline="", encoding=CSV_ENCODING) as fh:
        first = next((row for row in _reader(fh, path) if row), [])
    if _default_column_names(first):
        return first
    return None if all(_is_number(cell) for cell in first) else first


def csv_cells(path):
    """A CSV file's header (or None) and its data rows as text, in the rows and order ``load_array`` reads.

    ``aekit impute`` writes the observed cells back from these, exactly as they were.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    header : list of str or None
    rows : list of list of str
    """
    rows = [row for _, row in _csv_rows(path)]
    header = csv_header(path)
    return header, rows[header is not None:]


_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d*,\d+\s*")


def _check_not_european(path, *rows):
    """Refuse, saying how to convert it, a CSV that separates cells with ';' or writes decimals with ','."""
    cells = [cell for row in rows for cell in row]
    lines = [",".join(row) for row in rows]  # near enough the lines as written, for their ';'-separated cells
    semicolons = any(";" in line for line in lines)
    pieces = cells + ([piece for line in lines for piece in line.split(";")] if semicolons else [])
    commas = any(_DECIMAL_COMMA.fullmatch(piece) for piece in pieces)
    if semicolons or commas:
        what = " and ".join(name for name, found in (("';' between cells", semicolons),
                                                       ("',' as the decimal mark", commas)) if found)
        options = ", ".join(option for option, found in (("sep=';'", semicolons), ("decimal=','", commas)) if found)
        raise ValueError(
            f"{path} looks like a European CSV ({what}); aekit reads ',' between cells and '.' decimals: "
            f"re-save it so, e.g. with pandas: pd.read_csv(path, {options}).to_csv(new_path, index=False)."
        )


#: A whole cell holding one of :data:`CSV_MISSING`'s words (any case, spaces around), for the fast path.
_MISSING_CELL = re.compile(r"(?<![^,\n])[ \t]*(?:" + "|".join(re.escape(word) for word in sorted(CSV_MISSING - {""}))
                           + r")[ \t]*(?![^,\n])", re.IGNORECASE)
_PLAIN_NUMBER_CHARACTERS = str.maketrans("", "", "0123456789.,+-eE \t\n")


def _csv_body_for_loadtxt(text: str, header: bool) -> str:
    """The data rows of CSV text (universal newlines) with each missing cell written ``nan``, for
    :func:`numpy.loadtxt`; read a Python call per cell, a table with missing values took 4x longer."""
    body = (text.split("\n", 1) + [""])[1] if header else text
    words = bool(body.translate(_PLAIN_NUMBER_CHARACTERS))  # missing-value words, or cells that are not numbers
    if ",," in body:
        body = body.replace(",,", ",nan,").replace(",,", ",nan,")  # the first pass leaves one of ",,,"
    body = body.replace("\n,", "\nnan,").replace(",\n", ",nan\n")
    if body.startswith(","):
        body = "nan" + body
    if body.endswith(","):
        body += "nan"
    if words:
        body = _MISSING_CELL.sub("nan", body)
    return body


def _load_csv(path):
    """Numeric CSV, comma-separated, with one optional header row; float32, missing cells NaN."""
    names = csv_header(path)
    header = int(names is not None)
    if names is not None and _default_column_names(names):
        logger.warning("%s: its first row, 0,1,2,...,%d, is read as a header (pandas' default column names), not "
                       "as data", path, len(names) - 1)
    try:  # fast path (numbers and empty cells only); on any problem the slow path below says where it is
        with open(path, encoding=CSV_ENCODING) as fh:
            text = _csv_body_for_loadtxt(fh.read(), bool(header))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            X = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float32, ndmin=2, comments=None)
        if X.size:
            return _check_in_range(path, X, names)
    except (ValueError, UnicodeDecodeError):
        pass
    rows = _csv_rows(path)
    first = rows[0][1] if rows else []  # the header if there is one: its ';' tells a European CSV too
    rows = rows[header:]
    if not rows:
        raise ValueError(f"{path} is empty: no data rows.")
    width = len(rows[0][1])
    X = np.empty((len(rows), width), dtype=np.float32)
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            _check_not_european(path, first, row)
            raise ValueError(
                f"{path} is ragged: row {line} has {len(row)} columns, expected {width} "
                f"(as row {rows[0][0]})."
            )
        try:
            with np.errstate(over="ignore"):  # a value beyond float32 becomes inf: _check_in_range names it
                X[i] = [_cell(cell) for cell in row]
        except ValueError:
            _check_not_european(path, first, row)
            col = next(j for j, cell in enumerate(row, start=1) if not _is_number(cell))
            named = f"column {names[col - 1]!r}: " if names else ""
            raise ValueError(
                f"{path}: row {line}, column {col} is not a number: {row[col - 1]!r} ({named}drop text "
                "columns such as IDs or names, or encode categories as numbers (one-hot), first; a missing "
                "value is an empty cell, NA or NaN)."
            ) from None
    return _check_in_range(path, X, names)


def _warn_if_row_index(path, X, names):
    """Warn when the first column counts the rows: an index or ID written with the data is read as a feature."""
    n = X.shape[0]
    if n < 3 or X.shape[1] < 2:
        return
    first = X[:, 0]
    for start in (0, 1):
        if np.array_equal(first, np.arange(start, start + n, dtype=X.dtype)):
            named = f" ({names[0]!r})" if names and names[0].strip() else " (unnamed)" if names else ""
            logger.warning("%s: the first column%s counts the rows (%d, %d, %d, ...): a row index or ID written "
                           "with the data (pandas' to_csv writes its index unless index=False)? It is read as a "
                           "feature like the others; drop it if so.", path, named, start, start + 1, start + 2)
            return


def _check_in_range(path, X, names):
    """``X``, or a ValueError naming the first cell that is infinite or beyond float32's range (read as inf)."""
    _warn_if_row_index(path, X, names)
    infinite = np.isinf(X)
    if not infinite.any():
        return X
    i, j = np.argwhere(infinite)[0]
    line, row = _csv_rows(path)[i + (names is not None)]
    named, text = f" ({names[j]!r})" if names else "", row[j].strip()
    if math.isinf(float(text)):  # written as inf
        raise ValueError(f"{path}: row {line}, column {j + 1}{named} holds {text}; aekit needs finite numbers: "
                         "replace it, or leave the cell empty to mark a missing value.")
    raise ValueError(
        f"{path}: row {line}, column {j + 1}{named} holds {text}, beyond float32's range (+-3.4e38) in "
        "which aekit computes: rescale that column (e.g. divide it by a power of 10, or take its log) first."
    )


def _load_image_dir(path):
    """Images of one size and mode, sorted by file name, as (n, H, W[, 3]) float32 in [0, 1]."""
    files = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
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
    return X


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
        - a directory of PNG/JPEG/BMP/TIFF images, all of the same size and
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
        decimals), or images differ in size or mode; the message names the
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
        return _shape_samples(_load_image_dir(path), path)
    suffix = path.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise ValueError(
            f"{path} has an unknown extension {path.suffix!r}; supported are "
            f"{ARRAY_SUFFIXES} or a directory of {IMAGE_SUFFIXES} images."
        )
    if suffix == ".csv":
        try:
            return _shape_samples(_load_csv(path), path)
        except UnicodeDecodeError as err:
            raise ValueError(f"{path} is not a text CSV file ({err}).") from None
    return _shape_samples(_load_numpy(path, mmap), path)
