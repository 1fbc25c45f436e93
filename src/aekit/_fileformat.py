"""The check every aekit file header passes (its ``format`` name and a ``format_version`` this aekit reads),
and the one way aekit reads a safetensors file.

Model configs, ensemble indexes (:mod:`aekit.persistence`) and checkpoints
(:mod:`aekit._checkpoint_file`) each name their format and version in JSON;
one function says, in one line, what is wrong with a header.
"""

from __future__ import annotations

from safetensors.torch import load_file

from . import __version__

__all__ = ["check_format", "read_safetensors"]


def read_safetensors(path) -> dict:
    """Every tensor of the safetensors file ``path``, on the CPU, in memory of its own.

    ``safetensors.torch.load_file`` memory-maps the whole file and returns
    views of the map, which stays as long as any of them lives (a loaded
    model's fitted arrays, a resumed fit's optimiser state). Windows refuses
    to replace or delete a file with a live map (WinError 1224): a resumed
    fit could not write its next checkpoint, nor a loaded model be saved
    back over its directory. The copies here leave no map behind.

    Raises what ``load_file`` raises (``SafetensorError``, ``OSError``).
    """
    return {name: tensor.clone() for name, tensor in load_file(str(path), device="cpu").items()}


def check_format(header, fmt: str, max_version: int, where, what: str, action: str) -> int:
    """Return ``header["format_version"]``, or raise a one-line ``ValueError`` naming ``where``.

    Parameters
    ----------
    header : object
        The parsed JSON header; must be a dict with ``"format": fmt``.
    fmt : str
        The format name, e.g. ``"aekit-model"``.
    max_version : int
        The newest ``format_version`` this aekit reads.
    where : str or Path
        The file, as the messages name it.
    what : str
        What the file should be ("an aekit model config").
    action : str
        What a newer aekit would let the user do with it ("load", "resume").

    Examples
    --------
    >>> check_format({"format": "x", "format_version": 1}, "x", 1, "f.json", "an x file", "load")
    1
    """
    if not isinstance(header, dict) or header.get("format") != fmt:
        raise ValueError(f"{where} is not {what} (no 'format': '{fmt}').")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{where} has an invalid format_version {version!r}; expected an int >= 1.")
    if version > max_version:
        raise ValueError(
            f"{where} has format_version {version!r}; this aekit ({__version__}) reads up to "
            f"{max_version}. Upgrade aekit to {action} it."
        )
    return version
