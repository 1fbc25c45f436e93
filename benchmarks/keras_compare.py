"""Training speed of aekit against Keras 3 on its PyTorch backend (issue 6: "faster than Keras").

The same autoencoders (784-1000-500-250-30 and the small 784-128-64-32, ReLU,
linear code and output, mirrored decoder), the same data (Fashion-MNIST's
60,000 training images in memory, float32), the same step (Adam at 1e-3, MSE,
batch 256, shuffled), the same torch build and thread count: Keras'
``model.fit`` (``verbose=0``, its default ``jit_compile``) against aekit's
``Trainer.fit``. Each rate is samples per second over one timed epoch of
about ``--seconds`` after a warm-up epoch (the first Keras epoch builds and
traces the model), in rounds that alternate the two so that both see the
same share of a busy machine; the table gives the medians.

Keras is not an aekit dependency: ``pip install keras`` (3.x) first. Without
it the script says so and exits with status 2.

Usage::

    python benchmarks/keras_compare.py --quick --out /tmp/keras_quick.json   # seconds: checks that it runs
    python benchmarks/keras_compare.py                                      # benchmarks/results/keras_compare.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported; the torch this run measures aekit on

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from throughput import BIG, SMALL, n_params, trainer_rate  # noqa: E402  (aekit measured as throughput.py does)

NETS = {"784-1000-500-250-30": (BIG, 30), "784-128-64-32": (SMALL, 32)}  # the code sizes trainer_rate gives them
BATCH = 256


def keras_model(keras, d: int, hidden, k: int):
    """aekit's MLPAutoencoder in Keras: ReLU hidden layers, a linear code, a linear output."""
    layers = [keras.Input((d,))]
    layers += [keras.layers.Dense(h, activation="relu") for h in hidden]
    layers.append(keras.layers.Dense(k))
    layers += [keras.layers.Dense(h, activation="relu") for h in hidden[::-1]]
    layers.append(keras.layers.Dense(d))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    return model


def keras_rate(keras, X: np.ndarray, hidden, k: int, seconds: float) -> dict:
    """Keras ``fit`` samples/s: a warm-up epoch of 8 batches (building and tracing), then a timed epoch."""
    keras.utils.set_random_seed(0)
    model = keras_model(keras, X.shape[1], hidden, k)
    warm = X[:8 * BATCH]
    tic = time.perf_counter()
    model.fit(warm, warm, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
    first = time.perf_counter() - tic
    tic = time.perf_counter()
    model.fit(warm, warm, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
    rate = len(warm) / (time.perf_counter() - tic)
    n = int(min(len(X), max(4 * BATCH, rate * seconds)))
    tic = time.perf_counter()
    model.fit(X[:n], X[:n], batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
    return {"samples_per_s": n / (time.perf_counter() - tic), "n": n, "first_epoch_s": first,
            "params": int(model.count_params())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="2,000 images, short timings: checks that it runs")
    p.add_argument("--threads", type=int, default=None, help="torch threads for both (default: torch's own)")
    p.add_argument("--seconds", type=float, default=8.0, help="time per measurement")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians reported)")
    p.add_argument("--out", type=Path, help="JSON file, the table beside it as .md (default "
                   "benchmarks/results/keras_compare.json; keras_compare_quick.json with --quick)")
    args = p.parse_args(argv)
    try:
        import keras
    except ImportError:
        print("keras_compare: Keras is not installed; `pip install keras` (3.x) runs it on this torch.",
              file=sys.stderr)
        return 2
    if keras.backend.backend() != "torch":
        print(f"keras_compare: Keras runs on {keras.backend.backend()!r}; unset KERAS_BACKEND (or set it to "
              "'torch') to compare on the same torch.", file=sys.stderr)
        return 2
    if args.quick:
        args.seconds, args.rounds = 0.5, 1
    args.out = args.out or ROOT / "benchmarks" / "results" / f"keras_compare{'_quick' if args.quick else ''}.json"
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    from aekit.datasets import load_fashion_mnist

    X = load_fashion_mnist().X_train[:2000 if args.quick else None]
    Xt = torch.from_numpy(X)
    res = {"machine": {"torch": torch.__version__, "keras": keras.__version__, "python": platform.python_version(),
                       "cpus": os.cpu_count(), "threads": torch.get_num_threads(),
                       "loadavg_before": os.getloadavg()},
           "quick": args.quick, "batch_size": BATCH, "n_train": len(X), "nets": {}}
    for name, (hidden, k) in NETS.items():
        rounds = []
        for _ in range(args.rounds):
            ours = {**trainer_rate(Xt, hidden, BATCH, seconds=args.seconds), "params": n_params(784, hidden, k)}
            theirs = keras_rate(keras, X, hidden, k, args.seconds)
            if ours["params"] != theirs["params"]:
                raise AssertionError(f"{name}: aekit has {ours['params']} parameters, Keras {theirs['params']}")
            rounds.append({"aekit": ours, "keras": theirs,
                           "speedup_aekit": ours["samples_per_s"] / theirs["samples_per_s"]})
            print(f"[{time.strftime('%X')} load {os.getloadavg()[0]:.1f}] {name}: aekit "
                  f"{ours['samples_per_s']:.0f}, keras {theirs['samples_per_s']:.0f} samples/s", flush=True)
        med = lambda key: float(np.median([r[key]["samples_per_s"] for r in rounds]))  # noqa: E731
        res["nets"][name] = {"params": rounds[0]["aekit"]["params"], "aekit_samples_per_s": med("aekit"),
                             "keras_samples_per_s": med("keras"),
                             "speedup_aekit": float(np.median([r["speedup_aekit"] for r in rounds])),
                             "keras_first_epoch_s": rounds[0]["keras"]["first_epoch_s"], "rounds": rounds}
    res["machine"]["loadavg_after"] = os.getloadavg()
    res["targets"] = {f"faster_than_keras ({name})": r["speedup_aekit"] > 1 for name, r in res["nets"].items()}
    text = table(res)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(text + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def table(res) -> str:
    m = res["machine"]
    lines = [f"aekit vs Keras {m['keras']} (torch {m['torch']} backend), Adam 1e-3, MSE, batch {res['batch_size']}, "
             f"{res['n_train']} Fashion-MNIST images in memory, {m['threads']} threads; medians of rounds",
             "", "| net | parameters | Keras samples/s | aekit samples/s | aekit speed-up |",
             "|---|---:|---:|---:|---:|"]
    for name, r in res["nets"].items():
        lines.append(f"| {name} | {r['params']:,} | {r['keras_samples_per_s']:.0f} | {r['aekit_samples_per_s']:.0f} "
                     f"| x{r['speedup_aekit']:.2f} |")
    lines.append("")
    lines.append(f"loadavg {m['loadavg_before'][0]:.1f} -> {m['loadavg_after'][0]:.1f}; targets: "
                 + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in res["targets"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
