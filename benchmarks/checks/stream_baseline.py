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
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
import numpy as np, torch
sys.path.insert(0, {src!r})
from aekit import Autoencoder

def kib(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))

torch.set_num_threads(1)
X = np.load({path!r}, mmap_mode="r")
if {in_memory!r}:
    X = np.array(X[:2048])
after_imports = kib("VmRSS")
Autoencoder(n_components=32, hidden_layer_sizes=(128, 64), max_epochs=1, batch_size=256, validation_fraction=0.01,
            random_state=0, device="cpu").fit(X)
print(json.dumps({{"rows": int(X.shape[0]), "after_imports_mb": after_imports / 1024, "peak_mb": kib("VmHWM") / 1024}}))
"""


def _child(path: Path, in_memory: bool) -> dict:
    script = CHILD.format(src=str(ROOT / "src"), path=str(path), in_memory=in_memory)
    # "; exit" makes sh fork the child rather than exec it, so its peak starts small
    proc = subprocess.run(["/bin/sh", "-c", '"$0" -c "$1"; exit $?', sys.executable, script], capture_output=True,
                          text=True, check=False, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["growth_mb"] = out["peak_mb"] - out["after_imports_mb"]
    return out


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
