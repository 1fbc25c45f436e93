"""The ``"rbm"`` stack of greedy pretraining: RBMs trained with CD-1, one layer at a time (:func:`pretrain_rbm`)."""

from __future__ import annotations

import logging
import math

import torch

from ._layer_data import _minibatches, layer_data, next_layer_data
from ._layer_weights import LayerWeights

__all__ = ["LINEAR_FAN", "pretrain_rbm"]

# records keep the name of the public module, aekit.pretraining (as cli/* log as "aekit.cli")
logger = logging.getLogger("aekit.pretraining")

#: Layers with linear units facing a layer wider than this get a
#: proportionally smaller learning rate (on the face patches a
#: Gaussian-visible RBM with 2000 hidden units diverges at 0.01 in its first
#: epoch and is stable at 0.01 * 400 / 2000).
LINEAR_FAN = 400


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
