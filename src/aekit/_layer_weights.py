"""A pretrained layer's weights (:class:`LayerWeights`), copied into an MLPAutoencoder and judged there."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .nets import MLPAutoencoder

__all__ = ["LayerWeights", "load_layers", "layer_reconstruction_errors"]


@dataclass
class LayerWeights:
    """One pretrained layer, shaped like ``torch.nn.Linear``.

    Each parameter is an attribute of the same name.

    Parameters
    ----------
    weight : Tensor of shape (n_hidden, n_visible)
        Goes to the encoder layer as is and, transposed, to the mirrored
        decoder layer.
    hidden_bias : Tensor of shape (n_hidden,)
        The encoder layer's bias.
    visible_bias : Tensor of shape (n_visible,)
        The mirrored decoder layer's bias.
    """

    weight: torch.Tensor
    hidden_bias: torch.Tensor
    visible_bias: torch.Tensor


def _linears(seq: nn.Sequential) -> list[nn.Linear]:
    return [m for m in seq if isinstance(m, nn.Linear)]


@torch.no_grad()
def load_layers(net: MLPAutoencoder, layers: list[LayerWeights]) -> MLPAutoencoder:
    """Copy pretrained layers into ``net``: ``W`` to the encoder, ``W.T`` to the mirrored decoder.

    Parameters
    ----------
    net : MLPAutoencoder
        Network with one encoder ``Linear`` per layer; changed in place.
    layers : list of LayerWeights
        One per encoder layer, input side first, on ``net``'s device.

    Returns
    -------
    MLPAutoencoder
        ``net``.

    Raises
    ------
    ValueError
        If the layer shapes do not match the network's.
    """
    enc, dec = _linears(net.encoder), _linears(net.decoder)[::-1]
    if len(layers) != len(enc) or len(dec) != len(enc):
        raise ValueError(f"{len(layers)} pretrained layers for a network with {len(enc)} encoder layers.")
    for layer, e, d in zip(layers, enc, dec):
        if tuple(layer.weight.shape) != tuple(e.weight.shape):
            raise ValueError(f"pretrained layer of shape {tuple(layer.weight.shape)} does not fit encoder layer "
                             f"of shape {tuple(e.weight.shape)}.")
        e.weight.copy_(layer.weight)
        e.bias.copy_(layer.hidden_bias)
        d.weight.copy_(layer.weight.T)
        d.bias.copy_(layer.visible_bias)
    return net


def _net_widths(net: MLPAutoencoder) -> list[int]:
    enc = _linears(net.encoder)
    return [enc[0].in_features, *(lin.out_features for lin in enc)]


@torch.no_grad()
def layer_reconstruction_errors(net: MLPAutoencoder, X) -> list[float]:
    """Relative error of each layer reconstructing its own input through ``net``'s weights.

    Layer ``i`` encodes the output of encoder layer ``i - 1`` (``X`` for the
    first) with encoder layer ``i`` and decodes it with the mirrored decoder
    layer (with the hidden activation, or the output activation for the
    first layer). The error is the mean squared error divided by the mean
    variance of that layer's input: the fraction of the input's variance the
    layer fails to reconstruct (0 is perfect, about 1 or more is no better
    than predicting the mean). Greedy pretraining aims to make it small for
    every layer.

    Parameters
    ----------
    net : MLPAutoencoder
        The network whose weights are judged (pretrained or fine-tuned).
    X : array-like or Tensor of shape (n_samples, n_features)
        Input data, moved to ``net``'s device.

    Returns
    -------
    errors : list of float
        One per layer, input side first.
    """
    X = torch.as_tensor(X, dtype=torch.float32).to(next(net.parameters()).device)
    enc_mods, dec_mods = list(net.encoder), list(net.decoder)
    enc = [i for i, m in enumerate(enc_mods) if isinstance(m, nn.Linear)]
    dec = [i for i, m in enumerate(dec_mods) if isinstance(m, nn.Linear)][::-1]
    errors, V = [], X
    for k, (ei, di) in enumerate(zip(enc, dec)):
        H = V
        for m in enc_mods[ei:enc[k + 1] if k + 1 < len(enc) else len(enc_mods)]:
            H = m(H)
        R = H
        for m in dec_mods[di:dec[k - 1] if k > 0 else len(dec_mods)]:
            R = m(R)
        if k == 0:
            R = net.output(R)
        variance = V.var(0).mean().clamp_min(1e-12)
        errors.append(float((R - V).square().mean() / variance))
        V = H
    return errors
