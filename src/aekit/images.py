"""Images of any size through a model trained on small patches.

Reading and writing PNG/JPEG files (Pillow; pixels as float32 in [0, 1],
``(H, W)`` grey or ``(H, W, 3)`` RGB), sliding overlapping patches out of an
image and averaging them back, and the two whole-image operations built on
them: :func:`denoise_image` and :func:`inpaint_image`. A model is any fitted
aekit estimator whose ``image_shape`` is its patch shape; it is used through
``reconstruct`` and :func:`aekit.impute.impute_with` only.
"""

from __future__ import annotations

import logging

import numpy as np

from ._image_files import (IMAGE_KINDS, IMAGE_SUFFIXES, _float_pixels, output_bit_depth, read_alpha, read_image,
                           write_image)
from ._patches import (_Accumulator, _check_stride, _patch_chunks, average_patches, extract_patches, patch_positions,
                       sample_patches)

__all__ = ["IMAGE_SUFFIXES", "IMAGE_KINDS", "read_image", "read_alpha", "write_image", "output_bit_depth",
           "patch_positions", "extract_patches", "average_patches", "sample_patches", "model_image_shape",
           "model_patch_shape", "check_model_image",
           "denoise_image", "inpaint_image"]

logger = logging.getLogger(__name__)


def model_image_shape(model) -> tuple[int, ...] | None:
    """The ``image_shape`` a fitted model takes (an ImputerEnsemble's members'), or None.

    Parameters
    ----------
    model : object
        A fitted aekit estimator or :class:`~aekit.ImputerEnsemble`.

    Returns
    -------
    tuple of int or None
        ``(H, W)`` or ``(H, W, C)``, or None when the model has no image
        shape.
    """
    shape = getattr(model, "image_shape", None)
    if shape is None and getattr(model, "estimators_", None):  # an ImputerEnsemble: its members' patches
        shape = getattr(model.estimators_[0], "image_shape", None)
    return None if shape is None else tuple(int(s) for s in shape)


def model_patch_shape(model) -> tuple[int, int, int]:
    """``(ph, pw, channels)`` of the images a fitted model takes.

    Parameters
    ----------
    model : object
        A fitted aekit estimator or :class:`~aekit.ImputerEnsemble` trained
        with ``image_shape``.

    Returns
    -------
    tuple of int
        Patch height, width and channels (1 for a 2-D ``image_shape``).

    Raises
    ------
    ValueError
        If the model has no ``image_shape``.
    """
    shape = model_image_shape(model)
    if shape is None:
        raise ValueError(
            f"the model ({type(model).__name__}) has no image_shape, so it does not know its patch size; "
            "train it with image_shape (aekit train-denoiser sets it)."
        )
    return shape[0], shape[1], (shape[2] if len(shape) == 3 else 1)


def check_model_image(model, image: np.ndarray, name: str = "image") -> tuple[int, int]:
    """``(ph, pw)`` of the model's patches, after checking that ``image`` suits the model.

    Parameters
    ----------
    model : object
        A fitted aekit estimator or :class:`~aekit.ImputerEnsemble` trained
        with ``image_shape``.
    image : ndarray
        The image to check; its size may differ from the patch size.
    name : str, default="image"
        How error messages call the image (e.g. a file name).

    Returns
    -------
    tuple of int
        ``(ph, pw)``.

    Raises
    ------
    ValueError
        If the model has no ``image_shape``, ``image`` is not 2-D or 3-D
        or is empty, or its channels differ from the model's.
    """
    ph, pw, c = model_patch_shape(model)
    if image.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, C); got {image.shape}.")
    if image.shape[0] == 0 or image.shape[1] == 0:  # np.pad said "can't extend empty axis 0 using modes ..."
        raise ValueError(f"{name} is empty: shape {image.shape}.")
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels != c:
        kind = {1: "grey", 2: "grey and alpha", 3: "RGB", 4: "RGBA"}
        # read_image drops an alpha channel; an array keeps it
        hint = (f"drop its alpha channel ({name}[..., :{c}])" if channels == c + 1 and c in (1, 3)
                else "convert the image")
        raise ValueError(
            f"{name} has {channels} channel(s) ({kind.get(channels, '?')}), but the model was trained on "
            f"{c}-channel ({kind.get(c, '?')}) patches of {ph}x{pw}; {hint} or use a matching model."
        )
    return ph, pw


def _pad_to(image: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Reflect-pad an image smaller than one patch up to the patch size."""
    dh, dw = max(0, ph - image.shape[0]), max(0, pw - image.shape[1])
    if dh == 0 and dw == 0:
        return image
    pad = [(0, dh), (0, dw)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad, mode="symmetric")


def _context_margin(model, image_hw: tuple[int, int], ph: int, pw: int) -> tuple[int, int]:
    """Reflected context to add around an image for a translation-equivariant net (fully_conv, unet).

    Such a net sees zero padding at a patch's border, so an image's own border, covered by patch borders
    only, came out far noisier than its inside (a camera photograph's outer 8 pixels 21.3 dB against 25.8 dB
    with half a patch of mirrored context; a 9x10 image in one patch's corner 21.4 dB against 27.0 dB).
    A model of whole images (mlp, conv: a dense layer) is not shifted, so it gets none; nor does an image of
    exactly the model's size, which stays ``model.denoise`` of it (a fully_conv model of whole Fashion-MNIST
    images, trained on their black border, lost 0.2 dB given mirrored context instead).
    """
    if getattr(model, "architecture", None) in ("fully_conv", "unet") and image_hw != (ph, pw):
        return ph // 2, pw // 2
    return 0, 0


def _default_stride(ph: int, pw: int) -> int:
    return max(1, min(ph, pw) // 4)


def _stride_for(stride, ph: int, pw: int) -> int:
    """``stride``, or the default, checked: patches further apart than their side leave pixels none covers."""
    if stride is None:
        return _default_stride(ph, pw)
    stride = _check_stride(stride)
    if stride > min(ph, pw):  # the uncovered pixels came out 0: black bands across the image
        raise ValueError(f"stride must be at most the patch side ({min(ph, pw)}); got {stride}, which would leave "
                         "pixels that no patch covers.")
    return stride


def _dihedral(image: np.ndarray, k: int) -> np.ndarray:
    # k in 0..7: a left-right flip for k >= 4, then k % 4 quarter turns
    return np.ascontiguousarray(np.rot90(image[:, ::-1] if k >= 4 else image, k % 4))


def _undo_dihedral(image: np.ndarray, k: int) -> np.ndarray:
    out = np.rot90(image, -(k % 4))
    return out[:, ::-1] if k >= 4 else out


def denoise_image(model, image, stride: int | None = None, ensemble: bool = False) -> np.ndarray:
    """Denoise an image of any size with a patch model.

    The image is cut into overlapping patches of the model's
    ``image_shape`` (every ``stride`` pixels; default a quarter of the
    patch side), each patch is reconstructed, and the results are averaged
    back with sine-tapered weights. An image smaller than a patch is
    reflect-padded. For a ``fully_conv`` or ``unet`` model, which sees zero
    padding at a patch's border, an image of another size than the model's
    is first given half a patch of mirrored context on every side, so that
    its own border is denoised as well as its inside; an image of the
    model's size is ``model.denoise`` of it.

    With ``ensemble=True`` the image is also denoised flipped and turned
    (the 8 flips and quarter turns) and the 8 results, put back upright,
    are averaged: 8 times the work, for a model of natural images (which
    look alike turned) about 0.15 dB more on a held-out photograph.

    Parameters
    ----------
    model : fitted aekit estimator with ``image_shape``
        Usually a :class:`~aekit.DenoisingAutoencoder`.
    image : ndarray of shape (H, W) or (H, W, C), values in [0, 1]
        The noisy image, on the scale the model was trained on; integer
        pixels must be within [0, 1] (divide uint8 by 255).
    stride : int, default=None
        Step between patches in pixels (>= 1, at most the patch's shorter
        side); smaller is slower and smoother. None: a quarter of the
        patch's shorter side (at least 1).
    ensemble : bool, default=False
        Average over the 8 flips and quarter turns of the image.

    Returns
    -------
    denoised : ndarray of the image's shape, float32

    Raises
    ------
    ValueError
        If the image's channels do not match the model's, the model has
        no image_shape, or the image has integer pixels beyond [0, 1]
        (uint8 0..255: pass ``image / 255``), or ``stride`` is not an int
        from 1 to the patch's shorter side.
    """
    image = _float_pixels(image)
    ph, pw = check_model_image(model, image)
    stride = _stride_for(stride, ph, pw)
    if ensemble:
        outs = [_undo_dihedral(denoise_image(model, _dihedral(image, k), stride), k) for k in range(8)]
        return np.mean(outs, axis=0, dtype=np.float64).astype(np.float32)
    H, W = image.shape[:2]
    my, mx = _context_margin(model, image.shape[:2], ph, pw)
    padded = _pad_to(np.pad(image, [(my, my), (mx, mx)] + [(0, 0)] * (image.ndim - 2), mode="symmetric"), ph, pw)
    acc = _Accumulator(padded.shape, (ph, pw))
    n_patches = 0
    for patches, positions in _patch_chunks(padded, (ph, pw), stride):
        acc.add(model.reconstruct(patches), positions)
        n_patches += len(patches)
    out = acc.result()[my:my + H, mx:mx + W]
    logger.debug("denoised a %dx%d image from %d patches", H, W, n_patches)
    return (out[:, :, 0] if image.ndim == 2 else out).astype(np.float32)


def inpaint_image(model, image, stride: int | None = None) -> np.ndarray:
    """Fill the missing pixels (NaN) of an image of any size with a patch model.

    Every patch that holds a missing pixel is completed with
    :func:`aekit.impute.impute_with` (an :class:`~aekit.AutoencoderImputer`
    applies its own scaling and refinement); the completions are averaged back with
    sine-tapered weights, and observed pixels are returned unchanged. A hole
    wider than a patch has pixels that no patch sees any context for; they
    come out as the model's guess from nothing.

    Parameters
    ----------
    model : fitted aekit estimator with ``image_shape``, or an ImputerEnsemble of such
        Usually an :class:`~aekit.AutoencoderImputer` trained on patches
        with entries hidden.
    image : ndarray of shape (H, W) or (H, W, C)
        NaN marks missing pixels (in colour images, per channel).
    stride : int, default=None
        Step between patches in pixels (>= 1, at most the patch's shorter
        side). None: a quarter of the patch's shorter side (at least 1).

    Returns
    -------
    completed : ndarray of the image's shape, float32

    Raises
    ------
    ValueError
        If the image has no missing pixel, its channels do not match the
        model's, the model has no image_shape, or ``stride`` is not an int
        from 1 to the patch's shorter side.
    """
    from .impute import impute_with

    image = _float_pixels(image)
    ph, pw = check_model_image(model, image)
    missing = np.isnan(image)
    if not missing.any():
        raise ValueError("the image has no missing pixel (NaN) to fill; mark missing pixels with NaN or a mask.")
    stride = _stride_for(stride, ph, pw)
    H, W = image.shape[:2]
    padded = _pad_to(image, ph, pw)
    acc = _Accumulator(padded.shape, (ph, pw))
    n_patches = 0
    for patches, positions in _patch_chunks(padded, (ph, pw), stride, keep=lambda p: np.isnan(p).any(axis=1)):
        acc.add(impute_with(model, patches), positions)
        n_patches += len(patches)
    filled = acc.result()[:H, :W]
    filled = filled[:, :, 0] if image.ndim == 2 else filled
    logger.debug("inpainted %d pixels from %d patches", int(missing.sum()), n_patches)
    return np.where(missing, filled, image).astype(np.float32)

