"""Rotated, scaled face patches: the Olivetti set of Hinton & Salakhutdinov (2006).

Science 313:504, supporting online material: "165,600 25x25 images by
rotating (-90 to +90 degrees), scaling (1.4 to 2.0), cropping, and
subsampling the original 400 images", shifted so every pixel has zero mean
and scaled by one number to an average pixel variance of 1; the first 30
people train (124,200 patches), the last 10 test (41,400).
"""

from __future__ import annotations

import hashlib
import logging
import time
import zipfile

import numpy as np

from ._fetch import atomic_write, get_data_home
from ._olivetti import N_PER_PERSON, N_TRAIN_PEOPLE, olivetti_faces

logger = logging.getLogger(__name__)

__all__ = ["sample_face_patches", "olivetti_patches"]

ANGLE_RANGE = (-90.0, 90.0)  # degrees, uniform
SCALE_RANGE = (1.4, 2.0)  # source pixels per patch pixel for a 25x25 patch, uniform
FIELD_OF_VIEW = 25  # the patch covers FIELD_OF_VIEW * scale source pixels a side
_CACHE_VERSION = 1  # bump when the sampling changes, to invalidate old caches


def _check_rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None; got {type(rng).__name__}."
    )


def _draw_geometry(n, patch_size, height, width, rng):
    """Draw angle (radians), scale and centre (row, col) for ``n`` patches that fit."""
    half = (patch_size - 1) / 2 * FIELD_OF_VIEW / patch_size  # half-extent per unit scale
    limit = (min(height, width) - 1) / 2
    angles, scales = np.empty(0), np.empty(0)
    while len(angles) < n:  # rejection: ~8% of pairs do not fit for 64x64 faces
        m = max(2 * (n - len(angles)), 64)
        a = np.deg2rad(rng.uniform(*ANGLE_RANGE, size=m))
        s = rng.uniform(*SCALE_RANGE, size=m)
        fits = half * s * (np.abs(np.cos(a)) + np.abs(np.sin(a))) <= limit
        angles, scales = np.concatenate([angles, a[fits]]), np.concatenate([scales, s[fits]])
    angles, scales = angles[:n], scales[:n]
    reach = half * scales * (np.abs(np.cos(angles)) + np.abs(np.sin(angles)))  # (n,)
    rows = rng.uniform(reach, height - 1 - reach)
    cols = rng.uniform(reach, width - 1 - reach)
    return angles, scales, rows, cols


def sample_face_patches(faces, n_per_face, patch_size=25, rng=None):
    """Sample randomly rotated, scaled and placed square patches from each face.

    For each patch an angle and a scale are drawn uniformly from
    ``ANGLE_RANGE`` = [-90, 90] degrees and ``SCALE_RANGE`` = [1.4, 2.0],
    keeping only pairs for which the rotated patch fits inside the face (for
    64x64 faces this rejects about 8% of pairs: large scales near +-45
    degrees); then the centre is drawn uniformly among the positions that
    keep every sample point inside the face.

    *Scale* means: the patch covers ``25 * scale`` source pixels a side
    (35 to 50 pixels of a 64-pixel face), whatever ``patch_size`` is; the
    ``patch_size`` sample points per side are ``25 * scale / patch_size``
    source pixels apart and centred on the patch centre. With the default
    ``patch_size=25`` this is the face subsampled by ``scale`` and cropped
    to 25x25. Values are read with bilinear interpolation
    (``scipy.ndimage.map_coordinates``, ``order=1``), one call per face.

    Parameters
    ----------
    faces : array-like of shape (n_faces, height, width)
        Grey images, e.g. the Olivetti faces (400, 64, 64).
    n_per_face : int
        Patches drawn from each face.
    patch_size : int, default=25
        Side of the square patches, in pixels.
    rng : numpy.random.Generator, int or None
        Source of randomness; pass a Generator to draw fresh patches
        every epoch.

    Returns
    -------
    patches : ndarray of shape (n_faces * n_per_face, patch_size * patch_size)
        float32, rows ordered by face (face 0's patches first), each patch
        raveled row-major. Values stay within the range of ``faces``.

    Examples
    --------
    >>> import numpy as np
    >>> faces = np.random.default_rng(0).random((3, 64, 64))
    >>> sample_face_patches(faces, n_per_face=5, patch_size=25, rng=0).shape
    (15, 625)
    """
    faces = np.asarray(faces, dtype=np.float64)
    if faces.ndim != 3:
        raise ValueError(
            f"faces must have shape (n_faces, height, width); got shape {faces.shape}."
        )
    for name, value in (("n_per_face", n_per_face), ("patch_size", patch_size)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    rng = _check_rng(rng)
    n_faces, height, width = faces.shape
    half_min = (patch_size - 1) / 2 * FIELD_OF_VIEW / patch_size * SCALE_RANGE[0]
    if half_min > (min(height, width) - 1) / 2:
        raise ValueError(
            f"faces of {height}x{width} pixels are too small for patches covering "
            f"{FIELD_OF_VIEW * SCALE_RANGE[0]:g} pixels or more; need at least "
            f"{int(np.ceil(2 * half_min + 1))}x{int(np.ceil(2 * half_min + 1))}."
        )
    n = n_faces * n_per_face
    angles, scales, rows, cols = _draw_geometry(n, patch_size, height, width, rng)
    # Offsets of the sample points from the centre, in units of source pixels per unit scale.
    grid = (np.arange(patch_size) - (patch_size - 1) / 2) * FIELD_OF_VIEW / patch_size
    v, u = np.meshgrid(grid, grid, indexing="ij")  # (p, p): v down the rows, u along columns
    cos = (np.cos(angles) * scales)[:, None, None]  # (n, 1, 1)
    sin = (np.sin(angles) * scales)[:, None, None]
    rows, cols = rows[:, None, None], cols[:, None, None]
    from scipy import ndimage  # here: importing aekit.datasets stays quick

    out = np.empty((n_faces, n_per_face, patch_size, patch_size), dtype=np.float32)
    coords = np.empty((2, n_per_face, patch_size, patch_size))  # (row, col) of each sample
    for i in range(n_faces):
        k = slice(i * n_per_face, (i + 1) * n_per_face)
        np.add(rows[k], sin[k] * u + cos[k] * v, out=coords[0])
        np.add(cols[k], cos[k] * u - sin[k] * v, out=coords[1])
        out[i] = ndimage.map_coordinates(faces[i], coords, order=1, mode="nearest")
    return out.reshape(n_faces * n_per_face, patch_size * patch_size)


def _normalise(X_train, X_test):
    """In place: subtract the training per-pixel mean, divide by one scalar (average variance 1)."""
    mean = X_train.mean(axis=0, dtype=np.float64)
    X_train -= mean.astype(np.float32)
    X_test -= mean.astype(np.float32)
    variance = np.mean(np.einsum("ij,ij->j", X_train, X_train, dtype=np.float64) / len(X_train))
    scale = np.float32(np.sqrt(variance))
    X_train /= scale
    X_test /= scale


def _read_cache(target, faces_md5):
    """Return (X_train, X_test) from ``target`` if it was built from these faces by this code."""
    try:
        with np.load(target, allow_pickle=False) as saved:
            if str(saved["faces_md5"]) == faces_md5 and int(saved["version"]) == _CACHE_VERSION:
                logger.info("olivetti patches read from %s", target)
                return saved["X_train"], saved["X_test"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        logger.warning("ignoring unreadable cache %s (%s)", target, err)
        return None
    logger.info("%s was built from other faces or code; rebuilding it", target)
    return None


def olivetti_patches(path=None, seed=0, n_per_face=414, patch_size=25, cache=True, download=True):
    """Build the Hinton & Salakhutdinov (2006) face-patch set from the Olivetti faces.

    From each of the 400 faces, ``n_per_face`` patches are drawn with
    :func:`sample_face_patches`: rotation uniform in [-90, 90] degrees,
    scale uniform in [1.4, 2.0] (the patch covers ``25 * scale``, i.e. 35 to
    50, pixels of the 64-pixel face a side; pairs that cannot fit are
    redrawn), position uniform among those keeping the patch inside the
    face, bilinear interpolation. Faces of people 0-29 give the training
    set, people 30-39 the test set, so no person is in both. Both sets then
    have the per-pixel mean of the training set subtracted and are divided
    by one scalar chosen so that the training set's per-pixel variances
    average to 1.

    Parameters
    ----------
    path : str or os.PathLike, optional
        ``olivettifaces.mat`` or its directory; see :func:`load_olivetti`.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``; the same seed gives the same
        patches.
    n_per_face : int, default=414
        Patches per face; 414 gives the paper's 124,200 + 41,400.
    patch_size : int, default=25
        Side of the patches in pixels.
    cache : bool, default=True
        Read/write ``$AEKIT_DATA/olivetti_patches_<seed>_<n_per_face>_<patch_size>.npz``
        (about 415 MB for the defaults; written atomically). The cache holds a
        checksum of the faces it was built from and is rebuilt if they differ.
    download : bool, default=True
        Passed to :func:`load_olivetti` when the faces file is not found.

    Returns
    -------
    X_train : ndarray of shape (30 * 10 * n_per_face, patch_size ** 2)
        float32, rows ordered by face (people 0-29), unshuffled.
    X_test : ndarray of shape (10 * 10 * n_per_face, patch_size ** 2)
        float32, people 30-39.

    Examples
    --------
    >>> X_train, X_test = olivetti_patches(n_per_face=4, cache=False)  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((1200, 625), (400, 625))
    """
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int (the patches are cached per seed); got {seed!r}.")
    faces, source = olivetti_faces(path, download)
    faces_md5 = hashlib.md5(faces.tobytes(), usedforsecurity=False).hexdigest()
    target = get_data_home() / f"olivetti_patches_{seed}_{n_per_face}_{patch_size}.npz"
    if cache and target.is_file():
        cached = _read_cache(target, faces_md5)
        if cached is not None:
            return cached
    start = time.perf_counter()
    X = sample_face_patches(faces, n_per_face, patch_size, np.random.default_rng(seed))
    n_train = N_TRAIN_PEOPLE * N_PER_PERSON * n_per_face
    X_train, X_test = X[:n_train], X[n_train:]
    _normalise(X_train, X_test)
    logger.info(
        "built %d + %d olivetti patches from %s in %.1f s",
        len(X_train), len(X_test), source, time.perf_counter() - start,
    )
    if cache:
        try:
            atomic_write(target, lambda fh: np.savez(
                fh, X_train=X_train, X_test=X_test, faces_md5=faces_md5, version=_CACHE_VERSION
            ))
        except OSError as err:  # a full or read-only home (a cluster's quota): the patches are made, only not kept
            logger.warning("could not cache the patches in %s (%s); they will be built again next time (set "
                           "AEKIT_DATA to a writable directory to keep them)", target, err)
    return X_train, X_test
