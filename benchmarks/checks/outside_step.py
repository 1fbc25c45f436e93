"""Check: time and memory of the work outside the training step, at realistic sizes, before and after a change.

Each case runs in a fresh process (one torch thread) on seeded random data and reports its wall time, the peak
of numpy's allocations (tracemalloc) and the process's peak RSS. ``--baseline REV`` runs every case a second time
on the source of git revision REV (``git archive``), so the table shows before and after side by side.

Cases (full size; ``--quick`` shrinks them to seconds):

- ``scaled_transform`` / ``scaled_reconstruct``: 200k x 784 float32 through a (256,)-unit model with
  ``scaling="standard"``;
- ``evaluate``: :func:`aekit.evaluation.evaluate` of a model without scaling on 200k x 784;
- ``squared_error``: :func:`aekit.metrics.squared_error_per_sample` of 200k x 784 against its reconstruction;
- ``column_scaling``: the column statistics of ``scaling="standard"`` on 200k x 784;
- ``denoise_colour``: :func:`aekit.images.denoise_image` on a 2048x2048 colour image, 16x16x3 patches;
- ``code_statistics`` / ``activation_histogram``: 60k x 1000 codes;
- ``unet_reconstruct``: 8192 28x28 images through a U-Net denoiser.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/outside_step.py --quick
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/outside_step.py --baseline 24a24e3

Measured (2026-11-29, shared 2-core machine, load average 2.6-2.8, so the seconds are indicative only), before
(24a24e3) -> after the performance hunt's fixes (benchmarks/results/outside_step.json), seconds / tracemalloc peak:

- scaled_transform 12.5 s / 2393 MiB -> 4.2 s / 170 MiB (1.5 s at load 0.9; a plain forward pass takes 0.9 s);
- scaled_reconstruct 18.1 s / 2991 MiB -> 13.9 s / 745 MiB (4.4 s at load 0.9; the output alone is 598 MiB);
- evaluate 13.7 s / 4189 MiB -> 4.2 s / 673 MiB; squared_error 7.9 s / 3590 MiB -> 0.6 s / 75 MiB;
- column_scaling 3.6 s / 2692 MiB -> 1.5 s / 220 MiB;
- denoise_colour 18.8 s / 3839 MiB (4.3 GiB RSS) -> 4.0 s / 335 MiB (0.85 GiB RSS);
- code_statistics 0.9 s / 973 MiB -> 0.16 s / 98 MiB; activation_histogram 1.7 s / 1431 MiB -> 0.7 s / 18 MiB;
- unet_reconstruct 53 s / 8.9 GiB RSS -> 41 s / 0.86 GiB RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"

#: case -> (full size, quick size)
SIZES = {
    "scaled_transform": (200_000, 3000),
    "scaled_reconstruct": (200_000, 3000),
    "evaluate": (200_000, 3000),
    "squared_error": (200_000, 3000),
    "column_scaling": (200_000, 3000),
    "denoise_colour": (2048, 96),
    "code_statistics": (60_000, 2000),
    "activation_histogram": (60_000, 2000),
    "unet_reconstruct": (8192, 64),
}


def _case(name: str, n: int) -> dict:
    """Run one case in this process; return its measurements."""
    import resource
    import tracemalloc

    import numpy as np
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    run = _prepare(name, n, rng)
    tracemalloc.start()
    tic = time.perf_counter()
    run()
    seconds = time.perf_counter() - tic
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"case": name, "size": n, "seconds": round(seconds, 3), "traced_peak_mib": round(peak / 2**20, 1),
            "maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _prepare(name: str, n: int, rng):
    """The data and model of case ``name``; returns the call to measure."""
    import numpy as np

    from aekit import Autoencoder, DenoisingAutoencoder

    if name in ("code_statistics", "activation_histogram"):
        H = np.maximum(rng.standard_normal((n, 1000 if n >= 10_000 else 100)), 0).astype(np.float32)
        if name == "code_statistics":
            from aekit.metrics import code_statistics
            return lambda: code_statistics(H, threshold=0.1)
        from aekit.plotting import activation_histogram
        return lambda: activation_histogram(H, threshold=0.1)
    if name == "denoise_colour":
        from aekit.images import denoise_image
        image = rng.random((n, n, 3), dtype=np.float32)
        model = DenoisingAutoencoder(image_shape=(16, 16, 3), n_components=32, hidden_layer_sizes=(256,),
                                     max_epochs=1, random_state=0).fit(rng.random((2000, 768), dtype=np.float32))
        return lambda: denoise_image(model, image)
    if name == "unet_reconstruct":
        X = rng.random((n, 784), dtype=np.float32)
        model = DenoisingAutoencoder(image_shape=(28, 28), architecture="unet", max_epochs=1,
                                     random_state=0).fit(X[:256])
        return lambda: model.reconstruct(X)
    X = rng.random((n, 784), dtype=np.float32)
    if name == "column_scaling":
        from aekit._scaling import column_scaling
        return lambda: column_scaling(X, "standard")
    scaling = "standard" if name.startswith("scaled") else "none"
    model = Autoencoder(n_components=30, hidden_layer_sizes=(256,), max_epochs=1, scaling=scaling,
                        random_state=0).fit(X[:2000])
    if name == "scaled_transform":
        return lambda: model.transform(X)
    if name == "scaled_reconstruct":
        return lambda: model.reconstruct(X)
    if name == "evaluate":
        from aekit.evaluation import evaluate
        return lambda: evaluate(model, X)
    if name == "squared_error":
        from aekit.metrics import squared_error_per_sample
        R = model.reconstruct(X)
        return lambda: squared_error_per_sample(X, R)
    raise ValueError(f"unknown case {name!r}")


def _run_case(name: str, n: int, src: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, __file__, "--case", name, "--size", str(n)], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"case": name, "size": n, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(rows: list) -> str:
    lines = ["| case | size | before s | after s | before traced MiB | after traced MiB | before RSS MiB | "
             "after RSS MiB |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b, a = r.get("before") or {}, r["after"]
        lines.append(f"| {r['case']} | {r['size']} | {b.get('seconds', '')} | {a.get('seconds', a.get('error'))} | "
                     f"{b.get('traced_peak_mib', '')} | {a.get('traced_peak_mib', '')} | {b.get('maxrss_mib', '')} | "
                     f"{a.get('maxrss_mib', '')} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (seconds) to check the script works")
    p.add_argument("--baseline", metavar="REV", help="also run every case on the source of git revision REV")
    p.add_argument("--cases", nargs="+", choices=sorted(SIZES), default=list(SIZES), help="cases to run")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON file (default benchmarks/results/outside_step[_quick].json)")
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.case:  # a child process: one case, one JSON line
        print(json.dumps(_case(args.case, args.size)))
        return
    out = args.out or RESULTS / ("outside_step_quick.json" if args.quick else "outside_step.json")
    results = {"benchmark": "outside_step", "quick": args.quick, "baseline": args.baseline,
               "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 1,
                           "loadavg_start": os.getloadavg(),
                           "note": "2 CPU cores shared with other jobs; timings are indicative only"},
               "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        old_src = None
        if args.baseline:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "src"], capture_output=True,
                                     check=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            old_src = Path(tmp) / "src"
        for name in args.cases:
            n = SIZES[name][1 if args.quick else 0]
            row = {"case": name, "size": n, "after": _run_case(name, n, ROOT / "src")}
            if old_src is not None:
                row["before"] = _run_case(name, n, old_src)
            results["rows"].append(row)
            print(f"{name}: {row}", flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(_table(results["rows"]))
    print(f"\nwrote {out} (load average {results['machine']['loadavg_start']})")


if __name__ == "__main__":
    main()
