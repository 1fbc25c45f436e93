"""Check: is ``precision="bfloat16"`` faster than float32 on this CPU? The matrix products of one training step.

Times, on the CPU, the forward products of the 784-1000-500-250-30 autoencoder at batch 256 (the encoder's and the
decoder's layers, ``x @ W.T``) in float32, in bfloat16 tensors and in float32 tensors under bfloat16 autocast (what
``precision="bfloat16"`` does), and prints :func:`aekit.training.fast_bfloat16`: whether oneDNN has native bfloat16
kernels here (AVX-512 BF16 or AMX). Without them the products are emulated and bfloat16 is several times slower.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/bf16_matmul.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checks/bf16_matmul.py --quick   # fewer repeats

Measured (2026-11-30, AVX2-only AMD EPYC, one thread, machine shared, load average about 2): see the README's
"bfloat16 needs native support".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

WIDTHS = (784, 1000, 500, 250, 30)
BATCH = 256


def _rate(products, repeats: int, autocast: bool) -> float:
    """Best GFLOP/s over 3 rounds of ``repeats`` passes through ``products`` ((x, W) pairs)."""
    import torch

    flops = sum(2 * x.shape[0] * x.shape[1] * w.shape[0] for x, w in products)
    best = float("inf")
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for _ in range(2):  # warm-up: oneDNN picks and caches its kernels
            for x, w in products:
                x @ w.T
        for _ in range(3):
            tic = time.perf_counter()
            for _ in range(repeats):
                for x, w in products:
                    x @ w.T
            best = min(best, (time.perf_counter() - tic) / repeats)
    return flops / best / 1e9


def main(argv=None) -> None:
    import torch

    from aekit.training import fast_bfloat16

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 repeats per round instead of 20 (seconds)")
    p.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    g = torch.Generator().manual_seed(0)
    layers = list(zip(WIDTHS[:-1], WIDTHS[1:])) + list(zip(WIDTHS[:0:-1], WIDTHS[-2::-1]))  # encoder, decoder
    products = [(torch.randn(BATCH, i, generator=g), torch.randn(o, i, generator=g)) for i, o in layers]
    repeats = 2 if args.quick else 20
    result = {
        "check": "bf16_matmul", "quick": args.quick, "fast_bfloat16": fast_bfloat16("cpu"),
        "float32_gflops": round(_rate(products, repeats, autocast=False), 1),
        "bfloat16_gflops": round(_rate([(x.bfloat16(), w.bfloat16()) for x, w in products], repeats, False), 1),
        "autocast_bfloat16_gflops": round(_rate(products, repeats, autocast=True), 1),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                    "loadavg": os.getloadavg()},
    }
    print(f"native bfloat16 (fast_bfloat16): {result['fast_bfloat16']}")
    print(f"forward products of {'-'.join(map(str, WIDTHS))}, batch {BATCH}, {torch.get_num_threads()} thread(s):")
    for name in ("float32", "bfloat16", "autocast_bfloat16"):
        print(f"  {name:>18}: {result[name + '_gflops']:7.1f} GFLOP/s")
    ratio = result["autocast_bfloat16_gflops"] / result["float32_gflops"]
    print(f"precision='bfloat16' runs these products x{ratio:.2f} as fast as float32 here")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
