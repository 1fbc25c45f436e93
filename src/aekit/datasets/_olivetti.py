"""The Olivetti faces (AT&T Laboratories Cambridge): 400 images of 40 people."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._dataset import Dataset
from ._fetch import get_data_home

logger = logging.getLogger(__name__)

__all__ = ["load_olivetti"]

FILENAME = "olivettifaces.mat"
N_PEOPLE, N_PER_PERSON, SIDE = 40, 10, 64
N_TRAIN_PEOPLE = 30
URL = "https://ndownloader.figshare.com/files/5976027"  # what scikit-learn downloads


def _candidates(path):
    """Return [(file, why)] in search order."""
    out = []
    if path is not None:
        path = Path(path)
        out.append((path / FILENAME if path.is_dir() else path, "path"))
    out.append((get_data_home() / "olivetti" / FILENAME, "cache: $AEKIT_DATA or ~/.cache/aekit"))
    return out


def _read_mat(path):
    """Return the faces of an ``olivettifaces.mat`` as uint8 of shape (400, 64, 64)."""
    import scipy.io  # here: importing aekit.datasets stays quick

    try:
        mat = scipy.io.loadmat(path)
    except Exception as err:  # scipy raises ValueError, MatReadError, OSError, ...
        raise ValueError(f"{path} is not a MATLAB .mat file scipy can read ({err}).") from None
    if "faces" not in mat:
        keys = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(
            f"{path} has no variable 'faces' (found {keys}); expected olivettifaces.mat."
        )
    faces = mat["faces"]
    if faces.shape != (SIDE * SIDE, N_PEOPLE * N_PER_PERSON):
        raise ValueError(
            f"{path}: 'faces' has shape {faces.shape}, expected (4096, 400) "
            f"(64x64 pixels, column-major, by 400 images)."
        )
    # As sklearn.datasets.fetch_olivetti_faces: columns are images stored column-major.
    return faces.T.reshape((-1, SIDE, SIDE)).transpose(0, 2, 1)


def _scale(faces):
    """Shift and scale to [0, 1] with the global min and max, as scikit-learn does."""
    faces = np.ascontiguousarray(faces, dtype=np.float32)
    faces -= faces.min()
    faces /= faces.max()
    return faces


def olivetti_faces(path=None, download=True):
    """Return the 400 faces and where they came from.

    Parameters
    ----------
    path : str or os.PathLike, optional
        ``olivettifaces.mat`` or a directory holding it; searched before the
        cache ``$AEKIT_DATA/olivetti/olivettifaces.mat``.
    download : bool, default=True
        If not found, use ``sklearn.datasets.fetch_olivetti_faces`` with
        ``data_home=$AEKIT_DATA/olivetti`` (which downloads once, then reuses
        its own ``olivetti.pkz``).

    Returns
    -------
    faces : ndarray of shape (400, 64, 64)
        float32 in [0, 1]; face ``i`` shows person ``i // 10``.
    source : str
        The file read, for descriptions and logs.
    """
    candidates = _candidates(path)
    for candidate, _ in candidates:
        if candidate.is_file():
            return _scale(_read_mat(candidate)), str(candidate)
    data_home = get_data_home() / "olivetti"
    try:
        from sklearn.datasets import fetch_olivetti_faces

        faces = fetch_olivetti_faces(data_home=str(data_home), download_if_missing=download)
    except OSError as err:  # missing with download=False, or network failure
        searched = "\n".join(f"  {f} ({why})" for f, why in candidates)
        tried = f"scikit-learn's copy in {data_home}: {err}"
        raise FileNotFoundError(
            f"Olivetti faces ({FILENAME}) not found. Searched, in order:\n{searched}\n"
            f"  {tried}\nTo get them: download {URL} (it is {FILENAME}) and put it "
            f"in {data_home} or pass its path or directory (path=..., --data-dir on the command line)"
            + ("." if download else ", or allow downloading (download=True; no --no-download).")
        ) from None
    return np.ascontiguousarray(faces.images, dtype=np.float32), f"scikit-learn cache {data_home}"


def load_olivetti(path=None, download=True):
    """Load the Olivetti faces split by person: 30 people to train, 10 to test.

    Parameters
    ----------
    path : str or os.PathLike, optional
        ``olivettifaces.mat`` (variable ``faces``, uint8 of shape (4096, 400),
        column-major) or a directory holding it. Searched first, then
        ``$AEKIT_DATA/olivetti/olivettifaces.mat``.
    download : bool, default=True
        If the file is not found, fall back to
        ``sklearn.datasets.fetch_olivetti_faces(data_home=$AEKIT_DATA/olivetti)``,
        which downloads once. With False, that cache is still used if present.

    Returns
    -------
    dataset : Dataset
        ``X_train`` of shape (300, 4096): people 0-29; ``X_test`` of shape
        (100, 4096): people 30-39. float32 in [0, 1] (the whole set shifted
        and scaled by its min and max, as scikit-learn does); ``y_*`` are the
        person ids; ``image_shape`` is (64, 64).

    Raises
    ------
    FileNotFoundError
        If the faces are neither found nor downloadable; the message says
        where they were looked for and where to put the file.
    ValueError
        If the file is not a .mat file with a (4096, 400) ``faces`` variable.

    Examples
    --------
    >>> ds = load_olivetti("/work/shared/data/olivettifaces.mat")  # doctest: +SKIP
    >>> ds.X_train.shape, ds.X_test.shape, sorted(set(ds.y_test))[:3]  # doctest: +SKIP
    ((300, 4096), (100, 4096), [30, 31, 32])
    """
    faces, source = olivetti_faces(path, download)
    X = faces.reshape(len(faces), -1)
    y = np.arange(len(faces), dtype=np.int64) // N_PER_PERSON
    n_train = N_TRAIN_PEOPLE * N_PER_PERSON
    description = (
        f"Olivetti faces from {source}: people 0-{N_TRAIN_PEOPLE - 1} train "
        f"({n_train} images), people {N_TRAIN_PEOPLE}-{N_PEOPLE - 1} test "
        f"({len(X) - n_train} images)."
    )
    return Dataset(
        X[:n_train], X[n_train:], y[:n_train], y[n_train:], (SIDE, SIDE), "olivetti", description
    )
