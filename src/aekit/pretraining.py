"""Greedy layer-wise pretraining of a deep autoencoder's weights.

Two stacks, each trained one layer at a time on the previous layer's output,
whose weights then initialise an :class:`~aekit.nets.MLPAutoencoder` before
it is fine-tuned end to end:

- ``"rbm"``: restricted Boltzmann machines trained with one-step contrastive
  divergence (CD-1), as in Hinton & Salakhutdinov (2006). The first RBM has
  Gaussian (linear, unit-variance) visible units for real-valued input or
  logistic visible units for input in [0, 1]; hidden units are logistic,
  except the code layer's, which are linear with unit-variance Gaussian
  noise. The learning settings follow the paper's code (momentum 0.5 for 5
  epochs then 0.9, weight cost 2e-4, learning rate 0.1 for
  logistic-logistic layers) except for layers with linear units: 0.01 scaled
  by ``min(1, 400 / width of the other layer)`` (the paper's code uses 1e-3;
  the scaling keeps narrow layers on small data from learning too slowly
  and wide ones from diverging).
- ``"denoising"``: denoising autoencoders with tied weights (Vincent et al.,
  2010): each layer learns to reconstruct its (clean) input from a copy with
  25% of the entries set to zero, by Adam.

Encoder layer ``i`` gets the layer's weights ``W`` and hidden bias, the
mirrored decoder layer gets ``W.T`` and the visible bias, so the unrolled
network starts as the stack of layer-wise reconstructions.

References
----------
Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality of
data with neural networks. Science 313 (5786), 504-507.
Vincent, P. et al. (2010). Stacked denoising autoencoders. JMLR 11, 3371-3408.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from ._layer_data import layer_data, next_layer_data
from ._torch_globals import seeded
from .nets import ACTIVATIONS, OUTPUT_ACTIVATIONS, MLPAutoencoder
from .training import PRECISIONS, _autocast

__all__ = ["PRETRAINERS", "LayerWeights", "pretrain", "pretrain_rbm", "pretrain_denoising", "load_layers",
           "layer_reconstruction_errors"]

logger = logging.getLogger(__name__)

#: Layers with linear units facing a layer wider than this get a
#: proportionally smaller learning rate (on the face patches a
#: Gaussian-visible RBM with 2000 hidden units diverges at 0.01 in its first
#: epoch and is stable at 0.01 * 400 / 2000).
LINEAR_FAN = 400

#: Masked fraction for the denoising stack.
DENOISING_MASK_FRACTION = 0.25


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


# ----------------------------------------------------------------- units
# A unit type maps pre-activations to (mean, sample). Gaussian units have unit
# variance, as in the paper (data scaled to unit variance).
def _logistic(pre, generator):
    p = torch.sigmoid(pre)
    return p, (torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device) < p).to(p.dtype)


def _linear(pre, generator):
    return pre, pre + torch.randn(pre.shape, generator=generator, dtype=pre.dtype, device=pre.device)


_UNITS = {"logistic": _logistic, "linear": _linear}
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def _minibatches(n: int, batch_size: int, generator: torch.Generator):
    return torch.split(torch.randperm(n, generator=generator, device=generator.device), batch_size)


# ------------------------------------------------------------------ RBMs
def _train_rbm(V, n_hidden, visible, hidden, *, epochs, batch_size, learning_rate, weight_cost, generator,
               matmul_dtype=torch.float32):
    """CD-1 on data ``V`` (n, n_visible); returns :class:`LayerWeights`."""

    def mm(a, b):  # products in matmul_dtype (bfloat16: ~2.5x faster on CPUs with native support)
        return (a.to(matmul_dtype) @ b.to(matmul_dtype)).float()

    n, n_visible = V.shape
    W = 0.01 * torch.randn(n_hidden, n_visible, generator=generator, device=V.device)
    hb = torch.zeros(n_hidden, device=V.device)
    if visible == "logistic":  # log-odds of the mean activity (Hinton's practical guide, section 8.1)
        p = V.mean(0).clamp(1e-3, 1 - 1e-3)
        vb = torch.log(p / (1 - p))
    else:
        vb = V.mean(0).clone()
    dW, dhb, dvb = torch.zeros_like(W), torch.zeros_like(hb), torch.zeros_like(vb)
    hidden_units, visible_units = _UNITS[hidden], _UNITS[visible]
    for epoch in range(epochs):
        momentum = 0.5 if epoch < 5 else 0.9
        error = torch.zeros((), device=V.device)
        for idx in _minibatches(n, batch_size, generator):
            v0 = V[idx]  # (batch, n_visible)
            ph0, h0 = hidden_units(mm(v0, W.T) + hb, generator)
            v1, _ = visible_units(mm(h0, W) + vb, generator)  # mean-field reconstruction
            ph1, _ = hidden_units(mm(v1, W.T) + hb, generator)
            b = v0.shape[0]
            dW.mul_(momentum).add_((mm(ph0.T, v0) - mm(ph1.T, v1)) / b - weight_cost * W, alpha=learning_rate)
            dhb.mul_(momentum).add_((ph0 - ph1).mean(0), alpha=learning_rate)
            dvb.mul_(momentum).add_((v0 - v1).mean(0), alpha=learning_rate)
            W += dW
            hb += dhb
            vb += dvb
            error += (v0 - v1).square().sum()
        error = float(error)
        if not math.isfinite(error):
            raise FloatingPointError(
                f"RBM pretraining diverged ({visible}-{hidden} layer with {n_hidden} hidden units, epoch "
                f"{epoch + 1}); scale the input to unit variance or use pretraining='denoising'."
            )
        logger.debug("RBM %d->%d epoch %d: reconstruction error %.4g", n_visible, n_hidden, epoch + 1, error / n)
    return LayerWeights(W, hb, vb)


@torch.no_grad()
def pretrain_rbm(X, widths, *, real_valued, epochs=10, batch_size=100, learning_rate=0.1,
                 learning_rate_linear=1e-2, weight_cost=2e-4, seed=0, device="cpu",
                 precision="float32") -> list[LayerWeights]:
    """Train a stack of RBMs with CD-1, one per encoder layer.

    Parameters
    ----------
    X : array-like, Tensor or ArraySource of shape (n_samples, widths[0])
        Training data; in [0, 1] unless ``real_valued`` (then scaled so that
        pixels have about unit variance, as Gaussian units assume). An
        :class:`~aekit.streaming.ArraySource` over a memory-mapped file is
        read a minibatch at a time (each layer's input computed through the
        layers below as it is needed), never whole.
    widths : sequence of int
        Layer widths, input first, code last (e.g. 784, 1000, 500, 250, 30).
    real_valued : bool
        Gaussian visible units for the first RBM instead of logistic ones.
    epochs : int, default=10
        Epochs of CD-1 per layer.
    batch_size : int, default=100
        Minibatch size.
    learning_rate : float, default=0.1
        Step size for RBMs whose visible and hidden units are both logistic.
    learning_rate_linear : float, default=0.01
        Step size for RBMs with linear units (Gaussian visible units, or the
        linear code layer), scaled by ``min(1, 400 / fan)``, ``fan`` being
        the width of the layer on the other side of the linear units.
    weight_cost : float, default=2e-4
        L2 weight decay.
    seed : int, default=0
        Seeds initialisation, shuffling and sampling.
    device : str or torch.device, default="cpu"
        Where to train; the returned tensors live there.
    precision : {"float32", "bfloat16"}, default="float32"
        Dtype of the matrix products (weights and statistics stay float32).

    Returns
    -------
    layers : list of LayerWeights
        One per layer, input side first.
    """
    generator = torch.Generator(device=device).manual_seed(int(seed))
    V = layer_data(X, device)
    layers = []
    n_layers = len(widths) - 1
    for i, n_hidden in enumerate(widths[1:]):
        visible = "linear" if (i == 0 and real_valued) else "logistic"
        hidden = "linear" if i == n_layers - 1 else "logistic"
        if visible == hidden == "logistic":
            lr = learning_rate
        else:  # the curvature of linear units grows with the layer on the other side: keep the steps stable
            fan = n_hidden if visible == "linear" else widths[i]
            lr = learning_rate_linear * min(1.0, LINEAR_FAN / fan)
        logger.info("pretraining layer %d of %d: %d -> %d units (%s-%s RBM, %d epochs)", i + 1, n_layers,
                    widths[i], n_hidden, visible, hidden, epochs)
        layer = _train_rbm(V, int(n_hidden), visible, hidden, epochs=epochs, batch_size=batch_size,
                           learning_rate=lr, weight_cost=weight_cost, generator=generator,
                           matmul_dtype=_DTYPES[precision])
        layers.append(layer)
        V = next_layer_data(V, _HiddenProbabilities(layer, hidden))  # next RBM sees hidden probabilities
    return layers


class _HiddenProbabilities:
    """An RBM layer's hidden means: ``W v + b``, through a sigmoid for logistic units."""

    def __init__(self, layer: LayerWeights, hidden: str):
        self.layer, self.hidden = layer, hidden

    def __call__(self, v):
        pre = v @ self.layer.weight.T + self.layer.hidden_bias
        return pre if self.hidden == "linear" else torch.sigmoid(pre)


# ----------------------------------------------------- denoising stacks
class _TiedLayer(nn.Module):
    def __init__(self, n_visible, n_hidden, encode_act, decode_act):
        super().__init__()
        self.encoder = nn.Linear(n_visible, n_hidden)
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        self.encode_act = encode_act
        self.decode_act = decode_act

    def encode(self, x):
        return self.encode_act(self.encoder(x))

    def decode_logits(self, h):
        return h @ self.encoder.weight + self.visible_bias

    def forward(self, x):
        return self.decode_act(self.decode_logits(self.encode(x)))


def pretrain_denoising(X, widths, *, activation="relu", output_activation="identity", epochs=10,
                       batch_size=100, learning_rate=1e-3, mask_fraction=DENOISING_MASK_FRACTION,
                       seed=0, device="cpu", precision="float32") -> list[LayerWeights]:
    """Train a stack of tied-weight denoising autoencoders, one per encoder layer.

    Layer ``i`` encodes with the deep net's hidden activation (none for the
    code layer) and decodes with the hidden activation, or with
    ``output_activation`` for the first layer, exactly as the unrolled
    network will. The first layer's loss is cross-entropy when
    ``output_activation="sigmoid"``, squared error otherwise; inner layers
    use squared error.

    Parameters
    ----------
    X : array-like, Tensor or ArraySource of shape (n_samples, widths[0])
        Training data, on the scale the deep net will be trained on (in
        [0, 1] for a sigmoid output); an :class:`~aekit.streaming.ArraySource`
        over a memory-mapped file is streamed as for :func:`pretrain_rbm`.
    widths : sequence of int
        Layer widths, input first, code last.
    activation : str, default="relu"
        Hidden activation, a key of :data:`aekit.nets.ACTIVATIONS`.
    output_activation : {"identity", "sigmoid"}, default="identity"
        The deep net's output activation.
    epochs : int, default=10
        Epochs per layer.
    batch_size : int, default=100
        Minibatch size.
    learning_rate : float, default=1e-3
        Adam step size.
    mask_fraction : float, default=0.25
        Fraction of each layer's input entries set to zero
        (:data:`DENOISING_MASK_FRACTION`).
    seed : int, default=0
        Seeds initialisation, shuffling and noise.
    device : str or torch.device, default="cpu"
        Where to train; the returned tensors live there.
    precision : {"float32", "bfloat16"}, default="float32"
        "bfloat16" runs the forward passes under autocast.

    Returns
    -------
    layers : list of LayerWeights
        One per layer, input side first.
    """
    generator = torch.Generator(device=device).manual_seed(int(seed))
    V = layer_data(X, device)
    layers = []
    n_layers = len(widths) - 1
    for i, (n_visible, n_hidden) in enumerate(zip(widths[:-1], widths[1:])):
        code = i == n_layers - 1
        encode_act = nn.Identity() if code else ACTIVATIONS[activation]()
        decode_act = OUTPUT_ACTIVATIONS[output_activation]() if i == 0 else ACTIVATIONS[activation]()
        bce = i == 0 and output_activation == "sigmoid"
        with seeded(int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=generator.device))):
            layer = _TiedLayer(int(n_visible), int(n_hidden), encode_act, decode_act).to(device)
        opt = torch.optim.Adam(layer.parameters(), lr=learning_rate)
        logger.info("pretraining layer %d of %d: %d -> %d units (denoising autoencoder, %d epochs)", i + 1,
                    n_layers, n_visible, n_hidden, epochs)
        for epoch in range(epochs):
            total = torch.zeros((), device=V.device)
            for idx in _minibatches(V.shape[0], batch_size, generator):
                x = V[idx]
                keep = (torch.rand(x.shape, generator=generator, device=x.device) >= mask_fraction).to(x.dtype)
                with _autocast(V.device, PRECISIONS.get(precision)):  # the trainer's: no autocast at all for float32
                    logits = layer.decode_logits(layer.encode(x * keep)).float()
                if bce:
                    loss = nn.functional.binary_cross_entropy_with_logits(logits, x)
                else:
                    loss = nn.functional.mse_loss(decode_act(logits), x)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * x.shape[0]
            total = float(total)
            if not math.isfinite(total):
                raise FloatingPointError(f"denoising pretraining diverged at layer {i + 1}, epoch {epoch + 1}.")
            logger.debug("DAE %d->%d epoch %d: loss %.4g", n_visible, n_hidden, epoch + 1, total / V.shape[0])
        with torch.no_grad():
            layers.append(LayerWeights(layer.encoder.weight.detach().clone(), layer.encoder.bias.detach().clone(),
                                       layer.visible_bias.detach().clone()))
            V = next_layer_data(V, layer.encode)
    return layers


# ------------------------------------------------------------- plumbing
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


#: Pretraining methods by name.
PRETRAINERS = {"rbm": pretrain_rbm, "denoising": pretrain_denoising}


def pretrain(net: MLPAutoencoder, X, method: str, *, activation: str, output_activation: str, epochs: int = 10,
             batch_size: int = 100, seed: int = 0, device=None, precision: str = "float32") -> list[LayerWeights]:
    """Pretrain ``net``'s layers greedily on ``X`` and load the weights into it.

    Parameters
    ----------
    net : MLPAutoencoder
        Freshly built network (its widths give the stack).
    X : array-like, Tensor or ArraySource of shape (n_samples, n_features)
        Training data, on the scale the net will be fine-tuned on; an
        :class:`~aekit.streaming.ArraySource` over a memory-mapped file is
        streamed a minibatch at a time, never read whole.
    method : {"rbm", "denoising"}
        Stacked RBMs (:func:`pretrain_rbm`, Hinton & Salakhutdinov 2006)
        or stacked denoising autoencoders (:func:`pretrain_denoising`).
    activation : str
        The net's hidden activation; ``"rbm"`` needs ``"sigmoid"`` (RBM
        hidden units are logistic).
    output_activation : {"identity", "sigmoid"}
        ``"identity"`` means real-valued input (Gaussian visible units).
    epochs : int, default=10
        Epochs per layer.
    batch_size : int, default=100
        Minibatch size.
    seed : int, default=0
        Seeds initialisation, shuffling and noise.
    device : str or torch.device, default=None
        Where to train; None: where ``net`` is.
    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the matrix products (forward passes, for
        "denoising").

    Returns
    -------
    layers : list of LayerWeights
        The weights now in ``net`` (on ``device``).

    Raises
    ------
    ValueError
        If ``method`` is unknown, or ``method="rbm"`` with an activation
        other than ``"sigmoid"``.

    Examples
    --------
    >>> net = MLPAutoencoder(6, (4,), 2, activation="sigmoid")
    >>> X = torch.rand(50, 6)
    >>> len(pretrain(net, X, "rbm", activation="sigmoid", output_activation="sigmoid", epochs=2))
    2
    """
    if method not in PRETRAINERS:
        allowed = "{" + ", ".join(repr(k) for k in PRETRAINERS) + "}"
        raise ValueError(f"pretraining must be one of {allowed}; got {method!r}.")
    if method == "rbm" and activation != "sigmoid":
        raise ValueError(f"pretraining='rbm' needs activation='sigmoid' (RBM hidden units are logistic); got "
                         f"activation={activation!r}. Use pretraining='denoising' for other activations.")
    net_device = next(net.parameters()).device
    device = net_device if device is None else torch.device(device)
    widths = _net_widths(net)
    tic = time.perf_counter()
    if method == "rbm":
        layers = pretrain_rbm(X, widths, real_valued=output_activation != "sigmoid", epochs=epochs,
                              batch_size=batch_size, seed=seed, device=device, precision=precision)
    else:
        layers = pretrain_denoising(X, widths, activation=activation, output_activation=output_activation,
                                    epochs=epochs, batch_size=batch_size, seed=seed, device=device,
                                    precision=precision)
    load_layers(net, [LayerWeights(*(t.to(net_device) for t in (lay.weight, lay.hidden_bias, lay.visible_bias)))
                      for lay in layers])
    logger.info("pretrained %d layers in %.1f s", len(layers), time.perf_counter() - tic)
    return layers


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
