"""PyTorch autoencoder modules.

Small, pure ``nn.Module``s in the manner of ``torch.nn.Linear``: a
constructor, ``forward``, and ``encode`` / ``decode``. No loss, no data and
no printing here; training lives in :mod:`aekit.training`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "OUTPUT_ACTIVATIONS", "MLPAutoencoder", "TopK"]

#: Hidden-layer activations by name.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
}

#: Output activations by name: how decoder pre-activations become outputs.
OUTPUT_ACTIVATIONS = {"identity": nn.Identity, "sigmoid": nn.Sigmoid}


class TopK(nn.Module):
    """Keep the ``k`` largest activations of each row and zero the rest.

    The k-sparse code of Makhzani & Frey (2013). Gradients flow only through
    the kept units.

    Parameters
    ----------
    k : int
        Number of units kept per sample.

    Examples
    --------
    >>> TopK(1)(torch.tensor([[0.5, -2.0, 1.0]]))
    tensor([[0., 0., 1.]])
    """

    def __init__(self, k: int):
        super().__init__()
        self.k = int(k)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Zero all but the ``k`` largest entries of each row.

        Parameters
        ----------
        h : torch.Tensor of shape (batch, n_components)
            Codes; ``k`` must not exceed ``n_components``.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            ``h`` with all but each row's ``k`` largest values set to 0.
        """
        # (batch, n_components)
        values, indices = torch.topk(h, self.k, dim=-1)
        return torch.zeros_like(h).scatter(-1, indices, values)

    def extra_repr(self) -> str:
        """The module's ``repr`` details.

        Returns
        -------
        str
            ``"k=..."``.
        """
        return f"k={self.k}"


class MLPAutoencoder(nn.Module):
    """Fully connected autoencoder with a mirrored decoder.

    The encoder maps ``n_features -> hidden_layer_sizes... -> n_components``
    and the decoder maps back through the same sizes in reverse. The code
    layer is linear (as in Hinton & Salakhutdinov, 2006) unless a
    ``code_activation`` module is given.

    Parameters
    ----------
    n_features : int
        Input and output width.
    hidden_layer_sizes : sequence of int, default=()
        Encoder hidden widths, outermost first; ``()`` gives a shallow
        autoencoder with a single code layer.
    n_components : int, default=2
        Code width.
    activation : str, default="relu"
        Hidden activation, a key of :data:`ACTIVATIONS`; it also picks the
        weight initialisation (see :meth:`reset_parameters`).
    output_activation : {"identity", "sigmoid"}, default="identity"
        Applied by :meth:`decode` to the decoder's pre-activations.
    code_activation : nn.Module, default=None
        Applied to the code (e.g. ``nn.Sigmoid()`` or :class:`TopK`); None
        leaves the code linear.

    Attributes
    ----------
    code_size : int
        Width of the code returned by :meth:`encode` (``n_components``).
    encoder, decoder : nn.Sequential
        The two halves; ``decoder`` ends with a linear layer (the
        pre-activations).
    output : nn.Module
        The output activation.

    Raises
    ------
    KeyError
        If ``activation`` or ``output_activation`` is not a known name.

    Examples
    --------
    >>> net = MLPAutoencoder(8, (4,), 2)
    >>> net.encode(torch.zeros(3, 8)).shape
    torch.Size([3, 2])
    >>> net(torch.zeros(3, 8)).shape
    torch.Size([3, 8])
    """

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: Sequence[int] = (),
        n_components: int = 2,
        activation: str = "relu",
        output_activation: str = "identity",
        code_activation: nn.Module | None = None,
    ):
        super().__init__()
        widths = [int(n_features), *map(int, hidden_layer_sizes), int(n_components)]
        self.code_size = int(n_components)
        act = ACTIVATIONS[activation]
        encoder: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            encoder.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                encoder.append(act())
        if code_activation is not None:
            encoder.append(code_activation)
        decoder: list[nn.Module] = []
        rev = widths[::-1]
        for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
            decoder.append(nn.Linear(a, b))
            if i < len(rev) - 2:
                decoder.append(act())
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        self.output = OUTPUT_ACTIVATIONS[output_activation]()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise for depth: He (Kaiming) before ReLU-like activations, Glorot elsewhere, zero biases.

        PyTorch's default ``nn.Linear`` init scales weights by ``1/sqrt(3 fan_in)``,
        which shrinks the signal through every ReLU layer; on the 8-layer
        784-1000-500-250-30 autoencoder it needs more than twice the epochs
        to match PCA (see ``benchmarks/throughput.py``).
        """
        if any(p.is_meta for p in self.parameters()):
            # built on the meta device only for its shapes (aekit.persistence checks a file's): nothing to
            # initialise, and torch's meta normal_ imports torch._dynamo, a second on every load
            return
        for seq in (self.encoder, self.decoder):
            layers = list(seq)
            for i, layer in enumerate(layers):
                if not isinstance(layer, nn.Linear):
                    continue
                nn.init.zeros_(layer.bias)
                follows = type(layers[i + 1]) if i + 1 < len(layers) else None
                if follows in (nn.ReLU, nn.GELU, nn.SiLU, nn.ELU):
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                elif follows is nn.LeakyReLU:
                    nn.init.kaiming_normal_(layer.weight, a=0.01, nonlinearity="leaky_relu")
                elif follows in (nn.Tanh, nn.Sigmoid):
                    gain = nn.init.calculate_gain("tanh" if follows is nn.Tanh else "sigmoid")
                    nn.init.xavier_normal_(layer.weight, gain=gain)
                else:  # the linear code layer, the output layer, or a code activation like TopK
                    nn.init.xavier_normal_(layer.weight)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map inputs to codes.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Inputs.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            Codes (after ``code_activation``, if any).
        """
        return self.encoder(x)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder pre-activations, before ``output`` (what ``loss="bce"`` trains on).

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            The last linear layer's output.
        """
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map codes to reconstructions.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Reconstructions, after the output activation.
        """
        return self.output(self.decoder(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x``: ``decode(encode(x))``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Inputs.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Reconstructions.
        """
        return self.decode(self.encode(x))
