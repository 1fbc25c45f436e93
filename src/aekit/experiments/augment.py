"""Training-data augmentation for the reproductions, as ``Trainer`` ``epoch_data`` sources.

Each source is called as ``source(n, epoch)`` and returns a new float32 array
of training samples for that epoch, deterministic for a seed and an epoch:

- :class:`FreshFacePatches`: new Olivetti face patches every epoch (the
  generator is unlimited), from the training people only, optionally from
  mirrored faces and under random lighting;
- :class:`FlippedImages`: the training images with a random half mirrored.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FreshFacePatches", "FlippedImages"]


class FreshFacePatches:
    """New patches from the training people's faces, normalised like the training set.

    ``olivetti_patches`` subtracts the training set's per-pixel mean and
    divides by one scalar; this rebuilds that training set's raw patches
    once (same seed, same draws) to recover the two constants, then draws
    new patches per epoch from the 300 training faces with the seed
    ``(seed, epoch)`` and applies them.

    Parameters
    ----------
    path : str or path-like, default=None
        ``olivettifaces.mat`` or its directory, as for ``olivetti_patches``;
        None looks where :func:`aekit.datasets.load_olivetti` does.
    seed : int, default=0
        The ``olivetti_patches`` seed; with the epoch, it also seeds each
        epoch's draws.
    X_train : ndarray of shape (124200, 625), default=None
        The normalised training set, to check the recovered constants; None
        skips the check.
    n_per_face : int, default=414
        As given to ``olivetti_patches`` (patches per face in its training
        set).
    patch_size : int, default=25
        Patch side in pixels, as given to ``olivetti_patches``.
    mirror : bool, default=False
        Also draw from the mirror images of the training faces (twice the
        faces; a mirrored face is still a face, and no test person is used).
    lighting : float, default=0.0
        Random lighting per patch, in the faces' [0, 1] pixel units before
        normalisation: ``a * x + b`` with contrast ``a`` uniform in
        ``[1 - lighting, 1 + lighting]`` and brightness ``b`` uniform in
        ``[-lighting / 2, lighting / 2]``: photographs differ in brightness
        (the 30 training people's mean pixels range from 0.40 to 0.69) and a
        face's code should not depend on it. 0 turns it off; must be in
        [0, 1).

    Raises
    ------
    ValueError
        If ``lighting`` is outside [0, 1).
    RuntimeError
        If ``X_train`` does not match the rebuilt normalisation (a cache
        built by another version).
    """

    def __init__(self, path=None, seed: int = 0, X_train=None, n_per_face: int = 414, patch_size: int = 25,
                 mirror: bool = False, lighting: float = 0.0):
        from ..datasets import load_olivetti, sample_face_patches

        self._sample = sample_face_patches
        faces = load_olivetti(path)
        side = faces.image_shape[0]
        train_faces = faces.X_train.reshape(-1, side, side)  # people 0-29
        if not 0 <= lighting < 1:
            raise ValueError(f"lighting must be in [0, 1); got {lighting!r}.")
        self.seed, self.patch_size, self.mirror, self.lighting = int(seed), int(patch_size), bool(mirror), lighting
        every = np.concatenate([faces.X_train, faces.X_test]).reshape(-1, side, side)
        raw = sample_face_patches(every, n_per_face, patch_size, np.random.default_rng(seed))
        raw = raw[:len(train_faces) * n_per_face]
        self.train_faces = np.concatenate([train_faces, train_faces[:, :, ::-1]]) if mirror else train_faces
        mean = raw.mean(axis=0, dtype=np.float64)
        variance = np.einsum("ij,ij->j", raw, raw, dtype=np.float64) / len(raw) - mean ** 2  # (625,)
        self.mean, self.scale = mean.astype(np.float32), np.float32(np.sqrt(variance.mean()))
        if X_train is not None and not np.allclose((raw[:100] - self.mean) / self.scale, X_train[:100], atol=1e-4):
            raise RuntimeError("could not recover the face patches' normalisation; was the cache built with "
                               "another version of aekit? Delete it from $AEKIT_DATA.")

    def __call__(self, n: int, epoch: int) -> np.ndarray:
        """At least ``n`` fresh normalised patches (a whole number per face).

        Parameters
        ----------
        n : int
            Patches wanted; rounded up to a multiple of the number of
            training faces.
        epoch : int
            0-based epoch; with ``seed`` it seeds the draws, so an epoch's
            patches are reproducible.

        Returns
        -------
        ndarray of shape (n_patches, patch_size ** 2), float32
            Normalised like ``olivetti_patches``' training set.
        """
        per_face = max(1, -(-int(n) // len(self.train_faces)))
        rng = np.random.default_rng([self.seed, epoch])
        X = self._sample(self.train_faces, per_face, self.patch_size, rng)
        if self.lighting:
            contrast = rng.uniform(1 - self.lighting, 1 + self.lighting, size=(len(X), 1)).astype(np.float32)
            brightness = rng.uniform(-self.lighting / 2, self.lighting / 2, size=(len(X), 1)).astype(np.float32)
            X *= contrast
            X += brightness
        X -= self.mean
        X /= self.scale
        return X


class FlippedImages:
    """The training images with a random half mirrored left-right, drawn anew per epoch.

    For data whose mirror images belong to the same distribution (clothes,
    shoes and bags; not digits). ``images(n, epoch)`` ignores ``n``: every
    image appears once per epoch, flipped or not.

    Parameters
    ----------
    X : ndarray of shape (n_samples, height * width)
        The training images, flattened row by row (``height * width * C``
        for ``(height, width, C)`` images); not modified.
    image_shape : tuple of int
        (height, width) or (height, width, channels).
    seed : int, default=0
        With the epoch, seeds which images are flipped.

    Examples
    --------
    >>> X = np.arange(8.0).reshape(2, 4)
    >>> FlippedImages(X, (2, 2))(2, epoch=0).shape
    (2, 4)
    """

    def __init__(self, X, image_shape, seed: int = 0):
        self.X, self.image_shape, self.seed = X, tuple(image_shape), int(seed)

    def __call__(self, n: int, epoch: int) -> np.ndarray:
        flip = np.random.default_rng([self.seed, epoch]).random(len(self.X)) < 0.5
        out = np.array(self.X, dtype=np.float32)
        images = out.reshape(-1, *self.image_shape)  # a view: flipping it flips ``out``
        images[flip] = images[flip, :, ::-1]
        return out
