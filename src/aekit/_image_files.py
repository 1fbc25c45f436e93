"""Image files: PNG/JPEG read as float32 pixels in [0, 1] and written back, 8 or 16 bits (Pillow).

``(H, W)`` grey or ``(H, W, 3)`` RGB; :mod:`aekit.images` re-exports these
with the patch machinery built on them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._atomic import atomic_path

__all__ = ["IMAGE_SUFFIXES", "read_image", "write_image", "output_bit_depth"]

logger = logging.getLogger(__name__)

#: File suffixes read and written, with Pillow's format name.
IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def _float_pixels(image) -> np.ndarray:
    """``image`` as float32, refusing integer pixels beyond [0, 1] (0..255 would be clipped or misread)."""
    image = np.asarray(image)
    if image.dtype.kind in "iu" and image.size and (image.min() < 0 or image.max() > 1):
        top = {np.dtype(np.uint8): "255", np.dtype(np.uint16): "65535"}.get(image.dtype, "its maximum value")
        raise ValueError(f"image has dtype {image.dtype} (values {image.min()}..{image.max()}); aekit's images are "
                         f"floats in [0, 1]: pass image / {top} (as skimage.img_as_float does).")
    return image.astype(np.float32)


def read_image(path, mode: str | None = None, return_bit_depth: bool = False):
    """Read a PNG or JPEG file as float32 pixels in [0, 1].

    Parameters
    ----------
    path : str or Path
    mode : {None, "grey", "rgb"}, default=None
        None keeps grey images grey and makes everything else RGB (alpha is
        dropped); "grey" or "rgb" converts.
    return_bit_depth : bool, default=False
        Also return the bit depth the pixels were scaled from: 16 for a
        16-bit grey image read as grey, else 8 (write the result back with
        ``write_image(..., bit_depth=...)`` to keep it).

    Returns
    -------
    image : ndarray of shape (H, W) or (H, W, 3), float32
    bit_depth : int
        Only with ``return_bit_depth``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not an image Pillow can read, or mode is unknown.
    """
    from PIL import Image, UnidentifiedImageError

    if mode not in (None, "grey", "rgb"):
        raise ValueError(f"mode must be None, 'grey' or 'rgb'; got {mode!r}.")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file.")
    peak = 255.0
    try:
        with Image.open(path) as img:
            img.load()
            grey = img.mode in ("1", "L", "LA", "I", "I;16", "F")
            wide = img.mode in ("I", "I;16", "F")  # Pillow's conversion to RGB would clip them to 8 bits
            if mode == "grey" or (mode is None and grey) or wide:
                if wide:
                    arr = np.asarray(img, dtype=np.float64)
                    peak = 65535.0 if arr.max(initial=0) > 255 or img.mode == "I;16" else 255.0
                else:
                    arr = np.asarray(img.convert("L"))
            else:
                arr = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path} is not a readable PNG/JPEG image ({err}).") from None
    image = np.clip(arr / peak, 0.0, 1.0).astype(np.float32)
    if mode == "rgb" and image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return (image, 16 if peak > 255 and image.ndim == 2 else 8) if return_bit_depth else image


def write_image(path, image, bit_depth: int = 8) -> Path:
    """Write pixels in [0, 1] (clipped) as a PNG or JPEG, atomically.

    Parameters
    ----------
    path : str or Path
        Ends in .png, .jpg or .jpeg.
    image : array-like of shape (H, W) or (H, W, 3)
        Floats in [0, 1] (or booleans); integer pixels such as uint8
        0..255 raise ``ValueError``: divide them by 255 first.
    bit_depth : {8, 16}, default=8
        16 writes a 16-bit grey PNG (what scientific cameras and scanners
        produce); JPEG and colour images are 8-bit only.

    Returns
    -------
    path : Path
    """
    from PIL import Image

    path = Path(path)
    fmt = IMAGE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"image files must end in one of {sorted(IMAGE_SUFFIXES)}; got {path}.")
    image = _float_pixels(image).astype(np.float64)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, 3); got {image.shape}.")
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16; got {bit_depth!r}.")
    if bit_depth == 16 and (fmt != "PNG" or image.ndim == 3):
        raise ValueError(f"bit_depth=16 is for grey PNG images; got a {'colour' if image.ndim == 3 else 'grey'} "
                         f"image to {path.name}.")
    top, dtype = (65535.0, np.uint16) if bit_depth == 16 else (255.0, np.uint8)
    pixels = np.round(np.clip(np.nan_to_num(image), 0.0, 1.0) * top).astype(dtype)
    with atomic_path(path, suffix=path.suffix) as tmp:
        Image.fromarray(pixels).save(tmp, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def output_bit_depth(path, image, bit_depth: int) -> int:
    """The bit depth to write ``image`` to ``path`` with: ``bit_depth`` where the format allows it, else 8."""
    if bit_depth == 16 and (IMAGE_SUFFIXES.get(Path(path).suffix.lower()) != "PNG" or np.ndim(image) == 3):
        logger.warning("%s: written with 8 bits per channel (16 bits are kept for grey PNG output only)", path)
        return 8
    return bit_depth
