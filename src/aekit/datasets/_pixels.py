"""16-bit colour pixels, which Pillow reads only as 8-bit: PNG through Pillow's own decoder, TIFF through tifffile.

Pillow has no mode for 16 bits per colour channel: it keeps the high byte of
each sample of a 48/64-bit PNG or TIFF. A 16-bit colour PNG is decoded
twice here, once unpacking the high bytes and once the low ones (the
unfiltering is the same: it depends only on the bytes per pixel), and a
16-bit grey+alpha PNG once, as raw bytes.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["deep_colour_pixels"]

logger = logging.getLogger(__name__)

# 16-bit PNG rawmode (as Pillow names it) -> rawmodes of the same width whose unpacking keeps the high / low bytes
_PNG_BYTES = {"RGB;16B": ("RGB;16B", "RGB;16L"), "RGBA;16B": ("RGBA;16B", "RGBA;16L")}


def _decoded(path, rawmode: str) -> np.ndarray:
    """The pixels of the PNG at ``path`` unpacked with ``rawmode`` instead of Pillow's choice."""
    from PIL import Image

    with Image.open(path) as img:
        img.tile = [t._replace(args=rawmode) if hasattr(t, "_replace") else (*t[:3], rawmode) for t in img.tile]
        img.load()
        return np.asarray(img)


def _tiff_pixels(path) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        pixels = page.asarray()
        if page.axes.startswith("S"):  # planar configuration: one plane per channel
            pixels = np.moveaxis(pixels, 0, -1)
    return pixels


def deep_colour_pixels(path, img) -> np.ndarray | None:
    """The uint16 pixels of a 16-bit colour or grey+alpha image, or None for any other image.

    Parameters
    ----------
    path : Path
        The file ``img`` was opened from.
    img : PIL.Image.Image
        Opened, not yet loaded.

    Returns
    -------
    pixels : ndarray of shape (H, W, C), uint16, or None
        C is 3 (RGB), 4 (RGBA) or 2 (grey, alpha); as stored, before any
        EXIF orientation.
    """
    rawmode = img.tile[0][3] if len(img.tile) == 1 else None
    try:  # Pillow's tile and unpacker names are its internals: should a release change them, read 8 bits
        if img.format == "PNG" and rawmode in _PNG_BYTES:
            high, low = (_decoded(path, r).astype(np.uint16) for r in _PNG_BYTES[rawmode])
            return high << 8 | low
        if img.format == "PNG" and rawmode == "LA;16B":
            raw = _decoded(path, "RGBA")  # the bytes as stored: grey high, low, alpha high, low
            return raw.view(">u2").astype(np.uint16)
    except (AttributeError, IndexError, TypeError, ValueError, OSError) as err:
        logger.warning("%s: its 16-bit colour could not be decoded (%s); read with 8 bits per channel", path, err)
        return None
    if img.format == "TIFF" and img.mode in ("RGB", "RGBA") and 16 in tuple(img.tag_v2.get(258, ())):
        pixels = _tiff_pixels(path)
        if pixels.dtype == np.uint16 and pixels.ndim == 3 and pixels.shape[2] in (3, 4):
            return pixels
    return None
