"""Image files: PNG, JPEG, TIFF, BMP, WebP read as float32 pixels in [0, 1] and written back, 8 or 16 bits a channel.

``(H, W)`` grey or ``(H, W, 3)`` RGB, alpha read and written on its own
(:func:`read_alpha`, ``write_image(..., alpha=...)``); :mod:`aekit.images`
re-exports these with the patch machinery built on them.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import zlib
from pathlib import Path

import numpy as np

from ._atomic import atomic_path

__all__ = ["IMAGE_SUFFIXES", "IMAGE_KINDS", "read_image", "read_alpha", "write_image", "output_bit_depth"]

logger = logging.getLogger(__name__)

#: File suffixes read and written, with Pillow's format name.
IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP",
                  ".webp": "WEBP"}
#: The formats, as messages name them.
IMAGE_KINDS = "PNG/JPEG/TIFF/BMP/WebP"
#: Formats written with 16 bits a channel when asked; the others have 8.
DEEP_FORMATS = ("PNG", "TIFF")
#: Formats that keep an alpha channel (transparency); JPEG and BMP drop it.
ALPHA_FORMATS = ("PNG", "TIFF", "WEBP")
#: Pillow modes that carry alpha, besides images with a transparent colour (``info["transparency"]``).
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
#: Pillow's save options per format: WebP lossless, as PNG, TIFF and BMP are (a denoised image is not recompressed).
SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True, "exact": True}}  # exact: colour under alpha 0 kept
#: Pillow's weights of R, G, B in a grey value (ITU-R 601-2 luma), for the colour images it cannot convert.
LUMA = np.array([0.299, 0.587, 0.114])
#: EXIF orientation (tag 0x0112) -> the turn that shows the stored pixels as cameras meant (as viewers do).
EXIF_ORIENTATIONS = {
    1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def _float_pixels(image) -> np.ndarray:
    """``image`` as float32, refusing integer pixels beyond [0, 1] (0..255 would be clipped or misread)."""
    image = np.asarray(image)
    if image.dtype.kind in "iu" and image.size and (image.min() < 0 or image.max() > 1):
        top = {np.dtype(np.uint8): "255", np.dtype(np.uint16): "65535"}.get(image.dtype, "its maximum value")
        raise ValueError(f"image has dtype {image.dtype} (values {image.min()}..{image.max()}); aekit's images are "
                         f"floats in [0, 1]: pass image / {top} (as skimage.img_as_float does).")
    return image.astype(np.float32)


@contextlib.contextmanager
def _opened(path):
    """``(img, deep, turn)`` of an image file, loaded: the Pillow image, its 16-bit pixels or None
    (:func:`~aekit.datasets._pixels.deep_colour_pixels`; Pillow would keep 8 of their 16 bits), and the turn
    that applies its EXIF orientation. Pillow's errors, in the block too, become a ValueError naming the file."""
    from PIL import Image, UnidentifiedImageError

    from .datasets._pixels import deep_colour_pixels

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file.")
    try:
        with Image.open(path) as img:
            deep = deep_colour_pixels(path, img)
            turn = EXIF_ORIENTATIONS.get(img.getexif().get(0x0112, 1), EXIF_ORIENTATIONS[1])
            img.load()
            yield img, deep, turn
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path} is not a readable {IMAGE_KINDS} image ({err}).") from None
    except Image.DecompressionBombError as err:  # declares more pixels than Pillow's limit (a tiny file can)
        raise ValueError(f"{path} is refused as a possible decompression bomb ({err}).") from None


def read_image(path, mode: str | None = None, return_bit_depth: bool = False):
    """Read an image file (PNG, JPEG, TIFF, BMP, WebP...) as float32 pixels in [0, 1].

    Parameters
    ----------
    path : str or Path
        The image file; its content, not its suffix, decides the format.
    mode : {None, "grey", "rgb"}, default=None
        None keeps grey images grey and makes everything else RGB (alpha is
        dropped); "grey" or "rgb" converts. An EXIF orientation (a phone
        photo taken upright) is applied, so the pixels are as viewers show them.
    return_bit_depth : bool, default=False
        Also return the bit depth the pixels were scaled from: 16 for a
        16-bit image (grey, or colour PNG/TIFF: 48 or 64 bits a pixel) or a
        float TIFF (read as is when in [0, 1]), else 8
        (write the result back with ``write_image(..., bit_depth=...)`` to
        keep it).

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
    if mode not in (None, "grey", "rgb"):
        raise ValueError(f"mode must be None, 'grey' or 'rgb'; got {mode!r}.")
    peak, bits = 255.0, 8
    with _opened(path) as (img, deep, turn):
        grey = img.mode in ("1", "L", "LA", "I", "I;16", "F") or _grey_palette(img)
        wide = img.mode in ("I", "I;16", "F")  # Pillow's conversion to RGB would clip them to 8 bits
        if deep is not None:
            peak, bits = 65535.0, 16
            arr = deep[:, :, 0] if deep.shape[2] == 2 else deep[:, :, :3]  # alpha dropped
            if mode == "grey" and arr.ndim == 3:
                arr = arr @ LUMA
        elif mode == "grey" or (mode is None and grey) or wide:
            if wide:
                arr = np.asarray(img, dtype=np.float64)
                if img.mode == "F" and arr.size and 0 <= arr.min() and arr.max() <= 1:  # floats in [0, 1]
                    peak, bits = 1.0, 16
                elif arr.max(initial=0) > 255 or img.mode == "I;16":
                    peak, bits = 65535.0, 16
            else:
                arr = np.asarray(img.convert("L"))
        else:
            arr = np.asarray(img.convert("RGB"))
    image = np.ascontiguousarray(np.clip(turn(arr) / peak, 0.0, 1.0), dtype=np.float32)
    if mode == "rgb" and image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return (image, bits) if return_bit_depth else image


def read_alpha(path):
    """The alpha channel (opacity) of an image file in [0, 1], or None when it has none or is opaque throughout.

    :func:`read_image` drops alpha, so that models see colour alone; pass this
    to ``write_image(..., alpha=...)`` to keep a picture's transparency (a
    transparent area's hidden colour, often black, is shown otherwise).

    Parameters
    ----------
    path : str or Path
        The image file: an RGBA or grey + alpha image (8 or 16 bits), or a
        palette, grey or RGB image with a transparent colour.

    Returns
    -------
    alpha : ndarray of shape (H, W), float32, or None
        1 is opaque; oriented as :func:`read_image`'s pixels (EXIF).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not an image Pillow can read.
    """
    with _opened(path) as (img, deep, turn):
        if deep is not None:
            alpha = deep[:, :, -1] / 65535.0 if deep.shape[2] in (2, 4) else None
        elif img.mode in _ALPHA_MODES or "transparency" in img.info:
            alpha = np.asarray(img.convert("RGBA"))[:, :, 3] / 255.0  # a transparent colour's pixels: 0
        else:
            alpha = None
    if alpha is None or alpha.min(initial=1.0) >= 1.0:
        return None
    return np.ascontiguousarray(turn(alpha), dtype=np.float32)


def _grey_palette(img) -> bool:
    """Whether ``img`` is a palette image whose colours are all grey (a grey picture saved with a palette, which
    was read as RGB, so that a grey model refused it)."""
    colours = img.getpalette() if img.mode in ("P", "PA") else None
    if colours is None:
        return False
    palette = np.asarray(colours, dtype=np.int64).reshape(-1, 3)
    return bool((palette == palette[:, :1]).all())


def write_image(path, image, bit_depth: int = 8, *, replace: bool = True, alpha=None) -> Path:
    """Write pixels in [0, 1] (clipped) as a PNG, JPEG, TIFF, BMP or WebP (lossless), atomically.

    Parameters
    ----------
    path : str or Path
        Ends in .png, .jpg, .jpeg, .tif, .tiff, .bmp or .webp.
    image : array-like of shape (H, W) or (H, W, 3)
        Floats in [0, 1] (or booleans); integer pixels such as uint8
        0..255 raise ``ValueError``: divide them by 255 first.
    bit_depth : {8, 16}, default=8
        16 writes a 16-bit PNG or TIFF, grey or colour (what scientific
        cameras, scanners and raw converters produce); JPEG, BMP and WebP
        are 8-bit only.
    replace : bool, default=True
        False: raise ``FileExistsError`` rather than replace a ``path``
        that exists when the file is moved there (another run meanwhile).
    alpha : array-like of shape (H, W), optional
        Opacity in [0, 1] (e.g. :func:`read_alpha`'s), written as the
        image's alpha channel (grey + alpha, or RGBA) in PNG, TIFF and WebP;
        JPEG and BMP keep none, so it is dropped there with a warning.

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
    if bit_depth == 16 and fmt not in DEEP_FORMATS:
        raise ValueError(f"bit_depth=16 is for PNG and TIFF images; got {path.name} (write a .png, or bit_depth=8).")
    colour = image.ndim == 3
    if alpha is not None:
        alpha = _float_pixels(alpha).astype(np.float64)
        if alpha.shape != image.shape[:2]:
            raise ValueError(f"alpha must have the image's height and width {image.shape[:2]}; got {alpha.shape}.")
        if fmt not in ALPHA_FORMATS:
            logger.warning("%s: its transparency is dropped (%s keeps none; write a .png to keep it)", path, fmt)
            alpha = None
        else:
            image = np.dstack([image, alpha])  # (H, W, 2) grey + alpha, or (H, W, 4) RGBA
    top, dtype = (65535.0, np.uint16) if bit_depth == 16 else (255.0, np.uint8)
    pixels = np.round(np.clip(np.nan_to_num(image), 0.0, 1.0) * top).astype(dtype)
    with atomic_path(path, suffix=path.suffix, replace=replace) as tmp:
        if pixels.dtype == np.uint16 and fmt == "TIFF":  # Pillow has no 16-bit colour mode
            import tifffile

            tifffile.imwrite(tmp, pixels, photometric="rgb" if colour else "minisblack",
                             extrasamples=("unassalpha",) if alpha is not None else None)
        elif pixels.dtype == np.uint16 and pixels.ndim == 3:
            Path(tmp).write_bytes(_png16(pixels))
        else:
            Image.fromarray(pixels).save(tmp, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
    return path


#: PNG colour type by channels: grey + alpha, RGB, RGBA.
_PNG_COLOUR_TYPES = {2: 4, 3: 2, 4: 6}


def _png16(pixels: np.ndarray) -> bytes:
    """A 16-bit PNG file of ``pixels`` (H, W, C) uint16, C = 2 (grey + alpha), 3 (RGB) or 4 (RGBA), each row
    filtered with "Up" (PNG filter 2): Pillow writes none of them."""
    h, w, c = pixels.shape
    rows = pixels.astype(">u2").reshape(h, -1).view(np.uint8)  # (H, W * C * 2) bytes, big-endian as PNG wants
    up = np.diff(rows, axis=0, prepend=np.zeros((1, rows.shape[1]), np.uint8))  # uint8 wraps: mod 256
    data = np.hstack([np.full((h, 1), 2, np.uint8), up])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", w, h, 16, _PNG_COLOUR_TYPES[c], 0, 0, 0)  # 16 bits, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(data.tobytes(), 6))
            + chunk(b"IEND", b""))


def output_bit_depth(path, image, bit_depth: int) -> int:
    """The bit depth to write ``image`` to ``path`` with: ``bit_depth`` where the format allows it, else 8.

    Parameters
    ----------
    path : str or Path
        The output file; its suffix names the format.
    image : ndarray
        The pixels to write (not read: the answer depends on the format).
    bit_depth : {8, 16}
        The bit depth asked for, e.g. the one :func:`read_image` reported.

    Returns
    -------
    int
        ``bit_depth``, or 8 (with a logged warning) when 16 bits are asked
        for a format other than PNG or TIFF.

    Examples
    --------
    >>> import numpy as np
    >>> output_bit_depth("out.png", np.zeros((2, 2)), 16), output_bit_depth("out.jpg", np.zeros((2, 2)), 16)
    (16, 8)
    """
    if bit_depth == 16 and IMAGE_SUFFIXES.get(Path(path).suffix.lower()) not in DEEP_FORMATS:
        logger.warning("%s: written with 8 bits per channel (16 bits are kept for PNG and TIFF output only)", path)
        return 8
    return bit_depth
