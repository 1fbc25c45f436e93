"""Where data files live, and how they are downloaded.

Downloads go through the module-level :func:`_download` so that tests can
replace it (``monkeypatch.setattr(_fetch, "_download", fake)``); callers
must look it up as ``_fetch._download`` at call time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.request
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["get_data_home"]

DOWNLOAD_TIMEOUT = 60  # seconds without data before urlopen gives up
#: No data file aekit downloads is larger (Fashion-MNIST's biggest is 26 MB): a server, or a man in the middle of
#: a plain-HTTP mirror, streaming without end is cut off here, before the md5 check, instead of filling the disk.
MAX_DOWNLOAD_BYTES = 256 * 2**20
_CHUNK = 1 << 20


def get_data_home():
    """Return the cache directory for downloaded and derived data.

    It is ``$AEKIT_DATA`` when that environment variable is set, else
    ``~/.cache/aekit``. The directory is not created here. What is found
    there is trusted (a face-patch cache is used as found, and scikit-learn's
    Olivetti fallback unpickles a file from it): never point it at a
    directory others can write to, such as a shared ``/tmp``.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"AEKIT_DATA": "/data/me/aekit"}):
    ...     print(get_data_home())
    /data/me/aekit
    """
    root = os.environ.get("AEKIT_DATA") or "~/.cache/aekit"
    return Path(root).expanduser()


def md5_file(path):
    """Return the hex MD5 digest of a file's bytes."""
    digest = hashlib.md5(usedforsecurity=False)  # a FIPS-mode Python refuses md5 for security use
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(dest, write):
    """Call ``write(fileobj)`` on a temporary file next to ``dest``, then rename it.

    A reader never sees a partial ``dest``: on any error the temporary file
    is removed and ``dest`` is left as it was.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())  # on disk before the rename, so a power cut cannot leave an empty file
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download(url, dest, md5):
    """Download ``url`` to ``dest``, checking its MD5; never leaves a partial file.

    Parameters
    ----------
    url : str
        Any URL ``urllib`` opens (``https://``, ``file://``).
    dest : str or os.PathLike
        Final path; its directory is created if needed.
    md5 : str
        Expected hex MD5 digest of the downloaded bytes.

    Raises
    ------
    OSError
        (including ``urllib.error.URLError``) if the download fails or
        sends more than ``MAX_DOWNLOAD_BYTES``; nothing is written.
    ValueError
        If the bytes do not have the expected MD5; nothing is written.
    """
    digest = hashlib.md5(usedforsecurity=False)  # a FIPS-mode Python refuses md5 for security use

    def write(fh):
        received = 0
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                received += len(chunk)
                if received > MAX_DOWNLOAD_BYTES:
                    raise OSError(f"{url} sent more than {MAX_DOWNLOAD_BYTES} bytes; the file aekit expects is "
                                  f"at most that (md5 {md5}), so the download was stopped and nothing saved.")
                digest.update(chunk)
                fh.write(chunk)
        if digest.hexdigest() != md5:
            raise ValueError(
                f"checksum mismatch for {url}: md5 {digest.hexdigest()}, expected {md5}; "
                f"the file was not saved to {dest}."
            )

    logger.info("downloading %s to %s", url, dest)
    atomic_write(dest, write)
