"""Input corruptions for denoising autoencoders.

A corruption is a function ``f(x, level, generator) -> x_tilde`` that draws
fresh noise on every call from the given ``torch.Generator``. They are
dispatched through :data:`CORRUPTIONS`, checked up front by
:func:`make_corruption`, which binds the level and returns a callable
``c(x, generator)`` that the training loop applies to each batch.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["CORRUPTIONS", "gaussian_noise", "masking_noise", "salt_and_pepper", "make_corruption"]


def _uniform_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def gaussian_noise(x: torch.Tensor, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Additive isotropic Gaussian noise of standard deviation ``level``."""
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + level * noise


def masking_noise(
    x: torch.Tensor, level: float, generator: torch.Generator | None = None, fill_value: float = 0.0
) -> torch.Tensor:
    """Set a random fraction ``level`` of the entries to ``fill_value``."""
    drop = _uniform_like(x, generator) < level
    return torch.where(drop, torch.as_tensor(fill_value, dtype=x.dtype, device=x.device), x)


def salt_and_pepper(
    x: torch.Tensor,
    level: float,
    generator: torch.Generator | None = None,
    low: float = 0.0,
    high: float = 1.0,
) -> torch.Tensor:
    """Set a random fraction ``level`` of the entries to ``low`` or ``high`` (coin flip)."""
    u = _uniform_like(x, generator)
    salt = _uniform_like(x, generator) < 0.5
    value = torch.where(salt, torch.as_tensor(high, dtype=x.dtype, device=x.device),
                        torch.as_tensor(low, dtype=x.dtype, device=x.device))
    return torch.where(u < level, value, x)


#: Corruptions by name, with the largest meaningful level of each.
CORRUPTIONS: dict[str, tuple[Callable[..., torch.Tensor], float]] = {
    "gaussian": (gaussian_noise, float("inf")),
    "masking": (masking_noise, 1.0),
    "salt_and_pepper": (salt_and_pepper, 1.0),
}


def make_corruption(name: str, level: float, **options) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """Return ``c(x, generator)`` applying corruption ``name`` at ``level``.

    Parameters
    ----------
    name : {"gaussian", "masking", "salt_and_pepper"}
        The corruption.
    level : float
        Noise standard deviation (``"gaussian"``) or fraction of corrupted
        entries (the others, in [0, 1]).
    **options
        Passed to the corruption, e.g. ``fill_value`` for masking.

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
    if not (0.0 <= level <= high):
        raise ValueError(f"corruption_level for {name!r} must be in [0, {high}]; got {level!r}.")
    level = float(level)

    def corrupt(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return fn(x, level, generator, **options)

    return corrupt
