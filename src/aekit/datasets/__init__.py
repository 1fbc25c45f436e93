"""Datasets for autoencoders: benchmark sets, face and photo patches, user files.

Everything here needs only numpy, scipy, scikit-learn, scikit-image and
Pillow (no torch). Data files are looked for locally first; downloads, when
allowed, go to ``$AEKIT_DATA`` (default ``~/.cache/aekit``) and are checked
against published checksums.

Examples
--------
>>> from aekit.datasets import load_dataset
>>> ds = load_dataset("digits")
>>> ds.X_train.shape, ds.image_shape
((1437, 64), (8, 8))
"""

from ._dataset import Dataset
from ._digits import load_digits
from ._face_patches import olivetti_patches, sample_face_patches
from ._fetch import get_data_home
from ._files import load_array
from ._idx import load_idx
from ._mnist import load_fashion_mnist, load_mnist
from ._olivetti import load_olivetti
from ._photos import image_patches, list_photos
from ._registry import DATASETS, load_data, load_dataset

__all__ = [
    "DATASETS",
    "Dataset",
    "get_data_home",
    "image_patches",
    "list_photos",
    "load_array",
    "load_data",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_idx",
    "load_mnist",
    "load_olivetti",
    "olivetti_patches",
    "sample_face_patches",
]
