"""``aekit info``: a saved model's, an ensemble's or a checkpoint directory's summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ._commands import HELP
from ._options import json_safe

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    i = sub.add_parser("info", help=HELP["info"],
                       description="Print a saved model's summary, or a checkpoint directory's (--checkpoint-dir: "
                                   "how far the training got, its losses and parameters).")
    i.add_argument("model_dir", type=Path, metavar="DIR", help="a model directory or a checkpoint directory")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    i.set_defaults(func=run_info, quiet=True)


def _say(text: str) -> None:
    """Print a line of ``aekit info`` with control characters escaped: the files shown may come from anyone, and
    an ESC sequence in a config.json printed raw drove the user's terminal (retitled it, cleared it, hid text)."""
    print("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))


def _trained(estimator) -> str:
    """'N epochs (best B), T s', from fitted attributes a model file may lack or hold as anything."""
    seconds = getattr(estimator, "fit_time_", None)
    seconds = f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else "time unknown"
    n = getattr(estimator, "n_iter_", "?")
    return f"{n} epoch{'' if n == 1 else 's'} (best {getattr(estimator, 'best_epoch_', '?')}), {seconds}"


def run_info(args) -> int:
    from ..checkpoint import CHECKPOINT_FILE
    from ..persistence import CONFIG_FILE, ENSEMBLE_FILE, PARTIAL_FIT_FILE, load

    root = Path(args.model_dir)
    files = (CHECKPOINT_FILE, CONFIG_FILE, ENSEMBLE_FILE, PARTIAL_FIT_FILE, "model.safetensors")
    if root.name in files and root.is_file():
        raise ValueError(f"{root} is a file of a {'checkpoint' if root.name == CHECKPOINT_FILE else 'model'} "
                         f"directory; pass its directory: aekit info {root.parent}")
    if (root / CHECKPOINT_FILE).is_file() and not (root / CONFIG_FILE).is_file():
        return _checkpoint_info(args)
    estimator = load(args.model_dir)
    if (Path(args.model_dir) / ENSEMBLE_FILE).is_file():
        return _ensemble_info(args, estimator)
    config = json.loads((Path(args.model_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    metrics_file = Path(args.model_dir) / "metrics.json"
    try:
        metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else {}
    except (UnicodeDecodeError, ValueError, RecursionError) as err:  # shown for information only
        logger.warning("%s is not readable JSON (%s); its metrics are not shown", metrics_file, type(err).__name__)
        metrics = {}
    metrics = json_safe(metrics) if isinstance(metrics, dict) else {}  # an older file may hold Infinity/NaN
    n_params = sum(p.numel() for p in estimator.net_.parameters())
    # mask_input: the network sees which entries are observed and passes them through; its encode returns the input
    observed = bool(getattr(estimator, "mask_input", False))
    code_size = estimator.n_features_in_ if observed else int(getattr(estimator.net_, "code_size",
                                                                      estimator.n_components))
    info = {"class": config["class"], "aekit_version": config.get("aekit_version"),
            "format_version": config["format_version"], "n_features_in": estimator.n_features_in_,
            "n_parameters": int(n_params), "code_size": code_size, "params": config["params"], "metrics": metrics,
            "partial_fit_state": "_partial_state" in vars(estimator)}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    _say(f"{info['class']} (aekit {info['aekit_version']}, format {info['format_version']})")
    code = f"{estimator.n_components} components"
    if estimator.architecture == "unet":  # skip connections: the "code" is the input itself
        code = "no code (a U-Net: its skip connections carry the input past the bottleneck)"
    elif observed:
        code = "no code (mask_input: the network passes the observed entries through, so it keeps the whole input)"
    elif code_size != estimator.n_components:  # a fully convolutional code: channels x height x width
        shape = "x".join(str(d) for d in getattr(estimator.net_, "code_shape", ()))
        code = f"a code of {code_size} values ({shape}: {estimator.n_components} channels)"
    _say(f"  {estimator.n_features_in_} features -> {code}, {n_params:,} parameters")
    _say(f"  trained {_trained(estimator)}")
    if info["partial_fit_state"]:
        _say(f"  partial_fit state kept ({PARTIAL_FIT_FILE}): partial_fit goes on with the saved optimiser")
    for key, value in config["params"].items():
        _say(f"  {key} = {value!r}")
    for key, value in metrics.items():
        if key == "columns" and isinstance(value, list) and len(value) > 6:  # a wide table's header: its ends
            value = f"{len(value)}: {', '.join(map(str, value[:3]))}, ..., {', '.join(map(str, value[-2:]))}"
        _say(f"  metric {key} = {value:.6g}" if isinstance(value, float) else f"  metric {key} = {value}")
    return 0


def _checkpoint_info(args) -> int:
    """``aekit info`` on a checkpoint directory: how far the training got (a running or stopped job's progress)."""
    from ..checkpoint import load_checkpoint

    state, meta = load_checkpoint(args.model_dir)
    result = state.get("result", {})
    params = meta.get("params", {})
    losses, validation = result.get("loss_curve", []), result.get("validation_curve", [])
    info = {"checkpoint_of": meta.get("class"), "epoch": meta.get("epoch"), "max_epochs": params.get("max_epochs"),
            "training_seconds": meta.get("seconds"), "device": meta.get("device"), "data": meta.get("data"),
            "last_training_loss": losses[-1] if losses else None,
            "last_validation_loss": validation[-1] if validation else None,
            "best_epoch": result.get("best_epoch"), "epochs_without_improvement": state.get("bad_epochs"),
            "n_iter_no_change": params.get("n_iter_no_change"), "params": params}
    info = json_safe(info)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    _say(f"checkpoint: {info['checkpoint_of']} training at epoch {info['epoch']} of at most "
          f"{info['max_epochs']}, {float(info['training_seconds'] or 0):.1f} s of training")
    data = info["data"] or {}
    if data:
        _say(f"  data: {data.get('n_samples')} samples x {data.get('n_features')} features")
    if info["last_training_loss"] is not None:
        _say(f"  last training loss {info['last_training_loss']:.6g}" + (
            "" if info["last_validation_loss"] is None else
            f", validation loss {info['last_validation_loss']:.6g}; best epoch {info['best_epoch']}, "
            f"{info['epochs_without_improvement']} epochs without improvement since (early stopping after "
            f"{info['n_iter_no_change']})"))
    for key, value in params.items():
        _say(f"  {key} = {value!r}")
    return 0


def _ensemble_info(args, ensemble) -> int:
    """``aekit info`` on an ImputerEnsemble: the index, the members' shared parameters and their training."""
    from ..persistence import CONFIG_FILE, ENSEMBLE_FILE

    root = Path(args.model_dir)
    index = json.loads((root / ENSEMBLE_FILE).read_text(encoding="utf-8"))
    member_params = json.loads((root / index["members"][0] / CONFIG_FILE).read_text(encoding="utf-8"))["params"]
    members = ensemble.estimators_
    n_params = sum(p.numel() for m in members for p in m.net_.parameters())
    info = {"class": index.get("class"), "aekit_version": index.get("aekit_version"),
            "format_version": index["format_version"],
            "n_features_in": ensemble.n_features_in_, "n_members": len(members), "seeds": ensemble.seeds_,
            "n_parameters": int(n_params), "member_class": type(members[0]).__name__,
            "member_params": {k: v for k, v in member_params.items() if k != "random_state"}}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    _say(f"{info['class']} of {len(members)} x {info['member_class']} (aekit {info['aekit_version']}, "
          f"format {info['format_version']}): fills holes with the mean of the members' fills")
    _say(f"  {ensemble.n_features_in_} features, {n_params:,} parameters in all, seeds {ensemble.seeds_}")
    for i, m in enumerate(members):
        _say(f"  member {i}: trained {_trained(m)}")
    for key, value in info["member_params"].items():
        _say(f"  {key} = {value!r}")
    return 0
