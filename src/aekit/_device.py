"""Where and in what precision the networks run: :func:`resolve_device`, :data:`PRECISIONS`, :func:`fast_bfloat16`
and ``_autocast``."""

from __future__ import annotations

from contextlib import nullcontext

import torch

__all__ = ["PRECISIONS", "resolve_device", "fast_bfloat16"]

#: Autocast dtype by ``precision`` name; None is plain float32 (no autocast).
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` (or a ``torch.device``) into a usable device.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` picks CUDA when available, else the CPU; Apple's
        ``"mps"`` is used only when asked for (see the README's Platforms).

    Returns
    -------
    torch.device
        A CPU device, an existing CUDA device or the MPS device.

    Raises
    ------
    ValueError
        If the device is unknown, or CUDA or MPS is asked for but not available.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    allowed = "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"{allowed}; got {device!r}.") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use device='cpu' or device='auto'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) exist.")
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            why = ("macOS 12.3 or later on Apple silicon or an AMD GPU is needed" if torch.backends.mps.is_built()
                   else "this PyTorch was built without MPS")
            raise ValueError(f"device={device!r} but MPS is not available on this machine ({why}); "
                             "use device='cpu' or device='auto'.")
        if dev.index not in (None, 0):
            raise ValueError(f"device={device!r} but there is only one MPS device ('mps' or 'mps:0').")
    elif dev.type != "cpu":
        raise ValueError(f"{allowed}; got {device!r}.")
    return dev


def fast_bfloat16(device: str | torch.device = "auto") -> bool:
    """Whether bfloat16 matrix products are native on ``device`` (then about 2.5x faster than float32 on a CPU).

    Without native kernels (a CPU without AVX-512 BF16 or AMX) oneDNN
    emulates them, several times slower than float32.

    Parameters
    ----------
    device : str or torch.device, default="auto"
        As for :func:`resolve_device`.

    Returns
    -------
    bool
        For CUDA, whether the GPU supports bfloat16; for the CPU, whether
        oneDNN has native bfloat16 kernels on it.
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if dev.type != "cpu":  # MPS: bfloat16 autocast depends on the macOS and torch versions; float32 is safe
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` to ``dtype`` on ``device``'s type, or no context at all for None (float32).

    A disabled ``torch.autocast`` is not free of checks: torch before 2.5
    raises for a device type it has no autocast for ("mps"), even with
    ``enabled=False``.
    """
    if dtype is None:
        return nullcontext()
    return torch.autocast(device.type, dtype=dtype)
