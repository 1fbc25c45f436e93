"""Sparsity penalties on the code, ``Omega(h)`` in ``L(x, g(f(x))) + Omega(h)``.

Small pure functions of a code batch ``h`` of shape (batch, n_components)
that return a scalar tensor. The conventions match the formulas as written
in the literature, per sample:

- :func:`l1_penalty` is ``weight * mean_over_batch(sum_i |h_i|)``: the L1
  norm of each code, summed over units and averaged over the batch.
- :func:`kl_penalty` is ``weight * sum_j KL(target || rho_hat_j)``, with
  ``rho_hat_j`` the mean activation of unit ``j`` over the batch (Ng's
  sparse autoencoder notes). Codes must lie in (0, 1), e.g. sigmoid units.

Both sum over units, while :mod:`aekit.losses` averages over features and
samples; so a useful ``weight`` is small (of order 1e-4 to 1e-2 for images
of a few hundred pixels scaled to [0, 1]) and grows in effect with
``n_components``.

:data:`PENALTIES` dispatches by name; :func:`make_penalty` checks the name
up front and binds the settings, giving the ``penalty(code) -> scalar`` that
:class:`aekit.training.Trainer` takes. "topk" has no penalty: its sparsity
is structural (:class:`aekit.nets.TopK` on the code).
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Callable

import torch

__all__ = ["PENALTIES", "l1_penalty", "kl_penalty", "kl_divergence_bernoulli", "make_penalty"]

#: Clamp for mean activations inside the KL divergence, keeps log finite.
_EPS = 1e-6


def l1_penalty(code: torch.Tensor, weight: float) -> torch.Tensor:
    """``weight * mean_over_batch(sum_i |h_i|)``.

    Parameters
    ----------
    code : Tensor of shape (batch, n_components)
        Code batch (any real values).
    weight : float
        lambda >= 0.

    Returns
    -------
    Tensor
        Scalar.

    Examples
    --------
    >>> float(l1_penalty(torch.tensor([[1.0, -2.0], [0.0, 1.0]]), 0.5))
    1.0
    """
    return weight * code.abs().sum(dim=1).mean()


def kl_divergence_bernoulli(target: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """Elementwise ``KL(target || rho_hat)`` between Bernoulli distributions.

    ``rho_hat`` is squeezed affinely into ``[1e-6, 1 - 1e-6]`` so that saturated
    units give a large but finite value and, unlike clamping, keep a gradient
    pointing back inside.

    Parameters
    ----------
    target : float
        rho in (0, 1), the desired mean activation.
    rho_hat : Tensor
        Observed mean activations in [0, 1], any shape.

    Returns
    -------
    Tensor
        ``KL(target || rho_hat)`` in nats, of ``rho_hat``'s shape; >= 0 and
        (about) 0 where ``rho_hat == target``.
    """
    rho_hat = _EPS + (1.0 - 2.0 * _EPS) * rho_hat
    # the target's logs in float64: target / rho_hat in float32 is 0 (and KL NaN) for a target below 1.4e-45
    return target * (math.log(target) - torch.log(rho_hat)) + \
        (1.0 - target) * (math.log1p(-target) - torch.log(1.0 - rho_hat))


def kl_penalty(code: torch.Tensor, weight: float, target: float) -> torch.Tensor:
    """``weight * sum_j KL(target || rho_hat_j)``, ``rho_hat_j = mean_over_batch(h_j)``.

    Parameters
    ----------
    code : Tensor of shape (batch, n_components)
        Activations in (0, 1).
    weight : float
        beta >= 0.
    target : float
        rho in (0, 1), the desired mean activation of every unit.

    Returns
    -------
    Tensor
        Scalar; 0 when every unit's batch mean equals ``target``.

    Examples
    --------
    >>> round(float(kl_penalty(torch.full((4, 3), 0.05), 1.0, 0.05)), 6)
    0.0
    """
    rho_hat = code.mean(dim=0)  # (n_components,)
    return weight * kl_divergence_bernoulli(target, rho_hat).sum()


#: Penalties by ``sparsity`` name; None where sparsity comes from the code activation.
PENALTIES: dict[str, Callable[..., torch.Tensor] | None] = {
    "l1": l1_penalty,
    "kl": kl_penalty,
    "topk": None,
}


def make_penalty(name: str, weight: float,
                 target: float | None = None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """Bind a penalty's settings: ``penalty(code) -> scalar``, or None when there is none.

    Parameters
    ----------
    name : {"l1", "kl", "topk"}
        Key of :data:`PENALTIES`.
    weight : float
        lambda (l1) or beta (kl), >= 0. A weight of 0 gives None.
    target : float, default=None
        rho in (0, 1), required by "kl" (with a weight above 0); ignored by
        the others.

    Returns
    -------
    penalty : callable or None
        ``penalty(code) -> scalar tensor`` (:func:`l1_penalty` or
        :func:`kl_penalty` with the settings bound), or None for "topk" or
        a weight of 0.

    Raises
    ------
    ValueError
        For an unknown name, a negative or non-finite weight, or a "kl" target
        outside (0, 1).

    Examples
    --------
    >>> penalty = make_penalty("l1", 0.1)
    >>> float(penalty(torch.ones(2, 3)))
    0.30000001192092896
    >>> make_penalty("topk", 1.0) is None
    True
    """
    if name not in PENALTIES:
        allowed = "{" + ", ".join(repr(k) for k in PENALTIES) + "}"
        raise ValueError(f"sparsity must be one of {allowed}; got {name!r}.")
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not (math.isfinite(weight) and weight >= 0):
        raise ValueError(f"sparsity_weight must be a finite number >= 0; got {weight!r}.")
    fn = PENALTIES[name]
    if fn is None or weight == 0:
        return None
    if name == "kl":
        if target is None or not 0.0 < target < 1.0:
            raise ValueError(f"sparsity_target must be in (0, 1); got {target!r}.")
        return functools.partial(kl_penalty, weight=float(weight), target=float(target))
    return functools.partial(fn, weight=float(weight))
