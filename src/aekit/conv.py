"""Convolutional autoencoder module for images given as flattened rows.

Like :class:`aekit.nets.MLPAutoencoder` it takes and returns
``(batch, n_features)`` tensors, so the same estimator, trainer and
persistence code serve both; the rows are images of ``image_shape``
(``(H, W)`` or ``(H, W, C)``, channels last, flattened in C order, the layout
of :mod:`aekit.datasets`) and are reshaped internally.

Two kinds of code:

* a **linear bottleneck** of ``n_components`` units after the last
  convolutional stage (``fully_convolutional=False``), the convolutional
  counterpart of the MLP autoencoder, comparable with PCA;
* a **fully convolutional** code (``fully_convolutional=True``): a feature
  map of ``n_components`` channels at the resolution of the last stage,
  flattened to ``n_components * h * w`` values. There is no dense layer, so
  every output pixel depends on a neighbourhood of the input only, the
  network is translation-equivariant and its size does not grow with the
  image. That is the better denoiser: a bottleneck must squeeze the whole
  image into a few numbers and blurs the details that the noise is hiding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .nets import ACTIVATIONS, OUTPUT_ACTIVATIONS

__all__ = ["ConvAutoencoder", "stage_sizes"]


def stage_sizes(height: int, width: int, n_stages: int) -> list[tuple[int, int]]:
    """Spatial size at the input of each stride-2 stage, then after the last one.

    Each stage halves height and width, rounding up.

    Parameters
    ----------
    height, width : int
        Image size in pixels.
    n_stages : int
        Number of stride-2 stages.

    Returns
    -------
    list of tuple of int
        ``n_stages + 1`` pairs ``(height, width)``, the input's first.

    Examples
    --------
    >>> stage_sizes(28, 28, 2)
    [(28, 28), (14, 14), (7, 7)]
    >>> stage_sizes(25, 25, 2)
    [(25, 25), (13, 13), (7, 7)]
    """
    sizes = [(int(height), int(width))]
    for _ in range(n_stages):
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes


def _geometry(image_shape: Sequence[int], channels: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Validated ``(image_shape, channels)`` of an image network, as tuples of int."""
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"image_shape must be (H, W) or (H, W, C); got {image_shape!r}.")
    channels = tuple(int(c) for c in channels)
    if not channels:
        raise ValueError("channels must hold at least one stage width; got ().")
    return shape, channels


class _Downsample(nn.Module):
    """Space-to-depth downsampling: zero-pad to even size, a 2x pixel unshuffle
    (lossless: each 2x2 block becomes 4 channels), then a 3x3 convolution."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.unshuffle = nn.PixelUnshuffle(2)
        self.conv = nn.Conv2d(4 * c_in, c_out, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        # (batch, c_in, H, W) -> (batch, c_out, ceil(H/2), ceil(W/2))
        h = F.pad(h, (0, h.shape[-1] % 2, 0, h.shape[-2] % 2))
        return self.conv(self.unshuffle(h))


class _Upsample(nn.Module):
    """Sub-pixel upsampling: a 3x3 convolution to ``4 * c_out`` channels, a 2x
    pixel shuffle, and a crop to the exact target size (odd sizes work)."""

    def __init__(self, c_in: int, c_out: int, size: tuple[int, int]):
        super().__init__()
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.size = tuple(size)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        # (batch, c_in, h, w) -> (batch, c_out, 2h, 2w) -> cropped to size
        return self.shuffle(self.conv(h))[..., : self.size[0], : self.size[1]]

    def extra_repr(self) -> str:
        return f"size={self.size}"


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder on flattened images.

    The encoder has one stage per entry of ``channels``, each halving height
    and width (rounding up): a lossless space-to-depth rearrangement (every
    2x2 block becomes 4 channels) followed by two 3x3 convolutions with the
    activation. The decoder mirrors it with sub-pixel upsampling (a 3x3
    convolution to 4x the channels, then depth-to-space) cropped to the exact
    stage sizes, so odd sizes such as 7x7 or 25x25 work; its last
    upsampling produces the image channels.

    Parameters
    ----------
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``; inputs have ``H * W * C`` features in
        channels-last order.
    channels : sequence of int, default=(32, 64)
        Channels of the encoder stages, outermost first; at least one.
    n_components : int, default=32
        Code units (linear bottleneck) or code channels (fully convolutional).
    activation : str, default="relu"
        Hidden activation, a key of :data:`aekit.nets.ACTIVATIONS`.
    output_activation : {"identity", "sigmoid"}, default="identity"
        Applied by :meth:`decode`.
    code_activation : nn.Module, default=None
        Applied to the code (e.g. :class:`aekit.nets.TopK`); None leaves it
        linear.
    fully_convolutional : bool, default=False
        Code as a feature map instead of a linear bottleneck (see module
        docstring).

    Attributes
    ----------
    code_size : int
        Width of the flattened code returned by :meth:`encode`.

    Examples
    --------
    >>> net = ConvAutoencoder((28, 28), channels=(8, 16), n_components=10)
    >>> net.encode(torch.zeros(2, 784)).shape
    torch.Size([2, 10])
    >>> net(torch.zeros(2, 784)).shape
    torch.Size([2, 784])
    >>> fcn = ConvAutoencoder((8, 8, 3), channels=(8,), n_components=4, fully_convolutional=True)
    >>> fcn.code_size, fcn(torch.zeros(2, 192)).shape
    (64, torch.Size([2, 192]))
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int] = (32, 64),
        n_components: int = 32,
        activation: str = "relu",
        output_activation: str = "identity",
        code_activation: nn.Module | None = None,
        fully_convolutional: bool = False,
    ):
        super().__init__()
        shape, channels = _geometry(image_shape, channels)
        self.image_shape = shape
        self.height, self.width = shape[:2]
        self.in_channels = shape[2] if len(shape) == 3 else 1
        self.n_features = math.prod(shape)
        self.fully_convolutional = bool(fully_convolutional)
        act = ACTIVATIONS[activation]
        sizes = stage_sizes(self.height, self.width, len(channels))
        self.code_shape = (int(n_components), *sizes[-1])

        encoder: list[nn.Module] = []
        c_in = self.in_channels
        for c in channels:
            encoder += [_Downsample(c_in, c), act(), nn.Conv2d(c, c, 3, padding=1), act()]
            c_in = c
        h, w = sizes[-1]
        if self.fully_convolutional:
            encoder += [nn.Conv2d(c_in, n_components, 1), nn.Flatten()]
            self.code_size = int(n_components) * h * w
            decoder: list[nn.Module] = [nn.Unflatten(1, self.code_shape),
                                        nn.Conv2d(n_components, c_in, 3, padding=1), act()]
        else:
            encoder += [nn.Flatten(), nn.Linear(c_in * h * w, n_components)]
            self.code_size = int(n_components)
            decoder = [nn.Linear(n_components, c_in * h * w), act(), nn.Unflatten(1, (c_in, h, w))]
        if code_activation is not None:
            encoder.append(code_activation)
        for i in reversed(range(len(channels))):
            decoder += [nn.Conv2d(channels[i], channels[i], 3, padding=1), act()]
            if i > 0:
                decoder += [_Upsample(channels[i], channels[i - 1], sizes[i]), act()]
        # the last upsampling produces the image itself (pre-activations)
        decoder.append(_Upsample(channels[0], self.in_channels, sizes[0]))
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        self.output = OUTPUT_ACTIVATIONS[output_activation]()

    def _to_maps(self, x: torch.Tensor) -> torch.Tensor:
        # (batch, H*W*C) channels-last rows -> (batch, C, H, W)
        return x.reshape(-1, self.height, self.width, self.in_channels).permute(0, 3, 1, 2)

    def _to_rows(self, h: torch.Tensor) -> torch.Tensor:
        # (batch, C, H, W) -> (batch, H*W*C)
        return h.permute(0, 2, 3, 1).reshape(h.shape[0], self.n_features)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map images to codes.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flattened images, channels last (``H * W * C`` features).

        Returns
        -------
        torch.Tensor of shape (batch, code_size)
            Codes; a fully convolutional code's feature map is flattened
            channels first (``(n_components, h, w)``).
        """
        return self.encoder(self._to_maps(x))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder pre-activations, before ``output`` (what ``loss="bce"`` trains on).

        Parameters
        ----------
        z : torch.Tensor of shape (batch, code_size)
            Codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Flattened images, channels last, before the output activation.
        """
        return self._to_rows(self.decoder(z))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map codes to images.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, code_size)
            Codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Flattened images, channels last, after the output activation.
        """
        return self.output(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x``: ``decode(encode(x))``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flattened images.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Reconstructions.
        """
        return self.decode(self.encode(x))
