"""The ``"denoising"`` stack of greedy pretraining: tied-weight denoising autoencoders (:func:`pretrain_denoising`)."""

from __future__ import annotations

import logging
import math

import torch
from torch import nn

from ._device import PRECISIONS, _autocast
from ._layer_data import _minibatches, layer_data, next_layer_data
from ._layer_weights import LayerWeights
from ._torch_globals import seeded
from .nets import ACTIVATIONS, OUTPUT_ACTIVATIONS

__all__ = ["DENOISING_MASK_FRACTION", "pretrain_denoising"]

# records keep the name of the public module, aekit.pretraining (as cli/* log as "aekit.cli")
logger = logging.getLogger("aekit.pretraining")

#: Masked fraction for the denoising stack.
DENOISING_MASK_FRACTION = 0.25


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
