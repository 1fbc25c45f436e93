"""The README's anomaly-detection example, end to end: a T-shirt model, its 99 % threshold, what it flags, the figure.

Runs exactly the snippet of the README's "Anomaly detection" section (an ``Autoencoder(n_components=32,
hidden_layer_sizes=(512, 256), loss="bce", random_state=0)`` fitted on the first 5,000 Fashion-MNIST training
T-shirts, the threshold the 0.99 quantile of the errors on the other training T-shirts), then reports the share of
test T-shirts and of the other test images it flags, and draws the test images reconstructed worst and best with
their reconstructions (``aekit.evaluation.extreme_samples`` and ``aekit.plotting.image_rows``): ``docs/anomaly.png``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/anomaly_threshold.py --figure docs/anomaly.png
    python benchmarks/anomaly_threshold.py --quick     # seconds: 500 T-shirts, 2 epochs (numbers not meaningful)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aekit import Autoencoder  # noqa: E402
from aekit.datasets import load_fashion_mnist  # noqa: E402
from aekit.evaluation import extreme_samples  # noqa: E402
from aekit.plotting import image_rows  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TITLE = "Trained on T-shirts: the test images it reconstructs worst and best"


def run(quick: bool) -> tuple[dict, list]:
    """The README snippet's numbers, and the figure's rows."""
    data = load_fashion_mnist()
    normal = data.X_train[data.y_train == 0]  # T-shirts only
    n_fit, extra = (500, {"max_epochs": 2}) if quick else (5000, {})
    tic = time.perf_counter()
    ae = Autoencoder(n_components=32, hidden_layer_sizes=(512, 256), loss="bce", random_state=0,
                     **extra).fit(normal[:n_fit])
    seconds = time.perf_counter() - tic
    threshold = np.quantile(-ae.score_samples(normal[n_fit:]), 0.99)  # 1 % false alarms on normal data
    errors = -ae.score_samples(data.X_test)
    flagged = errors > threshold
    tshirt = data.y_test == 0
    result = {
        "n_fit": n_fit, "epochs": int(ae.n_iter_), "train_seconds": round(seconds, 1), "threshold": float(threshold),
        "flagged_test_tshirts_percent": round(100 * float(flagged[tshirt].mean()), 2),
        "flagged_other_test_images_percent": round(100 * float(flagged[~tshirt].mean()), 2),
    }
    return result, extreme_samples(ae, data.X_test, n_images=10, errors=errors)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="500 T-shirts, 2 epochs: checks that the script runs")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON file (default benchmarks/results/anomaly_threshold.json; nothing by default with "
                        "--quick)")
    p.add_argument("--figure", type=Path, default=None, help="also draw the worst/best figure here (PNG)")
    args = p.parse_args(argv)
    result, rows = run(args.quick)
    result.update(quick=args.quick, machine={"platform": platform.platform(), "cpus": os.cpu_count(),
                                             "loadavg": os.getloadavg()})
    print(f"trained on {result['n_fit']} T-shirts ({result['epochs']} epochs, {result['train_seconds']} s); "
          f"threshold {result['threshold']:.4g}")
    print(f"flagged: {result['flagged_test_tshirts_percent']:.1f} % of the test T-shirts, "
          f"{result['flagged_other_test_images_percent']:.1f} % of the other test images")
    out = args.out or (None if args.quick else RESULTS / "anomaly_threshold.json")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    if args.figure is not None:
        image_rows(rows, (28, 28), path=args.figure, title=TITLE)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
