"""MNIST and Fashion-MNIST from the four standard IDX files.

Files are looked for in ``data_dir``, then in system directories (the Debian
package ``dataset-fashion-mnist``), then in the cache ``$AEKIT_DATA/<name>``;
missing ones are downloaded into the cache when allowed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _fetch
from ._dataset import Dataset
from ._fetch import get_data_home
from ._idx import load_idx

logger = logging.getLogger(__name__)

__all__ = ["load_fashion_mnist", "load_mnist"]

# split -> (images, labels) file names, without the ".gz" that downloads carry.
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class _Source:
    title: str
    url: str  # base URL; the file is url + name + ".gz"
    md5: dict  # published MD5 of each downloaded .gz file
    raw_md5: dict  # MD5 of each decompressed file (mirrors recompress the .gz)
    how_to_get: str


SOURCES = {
    "fashion-mnist": _Source(
        title="Fashion-MNIST",
        url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        # github.com/zalandoresearch/fashion-mnist README, "Get the Data".
        md5={
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        raw_md5={
            "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
        },
        how_to_get="install the Debian package (apt-get install dataset-fashion-mnist)",
    ),
    "mnist": _Source(
        title="MNIST",
        url="https://ossci-datasets.s3.amazonaws.com/mnist/",
        # The mirror torchvision uses, with torchvision's checksums.
        md5={
            "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        raw_md5={
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        },
        how_to_get="copy them from any MNIST mirror",
    ),
}

# Directories searched after data_dir and before the cache (module-level so tests can patch).
SYSTEM_DIRS = {
    "fashion-mnist": [
        ("/usr/share/datasets/fashion-mnist", "Debian package dataset-fashion-mnist"),
    ],
    "mnist": [],
}

FALLBACK_TEST_SIZE = 0.2  # 2,000 of the 10,000 test digits
FALLBACK_SEED = 0


def _search_dirs(name, data_dir):
    """Return [(directory, why it is searched)] in search order."""
    dirs = [] if data_dir is None else [(Path(data_dir), "data_dir")]
    dirs += [(Path(d), why) for d, why in SYSTEM_DIRS[name]]
    dirs.append((get_data_home() / name, "cache: $AEKIT_DATA or ~/.cache/aekit"))
    return dirs


def _find(stem, directory):
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def _find_split(split, dirs):
    """Images and labels of one split, both from the first directory that has both."""
    for directory, _ in dirs:
        images, labels = (_find(stem, directory) for stem in FILES[split])
        if images is not None and labels is not None:
            return images, labels
    return None


def _download_split(name, split):
    source, cache = SOURCES[name], get_data_home() / name
    for stem in FILES[split]:
        if _find(stem, cache) is None:
            _fetch._download(source.url + stem + ".gz", cache / f"{stem}.gz", source.md5[stem])
    return _find_split(split, [(cache, "cache")])


def _read_split(images_path, labels_path):
    """Return X (n, 784) float32 in [0, 1] and y (n,) int64, checking the files agree."""
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_path} holds {images.dtype} of shape {images.shape}; "
            f"expected uint8 images of shape (n, 28, 28)."
        )
    if labels.dtype != np.uint8 or labels.shape != (len(images),) or labels.max(initial=0) > 9:
        raise ValueError(
            f"{labels_path} holds {labels.dtype} of shape {labels.shape}; expected "
            f"{len(images)} uint8 labels in 0..9 to match {images_path}."
        )
    X = images.reshape(len(images), -1).astype(np.float32)
    X /= 255.0
    return X, labels.astype(np.int64)


def _not_found(name, dirs, missing, failures, download):
    source = SOURCES[name]
    searched = "\n".join(f"  {d} ({why})" for d, why in dirs)
    wanted = ", ".join(f"{stem}.gz" for split in missing for stem in FILES[split])
    if download:
        tried = "download failed: " + ("; ".join(failures) or "the files are still missing")
    else:
        tried = "download=False, so nothing was downloaded"
    urls = ", ".join(f"{source.url}{stem}.gz" for split in missing for stem in FILES[split])
    return (
        f"{source.title} files not found: {wanted} (or the same without .gz). "
        f"Searched, in order:\n{searched}\n{tried}.\n"
        f"To get them: {source.how_to_get}, or download {urls} "
        f"into {get_data_home() / name} (or any directory passed as data_dir, --data-dir on the command line)."
    )


#: Label names where the labels are not their own names (Xiao et al. 2017, Table 1).
CLASS_NAMES = {"fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                 "Sneaker", "Bag", "Ankle boot")}


def _load(name, data_dir, download):
    dirs = _search_dirs(name, data_dir)
    found = {split: _find_split(split, dirs) for split in FILES}
    failures = []
    for split in FILES:
        if found[split] is None and download and not failures:
            try:
                found[split] = _download_split(name, split)
            except OSError as err:  # offline, HTTP error, disk full: said in the error below, or warned on fallback
                failures.append(f"{split} files: {err}")
    title = SOURCES[name].title
    if found["train"] is not None and found["test"] is not None:
        X_train, y_train = _read_split(*found["train"])
        X_test, y_test = _read_split(*found["test"])
        where = sorted({str(p.parent) for pair in found.values() for p in pair})
        description = (
            f"{title}: standard {len(X_train)}/{len(X_test)} train/test split, "
            f"IDX files from {', '.join(where)}."
        )
        return Dataset(X_train, X_test, y_train, y_test, (28, 28), name, description, CLASS_NAMES.get(name))
    if name == "mnist" and found["test"] is not None:
        for failure in failures:  # not raised, so the failed download is said here
            logger.warning("could not download %s %s", name, failure)
        return _test_only_mnist(*found["test"])
    missing = [split for split in FILES if found[split] is None]
    raise FileNotFoundError(_not_found(name, dirs, missing, failures, download))


def _test_only_mnist(images_path, labels_path):
    from sklearn.model_selection import train_test_split  # here: importing aekit.datasets stays quick

    X, y = _read_split(images_path, labels_path)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=FALLBACK_TEST_SIZE, stratify=y, random_state=FALLBACK_SEED
    )
    logger.warning(
        "MNIST training files not found; splitting the %d test digits of %s "
        "%d/%d instead. Results are not comparable with the standard split.",
        len(X), images_path.parent, len(X_train), len(X_test),
    )
    description = (
        f"MNIST TEST SPLIT ONLY (training files not found): the {len(X)} t10k digits "
        f"from {images_path.parent} split {len(X_train)}/{len(X_test)} "
        f"(stratified, random_state={FALLBACK_SEED}); not the standard split."
    )
    return Dataset(X_train, X_test, y_train, y_test, (28, 28), "mnist", description)


def load_fashion_mnist(data_dir=None, download=True):
    """Load Fashion-MNIST (Xiao et al. 2017): 60,000 train and 10,000 test images.

    Search order: ``data_dir``, ``/usr/share/datasets/fashion-mnist`` (Debian
    package ``dataset-fashion-mnist``), ``$AEKIT_DATA/fashion-mnist``; then
    a download from the official Zalando S3 bucket into the cache.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory searched first for ``train-images-idx3-ubyte.gz``,
        ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
        ``t10k-labels-idx1-ubyte.gz`` (the names without ``.gz`` work too;
        compression is detected from the content).
    download : bool, default=True
        Download missing files into the cache, checking their published MD5.

    Returns
    -------
    dataset : Dataset
        ``X_train`` of shape (n_train, 784) and ``X_test`` of shape
        (n_test, 784), float32 pixels in [0, 1]; ``y_*`` class labels 0-9;
        ``image_shape`` is (28, 28).

    Raises
    ------
    FileNotFoundError
        If the files are neither found nor downloaded; the message lists every
        directory searched and how to get the files.
    ValueError
        If a file is not a valid IDX file of the expected shape, or a
        download does not match its checksum.

    Examples
    --------
    >>> ds = load_fashion_mnist()  # doctest: +SKIP
    >>> ds.X_train.shape, ds.X_test.shape  # doctest: +SKIP
    ((60000, 784), (10000, 784))
    """
    return _load("fashion-mnist", data_dir, download)


def load_mnist(data_dir=None, download=True):
    """Load MNIST: 60,000 train and 10,000 test handwritten digits.

    Search order: ``data_dir``, ``$AEKIT_DATA/mnist``; then a download from
    the ossci-datasets S3 mirror into the cache. If only the test files
    (t10k) are available, the 10,000 test digits are split 8,000/2,000
    (stratified, ``random_state=0``), a WARNING is logged and
    ``description`` says so: such results are not comparable with
    published MNIST numbers.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory searched first for ``train-images-idx3-ubyte.gz``,
        ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
        ``t10k-labels-idx1-ubyte.gz`` (the names without ``.gz`` work too;
        compression is detected from the content).
    download : bool, default=True
        Download missing files into the cache, checking their published MD5.

    Returns
    -------
    dataset : Dataset
        ``X_train`` of shape (n_train, 784) and ``X_test`` of shape
        (n_test, 784), float32 pixels in [0, 1]; ``y_*`` class labels 0-9;
        ``image_shape`` is (28, 28).

    Raises
    ------
    FileNotFoundError
        If the files are neither found nor downloaded; the message lists every
        directory searched and how to get the files.
    ValueError
        If a file is not a valid IDX file of the expected shape, or a
        download does not match its checksum.

    Examples
    --------
    >>> ds = load_mnist("/work/shared/data/mnist", download=False)  # doctest: +SKIP
    >>> ds.X_train.shape, ds.X_test.shape  # test files only here  # doctest: +SKIP
    ((8000, 784), (2000, 784))
    """
    return _load("mnist", data_dir, download)
