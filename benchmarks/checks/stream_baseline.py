"""Check: how much of a streamed fit's peak memory is the streaming, and how much is PyTorch's first training.

Runs the same one-epoch fit (``Autoencoder(n_components=32, hidden_layer_sizes=(128, 64), batch_size=256,
validation_fraction=0.01)``, as benchmarks/throughput.py streams it, one thread) in two fresh processes: on a
memory-mapped ``.npy`` of ``--file-mb`` MB of random float32 (784 columns), and on 2,048 rows of it held in memory.
Each reports its resident memory after the imports and its peak (``VmHWM``); the difference of the two growths is
what streaming the file costs, the rest is the cost of training at all (autograd, oneDNN, library pages).

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/stream_baseline.py --file-mb 2048
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/stream_baseline.py --quick      # 32 MB file
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from throughput import fit_peak_rss  # noqa: E402  (the benchmark's own streamed fit, in a fresh process)


def _child(path: Path, in_memory: bool) -> dict:
    out = fit_peak_rss(path, threads=1, in_memory_rows=2048 if in_memory else None)
    return {"rows": out["rows"], "after_imports_mb": out["rss_after_imports_mb"], "peak_mb": out["peak_rss_mb"],
            "growth_mb": out["peak_rss_mb"] - out["rss_after_imports_mb"]}


def main(argv=None) -> None:
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a 32 MB file (seconds)")
    p.add_argument("--file-mb", type=int, default=512, help="size of the memory-mapped file (default 512)")
    p.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = p.parse_args(argv)
    file_mb = 32 if args.quick else args.file_mb
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.npy"
        rows = file_mb * 2**20 // (784 * 4)
        X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, 784))
        rng = np.random.default_rng(0)
        for start in range(0, rows, 20_000):
            X[start:start + 20_000] = rng.random((min(20_000, rows - start), 784), dtype=np.float32)
        X.flush()
        del X
        result = {"check": "stream_baseline", "quick": args.quick, "file_mb": file_mb,
                  "streamed": _child(path, in_memory=False), "in_memory_2048_rows": _child(path, in_memory=True),
                  "loadavg": os.getloadavg()}
    print("| fit on | rows | RSS after imports, MB | peak, MB | growth, MB |")
    print("|---|---|---|---|---|")
    for name, label in (("streamed", f"{file_mb} MB memmap"), ("in_memory_2048_rows", "2,048 rows in memory")):
        r = result[name]
        print(f"| {label} | {r['rows']} | {r['after_imports_mb']:.0f} | {r['peak_mb']:.0f} | {r['growth_mb']:.0f} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
