"""Missing-data completion: AutoencoderImputer against scikit-learn's imputers.

Images: Fashion-MNIST (pixels in [0, 1]) with 25 / 50 / 75 % of the pixels
missing completely at random, and with a 12x12 block missing (training
images: the block at a random place in each, so every pixel is seen; test
images: the central block). Every method is fitted on the same incomplete
training images and fills the holes of the incomplete test images; the
score is the RMSE over the missing test pixels.

Tabular: scikit-learn's breast-cancer data (569 x 30), 20 % missing at
random, imputed in place (fit_transform) as imputers usually are; RMSE over
the missing entries in units of each feature's standard deviation, mean over
three random masks.

Methods: mean imputation, KNNImputer (k = 10, on the same 20000 training
images), IterativeImputer (BayesianRidge; on images fitted on 1000 training
images with the 30 nearest features, as it is slow on 784 features; said in
the output), iterative low-rank SVD imputation (EM-PCA: fill, project on the
top-k principal components, refill, repeat; fitted on 5000 images, k picked
from a grid on hidden training entries) and aekit's AutoencoderImputer (on
images with ``mask_input=True`` — the network sees which pixels are observed
and passes them through, so its loss counts the pixels it must predict — and
``scaling="none"``; fully convolutional 64 / 32 with masking noise for
scattered holes, a U-Net 32-64-64 with "pattern" noise for the block, the
noise rule its documentation gives; 14 epochs on the 20000 images; MLP on
the table, default settings). For the block the imputer is told the holes
it will fill, as its documentation advises when they differ from the
training data's: ``fit(X_train, patterns=np.isnan(X_test))`` (the test
images' hole positions, never their values), so half of its practice holes
are central blocks; 56 epochs, AdamW with weight decay 0.1; and four such
imputers with different seeds, their fills averaged (``ImputerEnsemble``,
``--block-members``; two train at a time, one thread each). The same
imputer practising on the training holes only can be run next to it
(``--block-practice both``). The imputer's settings were
chosen with ``--eval holdout`` (held-out training images; at 10000 images:
mask input, pixel scaling, the U-Net for the block, more epochs each helped)
and, for the block, benchmarks/checks/block_heldout.py, never on the test
images. Training is bounded (2 shared CPU cores): the numbers are what that
budget buys.

Usage::

    python benchmarks/complete.py --quick          # seconds: checks that it runs
    python benchmarks/complete.py --threads 2      # the benchmark (~1 hour on 2 cores)
    python benchmarks/complete.py --eval holdout   # for choosing settings: test images untouched
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.utils.extmath import randomized_svd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import aekit  # noqa: E402
from aekit import AutoencoderImputer, ImputerEnsemble  # noqa: E402
from aekit.datasets import load_fashion_mnist  # noqa: E402
from aekit.metrics import rmse_on_mask  # noqa: E402
from aekit.plotting import image_rows  # noqa: E402

METHOD_NAMES = ("mean", "KNNImputer", "IterativeImputer", "low-rank SVD", "AutoencoderImputer")
RESULTS = Path(__file__).resolve().parent / "results"
SIDE = 28
BLOCK = 12
FILL_HOLES = "practising on the holes to fill"
TARGET_RATIO = 0.8  # the target on images: RMSE <= 0.8 x the best scikit-learn imputer's
_T0 = time.perf_counter()


def log(msg):
    print(f"[{time.perf_counter() - _T0:6.0f} s] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- masks
def mcar(shape, fraction, rng):
    return rng.random(shape) < fraction


def block(n, rng=None):
    """12x12 holes: at a random place per image (rng given), else central."""
    holes = np.zeros((n, SIDE, SIDE), dtype=bool)
    for i in range(n):
        if rng is None:
            r = c = (SIDE - BLOCK) // 2
        else:
            r, c = rng.integers(0, SIDE - BLOCK + 1, size=2)
        holes[i, r:r + BLOCK, c:c + BLOCK] = True
    return holes.reshape(n, -1)


def with_nan(X, holes):
    out = X.astype(np.float64, copy=True)
    out[holes] = np.nan
    return out


# ------------------------------------------------------ low-rank SVD imputation
class SVDImputer:
    """Iterative low-rank imputation (EM-PCA): fit on incomplete data, fill new rows by projection."""

    def __init__(self, rank, n_iter=20, seed=0, standardize=False):
        self.rank, self.n_iter, self.seed, self.standardize = rank, n_iter, seed, standardize

    def fit(self, X):
        self.scale_ = np.nanstd(X, axis=0) if self.standardize else np.ones(X.shape[1])
        self.scale_[~(self.scale_ > 0)] = 1.0
        X = X / self.scale_
        missing = np.isnan(X)
        F = np.where(missing, np.nanmean(X, axis=0), X)
        for _ in range(self.n_iter):
            self.mean_ = F.mean(axis=0)
            U, S, Vt = randomized_svd(F - self.mean_, self.rank, random_state=self.seed)
            F = np.where(missing, (U * S) @ Vt + self.mean_, X)
        self.components_ = Vt
        return self

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def transform(self, X):
        X = X / self.scale_
        missing = np.isnan(X)
        F = np.where(missing, self.mean_, X)
        for _ in range(self.n_iter):
            R = (F - self.mean_) @ self.components_.T @ self.components_ + self.mean_
            F = np.where(missing, R, X)
        return F * self.scale_


def pick_rank(X_fit, ranks, rng, standardize=False, n_iter=20):
    """Rank with the lowest error on 5 % of the observed training entries hidden for the purpose."""
    observed = ~np.isnan(X_fit)
    hide = observed & (rng.random(X_fit.shape) < 0.05)
    X_hidden = X_fit.copy()
    X_hidden[hide] = np.nan
    truth = np.nan_to_num(X_fit)
    scores = {k: rmse_on_mask(truth, SVDImputer(k, n_iter, standardize=standardize).fit_transform(X_hidden), hide)
              for k in ranks}
    return min(scores, key=scores.get), scores


# ------------------------------------------------------------- methods
def image_settings(args, block):
    """(architecture, channels) of the image imputer: a block needs a wider view than scattered holes."""
    if block:
        return args.block_architecture or args.architecture, tuple(args.block_channels or args.channels)
    return args.architecture, tuple(args.channels)


def image_imputer(args, corruption, block=False, members=1):
    """The image AutoencoderImputer; with ``members`` > 1 an ImputerEnsemble of that many, fitted in parallel."""
    level = {"masking": args.masking_level, "pattern": args.pattern_level}[corruption]
    architecture, channels = image_settings(args, block)
    imputer = AutoencoderImputer(args.n_components, hidden_layer_sizes=channels,
                              architecture=architecture, image_shape=(SIDE, SIDE), max_iter=args.max_iter,
                              scaling=args.scaling, mask_input=not args.no_mask_input,
                              corruption=corruption, corruption_level=level,
                              batch_size=args.batch_size, learning_rate=args.learning_rate, lr_schedule="cosine",
                              max_epochs=args.block_epochs if block else args.epochs,
                              optimizer="adamw" if block and args.block_weight_decay else "adam",
                              weight_decay=args.block_weight_decay if block else 0.0,
                              validation_fraction=0.05, n_iter_no_change=1000, random_state=args.seed,
                              device="cpu")
    if members == 1:
        return imputer
    # each member in its own process with cpu_count // n_jobs threads (joblib's default)
    return ImputerEnsemble(imputer, n_members=members, n_jobs=min(members, args.threads), random_state=args.seed)


def run_methods(methods, X_fit, X_in, truth, holes):
    out, filled = {}, {}
    for name, (make, note) in methods.items():
        tic = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = make()
            spec = est if isinstance(est, dict) else {"estimator": est}
            fit_rows = spec.get("rows")
            est = spec["estimator"]
            est.fit(X_fit if fit_rows is None else X_fit[fit_rows], **spec.get("fit_params", {}))
            X_hat = est.transform(X_in)
        out[name] = {"rmse": rmse_on_mask(truth, X_hat, holes), "seconds": round(time.perf_counter() - tic, 1)}
        if note:
            out[name]["note"] = note
        filled[name] = X_hat
        log(f"  {name}: RMSE {out[name]['rmse']:.4f} ({out[name]['seconds']} s)")
    return out, filled


def images_part(args, results):
    data = load_fashion_mnist()
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(data.X_train))
    X_train = data.X_train[order[: args.n_train]]
    if args.eval == "holdout":
        X_test, where = data.X_train[order[-args.n_test:]], "held-out training images"
    else:
        X_test, where = data.X_test[: args.n_test], "test images"
    scenarios = [(f"{int(f * 100)}% at random", mcar(X_train.shape, f, rng), mcar(X_test.shape, f, rng))
                 for f in args.fractions]
    scenarios.append((f"central {BLOCK}x{BLOCK} block", block(len(X_train), rng), block(len(X_test))))
    sub = rng.permutation(args.n_train)
    figure = {}
    for label, train_holes, test_holes in scenarios:
        log(f"{label}:")
        X_fit, X_in = with_nan(X_train, train_holes), with_nan(X_test, test_holes)
        rank, rank_scores = (pick_rank(X_fit[sub[: args.n_svd_pick]], args.ranks, rng, n_iter=10)
                             if "low-rank SVD" in args.methods else (None, None))
        methods = {
            "mean": (lambda: SimpleImputer(), None),
            "KNNImputer": (lambda: {"estimator": KNNImputer(n_neighbors=10), "rows": sub[: args.n_knn]},
                           f"k=10, fitted on {args.n_knn} training images"),
            "IterativeImputer": (lambda: {"estimator": IterativeImputer(max_iter=args.iter_max_iter,
                                                                        n_nearest_features=30, random_state=0),
                                          "rows": sub[: args.n_iterative]},
                                 f"BayesianRidge, 30 nearest features, {args.iter_max_iter} rounds, fitted on "
                                 f"{args.n_iterative} training images"),
            "low-rank SVD": (lambda: {"estimator": SVDImputer(rank), "rows": sub[: args.n_svd]},
                             f"rank {rank} (picked from {list(args.ranks)}), fitted on {args.n_svd} training images"),
        }
        # the imputer's documented rule: "pattern" for structured holes, "masking" for scattered ones
        rule = "pattern" if label.startswith("central") else "masking"
        is_block = label.startswith("central")
        architecture, channels = image_settings(args, is_block)
        about = (f"{architecture} {channels}, code {args.n_components}, "
                 f"{args.block_epochs if is_block else args.epochs} epochs on {args.n_train} images, "
                 + (f"AdamW weight decay {args.block_weight_decay}, " if is_block and args.block_weight_decay else "")
                 + f"scaling {args.scaling}, " + ("no mask input" if args.no_mask_input else "mask input + pass-through"))
        for corruption in (("masking", "pattern") if args.variants == "both" else (rule,)):
            methods[f"AutoencoderImputer ({corruption})"] = (lambda c=corruption: image_imputer(args, c, is_block),
                                                             about)
        if is_block and args.block_practice != "own":
            # the holes to fill as practice patterns (their positions, never their values): the imputer's documented
            # use when the holes to fill differ from the training data's; the variant the target counts
            ours = f"AutoencoderImputer ({rule}, {FILL_HOLES})"
            members = args.block_members
            methods[ours] = (lambda: {"estimator": image_imputer(args, rule, is_block, members),
                                      "fit_params": {"patterns": np.isnan(X_in)}},
                             about + "; fit(patterns=the test images' NaN positions): half the practice holes"
                             + (f"; ImputerEnsemble: mean of {members} such imputers' fills (seeds differ)"
                                if members > 1 else ""))
            own = methods.pop(f"AutoencoderImputer ({rule})")
            if args.block_practice == "both":
                methods[f"AutoencoderImputer ({rule}, training holes only)"] = own
        else:
            ours = f"AutoencoderImputer ({rule})"
        methods = {k: v for k, v in methods.items() if k.split(" (")[0] in args.methods}
        scores, filled = run_methods(methods, X_fit, X_in, X_test, test_holes)
        entry = {"scenario": label, "evaluated_on": where, "n_test": len(X_test), "n_train": len(X_train),
                 "methods": scores, "svd_rank_scores": rank_scores}
        skl = [k for k in ("KNNImputer", "IterativeImputer", "mean") if k in scores]
        if skl and ours in scores:
            best = min(skl, key=lambda k: scores[k]["rmse"])
            ratio = scores[ours]["rmse"] / scores[best]["rmse"]
            entry.update(best_sklearn=best, ours=ours, ratio_to_best_sklearn=ratio,
                         target=f"ours <= {TARGET_RATIO} x best scikit-learn", target_met=bool(ratio <= TARGET_RATIO))
            shown = np.where(test_holes, np.nan, X_test)[: args.n_show]  # NaN: image_rows draws the holes red
            figure[label] = [(f"masked ({label})", shown), (ours, filled[ours]), (best, filled[best]),
                             ("true", X_test)]
        results["images"].append(entry)
    return figure


def tabular_part(args, results):
    X = load_breast_cancer().data
    runs = []
    for seed in range(args.tabular_repeats):
        rng = np.random.default_rng(100 + seed)
        holes = mcar(X.shape, 0.2, rng)
        X_in = with_nan(X, holes)
        # every method sees the data standardised with the observed entries' statistics (KNN's distances and
        # the SVD need it), and is scored there: RMSE in units of each feature's standard deviation
        mu, sd = np.nanmean(X_in, axis=0), np.nanstd(X_in, axis=0)
        Z_in, Z = (X_in - mu) / sd, (X - mu) / sd
        rank, _ = pick_rank(Z_in, (2, 4, 8, 12), rng)
        methods = {
            "mean": lambda: SimpleImputer(),
            "KNNImputer": lambda: KNNImputer(n_neighbors=5),
            "IterativeImputer": lambda: IterativeImputer(max_iter=25, random_state=0),
            "low-rank SVD": lambda: SVDImputer(rank),
            "AutoencoderImputer": lambda: AutoencoderImputer(8, hidden_layer_sizes=(64,), corruption_level=0.25,
                                                             batch_size=32, max_epochs=300, n_iter_no_change=20,
                                                             random_state=seed, device="cpu"),
        }
        row = {}
        for name, make in methods.items():
            tic = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Z_hat = make().fit_transform(Z_in)
            row[name] = {"rmse": rmse_on_mask(Z, Z_hat, holes), "seconds": time.perf_counter() - tic}
        runs.append(row)
        log("breast cancer, mask %d: " % seed + ", ".join(f"{k} {v['rmse']:.4f}" for k, v in row.items()))
    results["tabular"] = {"data": "breast cancer (569 x 30), 20% missing at random, RMSE in feature std units",
                          "repeats": args.tabular_repeats,
                          "methods": {k: {"rmse_mean": float(np.mean([r[k]["rmse"] for r in runs])),
                                          "rmse_std": float(np.std([r[k]["rmse"] for r in runs])),
                                          "seconds_mean": float(np.mean([r[k]["seconds"] for r in runs]))}
                                      for k in runs[0]}}


def markdown(results):
    lines = []
    if results["images"]:
        # "AutoencoderImputer": the variant each scenario's target counts (r["ours"]), its name in brackets; any
        # other variant run (--variants both, --block-practice both) gets a column of its own
        def column(r, name):
            return "AutoencoderImputer" if name == r.get("ours") else name
        names = []
        for r in results["images"]:
            names += [column(r, k) for k in r["methods"] if column(r, k) not in names]
        r0 = results["images"][0]
        lines += [f"Fashion-MNIST, {r0['n_test']} {r0['evaluated_on']}, imputers fitted on {r0['n_train']} "
                  "incomplete training images: RMSE on the missing pixels", "",
                  "| missing | " + " | ".join(names) + " | ours / best scikit-learn |",
                  "|---|" + "---|" * (len(names) + 1)]
        for r in results["images"]:
            cells = []
            for name in names:
                match = [k for k in r["methods"] if column(r, k) == name]
                cell = f"{r['methods'][match[0]]['rmse']:.4f}" if match else "-"
                if match and name == "AutoencoderImputer" and match[0] != name:
                    cell += f" ({match[0].split('(', 1)[1][:-1]})"
                cells.append(cell)
            ratio = f"{r['ratio_to_best_sklearn']:.2f} ({r['best_sklearn']})" if "best_sklearn" in r else "-"
            lines.append(f"| {r['scenario']} | " + " | ".join(cells) + f" | {ratio} |")
    tab = results.get("tabular")
    if tab:
        methods = list(tab["methods"])
        lines += ["", f"{tab['data']}, mean ± std over {tab['repeats']} masks", "",
                  "| | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods),
                  "| RMSE | " + " | ".join(f"{tab['methods'][k]['rmse_mean']:.3f} ± "
                                         f"{tab['methods'][k]['rmse_std']:.3f}" for k in methods) + " |"]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny run (seconds) to check the script works")
    p.add_argument("--eval", choices=("test", "holdout"), default="test",
                   help="score on test images, or on held-out training images (for choosing settings)")
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--n-knn", type=int, default=20000, help="training images KNNImputer searches")
    p.add_argument("--n-svd", type=int, default=5000, help="training images the SVD imputer is fitted on")
    p.add_argument("--n-iterative", type=int, default=1000, help="training images IterativeImputer is fitted on")
    p.add_argument("--iter-max-iter", type=int, default=3)
    p.add_argument("--n-svd-pick", type=int, default=1000, help="training images used to pick the SVD rank")
    p.add_argument("--ranks", type=int, nargs="+", default=[10, 25, 50])
    p.add_argument("--fractions", type=float, nargs="*", default=[0.25, 0.5, 0.75])
    p.add_argument("--epochs", type=int, default=14, help="AutoencoderImputer epochs on images")
    # chosen with benchmarks/checks/block_heldout.py (held-out training images, RMSE; KNNImputer 0.1753; see its
    # table): practising on the training holes only, U-Net 14 epochs 0.1562, 28 epochs 0.1498, 56 epochs 0.1459;
    # with half the practice on the holes to fill (and weight decay 0.1) 28 epochs 0.1425, 56 epochs 0.1401
    p.add_argument("--block-epochs", type=int, default=56, help="AutoencoderImputer epochs, block scenario")
    # chosen with --eval holdout: "none" (pixels as they are, the loss weighs them as the RMSE does) beat "standard"
    p.add_argument("--scaling", default="none", choices=("none", "standard", "minmax"))
    p.add_argument("--architecture", default="fully_conv", choices=("fully_conv", "conv", "mlp", "unet"))
    p.add_argument("--block-architecture", default="unet", choices=("fully_conv", "conv", "mlp", "unet"),
                   help="architecture for the block scenario (default: --architecture)")
    # chosen with block_heldout.py --practice fill (KNNImputer 0.1753): weight decay 0.1 at 28 epochs 0.1425 (0.03:
    # 0.1436, 0.3: 0.1454, none: 0.1447); 0.1 at 56 epochs 0.1401 (none: 0.1436)
    p.add_argument("--block-weight-decay", type=float, default=0.1,
                   help="block scenario: AdamW's decoupled weight decay (0: plain Adam)")
    p.add_argument("--block-practice", choices=("own", "fill", "both"), default="fill",
                   help="block scenario: the imputer practises on the training images' holes only (own), also on the "
                        "test images' hole positions via fit(patterns=...) (fill, ours, the default), or run both")
    # chosen with block_heldout.py --practice fill, weight decay 0.1 (KNNImputer 0.1753): single imputers 0.1401
    # (56 epochs), 0.1401 / 0.1393 (112 epochs, two seeds); the mean of those two 112-epoch fills 0.1375, of three
    # (plus the 56-epoch one) 0.1371. More epochs stopped helping, more members kept helping: 4 x 56 epochs, two at
    # a time on two cores (the wall time of 3)
    p.add_argument("--block-members", type=int, default=4,
                   help="block scenario, practising on the holes to fill: ImputerEnsemble of this many imputers "
                        "(1: a single AutoencoderImputer); the training-holes-only variant stays single")
    p.add_argument("--block-channels", type=int, nargs="+", default=[32, 64, 64],
                   help="channels for the block scenario (default: --channels)")
    p.add_argument("--no-mask-input", action="store_true",
                   help="the imputer without the 'seen' flag channel and pass-through (its behaviour before)")
    # chosen with --eval holdout: 64 channels / code 32 / batch 16 beat 32 / 16 / 32 (50% at random: RMSE 0.105
    # against 0.116 with more epochs for the smaller net)
    p.add_argument("--channels", type=int, nargs="+", default=[64])
    p.add_argument("--n-components", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--max-iter", type=int, default=0, help="refinement passes of the image imputer")
    p.add_argument("--variants", choices=("auto", "both"), default="auto",
                   help="auto: the imputer with masking noise on scattered holes and pattern noise on blocks (its "
                        "documented rule); both: each variant on every scenario")
    p.add_argument("--masking-level", type=float, default=0.25)
    p.add_argument("--pattern-level", type=float, default=1.0)
    p.add_argument("--tabular-repeats", type=int, default=3)
    p.add_argument("--no-tabular", action="store_true")
    p.add_argument("--methods", nargs="+", default=list(METHOD_NAMES), choices=METHOD_NAMES,
                   help="image methods to run (default: all)")
    p.add_argument("--no-images", action="store_true")
    p.add_argument("--n-show", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the image part's subsets, holes and AutoencoderImputer (IterativeImputer and the "
                        "SVD imputer keep seed 0); the tabular part's masks and imputers are seeded by their "
                        "repeat number, so its table is the same whatever --seed")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/complete.json)")
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.n_knn, args.n_iterative, args.n_svd_pick = 300, 30, 300, 100, 300
        args.n_svd = 300
        args.iter_max_iter, args.epochs, args.fractions, args.ranks, args.tabular_repeats = 1, 1, [0.5], [5], 1
        args.block_epochs = 1
    torch.set_num_threads(args.threads)
    suffix = ("_quick" if args.quick else "") + ("_holdout" if args.eval == "holdout" else "")
    out = args.out or RESULTS / f"complete{suffix}.json"
    results = {"benchmark": "complete", "quick": args.quick, "args": {k: str(v) for k, v in vars(args).items()},
               "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": args.threads,
                           "loadavg_start": os.getloadavg(),
                           "note": "2 CPU cores shared with other jobs; timings are indicative only"},
               "versions": {"aekit": aekit.__version__, "torch": torch.__version__}, "images": []}
    tic = time.perf_counter()
    figure = {} if args.no_images else images_part(args, results)
    if not args.no_tabular:
        tabular_part(args, results)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["total_seconds"] = round(time.perf_counter() - tic, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for i, (label, rows) in enumerate(figure.items()):
        if i == len(args.fractions) // 2 or label.startswith("central"):
            tag = "block" if label.startswith("central") else "random"
            image_rows(rows, (SIDE, SIDE), path=out.with_name(f"{out.stem}_{tag}.png"), n_images=args.n_show,
                       normalize="none")
    print(markdown(results))
    print(f"\nwrote {out} ({results['total_seconds']:.0f} s, load average {results['machine']['loadavg_start']})")


if __name__ == "__main__":
    main()
