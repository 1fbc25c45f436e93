"""Atomic file and directory writes: the old version or the new one, never half of either.

Every file aekit writes goes through here (figures use the same scheme in
:mod:`aekit.plotting`, which imports nothing of the package): the content is
written to a hidden temporary name beside the target (``.NAME.XXXX.tmp``),
flushed to disk, and renamed onto the target. A crash or kill at any moment
leaves the old target or the new one; at worst a hidden temporary file is
left behind, which nothing reads.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "atomic_directory", "check_results_folder", "check_parents", "make_parents", "write_text",
           "write_json", "save_npy", "save_npy_blocks"]


def _appeared(path: Path) -> FileExistsError:
    """The error for an output that another run wrote while this one worked (``replace=False``)."""
    return FileExistsError(f"{path} appeared while this command ran (another run with the same --out?); nothing "
                           "was replaced: use another --out, or --overwrite.")


def check_parents(path) -> None:
    """Refuse ``path`` when one of its parents is a file: its folder cannot be made there (``mkdir`` said only
    "[Errno 17] File exists: 'a'", naming neither the output nor the file in its way)."""
    path = Path(path)
    for parent in reversed(path.parents):  # from the top down: the first file in the way
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(f"cannot write {path}: {parent} is a file, not a folder.")


def make_parents(path) -> None:
    """Make ``path``'s missing parent folders (a parent that is a file: :func:`check_parents`'s error)."""
    path = Path(path)
    check_parents(path)
    path.parent.mkdir(parents=True, exist_ok=True)


def _temp_name(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, suffix: str = "", replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    The new file gets the permissions a plain ``open()`` would give it.
    With ``replace=False`` the last step raises FileExistsError, and replaces
    nothing, if ``path`` exists by then (another run with the same output).
    """
    path = Path(path)
    make_parents(path)
    while True:
        tmp = _temp_name(path, ".tmp" + suffix)
        try:
            # 0o666 filtered by the umask, as for open(); mkstemp would give 0o600
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    mode = tmp.stat().st_mode & 0o777
    try:
        yield tmp
        os.chmod(tmp, mode)  # writers that recreate the file (safetensors) leave it 0o600
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            _place_file(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _place_file(tmp: Path, path: Path) -> None:
    """Move the file ``tmp`` to ``path`` unless ``path`` exists, in one atomic step where the platform allows."""
    try:
        os.link(tmp, path)  # fails if path exists, atomically; the caller removes tmp
        return
    except FileExistsError:
        raise _appeared(path) from None
    except (AttributeError, NotImplementedError, OSError):  # no hard links here (FAT, some network filesystems)
        pass
    _place_new(tmp, path)


def _place_new(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` (a file or a directory) to ``path`` unless ``path`` exists; FileExistsError if it does."""
    try:
        if _renameat2(tmp, path, 1):  # RENAME_NOREPLACE: one atomic step
            return
    except FileExistsError:
        raise _appeared(path) from None
    if path.exists() or path.is_symlink():
        raise _appeared(path)
    # Elsewhere a check, then a rename. Windows' rename refuses any existing target, and POSIX's refuses a
    # directory onto a file or a non-empty directory, so the window left between the two is that of a POSIX
    # file, or an empty directory, created in the instant between them: that one would be replaced.
    try:
        os.rename(tmp, path)
    except OSError as err:
        if isinstance(err, FileExistsError) or err.errno in (errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise _appeared(path) from None
        raise


def _renameat2(a: Path, b: Path, flags: int) -> bool:
    """Linux ``renameat2(a, b, flags)``: True if done, False if unsupported (another OS, libc, filesystem)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError, TypeError):  # TypeError: Windows' LoadLibrary refuses None
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))  # EEXIST (RENAME_NOREPLACE): a FileExistsError


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    return _renameat2(a, b, 2)


def _settle_tree(directory: Path) -> None:
    """Flush every file to disk and give it the umask's permissions (safetensors writes 0o600)."""
    mode = directory.stat().st_mode & 0o666
    for file in directory.rglob("*"):
        if file.is_file() and not file.is_symlink():
            os.chmod(file, mode)
            with open(file, "rb+") as fh:
                os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_directory(path, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; swap it in for ``path`` on success.

    An existing ``path`` is replaced only once the new directory is complete,
    in a single atomic exchange where the platform offers one (Linux);
    elsewhere by two renames, with the old directory put back if the second
    fails. On an exception ``path`` is untouched and nothing is left behind.
    With ``replace=False`` the last step raises FileExistsError, and replaces
    nothing, if ``path`` exists by then (another run with the same output).
    """
    path = Path(path)
    make_parents(path)
    while True:
        tmp = _temp_name(path, ".tmp")
        try:
            tmp.mkdir(0o777)  # filtered by the umask, as for mkdir; mkdtemp would give 0o700
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        _settle_tree(tmp)
        if not replace:
            _place_new(tmp, path)
        elif not path.exists():
            os.replace(tmp, path)
        elif not _exchange(tmp, path):
            old = _temp_name(path, ".old")
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(path.parent)
    finally:
        # after an exchange ``tmp`` holds the old directory (or the file that was there)
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists() or tmp.is_symlink():
            tmp.unlink()


def check_results_folder(path, name: str = "out_dir") -> None:
    """Refuse a results folder that :func:`atomic_directory` would replace whole although it holds other files.

    Replaced may be a missing or empty folder, or an earlier run's results (it holds ``results.json``); a file, or a
    folder of other files (``results/`` holding earlier runs in folders of their own, the current directory) would be
    deleted with them. Called before the work, so a refusal costs nothing.

    Parameters
    ----------
    path : str or path-like
        The folder the results will replace.
    name : str, default="out_dir"
        What the message calls it (the CLI says ``--out``).

    Raises
    ------
    ValueError
        If ``path`` is the current directory or a parent of it, a file, or a folder holding files but no
        ``results.json``.
    """
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise ValueError(f"{name} {path} is the current directory or a parent of it, which the results would replace "
                         "whole; name a folder for them, e.g. results/run1.")
    if path.exists() and not path.is_dir():  # a file the whole folder of results would take the place of
        raise ValueError(f"{name} {path} is a file, not a results folder; the results replace it whole, so choose "
                         "a new path.")
    if path.is_dir() and not (path / "results.json").is_file() and any(path.iterdir()):
        raise ValueError(f"{name} {path} holds files but no results.json (not an earlier run's results); the results "
                         "replace the whole folder, so choose a new path.")


def write_text(path, text: str, replace: bool = True) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path`` (``replace=False``: see :func:`atomic_path`)."""
    with atomic_path(path, replace=replace) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path, obj, replace: bool = True, **kwargs) -> Path:
    """Atomically write ``obj`` as indented JSON to ``path`` (``replace=False``: see :func:`atomic_path`)."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, **kwargs) + "\n", replace=replace)


def save_npy(path, array, replace: bool = True) -> Path:
    """Atomically save a NumPy array to ``path`` (``.npy``; ``replace=False``: see :func:`atomic_path`)."""
    import numpy as np

    with atomic_path(path, suffix=".npy", replace=replace) as tmp:
        np.save(tmp, np.asarray(array), allow_pickle=False)
    return Path(path)


def save_npy_blocks(path, blocks, n_rows: int, replace: bool = True) -> Path:
    """Atomically save the array of ``n_rows`` rows that ``blocks`` yields a block of rows at a time, never whole.

    Each block is written into a memory map of the temporary file (:func:`numpy.lib.format.open_memmap`, shaped
    by the first block) and its pages handed back, so memory holds about one block; an error or Ctrl-C midway
    leaves neither the temporary file nor ``path`` (``replace=False``: see :func:`atomic_path`).

    Parameters
    ----------
    path : str or path-like
        The ``.npy`` file to write.
    blocks : iterable of ndarray
        Consecutive row blocks, all of one dtype and row shape, ``n_rows`` rows in all.
    n_rows : int
        Rows of the whole array; at least 1.
    replace : bool, default=True

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If the blocks do not hold ``n_rows`` rows of one dtype and row shape.
    """
    import numpy as np

    from ._memmap_io import release_pages

    with atomic_path(path, suffix=".npy", replace=replace) as tmp:
        out, start = None, 0
        for block in blocks:
            block = np.asarray(block)
            if out is None:
                out = np.lib.format.open_memmap(tmp, mode="w+", dtype=block.dtype, shape=(n_rows, *block.shape[1:]))
            if block.dtype != out.dtype or block.shape[1:] != out.shape[1:] or start + len(block) > n_rows:
                raise ValueError(f"block of {block.dtype} {block.shape} at row {start} does not fit the "
                                 f"{out.dtype} array {out.shape} written to {path}.")
            out[start:start + len(block)] = block
            start += len(block)
            release_pages(out)  # the written pages stay in the page cache, bound for the file, not in this process
        if out is None or start != n_rows:
            raise ValueError(f"{path}: {start} rows were written of the {n_rows} expected.")
        out.flush()
        del out  # unmapped before the file is moved into place
    return Path(path)
