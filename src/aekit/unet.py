"""A small U-Net on images given as flattened rows, for filling holes.

An encoder of stride-2 stages (the space-to-depth downsampling of
:mod:`aekit.conv`) reaches the whole image at its coarsest stage, and a
decoder climbs back up, joining at each resolution the encoder's features of
that resolution (skip connections). Each output pixel thus sees both the
fine detail around it and the whole image: what inpainting a large hole needs,
where a fully convolutional net sees only a window and a bottleneck blurs the
detail. There is no code to compare with PCA: the skip connections carry the
image past the bottleneck, so this is a predictor of missing entries (see
:class:`aekit.impute.AutoencoderImputer`, ``architecture="unet"``), not a
dimensionality reducer.

:class:`UNetDenoiser` gives the U-Net the ``encode``/``decode`` interface of
aekit's autoencoders for :class:`aekit.DenoisingAutoencoder`
(``architecture="unet"``): its "code" is the input itself, and it predicts
the noise, which is subtracted from the input (residual learning, as in
DnCNN, Zhang et al. 2017).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .conv import _Downsample, _geometry, _Upsample, stage_sizes
from .nets import ACTIVATIONS

__all__ = ["UNet", "UNetDenoiser"]


class UNet(nn.Module):
    """U-Net mapping flattened images (batch, H*W*C) to (batch, H*W*C).

    Parameters
    ----------
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``, channels last (the layout of
        :mod:`aekit.datasets`).
    channels : sequence of int, default=(32, 64, 64)
        Channels of the encoder stages, outermost first; each stage halves
        height and width (rounding up). At least one.
    activation : str, default="relu"
        A key of :data:`aekit.nets.ACTIVATIONS`.

    Examples
    --------
    >>> net = UNet((28, 28, 2), channels=(8, 16, 16))
    >>> net(torch.zeros(3, 28 * 28 * 2)).shape
    torch.Size([3, 1568])
    """

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int] = (32, 64, 64), activation: str = "relu"):
        super().__init__()
        shape, channels = _geometry(image_shape, channels)
        self.height, self.width = shape[:2]
        self.in_channels = shape[2] if len(shape) == 3 else 1
        self.n_features = math.prod(shape)
        act = ACTIVATIONS[activation]
        sizes = stage_sizes(self.height, self.width, len(channels))

        def conv(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1), act()]

        self.down = nn.ModuleList()
        c_in = self.in_channels
        for c in channels:
            self.down.append(nn.Sequential(_Downsample(c_in, c), act(), *conv(c, c)))
            c_in = c
        self.bottom = nn.Sequential(*conv(c_in, c_in))
        # up[i] brings stage i + 1's features to stage i's resolution; merge[i] joins them with the skip
        self.up = nn.ModuleList(nn.Sequential(_Upsample(channels[i + 1], channels[i], sizes[i + 1]), act())
                                for i in range(len(channels) - 1))
        self.merge = nn.ModuleList(nn.Sequential(*conv(2 * channels[i], channels[i]), *conv(channels[i], channels[i]))
                                   for i in range(len(channels) - 1))
        self.out = _Upsample(channels[0], self.in_channels, sizes[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the U-Net on flattened images.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flattened images, channels last (``H * W * C`` features).

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            The output images, flattened the same way (linear output).
        """
        # (batch, H*W*C) channels-last rows -> (batch, C, H, W)
        h = x.reshape(-1, self.height, self.width, self.in_channels).permute(0, 3, 1, 2)
        skips = []
        for stage in self.down:
            h = stage(h)
            skips.append(h)
        h = self.bottom(h)
        for i in reversed(range(len(self.up))):
            h = self.merge[i](torch.cat([self.up[i](h), skips[i]], dim=1))
        out = self.out(h)  # (batch, C, H, W)
        return out.permute(0, 2, 3, 1).reshape(x.shape[0], self.n_features)


class UNetDenoiser(nn.Module):
    """A :class:`UNet` as a denoising autoencoder: ``decode(encode(x)) = x - UNet(x)``.

    The skip connections carry the whole input past the bottleneck, so a
    U-Net has no low-dimensional code: ``encode`` returns its input
    (``code_size = n_features``) and ``decode`` denoises it. With
    ``residual=True`` (the default) the U-Net predicts the noise and the
    output is the input minus that prediction (DnCNN's residual learning):
    the net need not learn to copy the clean image through, and starts near
    the identity rather than near zero. The output is linear (no output
    activation): pixel values, for a squared-error loss.

    Parameters
    ----------
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``, channels last.
    channels : sequence of int, default=(32, 64, 64)
        Encoder stage channels of the :class:`UNet`, outermost first.
    activation : str, default="relu"
        A key of :data:`aekit.nets.ACTIVATIONS`.
    residual : bool, default=True
        Predict the noise (``x - UNet(x)``) instead of the clean image
        (``UNet(x)``).

    Examples
    --------
    >>> net = UNetDenoiser((8, 8), channels=(4, 8))
    >>> x = torch.zeros(2, 64)
    >>> net.encode(x).shape, net.code_size, net(x).shape
    (torch.Size([2, 64]), 64, torch.Size([2, 64]))
    """

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int] = (32, 64, 64), activation: str = "relu",
                 residual: bool = True):
        super().__init__()
        self.unet = UNet(image_shape, channels, activation=activation)
        self.code_size = self.unet.n_features
        self.residual = bool(residual)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The input itself: the skip connections need all of it.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flattened (noisy) images.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``x``, unchanged (the same tensor).
        """
        return x

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Denoise inputs.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_features)
            Flattened noisy images (what :meth:`encode` returned).

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``z - UNet(z)`` with ``residual=True``, else ``UNet(z)``.
        """
        return z - self.unet(z) if self.residual else self.unet(z)

    decode_logits = decode  # linear output: the logits are the output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Denoise ``x``: ``decode(encode(x))``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flattened noisy images.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            The denoised images.
        """
        return self.decode(self.encode(x))

    def extra_repr(self) -> str:
        """The module's ``repr`` details: ``"residual=..."``."""
        return f"residual={self.residual}"
