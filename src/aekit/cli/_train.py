"""``aekit train``, ``encode``, ``reconstruct`` and ``info``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ._options import (add_common_arguments, add_data_arguments, add_estimator_arguments, check_output,
                       estimator_from_args, load_source, models)

logger = logging.getLogger("aekit.cli")


def register(sub) -> None:
    p = sub.add_parser("train", help="train an autoencoder and save it to a model directory",
                       description="Train an autoencoder on DATA or --dataset and save the model directory "
                                   "(weights, parameters, metrics.json, loss_curve.png).")
    add_data_arguments(p)
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--model", default="autoencoder", choices=sorted(models()), help="which estimator")
    add_common_arguments(p)
    add_estimator_arguments(p)
    p.set_defaults(func=run_train)

    for name, what in (("encode", "codes (transform)"), ("reconstruct", "reconstructions")):
        q = sub.add_parser(name, help=f"write the {what} of DATA as .npy",
                           description=f"Load MODEL_DIR and write the {what} of DATA to --out (.npy).")
        q.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
        add_data_arguments(q)
        q.add_argument("--split", choices=("train", "test"), default="test",
                       help="which split of --dataset (default: test)")
        q.add_argument("--out", type=Path, required=True, help="output .npy file")
        add_common_arguments(q)
        q.set_defaults(func=run_apply, method="transform" if name == "encode" else "reconstruct")

    i = sub.add_parser("info", help="describe a saved model", description="Print a saved model's summary.")
    i.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    i.set_defaults(func=run_info, quiet=True)


def _metrics(estimator, data) -> dict:
    metrics = {
        "train_error_per_sample": -estimator.score(data.X_train),
        "n_train": int(data.X_train.shape[0]),
        "epochs": estimator.n_iter_,
        "best_epoch": estimator.best_epoch_,
        "fit_seconds": estimator.fit_time_,
        "final_loss": estimator.loss_curve_[-1],
    }
    if data.X_test.shape[0]:
        metrics["test_error_per_sample"] = -estimator.score(data.X_test)
        metrics["n_test"] = int(data.X_test.shape[0])
    if hasattr(estimator, "diagnostics"):  # e.g. sparsity of a SparseAutoencoder's codes
        metrics.update(estimator.diagnostics())
    return metrics


def run_train(args) -> int:
    from ..persistence import save
    from ..plotting import loss_curve

    out = check_output(args.out, args.overwrite)
    data = load_source(args)
    estimator = estimator_from_args(args, args.model, verbose=not args.quiet)
    logger.info("training %s on %s: %d samples x %d features", type(estimator).__name__, data.name,
                *data.X_train.shape)
    estimator.fit(data.X_train)
    estimator.verbose = False  # a saved model should not draw progress bars when reloaded
    metrics = _metrics(estimator, data)
    metrics["dataset"] = data.description

    def extras(directory: Path) -> None:
        (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        loss_curve(estimator.loss_curve_, estimator.validation_scores_ or None,
                   path=directory / "loss_curve.png")

    save(estimator, out, extras=extras)
    msg = f"saved {out}: train error {metrics['train_error_per_sample']:.4g}"
    if "test_error_per_sample" in metrics:
        msg += f", test error {metrics['test_error_per_sample']:.4g}"
    logger.info("%s per sample, %d epochs, %.1f s", msg, estimator.n_iter_, estimator.fit_time_)
    return 0


def run_apply(args) -> int:
    from .._atomic import save_npy
    from ..persistence import load

    out = check_output(args.out, args.overwrite)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy; got {out}.")
    estimator = load(args.model_dir)
    data = load_source(args)
    X = data.X_test if (args.dataset and args.split == "test") else data.X_train
    result = getattr(estimator, args.method)(X)
    save_npy(out, result)
    logger.info("wrote %s: array of shape %s", out, result.shape)
    return 0


def run_info(args) -> int:
    from ..persistence import CONFIG_FILE, load

    estimator = load(args.model_dir)
    config = json.loads((Path(args.model_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    metrics_file = Path(args.model_dir) / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else {}
    n_params = sum(p.numel() for p in estimator.net_.parameters())
    info = {"class": config["class"], "aekit_version": config["aekit_version"],
            "format_version": config["format_version"], "n_features_in": estimator.n_features_in_,
            "n_parameters": int(n_params), "params": config["params"], "metrics": metrics}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['class']} (aekit {info['aekit_version']}, format {info['format_version']})")
    print(f"  {estimator.n_features_in_} features -> {estimator.n_components} components, "
          f"{n_params:,} parameters")
    print(f"  trained {estimator.n_iter_} epochs (best {estimator.best_epoch_}), {estimator.fit_time_:.1f} s")
    for key, value in config["params"].items():
        print(f"  {key} = {value!r}")
    for key, value in metrics.items():
        print(f"  metric {key} = {value:.6g}" if isinstance(value, float) else f"  metric {key} = {value}")
    return 0
