"""The networks an estimator's parameters describe: ``builder(estimator, n_features) -> nn.Module``.

Each builder reads the estimator's architecture parameters (``hidden_layer_sizes``,
``n_components``, ``activation``, output and code activations, ``image_shape``);
subclasses that wrap a net (:class:`aekit.AutoencoderImputer`) call them with
overrides.
"""

from __future__ import annotations

import torch

from .conv import ConvAutoencoder
from ._params import int_tuple
from .nets import MLPAutoencoder

__all__ = ["ARCHITECTURES", "conv_net", "mlp_net"]


def mlp_net(est, n_features: int, output_activation: str | None = None) -> torch.nn.Module:
    """The estimator's MLP; ``output_activation`` overrides the estimator's (a wrapper may apply its own)."""
    return MLPAutoencoder(
        n_features,
        int_tuple(est.hidden_layer_sizes),
        est.n_components,
        activation=est.activation,
        output_activation=output_activation or est._resolved_output_activation(),
        code_activation=est._code_activation(),
    )


def conv_net(est, n_features: int, fully_convolutional: bool = False,
             image_shape: tuple[int, ...] | None = None, output_activation: str | None = None) -> torch.nn.Module:
    """The estimator's conv net; ``image_shape`` (already checked) and ``output_activation`` override its own."""
    return ConvAutoencoder(
        image_shape or est._image_shape_for(n_features),
        int_tuple(est.hidden_layer_sizes),
        est.n_components,
        activation=est.activation,
        output_activation=output_activation or est._resolved_output_activation(),
        code_activation=est._code_activation(),
        fully_convolutional=fully_convolutional,
    )


#: Network builders by ``architecture``: ``builder(estimator, n_features) -> nn.Module``.
ARCHITECTURES = {
    "mlp": mlp_net,
    "conv": conv_net,
    "fully_conv": lambda est, n_features: conv_net(est, n_features, fully_convolutional=True),
}
