"""The checkpoint file: a trainer's state and a description in one safetensors file, nothing pickled.

Every tensor of the state is a safetensors tensor; everything else (numbers,
strings, nested dicts, lists and tuples) is JSON in the file's header, with
tensors referenced by name. :mod:`aekit.checkpoint` builds on this to save and
resume a fit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from . import __version__
from ._atomic import atomic_path
from ._fileformat import check_format, read_safetensors

__all__ = ["CHECKPOINT_FILE", "FORMAT_VERSION", "load_checkpoint", "read_checkpoint_info", "save_checkpoint"]

FORMAT_VERSION = 1
CHECKPOINT_FILE = "checkpoint.safetensors"
_FORMAT = "aekit-checkpoint"
_META_KEY = "aekit"


# ------------------------------------------------------------------ encoding
def _encode(obj, path: str, tensors: dict):
    """JSON form of ``obj``; tensors are moved to ``tensors`` and referenced by name."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        obj = float(obj)
        return obj if math.isfinite(obj) else {"$float": repr(obj)}
    if isinstance(obj, torch.Tensor):
        name = path or "/"
        while name in tensors:
            name += "'"
        tensors[name] = obj.detach().to("cpu").contiguous()
        return {"$tensor": name}
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        return _encode(torch.from_numpy(np.ascontiguousarray(obj)), path, tensors)
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: _encode(v, f"{path}/{k}", tensors) for k, v in obj.items()}
        return {"$items": [[_encode(k, f"{path}/key", {}), _encode(v, f"{path}/{k}", tensors)]
                           for k, v in obj.items()]}
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint (at {path or '/'}).")


def _decode(obj, tensors: dict):
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (tag, value), = obj.items()
        if tag == "$float":
            if value not in ("inf", "-inf", "nan"):
                raise ValueError(f"bad float {value!r}")
            return float(value)
        if tag == "$tensor":
            if value not in tensors:
                raise ValueError(f"the tensor {value!r} is missing")
            return tensors[value]
        if tag == "$tuple":
            return tuple(_decode(v, tensors) for v in value)
        if tag == "$items":
            return {_hashable(_decode(k, tensors)): _decode(v, tensors) for k, v in value}
    return {k: _decode(v, tensors) for k, v in obj.items()}


def _hashable(key):
    if isinstance(key, (list, dict, torch.Tensor)):
        raise ValueError(f"a dictionary key is a {type(key).__name__}")
    return key


# ------------------------------------------------------------------- files
def save_checkpoint(directory, state: dict, meta: dict, name: str = CHECKPOINT_FILE) -> Path:
    """Atomically write ``DIR/checkpoint.safetensors`` (or ``DIR/name``) holding ``state`` and ``meta``.

    Parameters
    ----------
    directory : str or Path
        Checkpoint directory (created if needed).
    state : dict
        A :meth:`Trainer.state_dict` (or any nest of dicts, lists, tuples,
        numbers, strings and tensors).
    meta : dict
        JSON-able description (estimator class, parameters, data digest...);
        arrays in it are stored as tensors.
    name : str, default="checkpoint.safetensors"
        The file's name in ``directory`` (a model directory keeps
        ``partial_fit``'s state under another).

    Returns
    -------
    path : Path
        The checkpoint file.
    """
    tensors: dict = {}
    header = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "aekit_version": __version__,
        "meta": _encode(meta, "meta", tensors),
        "state": _encode(state, "state", tensors),
    }
    text = json.dumps(header, allow_nan=False)
    path = Path(directory) / name
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_META_KEY: text})
    return path


def _checkpoint_file(directory, name: str = CHECKPOINT_FILE) -> Path:
    directory = Path(directory)
    path = directory / name
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint in {directory}: {path} is missing.")
    return path


def _read_header(path: Path) -> dict:
    try:
        with safe_open(str(path), framework="pt") as f:
            text = (f.metadata() or {}).get(_META_KEY)
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable safetensors file ({err}); expected an aekit checkpoint.") \
            from None
    if text is None:
        raise ValueError(f"{path} is a safetensors file but not an aekit checkpoint (no '{_META_KEY}' header).")
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{path} has a corrupt checkpoint header ({type(err).__name__}).") from None
    check_format(header, _FORMAT, FORMAT_VERSION, path, "an aekit checkpoint", "resume")
    if not isinstance(header.get("meta"), dict) or not isinstance(header.get("state"), dict):
        raise ValueError(f"{path} is missing its 'meta' or 'state' section; expected an aekit checkpoint.")
    return header


def read_checkpoint_info(directory) -> dict:
    """The JSON part of a checkpoint's description (epoch, class, parameters), without loading tensors.

    Parameters
    ----------
    directory : str or Path
        The checkpoint directory (``checkpoint_dir``), not the file.

    Returns
    -------
    dict
        The ``meta`` given to :func:`save_checkpoint` (for an estimator's
        checkpoint: ``epoch``, the class, its parameters, the data digest);
        any tensor in it reads as the string ``"<tensor NAME>"``.

    Raises
    ------
    FileNotFoundError
        If ``DIR/checkpoint.safetensors`` does not exist.
    ValueError
        If it is not a readable aekit checkpoint.
    """
    path = _checkpoint_file(directory)
    header = _read_header(path)
    try:
        meta = _decode(header["meta"], _TensorNames())
    except (ValueError, TypeError, AttributeError, RecursionError) as err:
        raise ValueError(f"{path} has a corrupt checkpoint header ({err}).") from None
    return meta


class _TensorNames(dict):
    """Stand-in for the tensors when only the JSON is wanted: each tensor reads as its name."""

    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return f"<tensor {key}>"


def load_checkpoint(directory, name: str = CHECKPOINT_FILE) -> tuple[dict, dict]:
    """Read ``DIR/checkpoint.safetensors`` (or ``DIR/name``); returns ``(state, meta)``.

    Parameters
    ----------
    directory : str or Path
        The checkpoint directory, not the file.
    name : str, default="checkpoint.safetensors"
        The file's name in ``directory``.

    Returns
    -------
    state : dict
        What :func:`save_checkpoint` stored (for an estimator's checkpoint, a
        :meth:`Trainer.state_dict <aekit.training.Trainer.state_dict>`),
        tensors on the CPU.
    meta : dict
        The description stored next to it.

    Raises
    ------
    FileNotFoundError
        If there is no checkpoint in ``directory``.
    ValueError
        If the file is truncated, foreign, corrupt or from a newer aekit.
    """
    path = _checkpoint_file(directory, name)
    header = _read_header(path)
    try:
        tensors = read_safetensors(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable safetensors file ({err}).") from None
    try:
        meta = _decode(header["meta"], tensors)
        state = _decode(header["state"], tensors)
    except (ValueError, TypeError, AttributeError, RecursionError) as err:
        raise ValueError(f"{path} has a corrupt checkpoint header ({err}).") from None
    return state, meta
