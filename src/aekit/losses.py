"""Reconstruction losses.

Each loss takes the decoder's output (pre-activation logits for losses with
``from_logits=True``), the clean target and an optional mask of entries to
count, and returns the mean over the counted entries. Penalties on the code
live in :mod:`aekit.penalties`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "ReconstructionLoss", "mse", "binary_cross_entropy"]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return values.mean()
    # clamp: a batch with no observed entry contributes 0, not NaN
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def mse(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over (observed) entries.

    Parameters
    ----------
    output : torch.Tensor of shape (batch, n_features)
        Reconstructions (after the output activation).
    target : torch.Tensor of shape (batch, n_features)
        Clean inputs.
    mask : torch.Tensor of shape (batch, n_features), default=None
        1 for entries to count, 0 for the others; None counts all.

    Returns
    -------
    torch.Tensor
        Scalar: the squared error averaged over counted entries (0 when
        none is counted).

    Examples
    --------
    >>> float(mse(torch.tensor([[1.0, 3.0]]), torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])))
    1.0
    """
    if mask is None:  # an empty batch counts none: 0, where torch's mean is NaN
        return F.mse_loss(output, target) if output.numel() else output.sum()
    return _masked_mean((output - target).square(), mask)


def binary_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Binary cross-entropy from logits over (observed) entries; targets in [0, 1].

    Computed from the logits (numerically stable), so it pairs with a
    sigmoid output activation.

    Parameters
    ----------
    logits : torch.Tensor of shape (batch, n_features)
        Decoder pre-activations (``decode_logits``).
    target : torch.Tensor of shape (batch, n_features)
        Clean inputs in [0, 1] (probabilities, not only 0 and 1).
    mask : torch.Tensor of shape (batch, n_features), default=None
        1 for entries to count, 0 for the others; None counts all.

    Returns
    -------
    torch.Tensor
        Scalar: the cross-entropy in nats averaged over counted entries
        (0 when none is counted).

    Examples
    --------
    >>> round(float(binary_cross_entropy(torch.zeros(1, 2), torch.ones(1, 2))), 4)  # log 2
    0.6931
    """
    if mask is None:  # an empty batch counts none: 0, where torch's mean is NaN
        return F.binary_cross_entropy_with_logits(logits, target) if logits.numel() else logits.sum()
    values = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return _masked_mean(values, mask)


@dataclass(frozen=True)
class ReconstructionLoss:
    """A reconstruction loss and what it expects.

    The entries of :data:`LOSSES`; each parameter is an attribute of the
    same name.

    Parameters
    ----------
    fn : callable
        ``fn(output, target, mask=None) -> scalar tensor``.
    from_logits : bool
        Whether ``fn`` takes decoder pre-activations instead of outputs.
    output_activation : str
        The output activation this loss pairs with by default.
    target_range : tuple of float, default=None
        The ``(low, high)`` range targets must lie in; None for any.
    """

    fn: Callable[..., torch.Tensor]
    from_logits: bool
    output_activation: str
    target_range: tuple[float, float] | None = None


#: Reconstruction losses by name.
LOSSES = {
    "mse": ReconstructionLoss(mse, from_logits=False, output_activation="identity"),
    "bce": ReconstructionLoss(
        binary_cross_entropy, from_logits=True, output_activation="sigmoid", target_range=(0.0, 1.0)
    ),
}
