"""Benchmark: the Hinton & Salakhutdinov (2006) reproductions, autoencoder vs PCA-30.

Runs ``aekit reproduce hinton2006`` (the exact user command) once per data
set and recipe, each in its own process, and reports the autoencoder's and
PCA's test error per image, their ratio, wall time and the process's peak
memory (``os.wait4`` rusage). Recipes:

- ``modern``: GELU hidden units, no pretraining (the command's default);
- ``paper``: logistic hidden units with RBM pretraining (``--activation
  sigmoid --pretraining rbm``), fine-tuned by Adam rather than the paper's
  conjugate gradients.

Targets from the issue (30 minutes of training on a quiet 2-core CPU): faces
ratio <= 0.80, Fashion-MNIST ratio <= 0.45.

    python benchmarks/hinton2006.py --quick                 # seconds: digits, both recipes
    python benchmarks/hinton2006.py --budget-minutes 8 --paper-budget-minutes 4 --threads 1 \\
        --data-dir /work/shared/data --out /tmp/i3_bench --json benchmarks/results/hinton2006.json

Prints a Markdown table and writes JSON (``--json``) with the machine's load
average before and after, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = {"faces": 0.80, "fashion-mnist": 0.45}
RECIPES = {
    "modern": [],
    "paper": ["--activation", "sigmoid", "--pretraining", "rbm"],
}


def run_one(dataset: str, recipe: str, budget: float, out: Path, args) -> dict:
    """Run one reproduction in a child process; return its results with wall time and peak memory."""
    cmd = [sys.executable, "-m", "aekit", "reproduce", "hinton2006", "--dataset", dataset,
           "--budget-minutes", str(budget), "--out", str(out), "--overwrite", *RECIPES[recipe]]
    if args.data_dir:
        cmd += ["--data-dir", str(args.data_dir)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if recipe == "paper":
        cmd += ["--pretraining-epochs", str(args.pretraining_epochs)]
    if args.quick:
        cmd += ["--hidden-layer-sizes", "32", "16", "--quiet"]
    env = dict(os.environ)
    src = str(HERE.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else src
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    load_before = os.getloadavg()
    tic = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - tic
    proc.returncode = os.waitstatus_to_exitcode(status)
    row = {"dataset": dataset, "recipe": recipe, "budget_minutes": budget, "command": " ".join(cmd),
           "exit_code": proc.returncode, "wall_seconds": wall,
           "peak_rss_mib": usage.ru_maxrss / 1024.0,  # ru_maxrss is in KiB on Linux
           "cpu_seconds": usage.ru_utime + usage.ru_stime,
           "load_average_before": list(load_before), "load_average_after": list(os.getloadavg())}
    if proc.returncode != 0:
        return row
    results = json.loads((out / "results.json").read_text())
    rows = results["rows"]
    row.update({
        "autoencoder_test_error": rows["autoencoder"]["test_error"],
        "pca_test_error": rows["PCA"]["test_error"],
        "ratio": results["ratio"],
        "paper": results["paper"],
        "paper_ratio": results["paper_ratio"],
        "target_ratio": TARGETS.get(dataset),
        "epochs": results["experiment"]["epochs"],
        "training_seconds": results["experiment"]["training_seconds"],
        "output": str(out),
    })
    return row


def format_table(rows: list[dict]) -> str:
    lines = ["| data | recipe | budget (min) | AE test error | PCA test error | AE/PCA | target | paper | "
             "epochs | wall (s) | peak RSS (MiB) | load avg (1 min, before/after) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if r["exit_code"] != 0:
            lines.append(f"| {r['dataset']} | {r['recipe']} | {r['budget_minutes']:g} | failed (exit "
                         f"{r['exit_code']}) | | | | | | {r['wall_seconds']:.0f} | {r['peak_rss_mib']:.0f} | |")
            continue
        target = "—" if r["target_ratio"] is None else f"≤ {r['target_ratio']:.2f}"
        paper = "—" if r["paper_ratio"] is None else f"{r['paper_ratio']:.3f}"
        lines.append(
            f"| {r['dataset']} | {r['recipe']} | {r['budget_minutes']:g} | {r['autoencoder_test_error']:.2f} | "
            f"{r['pca_test_error']:.2f} | **{r['ratio']:.3f}** | {target} | {paper} | {r['epochs']} | "
            f"{r['wall_seconds']:.0f} | {r['peak_rss_mib']:.0f} | "
            f"{r['load_average_before'][0]:.1f} / {r['load_average_after'][0]:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="seconds: digits only, tiny net and budget")
    p.add_argument("--datasets", nargs="+", default=["faces", "fashion-mnist"])
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--budget-minutes", type=float, default=30.0, help="per modern run (default: 30)")
    p.add_argument("--paper-budget-minutes", type=float, help="per paper run (default: --budget-minutes)")
    p.add_argument("--pretraining-epochs", type=int, default=1, help="RBM epochs per layer, paper recipe")
    p.add_argument("--threads", type=int, help="torch threads per run (1 is best on a busy machine)")
    p.add_argument("--data-dir", type=Path, help="where olivettifaces.mat / IDX files are")
    p.add_argument("--out", type=Path, default=HERE / "results" / "hinton2006_runs",
                   help="where the runs write their folders (default: benchmarks/results/hinton2006_runs)")
    p.add_argument("--json", type=Path, help="summary JSON (default: benchmarks/results/hinton2006.json, "
                   "hinton2006_quick.json with --quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.datasets, args.budget_minutes, args.paper_budget_minutes = ["digits"], 0.05, 0.05
    paper_budget = args.paper_budget_minutes or args.budget_minutes
    rows = []
    for dataset in args.datasets:
        for recipe in args.recipes:
            budget = paper_budget if recipe == "paper" else args.budget_minutes
            rows.append(run_one(dataset, recipe, budget, args.out / f"{dataset}-{recipe}", args))
    table = format_table(rows)
    print(table)
    summary = {
        "benchmark": "hinton2006",
        "quick": args.quick,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "threads": args.threads,
                    "note": "shared machine: other jobs ran at the same time (see the load averages)"},
        "targets_ratio": TARGETS,
        "rows": rows,
        "table": table,
    }
    path = args.json or HERE / "results" / ("hinton2006_quick.json" if args.quick else "hinton2006.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 0 if all(r["exit_code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
