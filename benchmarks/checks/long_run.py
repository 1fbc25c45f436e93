"""Check: a long training run stays healthy, epoch after epoch (memory, time per epoch, checkpoints, the loss).

Trains the 784-1000-500-250-30 autoencoder on Fashion-MNIST's 60,000 training images for ``--epochs`` epochs
(early stopping off, a checkpoint written after every epoch), and records after each epoch the process's resident
memory (``/proc/self/statm``), the epoch's wall time, the training and validation loss and the size of the
checkpoint directory. It reports whether memory grows after the first epochs (a leak: a tensor kept per step or
per epoch, a growing history), whether epochs slow down, whether the checkpoint directory grows (old checkpoints
left behind) and whether every loss stays finite (in bf16 too, where it is native, or with
``--dtype bfloat16``).

Usage (one torch thread; the full run takes about 10 minutes per dtype on a shared 2-core machine)::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/long_run.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/long_run.py --quick   # seconds, 2000 images
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
#: MiB of resident memory the run may gain from the end of epoch ``SETTLED`` to its end and still count as flat
RSS_SLACK_MIB = 32
SETTLED = 2


def _rss_mib() -> float:
    """Resident memory now (not the peak), MiB; NaN where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def _dir_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def run(n_train: int, epochs: int, dtype: str, checkpoint_dir: Path) -> dict:
    """Train with one record per epoch; returns the records and the verdicts."""
    import numpy as np
    import torch

    from aekit import Autoencoder
    from aekit.datasets import load_fashion_mnist

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    data = load_fashion_mnist()
    X = np.ascontiguousarray(data.X_train[:n_train])
    records, last = [], [time.perf_counter()]

    class _Recorded(Autoencoder):
        """Autoencoder that records memory, time and checkpoint size after each epoch (a benchmark-only hook)."""

        def _fit_callback(self):
            def record(trainer, epoch, logs):
                now = time.perf_counter()
                val = float("nan") if logs["val_loss"] is None else float(logs["val_loss"])
                records.append({"epoch": epoch, "seconds": round(now - last[0], 3), "rss_mib": round(_rss_mib(), 1),
                                "loss": float(logs["loss"]), "val_loss": val,
                                "checkpoint_mib": round(_dir_mib(checkpoint_dir), 2)})
                last[0] = now
                return False
            return record

    model = _Recorded(n_components=30, hidden_layer_sizes=(1000, 500, 250), loss="bce", max_epochs=epochs,
                      n_iter_no_change=epochs + 1, random_state=0, precision=dtype)
    tic = time.perf_counter()
    model.fit(X, checkpoint_dir=checkpoint_dir)
    seconds = time.perf_counter() - tic
    settled = records[min(SETTLED, len(records)) - 1]
    growth = records[-1]["rss_mib"] - settled["rss_mib"]
    half = max(1, len(records) // 2)
    first_half = sorted(r["seconds"] for r in records[1:half + 1]) or [records[0]["seconds"]]
    second_half = sorted(r["seconds"] for r in records[half:])
    losses = [v for r in records for v in (r["loss"], r["val_loss"]) if v == v]
    return {
        "dtype": dtype, "n_train": n_train, "epochs_run": len(records), "seconds": round(seconds, 1),
        "records": records,
        "rss_growth_after_epoch_2_mib": round(growth, 1),
        "memory_flat": bool(growth <= RSS_SLACK_MIB),
        "median_epoch_s_first_half": first_half[len(first_half) // 2],
        "median_epoch_s_second_half": second_half[len(second_half) // 2],
        # after the first epoch's record its checkpoint exists (each record sees the checkpoint before it)
        "checkpoint_mib_min_max": [min(r["checkpoint_mib"] for r in records[1:] or records),
                                   max(r["checkpoint_mib"] for r in records)],
        "losses_finite": bool(all(np.isfinite(losses))),
        "loss_first_last": [records[0]["loss"], records[-1]["loss"]],
        "val_loss_best_last": [min(r["val_loss"] for r in records), records[-1]["val_loss"]],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2,000 images, 4 epochs (seconds): check the script works")
    p.add_argument("--epochs", type=int, default=30, help="epochs of the full run (default 30)")
    p.add_argument("--dtype", nargs="+", choices=["float32", "bfloat16"], default=None,
                   help="precisions to run (default: float32, and bfloat16 where it is native here: emulated, it "
                        "is several times slower)")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/long_run.json)")
    args = p.parse_args(argv)
    if args.dtype is None:
        from aekit.training import fast_bfloat16

        args.dtype = ["float32", "bfloat16"] if fast_bfloat16("cpu") else ["float32"]
    n_train, epochs = (2000, 4) if args.quick else (60_000, args.epochs)
    out = args.out or RESULTS / ("long_run_quick.json" if args.quick else "long_run.json")
    results = {"benchmark": "long_run", "quick": args.quick, "rss_slack_mib": RSS_SLACK_MIB,
               "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
                           "torch_threads": int(os.environ.get("OMP_NUM_THREADS", "1")),
                           "loadavg_start": os.getloadavg()},
               "runs": []}
    for dtype in args.dtype:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(n_train, epochs, dtype, Path(tmp) / "ckpt")
        results["runs"].append(result)
        print(f"{dtype}: {result['epochs_run']} epochs in {result['seconds']} s", flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("| dtype | epochs | RSS after epoch 2 -> end, MiB | epoch s, first -> second half | checkpoint MiB "
          "| losses finite | loss first -> last | val best / last |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results["runs"]:
        rec = r["records"]
        settled = rec[min(SETTLED, len(rec)) - 1]["rss_mib"]
        print(f"| {r['dtype']} | {r['epochs_run']} | {settled} -> {rec[-1]['rss_mib']} "
              f"({r['rss_growth_after_epoch_2_mib']:+}) | {r['median_epoch_s_first_half']} -> "
              f"{r['median_epoch_s_second_half']} | {r['checkpoint_mib_min_max'][0]}-{r['checkpoint_mib_min_max'][1]} "
              f"| {r['losses_finite']} | {r['loss_first_last'][0]:.4g} -> {r['loss_first_last'][1]:.4g} "
              f"| {r['val_loss_best_last'][0]:.4g} / {r['val_loss_best_last'][1]:.4g} |")
    print(f"\nwrote {out}")
    ok = all(r["memory_flat"] and r["losses_finite"] for r in results["runs"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
