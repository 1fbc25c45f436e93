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
import time

import numpy as np
import torch

from ._denoising_stack import DENOISING_MASK_FRACTION, pretrain_denoising
from ._layer_weights import LayerWeights, _net_widths, layer_reconstruction_errors, load_layers
from ._rbm_stack import LINEAR_FAN, pretrain_rbm
from .nets import ACTIVATIONS, MLPAutoencoder

__all__ = ["PRETRAINERS", "LayerWeights", "pretrain", "pretrain_rbm", "pretrain_denoising", "load_layers",
           "layer_reconstruction_errors", "LINEAR_FAN", "DENOISING_MASK_FRACTION"]

logger = logging.getLogger(__name__)


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
        If ``method`` is unknown, ``method="rbm"`` with an activation
        other than ``"sigmoid"``, ``activation`` is not the net's hidden
        activation, or X's width is not the net's input width.

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
    _check_activation(net, activation)
    net_device = next(net.parameters()).device
    device = net_device if device is None else torch.device(device)
    widths = _net_widths(net)
    n_features = X.n_features if hasattr(X, "n_features") else np.shape(X)[-1]
    if n_features != widths[0]:  # it failed inside the first layer's products
        raise ValueError(f"X has {n_features} features, but the net's first layer takes {widths[0]}.")
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


def _check_activation(net: MLPAutoencoder, activation: str) -> None:
    """Refuse a hidden activation other than ``net``'s: its layers would be pretrained for units it does not have."""
    named = {v: k for k, v in ACTIVATIONS.items()}
    layers = list(net.encoder)
    # what follows the code layer (the last Linear) is the code's activation (a SparseAutoencoder's sigmoid or
    # ReLU), which is pretrained as a linear code whatever the hidden units are
    code = max(i for i, m in enumerate(layers) if isinstance(m, torch.nn.Linear))
    hidden = {named[type(m)] for m in layers[:code] if type(m) in named}
    if hidden and hidden != {activation}:
        raise ValueError(f"activation={activation!r}, but the net's hidden layers use {sorted(hidden)[0]!r}: the "
                         "layers would be pretrained for other units than they have.")
