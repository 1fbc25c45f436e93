"""Saving and loading fitted estimators without pickle.

A model directory holds ``model.safetensors`` (the network's weights and
any numeric fitted arrays) and ``config.json`` (the format version, the aekit
version, the estimator class, its parameters and its fitted attributes); a
model trained by ``partial_fit`` also ``partial_fit.safetensors`` (the
optimiser's moments and the generators, as in a checkpoint), so that
``partial_fit`` after ``load`` goes on as without the save.
Loading builds the estimator from the JSON and the network from the
parameters, then fills in the weights; nothing in either file can run code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

from . import __version__
from ._atomic import atomic_directory
from ._checkpoint_file import load_checkpoint, save_checkpoint
from ._fileformat import check_format, read_safetensors
from ._messages import first_line
from ._torch_globals import seeded

__all__ = ["save", "save_ensemble", "load", "FORMAT_VERSION", "WEIGHTS_FILE", "CONFIG_FILE", "ENSEMBLE_FILE",
           "PARTIAL_FIT_FILE"]

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
ENSEMBLE_FILE = "ensemble.json"
PARTIAL_FIT_FILE = "partial_fit.safetensors"
_FORMAT = "aekit-model"
_ENSEMBLE_FORMAT = "aekit-ensemble"
_MAX_CONFIG_BYTES = 64 * 2**20  # a config is a few kB; refuse to parse anything absurd


def _estimator_classes() -> dict[str, type]:
    from . import _estimator_classes as all_classes

    return {cls.__name__: cls for cls in all_classes()}


def _jsonable(value):
    if isinstance(value, (tuple, list, np.ndarray)):  # hidden_layer_sizes=np.array([64, 32]) is a valid parameter
        return [_jsonable(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def _check_replaceable(path: Path) -> None:
    """Refuse to replace a file, or a directory that is neither empty nor an aekit model: save swaps it whole."""
    if path.is_dir():
        if not any(path.iterdir()):
            return
        for name, fmt, what in ((CONFIG_FILE, _FORMAT, "model config"), (ENSEMBLE_FILE, _ENSEMBLE_FORMAT,
                                                                             "ensemble index")):
            if (path / name).is_file():
                if _names_format(path / name, fmt):
                    return
                # many projects hold a config.json: only aekit's own marks a directory save may delete
                raise ValueError(f"{path / name} is not an aekit {what} (no 'format': '{fmt}'); saving replaces "
                                 f"the whole directory {path}, so choose a new path.")
        raise ValueError(f"{path} exists and is not an aekit model directory (no {CONFIG_FILE} or "
                         f"{ENSEMBLE_FILE}); saving replaces the whole directory, so choose a new path.")
    if path.exists() or path.is_symlink():
        raise ValueError(f"{path} is a file; a model is saved as a directory, so choose a new path.")


def _names_format(file: Path, fmt: str) -> bool:
    """Whether ``file`` is a JSON object with ``"format": fmt`` (any version)."""
    try:
        if file.stat().st_size > _MAX_CONFIG_BYTES:
            return False
        config = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(config, dict) and config.get("format") == fmt


def save(estimator, path, extras=None, *, replace=True) -> Path:
    """Save a fitted estimator to the directory ``path`` (replaced atomically).

    Parameters
    ----------
    estimator : Autoencoder
        A fitted aekit estimator.
    path : str or Path
        Model directory to write: a new path, an empty directory, or a
        model directory to replace (anything else raises ``ValueError``).
    extras : callable, optional
        ``extras(directory)`` writes further files (metrics, figures) into
        the new directory before it is swapped in, so that the directory
        appears complete or not at all.
    replace : bool, default=True
        False: raise ``FileExistsError`` rather than replace a ``path``
        that exists when the new directory is moved there (another run
        saving to the same path meanwhile); atomic on Linux.

    Returns
    -------
    path : Path
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "net_")
    estimator._check_net_matches_params(
        "saved, they would load as a different model. Refit, or set them back, before saving.")
    params = {k: _jsonable(v) for k, v in estimator.get_params(deep=False).items()}
    if not isinstance(params.get("random_state"), (int, type(None))):
        params["random_state"] = None  # a RandomState object has no JSON form
    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in estimator.net_.state_dict().items()}
    fitted, object_arrays = {}, {}
    for name, value in vars(estimator).items():
        if not name.endswith("_") or name.startswith("_") or name == "net_":
            continue
        if isinstance(value, np.ndarray) and value.dtype == object:
            object_arrays[name] = value.tolist()
        elif isinstance(value, np.ndarray):
            tensors[f"fitted.{name}"] = torch.from_numpy(np.ascontiguousarray(value))
        else:
            fitted[name] = _jsonable(value)
    config = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "aekit_version": __version__,
        "class": type(estimator).__name__,
        "params": params,
        "fitted": fitted,
        "fitted_object_arrays": object_arrays,
        "tensors": {k: list(v.shape) for k, v in tensors.items()},
    }
    text = json.dumps(config, indent=2, allow_nan=True)
    # partial_fit's optimiser state and generators; its copy of the weights is net_'s, saved above
    partial = {k: v for k, v in estimator.__dict__.get("_partial_state", {}).items() if k != "net"}
    path = Path(path)
    _check_replaceable(path)
    with atomic_directory(path, replace=replace) as tmp:
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": _FORMAT})
        (tmp / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")
        if partial:
            save_checkpoint(tmp, partial, {"class": type(estimator).__name__}, name=PARTIAL_FIT_FILE)
        if extras is not None:
            extras(tmp)
    return path


def save_ensemble(ensemble, path) -> Path:
    """Save a fitted :class:`~aekit.ensemble.ImputerEnsemble`: ``ensemble.json`` and a model directory per member.

    Parameters
    ----------
    ensemble : ImputerEnsemble
        Fitted; its members must be aekit estimators.
    path : str or Path
        Directory to write (replaced atomically): a new path, an empty
        directory, or a model directory.

    Returns
    -------
    path : Path
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(ensemble, "estimators_")
    classes = tuple(_estimator_classes().values())
    foreign = [type(m).__name__ for m in ensemble.estimators_ if not isinstance(m, classes)]
    if foreign:
        raise TypeError(f"only ensembles of aekit estimators can be saved; the members are {foreign[0]}. "
                        "Save those with joblib instead (it runs code on loading: trusted files only).")
    # _jsonable: a numpy integer seed (from np.arange) is an int; a RandomState object has no JSON form
    random_state = _jsonable(ensemble.random_state)
    random_state = random_state if isinstance(random_state, (int, type(None))) else None
    base_state = _jsonable(ensemble._base().get_params(deep=False)["random_state"])
    config = {
        "format": _ENSEMBLE_FORMAT,
        "format_version": FORMAT_VERSION,
        "aekit_version": __version__,
        "class": type(ensemble).__name__,
        "params": {"n_members": len(ensemble.estimators_), "n_jobs": ensemble.n_jobs, "random_state": random_state},
        "estimator_random_state": base_state if isinstance(base_state, (int, type(None))) else None,
        "seeds": [int(s) for s in ensemble.seeds_],
        "members": [f"member_{i}" for i in range(len(ensemble.estimators_))],
    }
    if hasattr(ensemble, "feature_names_in_"):  # the members saw arrays: the column names are the ensemble's
        config["feature_names_in_"] = [str(c) for c in ensemble.feature_names_in_]
    path = Path(path)
    _check_replaceable(path)
    with atomic_directory(path) as tmp:
        for name, member in zip(config["members"], ensemble.estimators_):
            save(member, tmp / name)
        (tmp / ENSEMBLE_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def _load_ensemble(path: Path, device: str):
    """The :class:`~aekit.ensemble.ImputerEnsemble` saved in ``path`` by :func:`save_ensemble`."""
    from sklearn.base import clone

    from .ensemble import ImputerEnsemble

    file = path / ENSEMBLE_FILE
    config = _read_json(file, _ENSEMBLE_FORMAT, "an aekit ensemble index")
    members, seeds, params = config.get("members"), config.get("seeds"), config.get("params")
    if not (isinstance(members, list) and members and isinstance(seeds, list) and len(seeds) == len(members)
            and all(m == f"member_{i}" for i, m in enumerate(members)) and isinstance(params, dict)
            and params.get("n_members") == len(members)):
        raise ValueError(f"{file} lists no valid members; expected 'members': ['member_0', ...] with as many "
                         "seeds and n_members.")
    root = path.resolve()
    for name in members:
        member = path / name
        if root not in member.resolve().parents:  # a link to another directory, or to the ensemble itself
            raise ValueError(f"{member} leads outside {path} (a link to {member.resolve()}); an ensemble's members "
                             "are directories inside it.")
        if (member / ENSEMBLE_FILE).is_file():  # save_ensemble never nests: loading one would recurse
            raise ValueError(f"{member} holds an ensemble ({ENSEMBLE_FILE}); an ensemble's members are model "
                             "directories.")
    fitted = [_load_model(path / name, device) for name in members]
    if len({m.n_features_in_ for m in fitted}) != 1 or len({type(m) for m in fitted}) != 1:
        raise ValueError(f"the members in {path} differ in class or number of features; expected copies.")
    try:
        estimator = clone(fitted[0]).set_params(random_state=config.get("estimator_random_state"))
        ensemble = ImputerEnsemble(estimator, **params)
        ensemble._check_params()
    except (TypeError, ValueError) as err:
        raise ValueError(f"{file} has invalid parameters: {err}") from None
    ensemble.estimators_, ensemble.seeds_ = fitted, [int(s) for s in seeds]
    ensemble.n_features_in_ = fitted[0].n_features_in_
    names = config.get("feature_names_in_")
    if names is not None:
        if not (isinstance(names, list) and len(names) == ensemble.n_features_in_
                and all(isinstance(c, str) for c in names)):
            raise ValueError(f"{file}: feature_names_in_ must be a list of {ensemble.n_features_in_} strings.")
        ensemble.feature_names_in_ = np.asarray(names, dtype=object)
    return ensemble


def _read_json(file: Path, fmt: str, what: str) -> dict:
    """The JSON object in ``file`` with ``"format": fmt`` and a readable ``format_version``, or a one-line error.

    ``what`` names the expected file in the messages ("an aekit model config").
    """
    if file.stat().st_size > _MAX_CONFIG_BYTES:
        raise ValueError(f"{file} is {file.stat().st_size} bytes; {what} is a few kB.")
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{file} is not valid JSON ({first_line(err)}); expected {what}.") from None
    check_format(config, fmt, FORMAT_VERSION, file, what, "load")
    return config


def _read_config(path: Path) -> dict:
    file = path / CONFIG_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{path} is not an aekit model directory: {file} is missing.")
    config = _read_json(file, _FORMAT, "an aekit model config")
    kinds = {"class": str, "params": dict, "fitted": dict, "tensors": dict, "fitted_object_arrays": dict}
    for key, kind in kinds.items():
        if key not in config and key != "fitted_object_arrays":
            raise ValueError(f"{file} is missing the key {key!r}; expected an aekit model config.")
        if key in config and not isinstance(config[key], kind):
            raise ValueError(f"{file}: {key!r} must be a JSON {'string' if kind is str else 'object'}; "
                             f"got {type(config[key]).__name__}.")
    bad = [k for k in (*config["fitted"], *config.get("fitted_object_arrays", {})) if not _fitted_name_ok(k)]
    if bad:
        raise ValueError(f"{file} has invalid fitted attribute names {bad[:3]}; expected names like 'loss_curve_'.")
    for name, shape in config["tensors"].items():
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise ValueError(f"{file}: the shape of tensor {name!r} must be a list of ints; got {shape!r}.")
    return config


def _fitted_name_ok(name) -> bool:
    """A public fitted attribute name (``loss_curve_``), never a method or a private attribute."""
    return isinstance(name, str) and name.isidentifier() and name.endswith("_") and not name.startswith("_") \
        and name != "net_"


def _check_scaling(estimator, n_features: int, weights: Path) -> None:
    """The fitted ``center_``/``scale_`` (X is scaled ``(X - center_) / scale_`` on the way in): one finite number per
    feature, scales above 0, both there when the model scales its inputs. A wrong length broadcast silently (one
    number) or failed inside ``transform``; a zero or NaN scale turned every output into NaN."""
    scaled = not estimator._scales_inputs or estimator.__dict__.get("scaling_", "none") != "none"
    if not scaled and not {"center_", "scale_"} & estimator.__dict__.keys():
        return
    for name in ("center_", "scale_"):
        value = estimator.__dict__.get(name)
        if value is None:
            problem = "nothing"
        elif not (isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)):
            problem = f"{getattr(value, 'dtype', type(value).__name__)} values"
        elif value.shape != (n_features,):
            problem = f"shape {value.shape}"
        elif not np.isfinite(value).all():
            problem = "a NaN or infinity"
        elif name == "scale_" and not (value > 0).all():
            problem = f"{value[~(value > 0)][0]:g}"
        else:
            continue
        raise ValueError(f"{weights}: the fitted {name} must be {n_features} finite floating-point numbers, one per "
                         f"feature{', each above 0' if name == 'scale_' else ''} (the input scaling); got {problem}.")


def _check_net_shapes(estimator, n_features: int, state: dict, weights: Path, config_file: Path) -> None:
    """Compare the file's weights with the network the parameters describe, without allocating it.

    A hostile config could describe a network of terabytes; building it on
    the ``meta`` device costs nothing and tells whether the file fits.
    """
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in estimator._build_net(n_features).state_dict().items()}
    except Exception:  # a network that cannot be built on "meta" is checked by load_state_dict below
        return
    actual = {k: tuple(v.shape) for k, v in state.items()}
    if expected != actual:
        diff = sorted(set(expected) ^ set(actual)) or [k for k in expected if expected[k] != actual[k]]
        name = diff[0]
        raise ValueError(
            f"{weights} does not fit the network described in {config_file}: tensor {name!r} has shape "
            f"{list(actual[name]) if name in actual else 'missing'} in the file, "
            f"{list(expected[name]) if name in expected else 'none'} in the network."
        )


def load(path, device: str = "cpu"):
    """Load an estimator saved by :func:`save` (or ``estimator.save``).

    Parameters
    ----------
    path : str or Path
        Model directory.
    device : str or torch.device, default="cpu"
        Where to put the network: "cpu", "cuda", "cuda:N", "mps" or "auto" (CUDA
        when available).

    Returns
    -------
    estimator : Autoencoder or ImputerEnsemble
        The fitted estimator, ready for ``transform`` and friends (an
        :class:`~aekit.ensemble.ImputerEnsemble` when the directory holds
        ``ensemble.json``).

    Raises
    ------
    FileNotFoundError
        If the directory or one of its files is missing.
    ValueError
        If a file is truncated, foreign, from a newer aekit, the weights
        disagree with the parameters, or ``device`` is unknown or absent.
    """
    from .training import resolve_device

    device = resolve_device(str(device))  # before reading anything: a clear error, not torch's assertion
    path = Path(path)
    if not path.is_dir():
        what = "a file, not a directory" if path.exists() else "no such directory"
        raise FileNotFoundError(f"{path} is not an aekit model directory ({what}).")
    if (path / ENSEMBLE_FILE).is_file():
        return _load_ensemble(path, device)
    return _load_model(path, device)


def _load_model(path: Path, device: str):
    """The estimator saved in the model directory ``path`` by :func:`save`."""
    config = _read_config(path)
    classes = _estimator_classes()
    if config["class"] not in classes:
        raise ValueError(f"{path / CONFIG_FILE} names an unknown estimator class {config['class']!r}.")
    cls = classes[config["class"]]
    try:
        params = dict(config["params"])
        for name, value in params.items():
            if isinstance(value, list):
                params[name] = tuple(value)
        estimator = cls(**params)
        estimator._check_params()
    except (TypeError, ValueError) as err:
        written = config.get("aekit_version")
        newer = ("" if not isinstance(written, str) or written == __version__ else
                 f" (written by aekit {written!r}, this is {__version__}: an aekit other than this one may have "
                 "other parameters; load it with the aekit that saved it)")
        raise ValueError(f"{path / CONFIG_FILE} has invalid parameters: {err}{newer}") from None
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{path} is not a complete aekit model: {weights} is missing.")
    try:
        tensors = read_safetensors(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{weights} is not a readable safetensors file ({err}).") from None
    expected = {k: list(v) for k, v in config["tensors"].items()}
    actual = {k: list(v.shape) for k, v in tensors.items()}
    if expected != actual:
        raise ValueError(f"{weights} does not match {path / CONFIG_FILE}: the tensor names or shapes differ.")
    for key, value in tensors.items():
        if not (key.startswith("net.") and value.is_floating_point()) and not (
                key.startswith("fitted.") and _fitted_name_ok(key[len("fitted."):])):
            raise ValueError(f"{weights} holds an unexpected tensor {key!r} ({value.dtype}); expected network "
                             "weights ('net.*', floating point) and fitted arrays ('fitted.*').")
    names = [*config["fitted"], *config.get("fitted_object_arrays", {}),
             *(k[len("fitted."):] for k in tensors if k.startswith("fitted."))]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # set one after the other, the last would win over the value the network was checked against
        raise ValueError(f"{path} holds the fitted attribute {twice[0]!r} twice (in {CONFIG_FILE} and as an "
                         "array); expected each once.")
    n_features = config["fitted"].get("n_features_in_")
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ValueError(f"{path / CONFIG_FILE} lacks a valid n_features_in_ (got {n_features!r}); "
                         "expected a fitted aekit model.")
    for name, value in config["fitted"].items():
        setattr(estimator, name, value)
    for name, value in config.get("fitted_object_arrays", {}).items():
        setattr(estimator, name, np.asarray(value, dtype=object))
    for key, value in tensors.items():
        if key.startswith("fitted."):
            setattr(estimator, key[len("fitted."):], value.numpy())
    _check_scaling(estimator, n_features, weights)
    state = {k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")}
    _check_net_shapes(estimator, n_features, state, weights, path / CONFIG_FILE)
    try:
        with seeded():  # its initial weights are overwritten: the caller's torch.manual_seed stream is left alone
            net = estimator._build_net(n_features)
        net.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, TypeError) as err:
        raise ValueError(f"{weights} does not fit the network described in {path / CONFIG_FILE}: "
                         f"{first_line(err)}") from None
    estimator.net_ = net.to(device).eval()
    estimator.device_ = str(device)
    if (path / PARTIAL_FIT_FILE).is_file():
        _load_partial_state(estimator, path / PARTIAL_FIT_FILE)
    return estimator


def _load_partial_state(estimator, file: Path) -> None:
    """Give ``estimator`` the ``partial_fit`` state saved with it, checked against its network."""
    from ._fitting import check_partial_state

    state, _ = load_checkpoint(file.parent, file.name)  # its errors name the file
    state = {**state, "net": {k: v.detach().clone() for k, v in estimator.net_.state_dict().items()}}
    try:
        check_partial_state(estimator, state)
    except (ValueError, TypeError, KeyError, RuntimeError, AttributeError) as err:
        raise ValueError(f"{file} does not fit the model it was saved with ({first_line(err)}); delete it to "
                         "continue partial_fit with a fresh optimiser.") from None
    estimator._partial_state = state
