"""CSV files of numbers: one optional header row, ',' between cells, '.' decimals, missing cells NaN."""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
import warnings

import numpy as np

from ._dataset import warn_if_float32_loses

__all__ = ["CSV_ENCODING", "CSV_MISSING", "csv_cells", "csv_header", "load_csv"]

logger = logging.getLogger(__name__)


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
    """Whether ``row`` is "0,1,2,3,...": the column names pandas gives a DataFrame made from an array, or
    ",0,1,2,...": the same over the index column that ``to_csv`` writes unless ``index=False``.

    Four columns at least: a data row of 0, 1 (a binary table) or 0, 1, 2 is not rare.
    """
    cells = [cell.strip() for cell in row]
    if cells[:1] == [""]:  # the index column's header cell is empty
        cells = cells[1:]
    return len(row) >= 4 and cells == [str(i) for i in range(len(cells))]


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


def csv_data_lines(path) -> list[int]:
    """The line of ``path`` each data row of a CSV file comes from (counting from 1, header and blank lines
    skipped as ``load_array`` skips them): what a user looks up for row ``i`` of the loaded array.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of int
    """
    return [n for n, _ in _data_rows(path)[1]]


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
    header, rows = _data_rows(path)
    return header, [row for _, row in rows]


def _data_rows(path):
    """A CSV file's header (or None) and its data rows as ``(line number, cells)``."""
    header = csv_header(path)
    return header, _csv_rows(path)[header is not None:]


_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d*,\d+\s*")


def _check_separators(path, first, row) -> None:
    """Refuse a row that did not read as ','-separated numbers because the file uses another convention (';'
    or tabs between cells, ',' as the decimal mark), saying how to re-save it; ``first`` is the file's first
    row (a header's ';' tells a European CSV too)."""
    _check_not_european(path, first, row)
    _check_not_whitespace_separated(path, row)


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


def _check_not_whitespace_separated(path, row):
    """Refuse, saying how to convert it, a file whose cells are separated by tabs or spaces rather than ','.

    Read with ',' such a row is one cell of several numbers (and its first row passed for a header), which
    was reported as a text column to drop.
    """
    pieces = row[0].split() if len(row) == 1 else []
    if len(pieces) > 1 and all(_is_number(piece) for piece in pieces):
        what, sep = ("tabs", "sep='\\t'") if "\t" in row[0] else ("spaces", "sep=r'\\s+'")
        raise ValueError(
            f"{path} separates its cells with {what}, not ','; aekit reads comma-separated values: re-save it "
            f"so, e.g. with pandas: pd.read_csv(path, {sep}).to_csv(new_path, index=False)."
        )


#: A cell holding one of :data:`CSV_MISSING`'s words that numpy does not read as NaN (any case, spaces around).
_MISSING_WORD = re.compile(r"(?:^|,)[ \t]*(?:"
                           + "|".join(re.escape(w) for w in sorted(CSV_MISSING - {"", "nan", "-nan"}))
                           + r")[ \t]*(?=,|$)", re.IGNORECASE | re.MULTILINE)


def _loadtxt(source, skiprows: int = 0) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
        return np.loadtxt(source, delimiter=",", skiprows=skiprows, dtype=np.float64, ndmin=2, comments=None,
                          encoding=CSV_ENCODING if isinstance(source, (str, os.PathLike)) else None)


def _empty_cells_as_nan(path, header: bool) -> str | None:
    """The data rows of the CSV file with each empty cell written ``nan``, for :func:`numpy.loadtxt` (None when the
    first MiB has missing-value words such as NA, which go cell by cell anyway). An empty cell is the usual missing
    value (pandas' ``to_csv`` writes NaN so); read a Python call per cell, such a table took 1.9 times the CPU."""
    with open(path, encoding=CSV_ENCODING) as fh:
        text = fh.read()
    body = (text.split("\n", 1) + [""])[1] if header else text
    if _MISSING_WORD.search(body, 0, 1 << 20):
        return None
    if ",," in body:
        body = body.replace(",,", ",nan,").replace(",,", ",nan,")  # the first pass leaves one of ",,,"
    body = body.replace("\n,", "\nnan,").replace(",\n", ",nan\n")
    if body.startswith(","):
        body = "nan" + body
    return body + "nan" if body.endswith(",") else body


def _loadtxt_empty_cells(path, header: bool) -> np.ndarray | None:
    """:func:`numpy.loadtxt` of the file's data rows with its empty cells written ``nan``; None (go cell by cell)
    when the first MiB has missing-value words."""
    body = _empty_cells_as_nan(path, header)
    return None if body is None else _loadtxt(io.StringIO(body))


def load_csv(path):
    """Numeric CSV, comma-separated, with one optional header row; float32, missing cells NaN."""
    names = csv_header(path)
    header = int(names is not None)
    if names is not None and _default_column_names(names):
        logger.warning("%s: its first row, %s0,1,2,...,%s, is read as a header (pandas' default column names), "
                       "not as data", path, "," if not names[0].strip() else "", names[-1].strip())
    # fast paths: numbers alone, then with empty cells; on any problem the per-cell path below says where it is
    for read in (_loadtxt, _loadtxt_empty_cells):
        try:
            X = read(path, header)
        except (ValueError, UnicodeDecodeError):
            continue
        if X is not None and X.size:
            return _check_in_range(path, X, names)
    rows = _csv_rows(path)
    first = rows[0][1] if rows else []  # the header if there is one: its ';' tells a European CSV too
    rows = rows[header:]
    if not rows:
        raise ValueError(f"{path} is empty: no data rows.")
    width = len(rows[0][1])
    X = np.empty((len(rows), width), dtype=np.float64)
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            _check_separators(path, first, row)
            raise ValueError(
                f"{path} is ragged: row {line} has {len(row)} columns, expected {width} "
                f"(as row {rows[0][0]})."
            )
        try:
            X[i] = [_cell(cell) for cell in row]  # beyond float32's range: inf in the cast, named by _check_in_range
        except ValueError:
            _check_separators(path, first, row)
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
    """``X`` (read in float64) as float32, or a ValueError naming the first cell that is infinite or beyond
    float32's range (cast to inf); a column float32 cannot resolve is warned about."""
    warn_if_float32_loses(X, path, names)
    with np.errstate(over="ignore"):
        X = X.astype(np.float32)
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
