"""Building blocks of :class:`aekit.AutoencoderImputer`: the mask-aware network and the pattern corruption.

:func:`pattern_corruption` hides, in a batch, the entries missing in other
samples; :class:`ObservedInputNet` wraps a network so that it sees which
entries are observed and passes those through. Torch and numpy only: the
estimator lives in :mod:`aekit.impute`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .nets import OUTPUT_ACTIVATIONS

__all__ = ["ObservedInputNet", "pattern_corruption"]


def pattern_corruption(observed: np.ndarray, level: float, practice: np.ndarray | None = None):
    """``c(x, generator)`` hiding, in a fraction ``level`` of the rows, the entries missing in other rows.

    Each corrupted row of the batch is multiplied by the observation mask
    of a random row of ``observed`` (n_samples, n_features), so the network
    practises on holes shaped like the real ones (scattered pixels, blocks,
    whole features) without being told their shape. With ``practice``
    (observation masks of the holes to be filled, same number of features),
    each corrupted row takes its mask from ``practice`` or from ``observed``
    with equal odds: the given holes get half the practice, and the real
    ones keep the targets varied.

    Parameters
    ----------
    observed : ndarray of shape (n_samples, n_features)
        Observation masks of the training data (1 observed, 0 missing).
    level : float
        Probability in [0, 1] that a row of a batch is corrupted.
    practice : ndarray of shape (n_masks, n_features), default=None
        Observation masks of the holes to be filled later; None draws from
        ``observed`` only.

    Returns
    -------
    corrupt : callable
        ``corrupt(x, generator=None) -> x_tilde``: a new tensor with the
        hidden entries set to 0, drawn from ``generator``.
    """
    pools = [torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))
             for m in (observed, practice) if m is not None]

    def corrupt(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if pools[0].device != x.device:
            pools[:] = [m.to(x.device) for m in pools]
        n = x.shape[0]
        masks = pools[0][torch.randint(0, pools[0].shape[0], (n,), generator=generator, device=x.device)]
        if len(pools) == 2:
            given = pools[1][torch.randint(0, pools[1].shape[0], (n,), generator=generator, device=x.device)]
            pick = torch.rand((n, 1), generator=generator, device=x.device) < 0.5
            masks = torch.where(pick, given, masks)
        hit = torch.rand((n, 1), generator=generator, device=x.device) < level
        return torch.where(hit, x * masks.to(x.dtype), x)

    return corrupt


class ObservedInputNet(nn.Module):
    """A network that sees which entries are observed, and returns those unchanged.

    An entry equal to 0 is unseen (missing, or hidden by a masking/pattern
    corruption); :class:`AutoencoderImputer` moves observed zeros off 0.
    The inner network gets twice as many features, each entry followed by
    its 0/1 "seen" flag (a second channel for images), and predicts the
    unseen entries; seen ones are passed through, so a loss on the output
    counts only the entries the network had to predict (the denoising
    objective on the hidden entries) and no capacity goes into copying.
    Without the flag, a hole (0 after standard scaling: the feature's mean)
    looks like an observed average value.

    ``encode`` returns its input: the pass-through (and a U-Net's skip
    connections) need all of it, so there is no low-dimensional code.

    Parameters
    ----------
    net : nn.Module
        Maps ``(batch, 2 * n_features)`` to pre-activations of the same
        shape: an autoencoder with an identity output (its ``encode`` and
        ``decode_logits`` are used) or any module (its ``forward``, e.g.
        :class:`aekit.unet.UNet`). Output index ``2 i`` predicts entry ``i``.
    n_features : int
        Width of the inputs and outputs (half the inner network's).
    output_activation : {"identity", "sigmoid"}, default="identity"
        Applied by :meth:`decode` to the predicted entries.

    Examples
    --------
    >>> from aekit.nets import MLPAutoencoder
    >>> net = ObservedInputNet(MLPAutoencoder(2 * 3, (4,), 2), 3)
    >>> x = torch.tensor([[0.5, 0.0, -1.0]])
    >>> out = net(x)
    >>> out.shape, out[0, 0].item(), out[0, 2].item()
    (torch.Size([1, 3]), 0.5, -1.0)
    """

    def __init__(self, net: nn.Module, n_features: int, output_activation: str = "identity"):
        super().__init__()
        self.net = net
        self.n_features = int(n_features)
        self.output = OUTPUT_ACTIVATIONS[output_activation]()

    def _predict_logits(self, x: torch.Tensor) -> torch.Tensor:
        seen = (x != 0).to(x.dtype)
        both = torch.stack([x, seen], dim=-1).reshape(x.shape[0], 2 * self.n_features)
        if hasattr(self.net, "decode_logits"):
            out = self.net.decode_logits(self.net.encode(both))
        else:
            out = self.net(both)
        return out[:, 0::2]  # the value channel; the flag channel's output is unused

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The input itself: the pass-through needs all of it.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Inputs, 0 where unseen.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``x``, unchanged (the same tensor).
        """
        return x

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pre-activations: the seen entries (as logits under a sigmoid output) and the predicted ones.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_features)
            Inputs (what :meth:`encode` returned), 0 where unseen.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Seen entries unchanged (with a sigmoid output: their logits,
            clamped to [1e-6, 1 - 1e-6] first), unseen ones predicted.
        """
        x = z
        if not isinstance(self.output, nn.Identity):  # a sigmoid output: the seen entries as logits
            x = torch.logit(z.clamp(1e-6, 1 - 1e-6))
        return torch.where(z != 0, x, self._predict_logits(z))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The inputs with their unseen (0) entries filled in.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_features)
            Inputs (what :meth:`encode` returned), 0 where unseen.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Seen entries unchanged, unseen ones predicted (after the output
            activation).
        """
        return torch.where(z != 0, z, self.output(self._predict_logits(z)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fill the unseen entries of ``x``: ``decode(encode(x))``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Inputs, 0 where unseen.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            See :meth:`decode`.
        """
        return self.decode(self.encode(x))
