"""Check: wall time and peak memory of the commands outside training, before and after the command-overhead hunt.

Each case runs one ``aekit`` command in a fresh process (one torch thread, ``--threads 1``) and records its wall
time and its peak RSS (``wait4``); ``--baseline REV`` runs every case a second time on the source of git revision
REV (``git archive``) and says whether the two wrote the same numbers (fit times aside). Each command runs
``--repeats`` times per source, alternating before and after; the table shows the fastest run and the largest RSS.
The models the inference commands load are trained first (``aekit train --max-epochs 1 --random-state 0``).

Cases (Fashion-MNIST, 60,000 + 10,000 images; ``--quick``: scikit-learn's digits, seconds):

- ``compare``: ``aekit compare --dataset D --max-epochs 1``: the network went over X_train twice outside training
  (reconstructed whole for one number, then encoded for the 5-NN codes) and over X_test twice; PCA's train
  reconstruction took two arrays of X_train's size;
- ``compare_standardize``: the same with ``--standardize``: two float64 copies of X_train, then a float32 one;
- ``sweep``: ``aekit sweep --dataset D --n-components 2 8 --max-epochs 1``: compare's work at each size (PCA is
  still fitted once per size: see the module's notes);
- ``evaluate_sparse``: ``aekit evaluate SPARSE_MODEL --dataset D --split train``: score_samples then transform
  encoded X twice; matplotlib imported without --figure;
- ``errors``, ``features``: matplotlib (~0.5 s) imported without a figure;
- ``encode``: nothing changed: the noise of the machine.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/command_overheads.py --quick
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/command_overheads.py --baseline 42baf65

Measured (2026-11-29, shared 2-core machine, load average 1.1-1.9, so the seconds are indicative only), before
(42baf65) -> after, fastest of 3 runs / largest peak RSS, every case writing the same numbers
(benchmarks/results/command_overheads.json):

- compare 8.65 s / 1044 MiB -> 7.95 s / 868 MiB; compare --standardize 9.67 s / 1316 MiB -> 8.38 s / 957 MiB;
- sweep (2 sizes) 12.29 s / 1211 MiB -> 11.62 s / 1063 MiB;
- evaluate (sparse model, 60,000 rows) 3.95 s / 750 MiB -> 3.29 s / 719 MiB;
- errors 3.73 s / 809 MiB -> 3.19 s / 679 MiB; features 3.41 s / 813 MiB -> 2.98 s / 698 MiB;
- encode (unchanged) 2.91 s / 585 MiB -> 2.86 s / 593 MiB.

Notes: PCA in a sweep is fitted at every size, although one fit of the largest size gives the smaller ones exactly
with scikit-learn's 'covariance_eigh' and 'full' solvers (components_[:k], measured bit for bit on digits and
Fashion-MNIST): the randomised solver, which 'auto' picks for more than 1000 features or fewer than 10 samples per
feature, is not nested (components differ by 0.16 on 300 x 1200 random data), and a fit takes 0.4 s on
Fashion-MNIST against seconds to minutes of training per size.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
FIT = ["--max-epochs", "1", "--random-state", "0"]

#: case -> (arguments after "aekit", outputs compared between the two sources: files under the case's folder)
CASES = {
    "compare": (["compare", "--dataset", "{data}", *FIT, "--out", "{out}/compare"], ["compare/results.json"]),
    "compare_standardize": (["compare", "--dataset", "{data}", "--standardize", *FIT, "--out", "{out}/compare"],
                            ["compare/results.json"]),
    "sweep": (["sweep", "--dataset", "{data}", "--n-components", "2", "8", *FIT, "--out", "{out}/sweep"],
              ["sweep/results.json"]),
    "evaluate_sparse": (["evaluate", "{models}/sparse", "--dataset", "{data}", "--split", "train", "--out",
                         "{out}/evaluate.json"], ["evaluate.json"]),
    "errors": (["errors", "{models}/autoencoder", "--dataset", "{data}", "--split", "train", "--out",
                "{out}/errors.npy"], ["errors.npy"]),
    "features": (["features", "{models}/sparse", "--dataset", "{data}", "--split", "train", "--out",
                  "{out}/codes.npy"], ["codes.npy"]),
    "encode": (["encode", "{models}/autoencoder", "--dataset", "{data}", "--split", "train", "--out",
                "{out}/codes.npy"], ["codes.npy"]),
}


def _run(argv: list[str], src: Path) -> dict:
    """One command in a fresh process: its wall time, peak RSS and exit status."""
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    tic = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "aekit", *argv, "--threads", "1", "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - tic
    proc.returncode = os.waitstatus_to_exitcode(status)
    error = proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:] if proc.returncode else []
    proc.stderr.close()
    return {"seconds": round(seconds, 2), "maxrss_mib": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode,
            **({"error": error} if error else {})}


def _numbers(path: Path):
    """What a case wrote, fit times aside (they differ from run to run)."""
    if path.suffix == ".npy":
        return np.load(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if "rows" in data:
        for row in data["rows"].values():
            row.pop("fit_seconds", None)
    return data


def _same(a: Path, b: Path) -> bool:
    x, y = _numbers(a), _numbers(b)
    return bool(np.array_equal(x, y)) if isinstance(x, np.ndarray) else x == y


def _case(name: str, sources: dict, data: str, models: Path, tmp: Path, repeats: int) -> dict:
    argv, outputs = CASES[name]
    runs = {label: [] for label in sources}
    for i in range(repeats):
        for label, src in sources.items():  # alternated: a change of load hits both alike
            out = tmp / f"{name}_{label}"
            subprocess.run(["rm", "-rf", str(out)], check=True)
            out.mkdir(parents=True)
            runs[label].append(_run([a.format(data=data, models=models, out=out) for a in argv], src))
    row = {"case": name, "command": "aekit " + " ".join(argv).replace("{data}", data)}
    for label, results in runs.items():
        ok = [r for r in results if r["exit"] == 0]
        row[label] = ({"seconds": min(r["seconds"] for r in ok), "maxrss_mib": max(r["maxrss_mib"] for r in ok),
                       "runs": results} if len(ok) == len(results) else {"error": results[-1].get("error"),
                                                                          "runs": results})
    if len(sources) == 2 and all("error" not in row[label] for label in sources):
        row["same_numbers"] = all(_same(tmp / f"{name}_before" / o, tmp / f"{name}_after" / o) for o in outputs)
    return row


def _table(rows: list) -> str:
    lines = ["| case | before s | after s | before peak RSS MiB | after peak RSS MiB | same numbers |",
             "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        b, a = r.get("before", {}), r["after"]
        lines.append(f"| {r['case']} | {b.get('seconds', '')} | {a.get('seconds', a.get('error'))} | "
                     f"{b.get('maxrss_mib', '')} | {a.get('maxrss_mib', '')} | {r.get('same_numbers', '')} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scikit-learn's digits, one run each (seconds per case)")
    p.add_argument("--baseline", metavar="REV", help="also run every case on the source of git revision REV")
    p.add_argument("--repeats", type=int, help="runs per case and source (default: 3; --quick 1)")
    p.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES), help="cases to run")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/"
                   "command_overheads.json; with --quick, command_overheads_quick.json in the temporary folder)")
    args = p.parse_args(argv)
    out = args.out or (Path(tempfile.gettempdir()) / "command_overheads_quick.json" if args.quick
                       else RESULTS / "command_overheads.json")
    repeats = args.repeats or (1 if args.quick else 3)
    data = "digits" if args.quick else "fashion-mnist"
    results = {"benchmark": "command_overheads", "quick": args.quick, "baseline": args.baseline, "dataset": data,
               "repeats": repeats,
               "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 1,
                           "loadavg_start": os.getloadavg(),
                           "note": "2 CPU cores shared with other jobs; timings are indicative only"},
               "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sources = {"after": ROOT / "src"}
        if args.baseline:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "src"], capture_output=True,
                                     check=True).stdout
            (tmp / "baseline").mkdir()
            subprocess.run(["tar", "-x", "-C", str(tmp / "baseline")], input=archive, check=True)
            sources = {"before": tmp / "baseline" / "src", **sources}
        models = tmp / "models"
        for model in ("autoencoder", "sparse"):
            trained = _run(["train", "--dataset", data, "--model", model, *FIT, "--out", str(models / model)],
                           ROOT / "src")
            if trained["exit"] != 0:
                raise SystemExit(f"training the {model} model failed: {trained.get('error')}")
        for name in args.cases:
            row = _case(name, sources, data, models, tmp, repeats)
            results["rows"].append(row)
            print(f"{name}: " + ", ".join(f"{label} {row[label].get('seconds', row[label].get('error'))} s "
                                          f"{row[label].get('maxrss_mib', '')} MiB" for label in sources)
                  + (f", same numbers: {row['same_numbers']}" if "same_numbers" in row else ""), flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["table"] = _table(results["rows"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(results["table"])
    print(f"\nwrote {out} (load average {results['machine']['loadavg_start']})")


if __name__ == "__main__":
    main()
