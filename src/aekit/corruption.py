"""Input corruptions for denoising autoencoders.

A corruption is a function ``f(x, level, generator, **options) -> x_tilde``
that draws fresh noise on every call from the given ``torch.Generator`` and
never modifies ``x``. ``level`` is a float or a tensor that broadcasts against
``x`` (one level per sample, shape ``(batch, 1)``). They are dispatched
through :data:`CORRUPTIONS` and checked up front by :func:`make_corruption`,
which binds the level and options and returns a callable
``c(x, generator)`` that the training loop applies to each batch.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Callable

import torch

__all__ = ["CORRUPTIONS", "gaussian_noise", "masking_noise", "salt_and_pepper", "make_corruption"]

Level = float | torch.Tensor


def _uniform_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def _const(value: float, x: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(value, dtype=x.dtype, device=x.device)


def gaussian_noise(x: torch.Tensor, level: Level, generator: torch.Generator | None = None) -> torch.Tensor:
    """Additive isotropic Gaussian noise of standard deviation ``level``.

    Parameters
    ----------
    x : torch.Tensor
        Clean inputs, of any shape; not modified.
    level : float or torch.Tensor
        Noise standard deviation, in the units of ``x``; a tensor
        broadcasts against ``x`` (e.g. shape (batch, 1): one per sample).
    generator : torch.Generator, default=None
        Source of the noise, on ``x``'s device; None uses PyTorch's global
        generator.

    Returns
    -------
    torch.Tensor
        ``x + level * N(0, 1)``, a new tensor of ``x``'s shape and dtype.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = gaussian_noise(torch.zeros(10000), 0.5, g)
    >>> round(float(x.std()), 1)
    0.5
    """
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + level * noise


def masking_noise(
    x: torch.Tensor, level: Level, generator: torch.Generator | None = None, fill_value: float = 0.0
) -> torch.Tensor:
    """Set a random fraction ``level`` of the entries to ``fill_value``.

    Each entry is hit independently with probability ``level``.

    Parameters
    ----------
    x : torch.Tensor
        Clean inputs, of any shape; not modified.
    level : float or torch.Tensor
        Probability in [0, 1] that an entry is replaced; a tensor
        broadcasts against ``x``.
    generator : torch.Generator, default=None
        Source of the noise, on ``x``'s device; None uses PyTorch's global
        generator.
    fill_value : float, default=0.0
        Value the hit entries take.

    Returns
    -------
    torch.Tensor
        A new tensor of ``x``'s shape and dtype.
    """
    drop = _uniform_like(x, generator) < level
    return torch.where(drop, _const(fill_value, x), x)


def salt_and_pepper(
    x: torch.Tensor,
    level: Level,
    generator: torch.Generator | None = None,
    low: float = 0.0,
    high: float = 1.0,
) -> torch.Tensor:
    """Set a random fraction ``level`` of the entries to ``low`` or ``high`` (a fair coin each).

    ``low`` and ``high`` are the extremes of the data's range: 0 and 1 for
    images scaled to [0, 1], 0 and 255 for 8-bit pixels; or arrays of shape
    (n_features,), one range per column (standardised columns each have their own).

    Parameters
    ----------
    x : torch.Tensor of shape (..., n_features)
        Clean inputs; not modified.
    level : float or torch.Tensor
        Probability in [0, 1] that an entry is replaced; a tensor
        broadcasts against ``x``.
    generator : torch.Generator, default=None
        Source of the noise, on ``x``'s device; None uses PyTorch's global
        generator.
    low : float or array-like of shape (n_features,), default=0.0
        "Pepper": the value of half the hit entries.
    high : float or array-like of shape (n_features,), default=1.0
        "Salt": the value of the other half.

    Returns
    -------
    torch.Tensor
        A new tensor of ``x``'s shape and dtype.
    """
    hit = _uniform_like(x, generator) < level
    salt = _uniform_like(x, generator) < 0.5
    return torch.where(hit, torch.where(salt, _const(high, x), _const(low, x)), x)


#: Corruptions by name, with the largest meaningful level of each.
CORRUPTIONS: dict[str, tuple[Callable[..., torch.Tensor], float]] = {
    "gaussian": (gaussian_noise, math.inf),
    "masking": (masking_noise, 1.0),
    "salt_and_pepper": (salt_and_pepper, 1.0),
}


def _options_of(fn) -> set[str]:
    params = list(inspect.signature(fn).parameters.values())[3:]  # after x, level, generator
    return {p.name for p in params}


def make_corruption(
    name: str, level: float, random_level: bool = False, level_power: float = 1.0, **options
) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """Return ``c(x, generator)`` applying corruption ``name`` at ``level``.

    Parameters
    ----------
    name : {"gaussian", "masking", "salt_and_pepper"}
        The corruption.
    level : float
        Noise standard deviation (``"gaussian"``, >= 0) or fraction of
        corrupted entries (the others, in [0, 1]).
    random_level : bool, default=False
        Draw each sample's level uniformly from ``[0, level]`` (one level
        per row of ``x``), so a single model learns every noise level up to
        ``level`` (a "blind" denoiser).
    level_power : float, default=1.0
        With ``random_level``, a sample's level is ``level * u ** level_power``
        for ``u ~ U[0, 1]``: 1 draws it uniformly, larger powers draw weak
        noise more often (2: density proportional to ``1 / sqrt(level)``),
        which counters the squared error's bias towards strong noise, whose
        errors are the largest. Must be > 0.
    **options
        Passed to the corruption: ``fill_value`` for "masking"; ``low`` and
        ``high`` (the data's range, ``low <= high``) for "salt_and_pepper".

    Returns
    -------
    corrupt : callable
        ``corrupt(x, generator=None) -> x_tilde``, a new tensor.

    Raises
    ------
    ValueError
        If ``name`` is unknown, ``level`` is out of range, ``level_power``
        is not positive, or ``low > high``.
    TypeError
        If ``level`` is not a number or an option does not apply to ``name``.

    Examples
    --------
    >>> c = make_corruption("masking", 0.5)
    >>> g = torch.Generator().manual_seed(0)
    >>> float((c(torch.ones(1000), g) == 0).float().mean())  # doctest: +ELLIPSIS
    0.4...
    """
    if name not in CORRUPTIONS:
        allowed = "{" + ", ".join(repr(k) for k in CORRUPTIONS) + "}"
        raise ValueError(f"corruption must be one of {allowed}; got {name!r}.")
    fn, high = CORRUPTIONS[name]
    if isinstance(level, bool) or not isinstance(level, numbers.Real):
        raise TypeError(f"corruption_level must be a number; got {level!r}.")
    if not (0.0 <= level <= high and math.isfinite(level)):  # also rejects NaN, and inf (noise of infinite SD)
        bound = "[0, inf)" if math.isinf(high) else f"[0, {high:g}]"
        raise ValueError(f"corruption_level for {name!r} must be in {bound}; got {level!r}.")
    if isinstance(level_power, bool) or not isinstance(level_power, numbers.Real) or not level_power > 0:
        raise ValueError(f"level_power must be a number > 0; got {level_power!r}.")
    unknown = set(options) - _options_of(fn)
    if unknown:
        allowed = "{" + ", ".join(repr(k) for k in sorted(_options_of(fn))) + "}"
        raise TypeError(f"corruption {name!r} takes the options {allowed}; got {sorted(unknown)}.")
    lo, hi = (torch.as_tensor(options.get(k, v)) for k, v in (("low", 0.0), ("high", 1.0)))
    if name == "salt_and_pepper" and not bool(torch.all(lo <= hi)):
        raise ValueError(
            f"salt_and_pepper needs low <= high (the data's range); got low={options.get('low', 0.0)!r}, "
            f"high={options.get('high', 1.0)!r}."
        )
    level, power = float(level), float(level_power)

    def corrupt(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        lvl: Level = level
        if random_level and x.ndim:
            # (batch, 1, ...): one level per sample, broadcast over its entries
            shape = (x.shape[0],) + (1,) * (x.ndim - 1)
            u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
            lvl = level * (u if power == 1.0 else u**power)
        return fn(x, lvl, generator, **options)

    return corrupt
